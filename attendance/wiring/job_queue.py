"""Sending photos to the Celery worker: only after the upload commits, and never losing one.

A photo is saved as "pending" and its task is sent once the transaction commits (a task
sent earlier could reach a worker before the row exists, or for an upload that is then
rolled back). If the broker (Redis) cannot be reached:

* before anything is saved, the upload is refused with ``QueueUnavailable`` (a clear
  "try again" for the person uploading, HTTP 503);
* if it goes away between that check and the commit, the photo stays saved and pending,
  and ``tasks.requeue_stalled_task`` (at worker start and every minute, Celery beat)
  sends it when the broker is back.

Each task sits beside the function it wraps (``registers.recognition.process_class_photo_task``,
``roster.enrolment.encode_enrolment_photo_task``; ``tasks.py`` holds the scheduled ones),
named as before the rooms move (``attendance.tasks.<name>``) so queued messages and the
beat schedule still find them. What those tasks share is here: the errors worth a retry
and the message people see for an error nobody expected.
"""
import logging
from contextlib import contextmanager

from celery import current_app
from django.db import OperationalError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from faces.errors import ModelFileError

from attendance import image_errors
from attendance.models import delete_stored_files
from attendance.wiring.photo_store import store_errors

log = logging.getLogger(__name__)

#: Seconds to wait for the broker before refusing an upload.
BROKER_CHECK_TIMEOUT = 3

#: The errors a task retries (``autoretry_for``): the database briefly locked or
#: unreachable. Retrying anything else would repeat the same failure.
TEMPORARY_ERRORS = (OperationalError,)

#: What teachers and admins see when the worker's face model files are missing or damaged
#: (the log and ``manage.py check`` name the file); stored in English (the worker has no
#: reader), shown translated by its code "models" (``attendance.image_errors``).
MODEL_FILES_BROKEN = image_errors.MODEL_FILES_BROKEN


def failure_message(exc: Exception) -> str:
    """What people are shown for an error a photo's task did not expect (one line, no
    details of the server beyond the exception's class name)."""
    if isinstance(exc, ModelFileError):
        return MODEL_FILES_BROKEN
    return f"Unexpected error while processing the photo ({type(exc).__name__})."


class QueueUnavailable(Exception):
    """The job queue (Redis) cannot be reached, so nothing was saved."""

    #: The API's ``code`` for it (HTTP 503).
    code = "queue_unavailable"


#: The words of a ``PhotoStoreUnavailable`` (HTTP 503).
STORE_DOWN = gettext_lazy("The photo store is not reachable just now, so nothing was saved. Please try again "
                          "in a minute; if it keeps happening, tell your IT administrator.")


class PhotoStoreUnavailable(QueueUnavailable):
    """The photo store (``S3_BUCKET``) could not be reached or refused to store a photo, so
    nothing was saved. A kind of ``QueueUnavailable`` so that every caller that answers the
    queue's refusal with HTTP 503 and its message does the same for the store."""

    code = "store_unavailable"


def ensure_queue_reachable() -> None:
    """Check that tasks can be sent now (nothing to check when tasks run in-process).

    Raises:
        QueueUnavailable: the broker did not answer within ``BROKER_CHECK_TIMEOUT`` seconds.
    """
    if current_app.conf.task_always_eager:
        return
    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_CHECK_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - kombu raises transport-specific errors
        log.error("job queue unreachable: %s", exc)
        raise QueueUnavailable(_(
            "Photo recognition is not reachable just now (its job queue is down), so nothing was saved. "
            "Please try again in a minute; if it keeps happening, tell your IT administrator."
        )) from exc


def send_after_commit(task, object_id: int) -> None:
    """Send ``task(object_id)`` once the current transaction commits.

    A failure to send is logged, not raised: the row is already committed, and the
    periodic re-queue sends it later (see the module's docstring). In eager mode (tests,
    ``--inline``) the task runs in the callback and its errors propagate.
    """
    eager = current_app.conf.task_always_eager

    # A named function, not functools.partial: Django logs a robust callback's failure
    # with its __qualname__.
    def send_task():
        task.delay(object_id)

    transaction.on_commit(send_task, robust=not eager)


@contextmanager
def storing_uploads():
    """All or nothing for an upload of photos that are then queued.

    Checks the queue first (``ensure_queue_reachable``), then runs the block in one
    transaction and yields a list for the block to append the photo rows it stores. On
    any error the transaction is rolled back, those rows' files are deleted, and no task
    is sent (tasks go on commit).

    An error of the photo store (``photo_store.store_errors``: an S3-compatible store
    unreachable or refusing) becomes ``PhotoStoreUnavailable``; the files already stored
    are deleted where the store still answers (else logged: an object left without a row).

    Raises:
        QueueUnavailable: the job queue is down; nothing was saved.
        PhotoStoreUnavailable: the photo store could not be written; nothing was saved.
    """
    ensure_queue_reachable()
    stored = []
    try:
        with transaction.atomic():
            yield stored
    except store_errors() as exc:
        log.error("photo store unreachable, upload refused: %s", exc)
        for row in stored:
            try:
                delete_stored_files([row])
            except store_errors() as again:
                log.error("photo store: could not delete %s of a refused upload: %s", row.image.name, again)
        raise PhotoStoreUnavailable(str(STORE_DOWN)) from exc
    except BaseException:
        delete_stored_files(stored)
        raise
