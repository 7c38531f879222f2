"""Retention: class photos and their faces are deleted some days after processing; the register stays.

A class photo is a picture of children; its faces (the boxes the review page crops from
the photo, and each face's 128-D descriptor) are biometric data. Once a photo has been
processed (done or failed) for ``CLASS_PHOTO_RETENTION_DAYS`` days, the photo's row, its
file in the photo store and its faces are deleted. The attendance records, the sessions,
who changed what and what the photos said (``machine_status``) are kept; the session
notes when and under which rule its photos went (``photos_deleted_at``).
"""
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attendance import audit
from attendance.models import AuditEntry, ClassPhoto, ClassSession, DetectedFace

log = logging.getLogger(__name__)

#: Photos deleted per transaction: each batch is short, so the sessions it locks are
#: not held for long, and an error (photo store unreachable) loses at most one batch.
BATCH_SIZE = 100


def expired_class_photos(cutoff: datetime):
    """Class photos finished (done or failed) before ``cutoff`` (an aware datetime).

    A finished photo without ``processed_at`` counts from its upload. Photos still
    pending or processing never expire.
    """
    return ClassPhoto.objects.filter(status__in=ClassPhoto.FINISHED_STATUSES).filter(
        Q(processed_at__lt=cutoff) | Q(processed_at__isnull=True, uploaded_at__lt=cutoff))


def delete_expired_class_photos(now: datetime | None = None, days: int | None = None,
                                batch_size: int = BATCH_SIZE) -> int:
    """Delete the class photos processed more than ``days`` days before ``now``, with their
    faces (boxes and descriptors) and their files. Returns how many photos were deleted.

    ``days`` defaults to ``settings.CLASS_PHOTO_RETENTION_DAYS``; 0 keeps every photo
    (nothing is deleted). ``now`` defaults to the current time (an aware datetime).
    Files go through the photo's storage (local folder or S3 bucket), by the same
    ``post_delete`` signal that removes them whenever a photo row is deleted.

    Attendance records and sessions are not changed, except that each session that
    lost photos gets ``photos_deleted_at`` (``now``) and ``photos_retention_days``.

    Works in batches of ``batch_size`` photos, one transaction each, locking the
    sessions first (as matching and review do). Safe to run twice or in two processes
    at once: a photo already deleted, or made pending again meanwhile ("Process again"),
    is skipped.

    Raises:
        ValueError: ``days`` is negative, or ``batch_size`` is not positive.
        Whatever the photo store raises when a file cannot be deleted: that batch is
        rolled back (its rows stay and are deleted on the next run; files already
        deleted stay deleted).
    """
    days = settings.CLASS_PHOTO_RETENTION_DAYS if days is None else days
    if days < 0:
        raise ValueError(f"days must be 0 or more, not {days}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be 1 or more, not {batch_size}")
    if days == 0:
        return 0
    now = timezone.now() if now is None else now
    cutoff = now - timedelta(days=days)
    deleted_photos = deleted_faces = 0
    sessions = set()
    while True:
        found, photos, faces, batch_sessions = _delete_batch(cutoff, now, days, batch_size)
        deleted_photos += photos
        deleted_faces += faces
        sessions |= batch_sessions
        if found < batch_size:
            break
    if deleted_photos:
        log.info(
            "retention: deleted %d class photos and %d faces processed more than %d days ago, from %d sessions",
            deleted_photos, deleted_faces, days, len(sessions),
            extra={"photos": deleted_photos, "faces": deleted_faces, "sessions": sorted(sessions),
                   "retention_days": days, "cutoff": cutoff.isoformat()},
        )
        audit.record(None, AuditEntry.DELETED, ClassPhoto,
                     f"Retention: {deleted_photos} class photo(s) and {deleted_faces} face(s) processed more than "
                     f"{days} days ago deleted, from {len(sessions)} session(s); the register is kept",
                     before={"photos": deleted_photos, "faces": deleted_faces, "sessions": sorted(sessions)})
    return deleted_photos


@transaction.atomic
def _delete_batch(cutoff: datetime, now: datetime, days: int, batch_size: int) -> tuple[int, int, int, set[int]]:
    """One batch: (photos found, photos deleted, faces deleted, ids of their sessions)."""
    candidates = list(expired_class_photos(cutoff).order_by("pk").values_list("pk", "session_id")[:batch_size])
    if not candidates:
        return 0, 0, 0, set()
    # Sessions first, in a fixed order, as match_session and review_face lock them:
    # no photo of these sessions is matched or reviewed while its faces go.
    list(ClassSession.objects.select_for_update().filter(pk__in={s for _, s in candidates}).order_by("pk")
         .values_list("pk", flat=True))
    # Checked again under the lock: another run may have deleted them, or an admin
    # sent a failed one to the worker again.
    photos = list(expired_class_photos(cutoff).select_for_update().filter(pk__in=[p for p, _ in candidates])
                  .order_by("pk"))
    if not photos:
        return len(candidates), 0, 0, set()
    # Deleting the rows deletes their faces with their descriptors (cascade) and each
    # photo's file through the storage API (the post_delete signal in models/files.py).
    _, deleted = ClassPhoto.objects.filter(pk__in=[photo.pk for photo in photos]).delete()
    session_ids = {photo.session_id for photo in photos}
    ClassSession.objects.filter(pk__in=session_ids).update(photos_deleted_at=now, photos_retention_days=days)
    log.debug("retention: deleted class photos %s", [photo.pk for photo in photos],
              extra={"photo_ids": [photo.pk for photo in photos], "sessions": sorted(session_ids)})
    return (len(candidates), deleted.get(ClassPhoto._meta.label, 0), deleted.get(DetectedFace._meta.label, 0),
            session_ids)
