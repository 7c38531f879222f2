"""python manage.py take_attendance --class NAME --date YYYY-MM-DD PHOTO...: one session from photos."""
import argparse
import json
import sys
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from attendance import engine
from attendance.registers import sessions
from attendance.dates import parse_school_date
from attendance.wiring.job_queue import QueueUnavailable, ensure_queue_reachable
from attendance.models import ClassPhoto, ClassSession, SchoolClass
from faces.errors import ImageError

from ._wait import use_inline_tasks, wait_until


def _date(text: str):
    """--date: a YYYY-MM-DD date in the app's range (attendance.dates), else a usage error naming it."""
    try:
        return parse_school_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


class Command(BaseCommand):
    help = (
        "Process class photos as one session and print, as the last line, "
        '{"present": [...], "absent": [...], "unknown_faces": N, "unsure_faces": N}.'
    )

    def add_arguments(self, parser):
        parser.add_argument("photos", nargs="+", type=Path)
        parser.add_argument("--class", dest="class_name", required=True)
        parser.add_argument("--date", required=True, type=_date, help="YYYY-MM-DD")
        parser.add_argument("--period", default="Period 1")
        parser.add_argument("--inline", action="store_true", help="process in this process, without a worker")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the worker")

    def handle(self, photos, class_name, date, period, inline, timeout, **options):
        school_class = SchoolClass.objects.filter(name=class_name).first()
        if school_class is None:
            raise CommandError(f"No class named {class_name!r}.")
        period = period.strip()
        max_period = ClassSession._meta.get_field("period").max_length
        if not period or len(period) > max_period:
            raise CommandError(f"--period must be 1 to {max_period} characters.")
        for path in photos:
            # Refuse unusable files before anything is stored.
            try:
                with path.open("rb") as fh:
                    engine.check_photo_header(fh)
            except OSError as exc:
                self._fail(f"{path}: cannot read the file ({exc.strerror or exc}).")
            except ImageError as exc:
                self._fail(f"{path}: {exc}")
        if inline:
            use_inline_tasks()
        try:
            ensure_queue_reachable()
        except QueueUnavailable as exc:
            self._fail(str(exc))

        session = sessions.get_or_create_session(school_class, date, period)
        added = []
        for path in photos:
            with path.open("rb") as fh:
                photo = sessions.add_class_photo(session, File(fh, name=path.name))
            added.append((path, photo))
            sessions.queue_class_photo(photo)
        ids = [photo.pk for _, photo in added]
        wait_until(
            lambda: not ClassPhoto.objects.filter(
                pk__in=ids, status__in=[ClassPhoto.PENDING, ClassPhoto.PROCESSING]).exists(),
            timeout, "the class photos to be processed",
        )
        summary = sessions.session_summary(session)
        failed = [(path, ClassPhoto.objects.get(pk=photo.pk)) for path, photo in added]
        failed = [(path, photo) for path, photo in failed if photo.status == ClassPhoto.FAILED]
        self.stdout.write(json.dumps({
            "present": [r.student.name for r in summary["present"]],
            "absent": [r.student.name for r in summary["absent"]],
            "unknown_faces": summary["unknown_faces"],
            "unsure_faces": summary["unsure_faces"],
            "session": session.pk,
        }))
        if failed:
            self._fail("; ".join(f"{path}: {photo.error}" for path, photo in failed))

    def _fail(self, reason: str):
        sys.stderr.write(reason + "\n")
        sys.exit(1)
