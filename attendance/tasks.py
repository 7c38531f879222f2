"""Celery's scheduled work: the tasks Celery beat runs (settings.CELERY_BEAT_SCHEDULE) and
what a worker does when it starts. Thin wrappers around plain functions.

The tasks that process one photo sit beside the function they wrap:
``registers.recognition.process_class_photo_task`` and
``roster.enrolment.encode_enrolment_photo_task``. Every task keeps the name it had when
all of them lived here (``attendance.tasks.<name>``), so queued messages and the beat
schedule survive the move (tests/test_architecture.py checks the names).
"""
from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from attendance.registers import recognition, retention
from attendance.roster import enrolment
from attendance.wiring.job_queue import TEMPORARY_ERRORS


@worker_ready.connect
def _requeue_stalled_on_start(sender=None, **kwargs):
    # A worker that starts after a crash picks up photos its predecessor left unfinished.
    recognition.requeue_stalled_photos(older_than_seconds=settings.CELERY_TASK_TIME_LIMIT)


@shared_task(name="attendance.tasks.requeue_stalled_task",
             autoretry_for=TEMPORARY_ERRORS, retry_backoff=True, max_retries=3)
def requeue_stalled_task() -> int:
    """Every minute (Celery beat): photos whose task was lost are sent again."""
    return recognition.requeue_stalled_photos(
        older_than_seconds=settings.CELERY_TASK_TIME_LIMIT, pending_after_seconds=settings.PENDING_RESEND_SECONDS,
    ) + enrolment.requeue_pending_enrolment_photos(settings.PENDING_RESEND_SECONDS)


@shared_task(name="attendance.tasks.delete_expired_class_photos_task",
             autoretry_for=TEMPORARY_ERRORS, retry_backoff=True, max_retries=3)
def delete_expired_class_photos_task() -> int:
    """Every 6 hours (Celery beat): class photos processed more than
    ``CLASS_PHOTO_RETENTION_DAYS`` days ago are deleted with their faces; the register
    stays. Returns how many photos were deleted."""
    return retention.delete_expired_class_photos()
