"""Turning the faces found in a session's photos into attendance records."""
from django.db import transaction

from .models import AttendanceRecord, ClassPhoto, ClassSession, DetectedFace


def present_student_ids(session: ClassSession) -> set[int]:
    """Students matched to a face in any finished photo of the session."""
    return set(
        DetectedFace.objects.filter(
            photo__session=session, photo__status=ClassPhoto.DONE, decision=DetectedFace.MATCHED
        ).values_list("student_id", flat=True)
    )


@transaction.atomic
def write_photo_attendance(session: ClassSession) -> None:
    """Write exactly one record per rostered student: present if seen in any photo, else absent.

    Records a teacher set by hand (source manual) are left as they are. Safe to run
    any number of times: the (session, student) unique constraint keeps one row each.
    """
    if not session.photos.filter(status=ClassPhoto.DONE).exists():
        return
    present = present_student_ids(session)
    existing = {r.student_id: r for r in session.records.select_for_update()}
    for student_id in session.school_class.students.values_list("id", flat=True):
        status = AttendanceRecord.PRESENT if student_id in present else AttendanceRecord.ABSENT
        record = existing.get(student_id)
        if record is None:
            AttendanceRecord.objects.get_or_create(
                session=session, student_id=student_id, defaults={"status": status}
            )
        elif record.source == AttendanceRecord.PHOTO and record.status != status:
            record.status = status
            record.save(update_fields=["status", "updated_at"])
