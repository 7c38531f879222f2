"""Class sessions: uploading class photos and summarising what the photos showed."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext
from django.utils.translation import ngettext

from attendance import engine
from attendance.registers import codes
from attendance.dates import validate_school_date
from attendance.text import validate_single_line_text
from attendance.registers.recognition import queue_class_photo
from attendance.registers.register import machine_changes
from attendance.registers.timetable import timetabled_spelling
from attendance.wiring.job_queue import storing_uploads
from attendance.models import ClassPhoto, ClassSession, DetectedFace


def get_or_create_session(school_class, date, period: str, user=None) -> ClassSession:
    """The session of the class on ``date`` (a datetime.date) and ``period`` (stripped;
    another spelling of a timetabled period's name is that period's, see
    ``timetable.timetabled_spelling``), created by ``user`` if new. Raises django.core.exceptions.ValidationError for a date
    outside ``dates.FIRST_DATE``..``dates.LAST_DATE``, whatever the caller checked."""
    validate_school_date(date)
    session, _ = ClassSession.objects.get_or_create(
        school_class=school_class, date=date, period=timetabled_spelling(school_class, period.strip()), defaults={"created_by": user}
    )
    return session


def check_period(period: str) -> str:
    """The period of a session as stored: ``period`` stripped, 1 to 50 characters
    (``ClassSession.period``'s max_length), one line (``text.validate_single_line_text``).

    Raises:
        django.core.exceptions.ValidationError: empty, too long, or holding a control character.
    """
    period = (period or "").strip()
    max_length = ClassSession._meta.get_field("period").max_length
    if not period or len(period) > max_length:
        raise ValidationError(gettext("The period must be 1 to %(limit)d characters.") % {"limit": max_length},
                              code="period_length")
    validate_single_line_text(period)
    return period


def upload_class_photos(school_class, date, period: str, photo_files, user=None) -> tuple[ClassSession, list]:
    """Take attendance from class photos: the one upload the web form, the API and the
    ``take_attendance`` command all call.

    Checks everything first (the date, ``check_period``, each photo by
    ``engine.check_photos``), then creates (or reuses) the session for class, ``date`` (a
    datetime.date or YYYY-MM-DD) and ``period``, stores the photos (status pending) and
    queues them for the worker. All or nothing (``job_queue.storing_uploads``): on any
    error no photo row or file is kept, no new session either, and no task is sent.

    Returns:
        ``(session, photos)``: the session and the ``ClassPhoto`` rows stored, in order.

    Raises:
        django.core.exceptions.ValidationError: a date outside the accepted range, a wrong
            period, no photo or a refused photo (each message names the file); nothing was saved.
        QueueUnavailable: the job queue is down; nothing was saved.
    """
    validate_school_date(date)
    period = check_period(period)
    photo_files = engine.check_photos(photo_files)
    with storing_uploads() as stored:
        session = get_or_create_session(school_class, date, period, user)
        for photo_file in photo_files:
            stored.append(ClassPhoto.objects.create(session=session, image=photo_file, uploaded_by=user))
            queue_class_photo(stored[-1])
    return session, list(stored)


def photo_progress(session: ClassSession) -> dict:
    """What the session page's status.json and the API's status call answer:
    ``{"finished": ClassSession.is_finished, "photos": [{"id", "status", "error"}, ...]}``
    (photos in upload order; ``error`` in the active language, ``ClassPhoto.shown_error``)."""
    prefetch_related_objects([session], Prefetch("photos", queryset=ClassPhoto.objects.only(
        "id", "session_id", "status", "error", "error_code")))
    return {"finished": session.is_finished,
            "photos": [{"id": p.pk, "status": p.status, "error": p.shown_error} for p in session.photos.all()]}


def session_summary(session: ClassSession) -> dict:
    """What the session page shows: photos with their faces, present and absent students,
    the faces counted honestly (matched, not sure, not on the class's list), the
    confirmation and the decisions the machine changed when photos were added."""
    prefetch_related_objects([session], Prefetch(
        "photos", queryset=ClassPhoto.objects.prefetch_related("faces__student", "faces__reviewed_student")))
    photos = list(session.photos.all())
    records = codes.attach(list(session.records.select_related("student", "changed_by")
                                .prefetch_related("student__photos").order_by("student__name")))
    faces = [face for photo in photos if photo.is_done for face in photo.faces.all()]
    # Faces a person has reviewed are settled: they no longer count as unknown or unsure.
    unknown = sum(f.decision == DetectedFace.UNKNOWN and not f.is_reviewed for f in faces)
    unsure = sum(f.decision in (DetectedFace.UNSURE, DetectedFace.PENDING) and not f.is_reviewed for f in faces)
    flagged = sum(bool(f.flagged_reason) and not f.is_reviewed and f.decision == DetectedFace.MATCHED for f in faces)
    return {
        "session": session,
        "photos": photos,
        "finished": session.is_finished,
        # By what each code counts as: a late student is listed present, an excused one absent.
        "present": [r for r in records if r.code.counts_present],
        "absent": [r for r in records if not r.code.counts_present],
        "faces_found": len(faces),
        "matched_faces": sum(f.final_student_id is not None for f in faces),
        "unknown_faces": unknown,
        "unsure_faces": unsure,
        "repeat_faces": sum(f.decision == DetectedFace.REPEAT and not f.is_reviewed for f in faces),
        "not_a_student_faces": sum(f.is_reviewed and f.reviewed_student_id is None for f in faces),
        "decided_faces": sum(f.is_reviewed for f in faces),
        "flagged_faces": flagged,
        # The same faces review.faces_to_review lists, counted from what is already loaded.
        "review_count": unknown + unsure + flagged,
        "machine_changes": list(machine_changes(session)[:50]),
        # Photos deleted under the retention rule (retention.py): the page says so, the
        # records above stay. None when no photo of the session was deleted.
        "retention_notice": retention_notice(session),
    }


def retention_notice(session: ClassSession) -> str | None:
    """What the session page says when photos of the session were deleted under the
    retention rule, or None when none were."""
    if session.photos_deleted_at is None:
        return None
    days = session.photos_retention_days
    if days:
        return ngettext("Photos deleted after %(days)d day under the school's retention rule; the register is kept.",
                        "Photos deleted after %(days)d days under the school's retention rule; the register is kept.",
                        days) % {"days": days}
    return gettext("Photos deleted after the retention period under the school's retention rule; the register is "
                   "kept.")
