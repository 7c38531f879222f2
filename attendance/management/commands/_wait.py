"""Shared by the command-line tools: running tasks inline or waiting for the worker."""
import time

from django.core.management.base import CommandError

from attendance.wiring.celery import app as celery_app


def use_inline_tasks() -> None:
    """Run every task in this process (Celery's eager mode) instead of sending it to a worker."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


def wait_until(finished, timeout: float, what: str, poll: float = 0.5) -> None:
    """Poll ``finished()`` until it is true; raise CommandError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not finished():
        if time.monotonic() > deadline:
            raise CommandError(
                f"Timed out after {timeout:.0f} s waiting for {what}. Is a Celery worker running "
                "(make run, or celery -A attendance worker)? Use --inline to work without one."
            )
        time.sleep(poll)
