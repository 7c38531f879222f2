"""python manage.py merge_students A B: the students of ids A and B are one child; merge
them into the one enrolled first (``roster.merging.merge_students``, as the "Possible
duplicates" page's "Same child: merge")."""
from django.core.management.base import BaseCommand, CommandError

from attendance.models import Student
from attendance.roster.merging import MergeError, merge_students
from attendance.text import counted


class Command(BaseCommand):
    help = ("Merge two students who are the same child (ids A and B) into the one enrolled first, with their "
            "classes, records, photos, learnt faces and consent.")

    def add_arguments(self, parser):
        parser.add_argument("first", type=int, help="a student's id")
        parser.add_argument("second", type=int, help="the other student's id")

    def handle(self, first, second, **options):
        students = Student.objects.in_bulk([first, second])
        missing = [str(pk) for pk in (first, second) if pk not in students]
        if missing:
            raise CommandError(f"No student with id {', '.join(missing)}.")
        try:
            summary = merge_students(students[first], students[second], how="merge_students command")
        except MergeError as exc:
            raise CommandError(str(exc))
        kept = Student.objects.get(pk=summary["kept"])
        self.stdout.write(f"Student #{summary['merged']} merged into {kept.name} (#{kept.pk}): "
                          f"{counted(summary['classes'], 'class', 'classes')}, "
                          f"{counted(summary.get('records', 0), 'record')}, "
                          f"{counted(summary.get('photos', 0), 'photo')} moved; "
                          f"{counted(len(summary['records_dropped']), 'record')} "
                          f"of sessions both had replaced by the one changed last "
                          f"({counted(summary.get('identical_photos_dropped', 0), 'identical photo')} dropped).")
