"""Matching a session's faces to the roster and turning them into attendance records."""
from collections import Counter
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from faces import DESCRIPTOR_SIZE, matching

from attendance import audit
from attendance import engine
from attendance.registers.codes import all_codes
from attendance.roster.consent import consenting
from attendance.roster.learning import learn_strong_matches
from attendance.models import (
    AttendanceCode,
    AttendanceRecord,
    AuditEntry,
    ClassPhoto,
    ClassSession,
    Consent,
    DetectedFace,
    EnrolmentPhoto,
    LearntTemplate,
    descriptor_from_bytes,
)


@dataclass
class Gallery:
    """A class's gallery: ``descriptors`` ``(M, 128) float32``, ``labels`` (M student ids)
    and ``templates`` (M ``LearntTemplate`` ids, None for an enrolment photo's row)."""

    descriptors: np.ndarray
    labels: list
    templates: list

    def learnt_counts(self) -> dict:
        """``{student id: number of learnt templates}`` of the students that have some."""
        return dict(Counter(label for label, template in zip(self.labels, self.templates) if template is not None))


def roster_gallery(school_class) -> Gallery:
    """The gallery of a class: the ready enrolment photos and the learnt templates of its
    roster's students whose consent is recorded (a student without consent is never
    offered as a face's student, whatever rows exist), described by the current model
    (``engine.model_id``)."""
    # Locked in a transaction (consent.consenting): a withdrawal waits until these matches are
    # written, then deletes them; or it came first and the student is not in the gallery.
    consented = list(consenting(Consent.objects.filter(student__classes=school_class))
                     .values_list("student_id", flat=True))
    current = engine.model_id()
    photos = list(EnrolmentPhoto.objects.filter(student__classes=school_class, status=EnrolmentPhoto.READY,
                                                student_id__in=consented, descriptor_model=current)
                  .order_by("student_id", "pk").values_list("student_id", "descriptor"))
    templates = list(LearntTemplate.objects.filter(student__classes=school_class, student_id__in=consented,
                                                   descriptor_model=current)
                     .order_by("student_id", "pk").values_list("student_id", "descriptor", "pk"))
    descriptors = [descriptor_from_bytes(d) for _, d in photos] + [descriptor_from_bytes(d) for _, d, _ in templates]
    return Gallery(np.array(descriptors, dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE),
                   [s for s, _ in photos] + [s for s, _, _ in templates],
                   [None] * len(photos) + [pk for _, _, pk in templates])


def _reason(reason: str, width: int) -> str:
    """Why an unsure face was not matched (a ``faces.matching`` reason), in words for the
    teacher; never a distance.

    Stored in English, as a record; shown translated (``attendance.stored_text``)."""
    return {
        matching.TOO_SMALL: f"Face too small to judge ({width} pixels wide).",
        matching.SMALL_UNSURE: f"Too small to recognise for sure ({width} pixels wide): ask the teacher.",
        matching.SMALL_FOR_PHOTO: gettext_noop("Much smaller than the other faces in the photo (someone in the "
                                               "background?)."),
        matching.CLOSE_CALL: gettext_noop("Looks like two students almost equally."),
        matching.CLOSER_FACE: gettext_noop("Another face in this session looks more like this student."),
        matching.TAKEN: gettext_noop("A teacher already gave this student to another face."),
    }.get(reason, "")


@transaction.atomic
def match_session(session: ClassSession) -> list[DetectedFace]:
    """Decide the session's new faces (decision ``pending``) and write the records.

    The policy is ``faces.matching.match_faces``: a face gets a student only when that
    student is clearly its nearest (threshold, margin) and it is that student's nearest
    face among the session's undecided faces; a student a person gave to a face is
    taken. Decisions already made stay as they are: a person's are fixed constraints,
    and a face the machine matched earlier gives its student up only when a new face
    is nearer to that student by at least ``FACE_MATCH_CHANGE_MARGIN`` (it is then unsure,
    or "matched in another photo"); each such change is written to the audit log with
    the actor "machine" (``machine_changes``). Faces narrower than ``FACE_MIN_PROBE_PX``
    are too small to judge and go to review; faces narrower than ``FACE_SMALL_PROBE_PX``
    not clearly nearest their student go to review as too small to recognise for sure
    (``engine.match``). Only faces described by the current model
    (``engine.model_id``) are matched; others keep their decisions.

    Returns the earlier faces whose decision the machine changed.
    """
    # Lock the session: photos finishing at once must not match on stale data.
    ClassSession.objects.select_for_update().get(pk=session.pk)
    faces = list(DetectedFace.objects.filter(photo__session=session, photo__status=ClassPhoto.DONE).order_by("pk"))
    current = engine.model_id()
    new = [f for f in faces if f.decision == DetectedFace.PENDING and not f.is_reviewed and f.descriptor_model == current]
    changed = []
    if new:
        changed = _decide_new_faces(session, faces, new)
    write_attendance(session, faces)
    return changed


def _decide_new_faces(session, faces, new) -> list[DetectedFace]:
    taken = {f.reviewed_student_id for f in faces if f.is_reviewed and f.reviewed_student_id}
    current = engine.model_id()
    undecided = [f for f in faces if not f.is_reviewed and f.descriptor_model == current]
    gallery = roster_gallery(session.school_class)
    probes = np.array([descriptor_from_bytes(f.descriptor) for f in undecided], dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)
    proposals = dict(zip((f.pk for f in undecided), engine.match(
        probes, [f.width for f in undecided], gallery.descriptors, gallery.labels, taken=taken,
        groups=[f.photo_id for f in undecided], learnt=gallery.learnt_counts())))
    margin = settings.FACE_MATCH_CHANGE_MARGIN
    holders = {f.student_id: f for f in undecided if f.decision == DetectedFace.MATCHED and f not in new}
    changed = []
    for face in new:
        match = proposals[face.pk]
        _apply(face, match, gallery)
        holder = holders.get(face.student_id) if face.decision == DetectedFace.MATCHED else None
        if holder is None:
            continue
        # An earlier face holds this student: the new one takes it only on clearly better
        # evidence; otherwise it is the one left unsure.
        held = proposals[holder.pk]
        if match.distance + margin <= held.distance:
            before = _state(holder)
            holder.decision, holder.reason = DetectedFace.UNSURE, _reason(matching.CLOSER_FACE, holder.width)
            holder.matched_template_id = None
            changed.append((holder, before))
            holders[face.student_id] = face
        else:
            face.decision, face.matched_template_id = DetectedFace.UNSURE, None
            face.reason = _reason(matching.CLOSER_FACE, face.width)
    # A student unsure here but matched in another photo of the session was simply
    # photographed twice: not something for the teacher to review.
    matched_in = {}
    for face in undecided:
        if face.decision == DetectedFace.MATCHED:
            matched_in.setdefault(face.student_id, set()).add(face.photo_id)
    touched = list(new) + [face for face, _ in changed]
    for face in touched:
        if face.decision == DetectedFace.UNSURE and matched_in.get(face.student_id, {face.photo_id}) - {face.photo_id}:
            face.decision, face.reason = DetectedFace.REPEAT, gettext_noop("Matched in another photo of this session.")
    DetectedFace.objects.bulk_update(touched, ["decision", "student", "distance", "reason", "matched_template",
                                               "candidates"])
    for face, before in changed:
        audit.record(None, AuditEntry.MACHINE_CHANGED, session,
                     f"Face {face.pk} in {session.school_class.name} on {session.date} ({session.period}): "
                     f"{before['label']} → {face.label}, as a face in a new photo looks more like "
                     f"{face.student.name if face.student else 'this student'}",
                     before=before, after=_state(face), actor=audit.MACHINE)
    if settings.TEMPLATE_LEARN_STRONG_MATCHES:
        learn_strong_matches(session, [(f, proposals[f.pk]) for f in new if f.decision == DetectedFace.MATCHED])
    return [face for face, _ in changed]


def _apply(face: DetectedFace, match, gallery: Gallery) -> None:
    face.decision, face.student_id = match.decision, match.label
    face.distance = match.distance if np.isfinite(match.distance) else None
    face.reason = _reason(match.reason, face.width) if match.decision == DetectedFace.UNSURE else ""
    face.candidates = list(match.candidates)
    face.matched_template_id = (gallery.templates[match.gallery_row]
                                if match.decision == DetectedFace.MATCHED and match.gallery_row is not None else None)


def _state(face: DetectedFace) -> dict:
    return {"face": face.pk, "photo": face.photo_id, "decision": face.decision, "student": face.student_id,
            "label": face.label}


def machine_changes(session: ClassSession):
    """The audit entries of decisions the machine changed in this session, newest first."""
    return AuditEntry.objects.filter(action=AuditEntry.MACHINE_CHANGED, object_type=ClassSession._meta.verbose_name,
                                     object_id=str(session.pk))


@transaction.atomic
def rematch_session(session: ClassSession) -> None:
    """Decide every machine-decided face of the session again from its descriptors, photo
    by photo in the order they were processed, as the worker did (a check that the stored
    decisions and records follow from the stored faces; ``benchmark_load`` uses it).
    Faces a person decided stay as they are, and so do faces of another model (never matched)."""
    ClassSession.objects.select_for_update().get(pk=session.pk)
    photos = list(session.photos.filter(status=ClassPhoto.DONE).order_by("processed_at", "pk"))
    machine = DetectedFace.objects.filter(photo__session=session, review_action="", descriptor_model=engine.model_id())
    machine.update(decision=DetectedFace.UNKNOWN, student=None)
    for photo in photos:
        machine.filter(photo=photo).update(decision=DetectedFace.PENDING)
        match_session(session)


def present_student_ids(session: ClassSession) -> set[int]:
    """Students some face of the session's finished photos counts for."""
    return _counted_students(DetectedFace.objects.filter(photo__session=session, photo__status=ClassPhoto.DONE))


def _counted_students(faces) -> set[int]:
    return {f.final_student_id for f in faces} - {None}


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
    code = (codes if codes is not None else all_codes()).get(status)
    if code is None or not code.active:
        raise RegisterError(gettext("Unknown attendance code %(code)s.") % {"code": repr(status)})
    if code.needs_reason and not reason.strip():
        raise RegisterError(gettext("“%(code)s” needs a reason.") % {"code": code.shown_label})
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
        raise RegisterError(gettext("%(name)s is not on this class's roster.") % {"name": student.name})
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


@transaction.atomic
def save_register(session: ClassSession, changes, user) -> int:
    """Save a register taken by hand: every ``(student, status, reason)`` of ``changes``
    through ``set_record`` (each audit logged), in one transaction. The manual register
    page's save; one student's change (the session page, the API) is ``set_record``.

    Returns:
        how many changes were saved.

    Raises:
        RegisterError: as ``set_record``, for any change; then nothing was saved.
    """
    changes = list(changes)
    for student, status, reason in changes:
        set_record(session, student, status, user, reason=reason)
    return len(changes)


def _audit_change(record: AttendanceRecord, code: AttendanceCode, before: dict | None, user) -> None:
    session = record.session
    # "present" as before for the seeded codes; "Tardy (late)" once the school renamed one.
    marked = record.status if code.label.lower() == record.status else f"{code.label} ({record.status})"
    audit.record(user, AuditEntry.RECORD_CHANGED, record,
                 f"{record.student.name} marked {marked}{f': {record.reason}' if record.reason else ''} in "
                 f"{session.school_class.name} on {session.date} ({session.period})",
                 before=before, after={"status": record.status, "reason": record.reason, "source": record.source})
