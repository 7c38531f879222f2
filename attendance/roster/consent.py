"""Consent to face recognition: recorded before any enrolment photo, withdrawn at once.

A student without consent stays on the roster and is registered by hand: no enrolment
photo is stored for them, so no descriptor exists and no photo marks them present.
"""
import datetime

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _, gettext_lazy

from attendance import audit
from attendance.dates import validate_school_date
from attendance.models import AuditEntry, Consent, DetectedFace, Student


#: What consent to face recognition covers, as the consent form and the pages say it.
CONSENT_SCOPE = gettext_lazy("Consent covers the student's enrolment photos and, from class photos whose register a "
                             "teacher confirmed, small crops of the student's face kept to improve recognition; "
                             "withdrawing it deletes them all.")


class ConsentMissing(Exception):
    """An enrolment photo was offered for a student whose consent is not recorded."""

    def __init__(self, student: Student):
        super().__init__(_("%(name)s: no consent to face recognition is recorded, so no photo can be enrolled. "
                           "Record the consent first (who gave it, when, where the form is kept).")
                         % {"name": student.name})
        self.student = student


def has_consent(student: Student) -> bool:
    """True when the student's consent to face recognition is recorded.

    Inside a transaction the consent row is locked (SELECT ... FOR UPDATE) until it ends,
    so a face linked to the student in that transaction (a person's answer, an undo, a
    learnt template) cannot slip past ``withdraw_consent``, which locks the same row: either
    the withdrawal waits and then deletes that face, or the link sees no consent."""
    return consenting(Consent.objects.filter(student=student)).exists()


def consenting(consents):
    """``consents`` (a Consent queryset) locked FOR UPDATE when inside a transaction (see
    ``has_consent``), as they are outside one."""
    return consents.select_for_update(of=("self",)) if transaction.get_connection().in_atomic_block else consents


def require_consent(student: Student) -> None:
    """Raises ConsentMissing unless the student's consent is recorded."""
    if not has_consent(student):
        raise ConsentMissing(student)


@transaction.atomic
def record_consent(student: Student, given_by: str, given_on: datetime.date, note: str, user) -> Consent:
    """Record (or replace) the student's consent to face recognition, with an audit entry.

    ``given_by``: the parent or guardian (or the student); ``given_on``: the date on the
    form; ``note``: where the signed form is kept.
    """
    validate_school_date(given_on)  # django.core.exceptions.ValidationError outside the app's dates
    previous = Consent.objects.filter(student=student).first()
    before = _as_dict(previous) if previous else None
    if previous:
        previous.delete()
    consent = Consent.objects.create(student=student, given_by=given_by, given_on=given_on, note=note,
                                     recorded_by=user if getattr(user, "pk", None) else None)
    audit.record(user, AuditEntry.CONSENT_RECORDED, consent,
                 f"Consent recorded for {student.name}, given by {given_by} on {given_on}",
                 before=before, after=_as_dict(consent))
    return consent


@transaction.atomic
def withdraw_consent(student: Student, user) -> int:
    """Withdraw the student's consent: delete the consent, every enrolment photo (rows and
    files), every face descriptor of the student in class photos and every learnt
    template (rows and crop files), at once. Their
    attendance records stay; from now on they are registered by hand.

    Returns the number of enrolment photos deleted. Raises ConsentMissing when no consent
    was recorded.
    """
    consent = Consent.objects.select_for_update().filter(student=student).first()
    if consent is None:
        raise ConsentMissing(student)
    photos = list(student.photos.all())
    for photo in photos:
        photo.delete()  # the file goes with the row (models.files._delete_photo_file)
    faces = DetectedFace.objects.filter(Q(student=student) | Q(reviewed_student=student))
    face_count = faces.count()
    faces.delete()
    _forget_in_other_faces(student)
    templates = list(student.templates.all())
    for template in templates:
        template.delete()  # the crop file goes with the row (models.files._delete_template_crop)
    before = {**_as_dict(consent), "enrolment_photos": len(photos), "faces_in_class_photos": face_count,
              "learnt_templates": len(templates)}
    audit.record(user, AuditEntry.CONSENT_WITHDRAWN, consent,
                 f"Consent withdrawn for {student.name}: {len(photos)} enrolment photo(s), "
                 f"{face_count} face(s) in class photos and {len(templates)} learnt template(s) deleted",
                 before=before, after=None)
    consent.delete()
    return len(photos)


def _forget_in_other_faces(student: Student) -> None:
    """Remove the student from what the other faces of their classes' sessions remember:
    the machine's candidates (students within the threshold) and a person's earlier answer
    kept for undo, so that no face points to them any more."""
    faces = DetectedFace.objects.filter(photo__session__school_class__students=student).only("candidates", "undo")
    for face in faces.iterator():
        candidates = [c for c in face.candidates or [] if c != student.pk]
        undo = face.undo
        if undo and (undo.get("review") or {}).get("reviewed_student") == student.pk:
            undo = None  # undoing would give the face back to them
        if candidates != (face.candidates or []) or undo != face.undo:
            DetectedFace.objects.filter(pk=face.pk).update(candidates=candidates, undo=undo)


def _as_dict(consent: Consent) -> dict:
    return {"student": consent.student.name, "given_by": consent.given_by,
            "given_on": str(consent.given_on), "note": consent.note}
