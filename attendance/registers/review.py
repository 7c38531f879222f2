"""A person's decisions on faces, undo, and confirming the register.

One function per operation, used by the web page, the REST API and the benchmark's
simulated teacher alike: ``decide_face``, ``undo_decision``, ``confirm_register``.
A decision changes that face and the records of the students it names (the student the
face counted for before, and the one it counts for now), nothing else: no other face is
matched again.
"""
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.dateparse import parse_datetime

from attendance import audit
from attendance.registers import codes
from attendance.roster import learning
from attendance.roster.consent import has_consent
from attendance.crops import face_crop_jpeg  # noqa: F401  (the review page's crops)
from attendance.models import AttendanceRecord, AuditEntry, ClassPhoto, ClassSession, DetectedFace, Student
from attendance.registers.register import RegisterError, present_student_ids, set_record


class ReviewError(Exception):
    """The decision cannot be applied; the message says why, in words for the teacher."""


def faces_to_review(session):
    """Faces of the session's finished photos that need a person: flagged machine matches
    first, then unsure faces (they have a likely student), then unknown ones; faces a
    person decided are not listed."""
    faces = DetectedFace.objects.filter(photo__session=session, photo__status=ClassPhoto.DONE, review_action="")
    faces = faces.filter(decision__in=[DetectedFace.UNSURE, DetectedFace.UNKNOWN]) | faces.exclude(flagged_reason="")
    faces = faces.select_related("student", "photo")
    return sorted(faces, key=lambda f: (not f.flagged_reason, f.decision != DetectedFace.UNSURE, f.photo_id, f.left))


def _record_state(record: AttendanceRecord | None) -> dict | None:
    if record is None:
        return None
    return {"status": record.status, "reason": record.reason, "source": record.source,
            "machine_status": record.machine_status, "changed_by": record.changed_by_id,
            "changed_at": record.changed_at.isoformat() if record.changed_at else None}


def _review_state(face: DetectedFace) -> dict:
    return {"review_action": face.review_action, "reviewed_student": face.reviewed_student_id,
            "reviewed_by": face.reviewed_by_id,
            "reviewed_at": face.reviewed_at.isoformat() if face.reviewed_at else None,
            "flagged_reason": face.flagged_reason}


def _describe(face: DetectedFace) -> dict:
    """The face's decision for the audit log, in names."""
    return {"decision": face.decision, "student": face.student.name if face.student else None,
            "review": face.review_action or None,
            "reviewed_student": face.reviewed_student.name if face.reviewed_student else None}


@transaction.atomic
def decide_face(face: DetectedFace, user, student: Student | None) -> list[Student]:
    """A person's answer for one face: ``student`` (a rostered student with consent) or
    None for "Not a student". Returns the students whose attendance record changed.

    Only this face and the records of the students it names change: the student it
    counted for before and the one it counts for now (records that change become manual,
    with who and when; a manual mark that already agrees stands). A template learnt from
    this face for another student is removed at once and the faces it influenced are
    flagged (``learning.remove_template``). The machine's own decision stays on the face
    for the audit; ``undo_decision`` puts back what this changed.

    Raises:
        ReviewError: the student is not on the roster, has no consent recorded (a face is
            never linked to a student without consent), or a person already gave them
            to another face of this session.
    """
    session = ClassSession.objects.select_for_update().select_related("school_class").get(pk=face.photo.session_id)
    face = DetectedFace.objects.select_for_update().select_related("photo").get(
        pk=face.pk)
    if student is not None:
        if not session.school_class.students.filter(pk=student.pk).exists():
            raise ReviewError(_("%(name)s is not on this class's roster.") % {"name": student.name})
        if not has_consent(student):
            raise ReviewError(_("No consent to face recognition is recorded for %(name)s, so no face can be linked "
                                "to them: mark them on the register by hand.") % {"name": student.name})
        clash = DetectedFace.objects.filter(photo__session=session, reviewed_student=student).exclude(pk=face.pk)
        if clash.exists():
            raise ReviewError(_("%(name)s is already given to another face in this session. Undo that answer first "
                                "if it was wrong.") % {"name": student.name})
    new_student_id = student.pk if student is not None else None
    if face.is_reviewed and face.reviewed_student_id == new_student_id:
        return []  # the same answer again: nothing changes
    before_face, before_review = _describe(face), _review_state(face)
    counted_before, present_before = face.final_student_id, present_student_ids(session)
    if student is None:
        face.review_action = DetectedFace.NOT_STUDENT
    elif face.student_id == student.pk:
        face.review_action = DetectedFace.CONFIRMED
    else:
        face.review_action = DetectedFace.REASSIGNED
    face.reviewed_student, face.reviewed_by, face.reviewed_at = student, user, timezone.now()
    face.flagged_reason = ""
    face.save(update_fields=["review_action", "reviewed_student", "reviewed_by", "reviewed_at", "flagged_reason"])
    audit.record(user, AuditEntry.FACE_REVIEWED, face,
                 f"Face {face.pk} in {session.school_class.name} on {session.date}: "
                 f"{student.name if student else 'not a student'}",
                 before=before_face, after={"review": face.review_action,
                                            "reviewed_student": student.name if student else None})
    for template in face.learnt_templates.exclude(student_id=new_student_id):
        learning.remove_template(template, user, f"face {face.pk} was corrected")
    changed = _update_records(session, {counted_before, new_student_id} - {None}, present_before, user)
    face.undo = {"review": before_review, "records": changed}
    face.save(update_fields=["undo"])
    return list(Student.objects.filter(pk__in=[c["student"] for c in changed]))


def _update_records(session, named: set, present_before: set, user) -> list[dict]:
    """Set the records of the ``named`` students whose presence (some face counting for
    them) the decision changed, unless a person's mark already agrees ("late" for a face
    now confirmed stands). Returns, per record changed, its state before and when it was
    changed (for undo)."""
    present = present_student_ids(session)
    records = {r.student_id: r for r in session.records.filter(student_id__in=named)}
    school_codes = codes.all_codes()
    changed = []
    for student in Student.objects.filter(pk__in=named):
        is_present = student.pk in present
        if is_present == (student.pk in present_before):
            continue
        record = records.get(student.pk)
        if (record is not None and record.source == AttendanceRecord.MANUAL
                and codes.counts_present(record.status, school_codes) == is_present):
            continue
        photo_said = record.status if record is not None and record.source == AttendanceRecord.PHOTO else ""
        updated = set_record(session, student, AttendanceRecord.PRESENT if is_present else AttendanceRecord.ABSENT,
                             user, photo_status=photo_said)
        changed.append({"student": student.pk, "before": _record_state(record),
                        "changed_at": updated.changed_at.isoformat()})
    return changed


@transaction.atomic
def undo_decision(face: DetectedFace, user) -> list[Student]:
    """Put back what the last person's decision on ``face`` changed: the face's review (as
    it was before) and the records it changed, unless someone changed those records since
    (they are then left as they are). A template removed by that decision is not learnt
    again. Returns the students whose record was put back.

    Raises:
        ReviewError: there is no decision to undo on this face, or undoing it would link
            the face to a student whose consent is no longer recorded.
    """
    session = ClassSession.objects.select_for_update().select_related("school_class").get(pk=face.photo.session_id)
    face = DetectedFace.objects.select_for_update().select_related("photo").get(
        pk=face.pk)
    if not face.undo:
        raise ReviewError(_("There is no answer to undo on this face."))
    before = _describe(face)
    previous = face.undo["review"]
    if previous["reviewed_student"] is not None:
        earlier = Student.objects.filter(pk=previous["reviewed_student"]).first()
        if earlier is None or not has_consent(earlier):
            raise ReviewError(_("Undoing would give this face back to a student whose consent to face recognition "
                                "is no longer recorded; answer again instead."))
    face.review_action, face.reviewed_student_id = previous["review_action"], previous["reviewed_student"]
    face.reviewed_by_id = previous["reviewed_by"]
    face.reviewed_at = parse_datetime(previous["reviewed_at"]) if previous["reviewed_at"] else None
    face.flagged_reason = previous["flagged_reason"]
    restored = []
    for change in face.undo["records"]:
        record = session.records.filter(student_id=change["student"]).first()
        if record is None or record.changed_at is None or record.changed_at.isoformat() != change["changed_at"]:
            continue  # changed again since: that later change stands
        state = change["before"]
        if state is None:
            record.delete()
        else:
            record.status, record.reason, record.source = state["status"], state["reason"], state["source"]
            record.machine_status, record.changed_by_id = state["machine_status"], state["changed_by"]
            record.changed_at = parse_datetime(state["changed_at"]) if state["changed_at"] else None
            record.save()
        restored.append(change["student"])
    face.undo = None
    face.save(update_fields=["review_action", "reviewed_student", "reviewed_by", "reviewed_at", "flagged_reason",
                             "undo"])
    face = DetectedFace.objects.select_related("student", "reviewed_student").get(pk=face.pk)
    audit.record(user, AuditEntry.FACE_REVIEWED, face,
                 f"Face {face.pk} in {session.school_class.name} on {session.date}: answer undone",
                 before=before, after={**_describe(face), "records_restored": len(restored)})
    return list(Student.objects.filter(pk__in=restored))


@transaction.atomic
def confirm_register(session: ClassSession, user) -> list:
    """A person confirms the session's register ("This register is right"), with who and
    when; the faces that count for students then become learnt templates of those with
    consent (``learning.learn_from_session``). Confirming again (after a correction)
    learns what is new. Returns the templates learnt.

    Raises:
        RegisterError: photos of the session are still being processed.
    """
    session = ClassSession.objects.select_for_update().select_related("school_class").get(pk=session.pk)
    if not session.is_finished:
        raise RegisterError(_("Photos of this session are still being processed: confirm the register once they "
                              "are done."))
    before = {"confirmed_by": session.confirmed_by.get_username() if session.confirmed_by else None,
              "confirmed_at": session.confirmed_at.isoformat() if session.confirmed_at else None}
    session.confirmed_by, session.confirmed_at = user, timezone.now()
    session.save(update_fields=["confirmed_by", "confirmed_at"])
    templates = learning.learn_from_session(session, user)
    audit.record(user, AuditEntry.REGISTER_CONFIRMED, session,
                 f"Register of {session.school_class.name} on {session.date} ({session.period}) confirmed; "
                 f"{len(templates)} face(s) learnt", before=before,
                 after={"confirmed_by": user.get_username(), "confirmed_at": session.confirmed_at.isoformat(),
                        "templates_learnt": len(templates)})
    return templates
