"""Bringing stored descriptors up to the current model (``manage.py reencode``).

Every stored descriptor says which model made it (``descriptor_model``, the
``engine.model_id()`` of the settings then). After a change of model or of
``FACE_LANDMARK_POINTS``, matching compares only descriptors of the current model, and the
system check ``attendance.E002`` refuses a start until ``reencode_descriptors`` has described
them again:

- enrolment photos: the stored photo is decoded, its faces found again, the enrolment face
  chosen as at enrolment (``engine.choose_enrolment_face``) and described; a photo whose
  file is gone or where no single face is found any more becomes 'failed', with the reason.
- class-photo faces: described again at their stored boxes from the stored class photo;
  when the photo can no longer be read, the old descriptor is removed and the face is
  marked ``UNDESCRIBED`` (left out of matching, its decision kept).
- learnt templates: described again from their stored crop (the face the crop is about,
  chosen as for an enrolment photo); a template whose crop yields no face is removed
  (``learning.remove_template``: the faces that relied on it are flagged).
"""
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from faces.errors import ImageError

from attendance import audit
from attendance import engine
from attendance.roster.learning import remove_template
from attendance.text import counted
from attendance.models import (
    UNDESCRIBED,
    AuditEntry,
    ClassPhoto,
    DetectedFace,
    EnrolmentPhoto,
    LearntTemplate,
    descriptor_to_bytes,
)

log = logging.getLogger(__name__)


def _stale(queryset, current: str):
    """Rows of ``queryset`` holding a descriptor of another model than ``current``."""
    return queryset.exclude(descriptor_model__in=[current, UNDESCRIBED])


def stale_enrolment_photos(current: str):
    """Enrolment photos holding a descriptor of another model than ``current``."""
    return _stale(EnrolmentPhoto.objects.filter(descriptor__isnull=False), current)


def stale_faces(current: str):
    """Class-photo faces holding a descriptor of another model than ``current``."""
    return _stale(DetectedFace.objects.all(), current)


def stale_templates(current: str):
    """Learnt templates holding a descriptor of another model than ``current``."""
    return _stale(LearntTemplate.objects.all(), current)


def stale_descriptor_counts(current: str | None = None) -> dict[str, int]:
    """How many stored descriptors were made by another model than ``current`` (None: the
    settings' ``engine.model_id()``), by kind: ``{"enrolment photos": n, "class-photo
    faces": n, "learnt templates": n}``. Raises ``django.db.DatabaseError`` when the
    database cannot be read (not migrated yet, unreachable)."""
    current = current or engine.model_id()
    return {"enrolment photos": stale_enrolment_photos(current).count(),
            "class-photo faces": stale_faces(current).count(),
            "learnt templates": stale_templates(current).count()}


@dataclass
class ReencodeResult:
    """What ``reencode_descriptors`` did: counts of rows described again and of rows it
    could not describe; ``failures`` (enrolment photos that could not be described: a
    student lost a gallery photo, someone must act) and ``notes`` (class photos left
    undescribed, templates removed), in words, one line each."""

    model_id: str
    photos_described: int = 0
    photos_failed: int = 0
    faces_described: int = 0
    faces_undescribed: int = 0
    templates_described: int = 0
    templates_removed: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    previous_models: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"enrolment photos described": self.photos_described,
                "enrolment photos failed": self.photos_failed,
                "class-photo faces described": self.faces_described,
                "class-photo faces left undescribed": self.faces_undescribed,
                "learnt templates described": self.templates_described,
                "learnt templates removed": self.templates_removed}


def reencode_descriptors(user=None) -> ReencodeResult:
    """Describe every stored descriptor of another model again with the current one
    (module docstring), stamp ``engine.model_id()`` and write one audit entry. Idempotent:
    rows of the current model are not touched, so a second run does nothing. Afterwards
    ``stale_descriptor_counts()`` is all zeros.

    ``user``: who ran it (None: the command line, audit actor "reencode").
    """
    current = engine.model_id()
    result = ReencodeResult(current)
    for queryset in (stale_enrolment_photos(current), stale_faces(current), stale_templates(current)):
        for row in queryset.values("descriptor_model").annotate(rows=Count("pk")).order_by():
            name = row["descriptor_model"] or "(none)"
            result.previous_models[name] = result.previous_models.get(name, 0) + row["rows"]
    if not result.previous_models:
        return result
    for photo in stale_enrolment_photos(current).order_by("pk"):
        _reencode_enrolment_photo(photo, current, result)
    for photo in ClassPhoto.objects.filter(pk__in=stale_faces(current).values("photo_id")).order_by("pk"):
        _reencode_class_photo(photo, current, result)
    for template in stale_templates(current).select_related("student").order_by("pk"):
        _reencode_template(template, current, result, user)
    counts = result.counts()
    audit.record(user, AuditEntry.DESCRIPTORS_REENCODED, EnrolmentPhoto,
                 f"Descriptors re-encoded for model {current}: "
                 + ", ".join(f"{n} {what}" for what, n in counts.items() if n),
                 before={"models": result.previous_models}, after={"model": current, **counts,
                                                                   "failures": result.failures[:50],
                                                                   "notes": result.notes[:50]},
                 actor="reencode")
    return result


def _reencode_enrolment_photo(photo: EnrolmentPhoto, current: str, result: ReencodeResult) -> None:
    try:
        with photo.image.open("rb") as fh:
            rgb = engine.decode_photo(fh.read())
        face = engine.choose_enrolment_face(rgb)
    except (ImageError, OSError) as exc:
        reason = f"Not usable with the face model {current}: {exc}"
        updated = EnrolmentPhoto.objects.filter(pk=photo.pk, descriptor_model=photo.descriptor_model).update(
            status=EnrolmentPhoto.FAILED, failure_code=getattr(exc, "code", "unreadable"),
            failure_reason=reason[:300], descriptor=None, descriptor_model="", processed_at=timezone.now())
        if updated:
            result.photos_failed += 1
            result.failures.append(f"enrolment photo {photo.pk} of {photo.student}: {exc}")
        return
    box = face.box
    updated = EnrolmentPhoto.objects.filter(pk=photo.pk, descriptor_model=photo.descriptor_model).update(
        descriptor=descriptor_to_bytes(face.descriptor), descriptor_model=current,
        face_left=box.left, face_top=box.top, face_right=box.right, face_bottom=box.bottom)
    result.photos_described += updated


def _reencode_class_photo(photo: ClassPhoto, current: str, result: ReencodeResult) -> None:
    faces = list(stale_faces(current).filter(photo=photo).order_by("pk"))
    try:
        with photo.image.open("rb") as fh:
            rgb = engine.decode_photo(fh.read())
    except (ImageError, OSError) as exc:
        # The old descriptor can never be compared again: removed, the face kept with its decision.
        with transaction.atomic():
            for face in faces:
                face.descriptor, face.descriptor_model = b"", UNDESCRIBED
            DetectedFace.objects.bulk_update(faces, ["descriptor", "descriptor_model"])
        result.faces_undescribed += len(faces)
        result.notes.append(f"class photo {photo.pk}: unreadable ({exc}), {counted(len(faces), 'face')} left "
                            "out of matching")
        return
    # Boxes are in the pixels the photo was processed at (width); older photos may differ.
    factor = rgb.shape[1] / photo.width if photo.width else 1.0
    boxes = [tuple(round(v * factor) for v in (f.left, f.top, f.right, f.bottom)) for f in faces]
    descriptors = engine.describe_boxes(rgb, boxes)
    with transaction.atomic():
        for face, descriptor in zip(faces, descriptors):
            face.descriptor, face.descriptor_model = descriptor_to_bytes(descriptor), current
        DetectedFace.objects.bulk_update(faces, ["descriptor", "descriptor_model"])
    result.faces_described += len(faces)


def _reencode_template(template: LearntTemplate, current: str, result: ReencodeResult, user) -> None:
    try:
        with template.crop.open("rb") as fh:
            rgb = engine.decode_photo(fh.read())
        face = engine.choose_enrolment_face(rgb)
    except (ImageError, OSError, ValueError) as exc:
        remove_template(template, user, f"its crop gives no face for the model {current} ({exc})")
        result.templates_removed += 1
        result.notes.append(f"learnt template {template.pk} of {template.student}: removed, its crop gives no "
                            f"face ({exc})")
        log.info("learnt template %s of student %s removed: %s", template.pk, template.student_id, exc,
                 extra={"template": template.pk, "student": template.student_id})
        return
    updated = LearntTemplate.objects.filter(Q(pk=template.pk), ~Q(descriptor_model=current)).update(
        descriptor=descriptor_to_bytes(face.descriptor), descriptor_model=current)
    result.templates_described += updated
