"""Learnt templates: the gallery learns from the registers people confirm.

A class's gallery (``register.roster_gallery``) is its students' ready enrolment photos
plus their learnt templates. When a person confirms a register ("This register is
right", ``review.confirm_register``), every face that counts for a student (matched by
the machine and left standing, or given by a person) becomes a template of that student,
if the student's consent is recorded and the face adds something new:

- at most ``TEMPLATE_MAX_PER_STUDENT`` templates per student (enrolment photos are never
  evicted, nor counted); when full, the most redundant template makes room for a more
  novel one;
- a face within ``TEMPLATE_MIN_NOVELTY`` of one of the student's enrolment photos or
  templates adds nothing and is not kept;
- faces narrower than ``TEMPLATE_MIN_FACE_PX`` are not learnt.

A template keeps its descriptor and a small crop of the face (``TEMPLATE_CROP_PX``), not
the class photo, so it outlives the class photo's retention. A template learnt from a
face a person later corrects is removed at once, and the faces whose match relied on it
are flagged for review (``remove_template``).
"""
import logging
import statistics

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q

from faces import DESCRIPTOR_SIZE
from faces.errors import ImageError
from faces.matching import distance_matrix

from attendance import audit
from attendance import crops
from attendance import engine
from attendance.roster.consent import has_consent
from attendance.wiring.photo_store import store_errors
from attendance.models import (
    AuditEntry,
    ClassPhoto,
    DetectedFace,
    EnrolmentPhoto,
    LearntTemplate,
    Student,
    descriptor_from_bytes,
    descriptor_to_bytes,
)

log = logging.getLogger(__name__)


def _student_rows(student: Student) -> tuple[np.ndarray, list[LearntTemplate]]:
    """The student's enrolment descriptors ``(E, 128)`` and their templates (with
    descriptors), of the current model (``engine.model_id``)."""
    current = engine.model_id()
    enrolled = [descriptor_from_bytes(d) for d in EnrolmentPhoto.objects.filter(
        student=student, status=EnrolmentPhoto.READY, descriptor_model=current).values_list("descriptor", flat=True)]
    templates = student.templates.filter(descriptor_model=current).order_by("learnt_at", "pk")
    return np.array(enrolled, dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE), list(templates)


def add_template(student: Student, descriptor: np.ndarray, crop: bytes, face: DetectedFace | None = None,
                 how: str = LearntTemplate.CONFIRMED, user=None) -> LearntTemplate | None:
    """Keep a face as a template of ``student`` if it adds something; returns the new
    template, or None when it was not kept (no consent, a near-duplicate, learning off).

    Args:
        descriptor: the face's ``(128,)`` float32 descriptor, of the current model
            (``engine.model_id``, stamped on the template).
        crop: a JPEG of the face (``TEMPLATE_CROP_PX``).
        face: the ``DetectedFace`` it comes from (its photo and session are the source).
        how: ``LearntTemplate.CONFIRMED`` or ``STRONG_MATCH``.
        user: who confirmed the register (None for strong machine matches).
    """
    limit = settings.TEMPLATE_MAX_PER_STUDENT
    if limit <= 0 or not has_consent(student):
        return None
    enrolled, templates = _student_rows(student)
    rows = np.concatenate([enrolled, np.array([descriptor_from_bytes(t.descriptor) for t in templates],
                                              dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)])
    novelty = float(distance_matrix(np.asarray(descriptor)[None, :], rows).min()) if len(rows) else float("inf")
    if novelty < settings.TEMPLATE_MIN_NOVELTY:
        return None
    if len(templates) >= limit:
        # Each template's redundancy: its distance to the nearest other row of the student.
        distances = distance_matrix(rows[len(enrolled):], rows)
        np.fill_diagonal(distances[:, len(enrolled):], np.inf)
        redundancy = distances.min(axis=1)
        victim = int(np.argmin(redundancy))  # the oldest of equals
        if redundancy[victim] >= novelty:
            return None
        templates[victim].delete()
    session = face.photo.session if face is not None else None
    return LearntTemplate.objects.create(
        student=student, descriptor=descriptor_to_bytes(descriptor), descriptor_model=engine.model_id(), how=how,
        crop=ContentFile(crop, name="face.jpg"), face_width=face.width if face is not None else 0,
        source_face=face, source_photo=face.photo if face is not None else None, source_session=session,
        source_label=f"{session.school_class.name}, {session.date:%d %b %Y}, {session.period}" if session else "",
        confirmed_by=user if getattr(user, "pk", None) else None,
    )


def learnable_faces(session) -> list[DetectedFace]:
    """The faces of a session a confirmation teaches: each face that counts for a student
    (machine match left standing, or a person's answer), not flagged, wide enough, of a
    rostered student with consent, described by the current model, and not learnt already."""
    roster = set(session.school_class.students.filter(consent__isnull=False).values_list("pk", flat=True))
    faces = (DetectedFace.objects.filter(photo__session=session, photo__status=ClassPhoto.DONE, flagged_reason="",
                                         descriptor_model=engine.model_id())
             .filter(Q(review_action="", decision=DetectedFace.MATCHED) | Q(reviewed_student__isnull=False))
             .exclude(learnt_templates__isnull=False).select_related("photo__session__school_class")
             .order_by("photo_id", "pk"))
    return [f for f in faces if f.final_student_id in roster and f.width >= settings.TEMPLATE_MIN_FACE_PX]


def learn_from_session(session, user) -> list[LearntTemplate]:
    """Learn templates from a confirmed session's faces (``learnable_faces``); returns the
    templates kept. Their crops come from the faces' stored crops (``crops.template_crop_jpeg``):
    no class photo is decoded again."""
    learnt, unreadable = [], set()
    students = {s.pk: s for s in Student.objects.filter(classes=session.school_class)}
    for face in learnable_faces(session):
        if face.photo_id in unreadable:
            continue
        try:
            # The stored crop (made by the worker): no class photo is decoded again.
            crop = crops.template_crop_jpeg(face, settings.TEMPLATE_CROP_PX)
        except (ImageError, OSError) as exc:
            # The register is confirmed all the same; this photo teaches nothing.
            log.warning("session %s: class photo %s unreadable, nothing learnt from it: %s", session.pk,
                        face.photo_id, exc, extra={"session": session.pk, "photo": face.photo_id})
            unreadable.add(face.photo_id)
            continue
        except store_errors() as exc:
            # The photo store is down: the register is confirmed all the same, and confirming
            # it again once the store answers learns these faces.
            log.error("session %s: photo store unreachable, nothing learnt: %s", session.pk, exc,
                      extra={"session": session.pk})
            break
        try:
            with transaction.atomic():  # a template it replaced stays when the crop cannot be stored
                template = add_template(students[face.final_student_id], descriptor_from_bytes(face.descriptor),
                                        crop, face=face, user=user)
        except store_errors() as exc:  # the crop could not be stored: no template row either
            log.error("session %s: photo store unreachable, nothing more learnt: %s", session.pk, exc,
                      extra={"session": session.pk})
            break
        if template is not None:
            learnt.append(template)
    if learnt:
        log.info("session %s: %d templates learnt", session.pk, len(learnt),
                 extra={"session": session.pk, "templates": len(learnt)})
    return learnt


def learn_strong_matches(session, matches) -> list[LearntTemplate]:
    """``TEMPLATE_LEARN_STRONG_MATCHES``: templates from the machine's strong matches of an
    unconfirmed session: ``matches`` are ``(DetectedFace, faces.matching.FaceMatch)`` of
    matched faces; those within ``TEMPLATE_STRONG_MATCH_DISTANCE`` with a gap of at least
    ``TEMPLATE_STRONG_MATCH_MARGIN`` to the next student are learnt."""
    strong = [face for face, match in matches
              if match.distance <= settings.TEMPLATE_STRONG_MATCH_DISTANCE
              and match.runner_up_distance - match.distance >= settings.TEMPLATE_STRONG_MATCH_MARGIN
              and face.width >= settings.TEMPLATE_MIN_FACE_PX]
    learnt = []
    for face in strong:
        crop = crops.template_crop_jpeg(face, settings.TEMPLATE_CROP_PX)
        template = add_template(face.student, descriptor_from_bytes(face.descriptor), crop, face=face,
                                how=LearntTemplate.STRONG_MATCH)
        if template is not None:
            learnt.append(template)
    return learnt


#: Stored in English (a record); shown translated by ``attendance.stored_text``.
FLAG = "Recognised with a learnt photo of {name} that a teacher later corrected: please check."


@transaction.atomic
def remove_template(template: LearntTemplate, user, why: str) -> int:
    """Delete a template (row and crop file) and flag for review the faces whose machine
    match relied on it. ``why`` says in words why it goes (audit log). Returns how many
    faces were flagged."""
    name = template.student.name
    flagged = DetectedFace.objects.filter(matched_template=template, review_action="").update(
        flagged_reason=FLAG.format(name=name)[:200])
    audit.record(user, AuditEntry.TEMPLATE_REMOVED, template,
                 f"Learnt template {template.pk} of {name} removed: {why}; {flagged} face(s) flagged for review",
                 before={"student": name, "source": template.source_label, "face": template.source_face_id,
                         "learnt_at": template.learnt_at.isoformat(), "faces_flagged": flagged}, after=None)
    template.delete()  # the crop file goes with it (models.files._delete_template_crop)
    return flagged


def drift(student: Student) -> dict | None:
    """Whether the student's recent matches creep towards the threshold (a child who grew):
    the median distance of their last ``DRIFT_RECENT_MATCHES`` faces that counted for them
    to their enrolment photos, against ``DRIFT_ALERT_FRACTION`` of the threshold (faces and
    photos described by the current model only).

    Returns None when there are fewer than ``DRIFT_MIN_MATCHES`` such faces (class photos
    are kept ``CLASS_PHOTO_RETENTION_DAYS``) or no ready enrolment photo; else
    ``{"median": distance, "faces": n, "suggest_new_photo": bool}``.
    """
    enrolled, _ = _student_rows(student)
    faces = (DetectedFace.objects.filter(Q(review_action="", decision=DetectedFace.MATCHED, student=student)
                                         | Q(reviewed_student=student), descriptor_model=engine.model_id())
             .order_by("-photo__processed_at", "-pk").values_list("descriptor", flat=True)
             [:settings.DRIFT_RECENT_MATCHES])
    probes = np.array([descriptor_from_bytes(d) for d in faces], dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)
    if len(probes) < settings.DRIFT_MIN_MATCHES or not len(enrolled):
        return None
    median = statistics.median(distance_matrix(probes, enrolled).min(axis=1).tolist())
    return {"median": median, "faces": len(probes),
            "suggest_new_photo": median >= settings.DRIFT_ALERT_FRACTION * settings.FACE_MATCH_THRESHOLD}
