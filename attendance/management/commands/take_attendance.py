"""python manage.py take_attendance --class NAME --date YYYY-MM-DD PHOTO...: one session from photos."""
import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from attendance.registers import sessions
from attendance.dates import parse_school_date
from attendance.wiring.job_queue import QueueUnavailable
from attendance.models import ClassPhoto, SchoolClass

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
        parser.add_argument("--user", metavar="USERNAME", default="",
                            help="the staff account that takes the register (default: the class's teacher)")
        parser.add_argument("--inline", action="store_true", help="process in this process, without a worker")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the worker")

    def handle(self, photos, class_name, date, period, inline, timeout, user="", **options):
        school_class = SchoolClass.objects.filter(name=class_name).first()
        if school_class is None:
            raise CommandError(f"No class named {class_name!r}.")
        if user:
            taker = get_user_model().objects.filter(is_active=True, username=user).first()
            if taker is None:
                raise CommandError(f"--user: no active user named {user!r}.")
        else:
            taker = school_class.teacher
        if inline:
            use_inline_tasks()
        # The web form's upload (sessions.upload_class_photos): the same checks, all or nothing.
        with ExitStack() as open_files:
            files = []
            for path in photos:
                try:
                    files.append(File(open_files.enter_context(path.open("rb")), name=str(path)))
                except OSError as exc:
                    self._fail(f"{path}: cannot read the file ({exc.strerror or exc}).")
            try:
                session, stored = sessions.upload_class_photos(school_class, date, period, files, user=taker)
            except ValidationError as exc:
                self._fail("; ".join(exc.messages))
            except QueueUnavailable as exc:
                self._fail(str(exc))
        ids = [photo.pk for photo in stored]
        wait_until(
            lambda: not ClassPhoto.objects.filter(pk__in=ids).exclude(status__in=ClassPhoto.FINISHED_STATUSES).exists(),
            timeout, "the class photos to be processed",
        )
        summary = sessions.session_summary(session)
        failed = [(path, ClassPhoto.objects.get(pk=photo.pk)) for path, photo in zip(photos, stored)]
        failed = [(path, photo) for path, photo in failed if photo.is_failed]
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
