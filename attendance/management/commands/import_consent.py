"""python manage.py import_consent FILE [--dry-run] [--skip-bad-rows]: record consent to face
recognition from a CSV (student_id, given_by, given_on, note), as the web page does."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attendance.roster import bulk_consent
from attendance.text import counted


class Command(BaseCommand):
    help = ("Record consent to face recognition from a CSV with the columns student_id (the school id), given_by, "
            "given_on (YYYY-MM-DD) and note (where the signed form is kept). Prints every line's outcome; exits 1 "
            "when a line is refused (nothing recorded unless --skip-bad-rows).")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="print what would be recorded; record nothing")
        parser.add_argument("--skip-bad-rows", action="store_true",
                            help="record the good lines and skip the refused ones (they are still reported)")

    def handle(self, file, dry_run, skip_bad_rows, **options):
        try:
            with file.open("rb") as fh:  # one byte past the limit is enough to refuse a file too large
                data = fh.read(bulk_consent.MAX_CSV_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}") from exc
        try:
            plan = bulk_consent.plan_consent_import(data, file.name)
        except bulk_consent.ConsentFileError as exc:
            raise CommandError(f"{file}: {exc} Nothing was recorded.") from exc
        for line in plan.lines:
            self.stdout.write(f"{file.name}:{line.line}: {line.student_id or '-'}: {line.outcome}"
                              + (f" ({line.reason})" if line.reason and line.outcome != bulk_consent.NEW else ""))
        self.stdout.write(plan.summary())
        refused = plan.of(bulk_consent.REFUSED)
        if dry_run:
            self.stdout.write("Dry run: nothing was recorded.")
        else:
            try:
                result = bulk_consent.apply_consent_import(data, None, file.name, skip_bad_rows)
            except bulk_consent.ImportRefused as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(self.style.SUCCESS(f"Consent recorded for {counted(len(result.recorded), 'student')}."))
        if refused:
            raise CommandError(f"{counted(len(refused), 'line')} refused" + (" and skipped." if skip_bad_rows and not dry_run
                                                                    else "."))
