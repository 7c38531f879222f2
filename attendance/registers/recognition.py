"""Processing a class photo: faces, descriptors, matching against the roster, records."""
import logging
import os
import socket
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from faces.errors import ImageError, ModelFileError

from attendance import engine
from attendance.crops import store_photo_renditions
from attendance.renditions import CLASS_PHOTO_DISPLAY_PX, delete_renditions
from attendance.models import ClassPhoto, ClassSession, DetectedFace, descriptor_to_bytes
from attendance.registers.register import match_session
from attendance.wiring.job_queue import TEMPORARY_ERRORS, failure_message, send_after_commit

log = logging.getLogger(__name__)

#: A photo whose processing was interrupted this many times (worker killed, time limit)
#: is marked failed instead of being tried again.
MAX_ATTEMPTS = 3


def claim_class_photo(photo_id: int) -> bool:
    """Mark a photo as processing; False when it is finished, being processed by a live
    run, or out of attempts.

    A photo still 'processing' is claimable again only when the run that had it is gone:
    its process on this host no longer exists, or it started longer ago than the task
    time limit (its worker died elsewhere). That is when the task is re-delivered after
    its worker died (acks_late), and the run that died wrote nothing. A second delivery
    of a task whose first run is still working (a re-sent or duplicated message) does
    nothing.
    """
    current = ClassPhoto.objects.filter(pk=photo_id).values("status", "claimed_by", "started_at", "attempts").first()
    if current is None or current["status"] not in (ClassPhoto.PENDING, ClassPhoto.PROCESSING):
        return False
    if current["status"] == ClassPhoto.PROCESSING:
        stale = timezone.now() - timezone.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
        if not (current["started_at"] is None or current["started_at"] < stale
                or _process_is_gone(current["claimed_by"])):
            return False
    # Compare and set: of two runs claiming at once, one wins.
    claimed = ClassPhoto.objects.filter(
        pk=photo_id, status=current["status"], claimed_by=current["claimed_by"], attempts=current["attempts"],
        attempts__lt=MAX_ATTEMPTS,
    ).update(status=ClassPhoto.PROCESSING, attempts=F("attempts") + 1, started_at=timezone.now(),
             claimed_by=this_process())
    if not claimed and current["attempts"] >= MAX_ATTEMPTS:
        ClassPhoto.objects.filter(pk=photo_id, status__in=[ClassPhoto.PENDING, ClassPhoto.PROCESSING]).update(
            status=ClassPhoto.FAILED, error_code="interrupted",
            error=f"Processing was interrupted {MAX_ATTEMPTS} times; please upload the photo again.",
            processed_at=timezone.now(),
        )
    return bool(claimed)


def queue_class_photo(photo: ClassPhoto) -> None:
    """Send the photo to the worker (``process_class_photo_task``) once the current
    transaction commits (``job_queue.send_after_commit``)."""
    send_after_commit(process_class_photo_task, photo.pk)


# Named as before the rooms move (attendance/tasks.py), so queued messages still find it.
@shared_task(name="attendance.tasks.process_class_photo_task",
             autoretry_for=TEMPORARY_ERRORS, retry_backoff=True, max_retries=5)
def process_class_photo_task(photo_id: int) -> str:
    """The worker's task for ``process_class_photo(photo_id)``: the photo's final status.
    Over the soft time limit, or on an error it did not expect, the photo is marked
    failed with a message for the teacher (the error is raised again for the log: the
    task is acked all the same, acks_late acks failures); temporary database errors are
    retried (``job_queue.TEMPORARY_ERRORS``)."""
    try:
        return process_class_photo(photo_id)
    except SoftTimeLimitExceeded:
        return _fail_class_photo(photo_id, gettext_noop("The photo took too long to process; try a smaller photo."),
                                 "timeout")
    except TEMPORARY_ERRORS:
        raise
    except Exception as exc:
        _fail_class_photo(photo_id, failure_message(exc), "models" if isinstance(exc, ModelFileError) else "error")
        raise


def _fail_class_photo(photo_id: int, error: str, code: str) -> str:
    """Mark an unfinished photo failed with ``error`` (what the teacher reads, in English)
    and its ``code`` (``ClassPhoto.error_code``: the page shows it in the reader's language)."""
    ClassPhoto.objects.filter(pk=photo_id).exclude(status=ClassPhoto.DONE).update(
        status=ClassPhoto.FAILED, error=error, error_code=code, processed_at=timezone.now()
    )
    return ClassPhoto.FAILED


def process_class_photo(photo_id: int, timings: dict | None = None) -> str:
    """Find every face in a class photo, match them to the roster and update the register.

    Idempotent: a finished photo is left alone, and results replace any earlier ones
    inside one transaction. Returns the photo's final status. ``timings``, if a dict,
    receives the seconds of each stage: decode, detection, landmarks, descriptors,
    renditions (the display JPEG and face crops) and database (storing the faces,
    matching the session, writing the records).
    """
    timings = {} if timings is None else timings
    if not claim_class_photo(photo_id):
        photo = ClassPhoto.objects.filter(pk=photo_id).first()
        return photo.status if photo else "deleted"
    photo = ClassPhoto.objects.select_related("session__school_class").get(pk=photo_id)
    started = time.monotonic()
    try:
        decode_started = time.perf_counter()
        with photo.image.open("rb") as fh:
            rgb = engine.decode_photo(fh.read())
        timings["decode"] = time.perf_counter() - decode_started
        faces = engine.find_faces(rgb, timings)
        # The pages show the photo and its faces from renditions made now, from this
        # bounded decoding: no view decodes the original again.
        renditions_started = time.perf_counter()
        store_photo_renditions(photo, rgb, CLASS_PHOTO_DISPLAY_PX,
                               [(f.box.left, f.box.top, f.box.right, f.box.bottom) for f in faces], {"photo": photo.pk})
        timings["renditions"] = time.perf_counter() - renditions_started
    except ImageError as exc:
        ClassPhoto.objects.filter(pk=photo_id).update(
            status=ClassPhoto.FAILED, error=str(exc), error_code=exc.code, processed_at=timezone.now()
        )
        log.info("class photo %s of session %s failed: %s", photo_id, photo.session_id, exc,
                 extra={"photo": photo_id, "session": photo.session_id, "error": str(exc)})
        return ClassPhoto.FAILED

    try:
        database_started = time.perf_counter()
        with transaction.atomic():
            # The session first (as match_session, review and retention lock it), so the
            # photos of a session are matched in the order their processed_at says.
            ClassSession.objects.select_for_update().get(pk=photo.session_id)
            locked = ClassPhoto.objects.select_for_update().get(pk=photo_id)
            if locked.status != ClassPhoto.PROCESSING:
                return locked.status
            locked.faces.all().delete()
            model_id = engine.model_id()
            DetectedFace.objects.bulk_create(
                DetectedFace(
                    photo=locked,
                    left=face.box.left,
                    top=face.box.top,
                    right=face.box.right,
                    bottom=face.box.bottom,
                    descriptor=descriptor_to_bytes(face.descriptor),
                    descriptor_model=model_id,
                    decision=DetectedFace.PENDING,
                )
                for face in faces
            )
            locked.status = ClassPhoto.DONE
            locked.error = ""
            locked.height, locked.width = rgb.shape[:2]
            locked.processed_at = timezone.now()
            locked.save()
            match_session(locked.session)
        timings["database"] = time.perf_counter() - database_started
    finally:
        if not ClassPhoto.objects.filter(pk=photo_id).exists():  # deleted meanwhile: no rendition outlives it
            delete_renditions(photo.image.storage, photo.image.name)
    matched = DetectedFace.objects.filter(photo_id=photo_id, decision=DetectedFace.MATCHED).count()
    log.info(
        "class photo %s of session %s: %d faces, %d matched, %.2f s",
        photo_id, photo.session_id, len(faces), matched, time.monotonic() - started,
        extra={"photo": photo_id, "session": photo.session_id, "faces": len(faces), "matched": matched,
               "seconds": {k: round(v, 3) for k, v in timings.items()}},
    )
    return ClassPhoto.DONE


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_is_gone(claim: str) -> bool:
    """True when ``host:pid`` names a process of this host that no longer runs."""
    host, _, pid = claim.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def requeue_stalled_photos(older_than_seconds: float, pending_after_seconds: float | None = None) -> int:
    """Send again the class photos whose processing was lost: 'processing' in a process
    of this host that is gone, or for longer than ``older_than_seconds`` (its worker was
    killed elsewhere), or 'pending' for longer than ``pending_after_seconds`` (default:
    the same; the broker was down when it was uploaded). Returns how many were sent.

    Safe when the original task is still queued: the second run finds the photo
    finished, or claims it only if it is still unfinished.
    """
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pending_cutoff = timezone.now() - timezone.timedelta(
        seconds=older_than_seconds if pending_after_seconds is None else pending_after_seconds)
    stalled = list(
        ClassPhoto.objects.filter(status=ClassPhoto.PROCESSING, started_at__lt=cutoff)
        | ClassPhoto.objects.filter(status=ClassPhoto.PENDING, uploaded_at__lt=pending_cutoff)
    )
    stalled += [
        photo for photo in ClassPhoto.objects.filter(status=ClassPhoto.PROCESSING, started_at__gte=cutoff)
        if _process_is_gone(photo.claimed_by)
    ]
    for photo in stalled:
        queue_class_photo(photo)
    if stalled:
        log.warning("re-queued %d stalled class photos: %s", len(stalled), [p.pk for p in stalled])
    return len(stalled)


def retry_failed_photos(photo_ids) -> int:
    """Send failed class photos to the worker again, with fresh attempts (an administrator's
    "Process again", e.g. after repairing the model files). Returns how many."""
    with transaction.atomic():
        photos = list(ClassPhoto.objects.select_for_update().filter(pk__in=list(photo_ids), status=ClassPhoto.FAILED))
        for photo in photos:
            photo.status, photo.error, photo.error_code, photo.attempts, photo.claimed_by = (
                ClassPhoto.PENDING, "", "", 0, "")
            photo.save(update_fields=["status", "error", "error_code", "attempts", "claimed_by"])
            queue_class_photo(photo)
    return len(photos)
