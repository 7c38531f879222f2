"""A teacher's review of the faces the machine was unsure of (or got wrong)."""
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from faces import images

from . import audit, codes, engine
from .consent import has_consent
from .enrolment import add_enrolment_photo
from .models import AttendanceRecord, AuditEntry, ClassSession, DetectedFace, Student
from .register import match_session, present_student_ids, set_record


class ReviewError(Exception):
    """The review cannot be applied; the message says why."""


def faces_to_review(session):
    """Faces of the session's finished photos that no one has reviewed and the machine
    did not match: unsure ones first (they have a likely student), then unknown."""
    faces = DetectedFace.objects.filter(photo__session=session, photo__status="done", review_action="")
    faces = faces.filter(decision__in=[DetectedFace.UNSURE, DetectedFace.UNKNOWN]).select_related("student", "photo")
    return sorted(faces, key=lambda f: (f.decision != DetectedFace.UNSURE, f.photo_id, f.left))


@transaction.atomic
def review_face(face: DetectedFace, user, student: Student | None, add_to_enrolment: bool = False) -> list[Student]:
    """Record a person's decision on a face and rewrite the session's attendance.

    Returns the students whose attendance record the review changed.

    ``student`` None means "not a student". The machine's own decision stays on the
    face for the audit; attendance records that change become manual, with who and when.

    Raises:
        ReviewError: the student is not on the roster, or is already confirmed on
            another face of this session.
    """
    session = ClassSession.objects.select_for_update().select_related("school_class").get(pk=face.photo.session_id)
    face = DetectedFace.objects.select_for_update().select_related("photo").get(pk=face.pk)
    if add_to_enrolment and student is not None and face.width < settings.ENROLMENT_MIN_FACE_PX:
        raise ReviewError(f"The face is only {face.width} pixels wide: too small for an enrolment photo. "
                          "Save it again without “Also add this face”.")
    if add_to_enrolment and student is not None and not has_consent(student):
        raise ReviewError(f"No consent to face recognition is recorded for {student.name}, so the face cannot be "
                          "added to their enrolment. Save it again without “Also add this face”.")
    if student is not None:
        if not session.school_class.students.filter(pk=student.pk).exists():
            raise ReviewError(f"{student.name} is not on this class's roster.")
        clash = DetectedFace.objects.filter(photo__session=session, reviewed_student=student).exclude(pk=face.pk)
        if clash.exists():
            raise ReviewError(f"{student.name} is already confirmed on another face in this session.")
    if student is None:
        face.review_action = DetectedFace.NOT_STUDENT
    elif face.student_id == student.pk:
        face.review_action = DetectedFace.CONFIRMED
    else:
        face.review_action = DetectedFace.REASSIGNED
    before_review = {"decision": face.decision, "student": face.student.name if face.student else None,
                     "review": face.review_action or None,
                     "reviewed_student": face.reviewed_student.name if face.reviewed_student else None}
    face.reviewed_student, face.reviewed_by, face.reviewed_at = student, user, timezone.now()
    audit.record(user, AuditEntry.FACE_REVIEWED, face,
                 f"Face {face.pk} in {session.school_class.name} on {session.date}: "
                 f"{student.name if student else 'not a student'}",
                 before=before_review,
                 after={"review": face.review_action, "reviewed_student": student.name if student else None})
    before = present_student_ids(session)
    photo_said = dict(session.records.filter(source=AttendanceRecord.PHOTO).values_list("student_id", "status"))
    face.save(update_fields=["review_action", "reviewed_student", "reviewed_by", "reviewed_at"])
    match_session(session)
    after = present_student_ids(session)
    # Only the students whose presence this review changed get a manual record; every
    # other record, manual ones included, stays as it was.
    changed_students = list(Student.objects.filter(pk__in=before ^ after))
    manual = {r.student_id: r.status for r in session.records.filter(source=AttendanceRecord.MANUAL)}
    school_codes = codes.all_codes()
    for changed in changed_students:
        status = AttendanceRecord.PRESENT if changed.pk in after else AttendanceRecord.ABSENT
        if changed.pk in manual and codes.counts_present(manual[changed.pk], school_codes) == (changed.pk in after):
            # A person's mark that already agrees ("late" for a face now confirmed) stands.
            continue
        set_record(session, changed, status, user, photo_status=photo_said.get(changed.pk, ""))
    if add_to_enrolment and student is not None:
        add_enrolment_photo(student, ContentFile(face_crop_jpeg(face, margin=0.6, max_side=600), name="from-class.jpg"))
    return changed_students


def face_crop_jpeg(face: DetectedFace, margin: float = 0.3, max_side: int = 200) -> bytes:
    """A JPEG of the face cut from its class photo, ``margin`` x the box added on each side,
    scaled to at most ``max_side`` pixels."""
    with face.photo.image.open("rb") as fh:
        rgb = engine.decode_photo(fh.read())
    height, width = rgb.shape[:2]
    pad_x, pad_y = int(face.width * margin), int(face.height * margin)
    crop = rgb[max(0, face.top - pad_y): min(height, face.bottom + pad_y),
               max(0, face.left - pad_x): min(width, face.right + pad_x)]
    return images.encode_jpeg(crop, max_side, quality=90)
