"""python manage.py import_photos PATH [--dry-run] [--skip-bad-rows]: enrolment photos by
school id from a zip or a folder of <school id>.jpg and <school id>/<n>.jpg, as the web page."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attendance.models import EnrolmentPhoto
from attendance.roster import photo_import
from attendance.roster.consent import ConsentMissing
from attendance.roster.zip_enrolment import ZipEnrolmentError
from attendance.wiring.job_queue import QueueUnavailable
from attendance.text import counted

from ._wait import use_inline_tasks, wait_until


class Command(BaseCommand):
    help = ("Enrolment photos by school id from a zip or a folder: <school id>.jpg or <school id>/<n>.jpg, for "
            "students whose consent is recorded. Prints every file's outcome; exits 1 when a file is refused "
            "(nothing stored unless --skip-bad-rows). Waits for the worker to encode the photos.")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="a zip file or a folder")
        parser.add_argument("--dry-run", action="store_true", help="print what would be stored; store nothing")
        parser.add_argument("--skip-bad-rows", action="store_true",
                            help="store the good files and skip the refused ones (they are still reported)")
        parser.add_argument("--inline", action="store_true", help="encode in this process, without a worker")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the worker")

    def handle(self, path, dry_run, skip_bad_rows, inline, timeout, **options):
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        try:
            plan = self._with_source(path, photo_import.plan_photo_import)
        except ZipEnrolmentError as exc:
            raise CommandError(f"{path}: {exc} Nothing was stored.") from exc
        for item in plan.files:
            self.stdout.write(f"{item.path}: {item.school_id or '-'}: {item.outcome}"
                              + (f" ({item.reason})" if item.reason else ""))
        self.stdout.write(plan.summary())
        refused = plan.of(photo_import.REFUSED)
        if not dry_run and (not refused or skip_bad_rows):
            if inline:
                use_inline_tasks()
            try:
                result = self._with_source(path, lambda source, name: photo_import.apply_photo_import(
                    source, None, name, skip_bad_rows))
            except (photo_import.ImportRefused, ZipEnrolmentError, QueueUnavailable, ConsentMissing) as exc:
                raise CommandError(str(exc)) from exc
            ids = [p.pk for p in result.photos]
            wait_until(lambda: not EnrolmentPhoto.objects.filter(pk__in=ids, status=EnrolmentPhoto.PENDING).exists(),
                       timeout, "enrolment photos to be encoded")
            for photo in EnrolmentPhoto.objects.filter(pk__in=ids).select_related("student"):
                self.stdout.write(f"{photo.student.school_id}: {photo.get_status_display()}"
                                  + (f" ({photo.failure_reason})" if photo.failure_reason else ""))
            self.stdout.write(self.style.SUCCESS(f"{counted(len(ids), 'photo')} stored for {counted(len(result.students), 'student')}."))
        elif dry_run:
            self.stdout.write("Dry run: nothing was stored.")
        if refused:
            raise CommandError(f"{counted(len(refused), 'file')} refused" + (
                " and skipped." if skip_bad_rows and not dry_run else "; nothing was stored."))

    @staticmethod
    def _with_source(path: Path, use):
        """``use(source, name)`` with the folder, or the zip opened for reading."""
        if path.is_dir():
            return use(path, path.name)
        with path.open("rb") as fh:
            return use(fh, path.name)
