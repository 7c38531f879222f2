"""Matching a session's faces to the roster and turning them into attendance records."""
import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import audit, engine
from .models import (
    AttendanceCode,
    AttendanceRecord,
    AuditEntry,
    ClassPhoto,
    ClassSession,
    DetectedFace,
    EnrolmentPhoto,
    descriptor_from_bytes,
)


def roster_gallery(school_class, exclude_student_ids=()) -> tuple[np.ndarray, list[int]]:
    """The class roster's ready descriptors: ``((M, 128) float32, [M student ids])``."""
    rows = (
        EnrolmentPhoto.objects.filter(student__classes=school_class, status=EnrolmentPhoto.READY)
        .exclude(student_id__in=list(exclude_student_ids))
        .values_list("student_id", "descriptor")
    )
    labels = [student_id for student_id, _ in rows]
    gallery = np.array([descriptor_from_bytes(d) for _, d in rows], dtype=np.float32).reshape(-1, 128)
    return gallery, labels


@transaction.atomic
def match_session(session: ClassSession) -> None:
    """Match every face of the session's finished photos to the roster, then write the records.

    All faces of all photos are matched together, so a student is given to at most one
    face in the whole session. Faces a teacher reviewed keep the teacher's decision, and
    their students are not offered to other faces. Faces narrower than
    ``FACE_MIN_PROBE_PX`` are too small to judge and go to review.
    """
    # Lock the session: photos finishing at once must not match on stale data.
    ClassSession.objects.select_for_update().get(pk=session.pk)
    faces = list(DetectedFace.objects.filter(photo__session=session, photo__status=ClassPhoto.DONE).order_by("pk"))
    taken = {f.reviewed_student_id for f in faces if f.is_reviewed and f.reviewed_student_id}
    pending = [f for f in faces if not f.is_reviewed]
    gallery, labels = roster_gallery(session.school_class, exclude_student_ids=taken)
    probes = np.array([descriptor_from_bytes(f.descriptor) for f in pending], dtype=np.float32).reshape(-1, 128)
    for face, match in zip(pending, engine.match(probes, [f.width for f in pending], gallery, labels)):
        face.decision, face.student_id = match.decision, match.label
        face.distance = match.distance if np.isfinite(match.distance) else None
        face.reason = _reason(match, face.width) if match.decision == DetectedFace.UNSURE else ""
    # A student unsure here but matched in another photo of the session was simply
    # photographed twice: not something for the teacher to review.
    matched_in = {}
    for face in pending:
        if face.decision == DetectedFace.MATCHED:
            matched_in.setdefault(face.student_id, set()).add(face.photo_id)
    for face in pending:
        if face.decision == DetectedFace.UNSURE and matched_in.get(face.student_id, {face.photo_id}) - {face.photo_id}:
            face.decision, face.reason = DetectedFace.REPEAT, "Matched in another photo of this session."
    DetectedFace.objects.bulk_update(pending, ["decision", "student", "distance", "reason"])
    write_attendance(session, faces)


def present_student_ids(session: ClassSession) -> set[int]:
    """Students some face of the session's finished photos counts for."""
    return _counted_students(DetectedFace.objects.filter(photo__session=session, photo__status=ClassPhoto.DONE))


def _counted_students(faces) -> set[int]:
    return {f.final_student_id for f in faces} - {None}


def _reason(match, width: int) -> str:
    if match.label is None:
        return f"Face too small to judge ({width} pixels wide)."
    if match.runner_up_distance - match.distance < settings.FACE_MATCH_MARGIN:
        return "Looks like two students almost equally; please check."
    return "This student was matched to another face more closely; please check."


def write_attendance(session: ClassSession, faces) -> None:
    """Write exactly one record per rostered student: present if any face counts for them.

    Records set by a person (source manual) keep their status; their ``machine_status``
    follows the photos. Safe to run any
    number of times: the (session, student) unique constraint keeps one row each.
    Once photos of the session were deleted under the retention rule
    (``photos_deleted_at``), students they showed present stay present.
    """
    if not session.photos.filter(status=ClassPhoto.DONE).exists():
        return
    present = _counted_students(faces)
    existing = {r.student_id: r for r in session.records.select_for_update()}
    if ClassSession.objects.filter(pk=session.pk, photos_deleted_at__isnull=False).exists():
        # Photos deleted under the retention rule took their faces with them: who they
        # showed present stays present (a photo added later can only add students).
        present |= {student_id for student_id, r in existing.items()
                    if (r.status if r.source == AttendanceRecord.PHOTO else r.machine_status) == AttendanceRecord.PRESENT}
    new, changed, now = [], [], timezone.now()
    for student_id in session.school_class.students.values_list("id", flat=True):
        status = AttendanceRecord.PRESENT if student_id in present else AttendanceRecord.ABSENT
        record = existing.get(student_id)
        if record is None:
            new.append(AttendanceRecord(session=session, student_id=student_id, status=status))
        elif record.source == AttendanceRecord.PHOTO and record.status != status:
            record.status, record.updated_at = status, now
            changed.append(record)
        elif record.source == AttendanceRecord.MANUAL and record.machine_status != status:
            # The person's mark stands; what the photos say is kept beside it for the
            # audit, also when the mark was made before the photos were processed.
            record.machine_status, record.updated_at = status, now
            changed.append(record)
    # Callers hold the session's lock (match_session, review), so no one else inserts
    # meanwhile; ignore_conflicts is the unique constraint's backstop, never a silent loss.
    AttendanceRecord.objects.bulk_create(new, ignore_conflicts=True)
    AttendanceRecord.objects.bulk_update(changed, ["status", "machine_status", "updated_at"])


class RegisterError(ValueError):
    """A manual change cannot be made; the message says why, in words for the teacher."""


def check_status(status: str, reason: str = "", codes: dict | None = None) -> AttendanceCode:
    """The active code ``status`` names, with a reason if it needs one.

    Raises:
        RegisterError: unknown or inactive code, or a reason needed and missing.
    """
    from .codes import all_codes

    code = (codes if codes is not None else all_codes()).get(status)
    if code is None or not code.active:
        raise RegisterError(f"Unknown attendance code {status!r}.")
    if code.needs_reason and not reason.strip():
        raise RegisterError(f"“{code.label}” needs a reason.")
    return code


@transaction.atomic
def set_record(session: ClassSession, student, status: str, user, photo_status: str = "",
               reason: str = "") -> AttendanceRecord:
    """A person sets a student's status by hand (the manual register), with who and when.

    ``status`` is any active ``AttendanceCode``'s code; ``reason`` is required for codes
    that need one (excused) and kept for any. The change is written to the audit log.
    ``photo_status``: what the photos said before the person's change, when the caller
    knows it better than the record does (a review that just re-matched the session).

    Raises:
        RegisterError (a ValueError): the student is not on the class roster, the code
            is unknown or inactive, or it needs a reason and none was given.
    """
    reason = reason.strip()
    code = check_status(status, reason)
    if not session.school_class.students.filter(pk=student.pk).exists():
        raise RegisterError(f"{student.name} is not on this class's roster.")
    # Lock the session first (as match_session does): two people changing the register
    # at once are serialised instead of racing to create the same record.
    ClassSession.objects.select_for_update().get(pk=session.pk)
    record = AttendanceRecord.objects.filter(session=session, student=student).first()
    now = timezone.now()
    if record is None:
        record = AttendanceRecord.objects.create(session=session, student=student, status=status, reason=reason,
                                                 machine_status=photo_status, source=AttendanceRecord.MANUAL,
                                                 changed_by=user, changed_at=now)
        _audit_change(record, code, None, user)
        return record
    if record.source == AttendanceRecord.PHOTO:
        record.machine_status = photo_status or record.status
    if record.source == AttendanceRecord.MANUAL and (record.status, record.reason) == (status, reason):
        return record
    before = {"status": record.status, "reason": record.reason, "source": record.source}
    record.status, record.reason, record.source = status, reason, AttendanceRecord.MANUAL
    record.changed_by, record.changed_at = user, now
    record.save()
    _audit_change(record, code, before, user)
    return record


def _audit_change(record: AttendanceRecord, code: AttendanceCode, before: dict | None, user) -> None:
    session = record.session
    # "present" as before for the seeded codes; "Tardy (late)" once the school renamed one.
    marked = record.status if code.label.lower() == record.status else f"{code.label} ({record.status})"
    audit.record(user, AuditEntry.RECORD_CHANGED, record,
                 f"{record.student.name} marked {marked}{f': {record.reason}' if record.reason else ''} in "
                 f"{session.school_class.name} on {session.date} ({session.period})",
                 before=before, after={"status": record.status, "reason": record.reason, "source": record.source})
