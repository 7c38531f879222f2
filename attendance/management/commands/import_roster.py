"""python manage.py import_roster FILE [--dry-run] [--skip-bad-rows]: a OneRoster zip or a plain roster CSV."""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from attendance.roster.imports.applying import ImportRefused, apply_plan
from attendance.roster.imports.preview import preview_import
from attendance.roster.imports.reading import Limits, RosterFileError


class Command(BaseCommand):
    help = ("Import students, classes, teachers, enrolments and terms from a OneRoster 1.1/1.2 CSV zip or a plain "
            "CSV (student_id, name, class, teacher[, teacher_email]); prints the preview first.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="print the preview only; write nothing")
        parser.add_argument("--skip-bad-rows", action="store_true",
                            help="import the good rows when some are refused (otherwise nothing is imported)")
        parser.add_argument("--user", help="username of the school admin importing, for the audit log")

    def handle(self, file, dry_run, skip_bad_rows, user, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        admin = None
        if user:
            admin = get_user_model().objects.filter(username=user, is_staff=True, is_active=True).first()
            if admin is None:
                raise CommandError(f"{user} is not an active school admin.")
        try:
            with file.open("rb") as fh:  # one byte past the limit is enough to refuse a file too large
                plan = preview_import(file.name, fh.read(Limits.from_settings().upload_bytes + 1))
        except RosterFileError as exc:
            raise CommandError(str(exc))
        for line in plan.summary():
            self.stdout.write(line)
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
            return
        try:
            apply_plan(plan, admin, skip_bad_rows=skip_bad_rows, source=file.name, actor="import_roster command")
        except ImportRefused as exc:
            raise CommandError(f"{exc} (--skip-bad-rows imports the good rows). Nothing was written.")
        self.stdout.write(f"Imported: {plan.changes} changes" + (
            f", {len(plan.refusals)} refused rows skipped." if plan.refusals else "."))
