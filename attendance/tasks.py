"""Celery tasks: thin wrappers that take primary keys and call plain functions."""
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from faces.errors import ModelFileError

from attendance.roster import enrolment
from attendance.registers import recognition
from attendance.registers import retention
from attendance.models import ClassPhoto, EnrolmentPhoto

#: What teachers and admins see when the worker's face model files are missing or damaged
#: (the log and ``manage.py check`` name the file).
MODEL_FILES_BROKEN = ("Face recognition is not installed correctly on the server (a model file is missing "
                      "or damaged). Ask your IT administrator to run `manage.py check` and then process the "
                      "photo again (admin: failed photos).")

# Only these errors are temporary (database briefly locked or unreachable); retrying
# anything else would repeat the same failure.
TEMPORARY_ERRORS = (OperationalError,)


@shared_task(autoretry_for=TEMPORARY_ERRORS, retry_backoff=True, max_retries=5)
def encode_enrolment_photo_task(photo_id: int) -> str:
    try:
        return enrolment.encode_enrolment_photo(photo_id)
    except TEMPORARY_ERRORS:
        raise
    except Exception as exc:
        # Never leave a photo "pending" for ever: the admin sees it failed.
        EnrolmentPhoto.objects.filter(pk=photo_id, status=EnrolmentPhoto.PENDING).update(
            status=EnrolmentPhoto.FAILED, processed_at=timezone.now(),
            failure_code="models" if isinstance(exc, ModelFileError) else "error", failure_reason=_failure(exc),
        )
        raise


@worker_ready.connect
def _requeue_stalled_on_start(sender=None, **kwargs):
    # A worker that starts after a crash picks up photos its predecessor left unfinished.
    recognition.requeue_stalled_photos(older_than_seconds=settings.CELERY_TASK_TIME_LIMIT)


@shared_task(autoretry_for=TEMPORARY_ERRORS, retry_backoff=True, max_retries=3)
def requeue_stalled_task() -> int:
    """Every minute (Celery beat): photos whose task was lost are sent again."""
    return recognition.requeue_stalled_photos(
        older_than_seconds=settings.CELERY_TASK_TIME_LIMIT, pending_after_seconds=settings.PENDING_RESEND_SECONDS,
    ) + enrolment.requeue_pending_enrolment_photos(settings.PENDING_RESEND_SECONDS)


@shared_task(autoretry_for=TEMPORARY_ERRORS, retry_backoff=True, max_retries=3)
def delete_expired_class_photos_task() -> int:
    """Every 6 hours (Celery beat): class photos processed more than
    ``CLASS_PHOTO_RETENTION_DAYS`` days ago are deleted with their faces; the register
    stays. Returns how many photos were deleted."""
    return retention.delete_expired_class_photos()


@shared_task(autoretry_for=TEMPORARY_ERRORS, retry_backoff=True, max_retries=5)
def process_class_photo_task(photo_id: int) -> str:
    try:
        return recognition.process_class_photo(photo_id)
    except SoftTimeLimitExceeded:
        return _fail_class_photo(photo_id, "The photo took too long to process; try a smaller photo.")
    except TEMPORARY_ERRORS:
        raise
    except Exception as exc:
        # Acked all the same (acks_late acks failures), so the photo must not stay
        # "processing": show the teacher that it failed, and keep the trace in the log.
        _fail_class_photo(photo_id, _failure(exc))
        raise


def _failure(exc: Exception) -> str:
    """What people are shown for an error the task did not expect."""
    if isinstance(exc, ModelFileError):
        return MODEL_FILES_BROKEN
    return f"Unexpected error while processing the photo ({type(exc).__name__})."


def _fail_class_photo(photo_id: int, error: str) -> str:
    ClassPhoto.objects.filter(pk=photo_id).exclude(status=ClassPhoto.DONE).update(
        status=ClassPhoto.FAILED, error=error, processed_at=timezone.now()
    )
    return ClassPhoto.FAILED
