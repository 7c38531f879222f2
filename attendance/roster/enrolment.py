"""Enrolling students: storing their photos and computing their face descriptors."""
import io
import logging
from dataclasses import dataclass, field

import numpy as np
from celery import shared_task
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from faces.errors import ImageError, ModelFileError
from faces.matching import distance_matrix

from attendance import audit
from attendance import engine
from attendance.crops import store_photo_renditions
from attendance.renditions import ENROLMENT_PHOTO_DISPLAY_PX, delete_renditions
from attendance.roster.consent import record_consent, require_consent
from attendance.wiring.job_queue import TEMPORARY_ERRORS, failure_message, send_after_commit, storing_uploads
from attendance.models import (
    AuditEntry,
    Consent,
    EnrolmentPhoto,
    SchoolClass,
    Student,
    descriptor_from_bytes,
    descriptor_to_bytes,
)
from attendance.text import name_key, visible
from attendance.roster.photo_hashes import photo_digest, stored_photo_hashes
from attendance.roster.zip_enrolment import ZipEnrolmentError, read_enrolment_zip

log = logging.getLogger(__name__)


# Named as before the rooms move (attendance/tasks.py), so queued messages still find it.
@shared_task(name="attendance.tasks.encode_enrolment_photo_task",
             autoretry_for=TEMPORARY_ERRORS, retry_backoff=True, max_retries=5)
def encode_enrolment_photo_task(photo_id: int) -> str:
    """The worker's task for ``encode_enrolment_photo(photo_id)``: its status ("ready"
    or "failed"). An error it did not expect marks the photo failed (never pending for
    ever: the admin sees it) and is raised again for the log; temporary database errors
    are retried (``job_queue.TEMPORARY_ERRORS``)."""
    try:
        return encode_enrolment_photo(photo_id)
    except TEMPORARY_ERRORS:
        raise
    except Exception as exc:
        EnrolmentPhoto.objects.filter(pk=photo_id, status=EnrolmentPhoto.PENDING).update(
            status=EnrolmentPhoto.FAILED, processed_at=timezone.now(),
            failure_code="models" if isinstance(exc, ModelFileError) else "error", failure_reason=failure_message(exc),
        )
        raise


def add_enrolment_photo(student: Student, uploaded_file) -> EnrolmentPhoto:
    """Store one enrolment photo (status pending) and queue its encoding after commit.

    Raises:
        ConsentMissing: the student's consent to face recognition is not recorded.
    """
    require_consent(student)
    photo = EnrolmentPhoto.objects.create(student=student, image=uploaded_file)
    send_after_commit(encode_enrolment_photo_task, photo.pk)
    return photo


def add_enrolment_photos(student: Student, photo_files, user=None) -> list[EnrolmentPhoto]:
    """Store several enrolment photos of a student and queue them. All or nothing.

    Raises:
        ConsentMissing: the student's consent is not recorded; nothing was saved.
        QueueUnavailable: the job queue is down; nothing was saved.
    """
    with storing_uploads() as stored:
        for photo_file in photo_files:
            stored.append(add_enrolment_photo(student, photo_file))
        audit.record(user, AuditEntry.PHOTOS_ADDED, student, f"{len(stored)} enrolment photo(s) added for {student.name}",
                     after={"photos": [p.pk for p in stored]})
    return stored


def requeue_pending_enrolment_photos(older_than_seconds: float) -> int:
    """Send again the enrolment photos still pending after ``older_than_seconds`` (their
    task was never sent: the broker was down). Returns how many were sent."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    waiting = list(EnrolmentPhoto.objects.filter(status=EnrolmentPhoto.PENDING, uploaded_at__lt=cutoff)
                   .values_list("pk", flat=True))
    for photo_id in waiting:
        send_after_commit(encode_enrolment_photo_task, photo_id)
    if waiting:
        log.warning("re-queued %d pending enrolment photos: %s", len(waiting), waiting)
    return len(waiting)


def retry_failed_enrolment_photos(photo_ids) -> int:
    """Encode failed enrolment photos again (an administrator's "Process again", e.g. after
    repairing the model files). Returns how many."""
    with transaction.atomic():
        photos = list(EnrolmentPhoto.objects.select_for_update()
                      .filter(pk__in=list(photo_ids), status=EnrolmentPhoto.FAILED))
        for photo in photos:
            photo.status, photo.failure_code, photo.failure_reason = EnrolmentPhoto.PENDING, "", ""
            photo.save(update_fields=["status", "failure_code", "failure_reason"])
            send_after_commit(encode_enrolment_photo_task, photo.pk)
    return len(photos)


def enrol_student(school_class: SchoolClass, name: str, photo_files, consent: dict | None = None,
                  user=None, school_id: str = "") -> Student:
    """Put a child on a class roster, with their consent (``given_by``, ``given_on``,
    ``note``, see ``consent.record_consent``) and enrolment photos (queued for encoding).
    Without consent the student joins the roster with no photo, registered by hand.

    A child already in the school (``find_roster_student``: the same ``school_id``; or,
    with no school id given, the only student of that name) is added to the class
    instead of being created again: ``consent`` is recorded for them only when they
    have none, and the photos are added to them. ``student.created`` says which.

    All or nothing: on any error no student, membership, consent, photo or file is kept.

    Raises:
        StudentAmbiguous: several students of the school have the name (listed), or the
            school id belongs to a student of another name; nothing was saved.
        ConsentMissing: photos were given without consent; nothing was saved.
        QueueUnavailable: the job queue is down; nothing was saved.
    """
    from attendance.roster.membership import add_students

    with storing_uploads() as stored:
        student = find_roster_student(school_class, name, school_id=school_id)
        created = student is None
        if created:
            student = Student.objects.create(name=name, school_id=school_id)
            school_class.students.add(student)
        else:
            add_students(school_class, [student], user)
        if consent and not Consent.objects.filter(student=student).exists():
            record_consent(student, user=user, **consent)
        for photo_file in photo_files:
            stored.append(add_enrolment_photo(student, photo_file))
        audit.record(user, AuditEntry.STUDENT_ENROLLED, student,
                     f"{name} {'added to' if created else 'already in the school: enrolled in'} {school_class.name} "
                     f"with {len(stored)} enrolment photo(s)",
                     after={"name": name, "school_id": school_id, "class": school_class.name, "photos": len(stored),
                            "consent": bool(consent), "existing_student": not created})
    student.created = created
    return student


class StudentAmbiguous(Exception):
    """An enrolment names a student the school cannot tell: two or more students share the
    name, or the id given is not a student of that name. The message names the students
    (id and classes) and how to say which; nothing is guessed."""


def _listed(students) -> str:
    def one(s) -> str:
        classes = ", ".join(sorted(c.name for c in s.classes.all())) or gettext("no class")
        if s.school_id:
            return gettext("#%(id)s (school id %(school_id)s) (in %(classes)s)") % {
                "id": s.pk, "school_id": s.school_id, "classes": classes}
        return gettext("#%(id)s (in %(classes)s)") % {"id": s.pk, "classes": classes}

    return "; ".join(one(s) for s in students)


def find_roster_student(school_class: SchoolClass, name: str, student_id: int | None = None,
                        school_id: str = "") -> Student | None:
    """The existing student an enrolment (the form, a zip or ``enrol`` folder) means, on
    the class's roster or elsewhere in the school, or None for a new student.

    - ``school_id`` given: the student with that school id (who must be named ``name``
      when one is given); None (a new child with that id) when no student has it.
    - ``student_id`` (the database id of ``Name_#17`` folders): that student, on the
      roster or elsewhere in the school (named ``name`` when one is given).
    - the name only: the only student of the class named ``name``; else, when none of
      the class is, the only student of the school named ``name``; None when no one is.

    Names are compared on ``text.name_key`` (case, composed or decomposed accents as
    macOS writes folder names, full-width letters and spacing do not matter).

    Raises:
        StudentAmbiguous: several students of the class (or, none of the class, of the
            school) are named ``name`` (the message lists them: id, school id and
            classes), or the id given is no student's or names someone else. Never guesses.
    """
    key = name_key(name)
    if school_id:
        student = Student.objects.filter(school_id=school_id).first()
        if student is not None and name and name_key(student.name) != key:
            raise StudentAmbiguous(gettext("School id %(school_id)s is %(name)s (#%(id)s), not %(given)s.") % {
                "school_id": school_id, "name": student.name, "id": student.pk, "given": name})
        return student
    roster = list(school_class.students.order_by("pk").prefetch_related("classes"))
    if student_id is not None:
        student = next((s for s in roster if s.pk == student_id), None)
        if student is None:
            student = Student.objects.filter(pk=student_id).first()
            if student is None:
                raise StudentAmbiguous(gettext("No student #%(id)s is on the roster of %(class)s or anywhere in the "
                                               "school.") % {"id": student_id, "class": school_class.name})
        if name and name_key(student.name) != key:
            names = {"id": student_id, "class": school_class.name, "name": student.name, "given": name}
            raise StudentAmbiguous(gettext("Student #%(id)s of %(class)s is %(name)s, not %(given)s.") % names
                                   if student in roster else
                                   gettext("Student #%(id)s is %(name)s, not %(given)s.") % names)
        return student
    matches = [s for s in roster if name_key(s.name) == key]
    where = gettext("of %(class)s") % {"class": school_class.name}
    if not matches:
        # Every name of the school compared in Python: name_key is not a database function.
        same = [pk for pk, other in Student.objects.values_list("pk", "name") if name_key(other) == key]
        matches = list(Student.objects.filter(pk__in=same).order_by("pk").prefetch_related("classes"))
        where = gettext("of the school (none in %(class)s)") % {"class": school_class.name}
    if len(matches) > 1:
        example = f"{' '.join(visible(matches[0].name).split()).replace(' ', '_')}_#{matches[0].pk}"
        raise StudentAmbiguous(gettext(
            "%(count)s students %(where)s are named %(name)s: %(listed)s. Nothing was saved. Name the folder with the "
            "student's id to say which, e.g. %(example)s. A new child of that name needs a school id of their own (a "
            "folder Name_@SCHOOLID, or the form's school id).") % {
                "count": len(matches), "where": where, "name": name, "listed": _listed(matches), "example": example})
    return matches[0] if matches else None


class ExistingStudentWithoutConsent(Exception):
    """A zip or ``enrol`` folder names a student already in the school who has no consent
    recorded (never given, or withdrawn by a parent). The zip's consent tick and the
    command's ``--consent-note`` speak only for the students they add: consent for an
    existing student is recorded on the student's page, never by a bulk upload."""

    def __init__(self, student: Student):
        super().__init__(gettext(
            "%(name)s (#%(id)s) is already in the school with no consent to face recognition recorded (never given, "
            "or withdrawn). The consent given with this upload covers only the students it adds; record this "
            "student's consent on their page first. Nothing was saved.") % {"name": student.name, "id": student.pk})
        self.student = student


def check_roster_student(school_class: SchoolClass, name: str, student_id: int | None = None,
                         school_id: str = "") -> Student | None:
    """``find_roster_student``, refusing an existing student without consent: the student
    (who has consent) or None for a new one.

    Raises:
        StudentAmbiguous: as ``find_roster_student``.
        ExistingStudentWithoutConsent: the student exists and has no consent recorded.
    """
    student = find_roster_student(school_class, name, student_id, school_id)
    if student is not None and not Consent.objects.filter(student=student).exists():
        raise ExistingStudentWithoutConsent(student)
    return student


def roster_student(school_class: SchoolClass, name: str, consent: dict | None = None, user=None,
                   student_id: int | None = None, school_id: str = "") -> Student:
    """The student an enrolment folder means (``find_roster_student``), put on the class's
    roster if they are not on it yet (audit-logged), or created with ``school_id`` if the
    school has no such student; a student it creates gets ``consent`` recorded when it is
    given. An existing student is used only if their consent is already recorded: a bulk
    upload never records (or re-records, after a withdrawal) consent for a student it did
    not create.

    Raises:
        StudentAmbiguous: as ``find_roster_student``; nothing is created.
        ExistingStudentWithoutConsent: the student exists without consent; nothing is created.
    """
    from attendance.roster.membership import add_students

    student = check_roster_student(school_class, name, student_id, school_id)
    if student is None:
        student = Student.objects.create(name=name, school_id=school_id)
        school_class.students.add(student)
        audit.record(user, AuditEntry.STUDENT_ENROLLED, student, f"{name} added to {school_class.name}",
                     after={"name": name, "school_id": school_id, "class": school_class.name})
        if consent:
            record_consent(student, user=user, **consent)
    else:
        add_students(school_class, [student], user)
    return student


def encode_enrolment_photo(photo_id: int) -> str:
    """Find the face in an enrolment photo, check its quality and store its descriptor.

    The photo ends 'ready', 'failed' (with the reason in words) or 'needs_review' when
    the face matches another enrolled student within the duplicate threshold (a mix-up of
    photos or a duplicate student record; an admin decides). Idempotent: a photo no
    longer pending is left as it is, so a task delivered twice changes nothing.
    Returns the photo's final status.
    """
    photo = EnrolmentPhoto.objects.filter(pk=photo_id).first()
    if photo is None or photo.status != EnrolmentPhoto.PENDING:
        return photo.status if photo else "deleted"
    fields, rgb, face = {"processed_at": timezone.now()}, None, None
    try:
        with photo.image.open("rb") as fh:
            rgb = engine.decode_photo(fh.read())
        face, quality = engine.enrolment_face(rgb)
    except ImageError as exc:
        fields.update(status=EnrolmentPhoto.FAILED, failure_code=exc.code, failure_reason=str(exc))
    else:
        fields.update(
            status=EnrolmentPhoto.READY,
            descriptor=descriptor_to_bytes(face.descriptor),
            descriptor_model=engine.model_id(),
            face_left=face.box.left,
            face_top=face.box.top,
            face_right=face.box.right,
            face_bottom=face.box.bottom,
            sharpness=quality.sharpness,
            yaw=quality.yaw,
        )
    if rgb is not None:
        # Before the status: a photo other processes see as processed has its rendition
        # and crop stored (as recognition does for class photos).
        store_photo_renditions(photo, rgb, ENROLMENT_PHOTO_DISPLAY_PX,
                               [] if face is None else [(face.box.left, face.box.top, face.box.right, face.box.bottom)],
                               {"enrolment_photo": photo.pk})
        if not EnrolmentPhoto.objects.filter(pk=photo.pk).exists():  # deleted meanwhile: no rendition outlives it
            delete_renditions(photo.image.storage, photo.image.name)
    with transaction.atomic():
        # One enrolment at a time decides against the gallery, so two photos of the same
        # face enrolled at once under two names cannot both miss each other.
        school_wide_lock()
        lookalike = nearest_other_student(face.descriptor, photo.student_id) if fields["status"] == EnrolmentPhoto.READY else None
        if lookalike is not None:
            other, distance = lookalike
            fields.update(
                status=EnrolmentPhoto.NEEDS_REVIEW,
                duplicate_of=other,
                duplicate_distance=distance,
                failure_code="duplicate",
                failure_reason=f"This face looks like {other.name} (distance {distance:.2f}), who is already "
                               "enrolled. Check the photo is of the right student before using it.",
            )
        # Conditional update: only the first run to finish writes its result.
        EnrolmentPhoto.objects.filter(pk=photo_id, status=EnrolmentPhoto.PENDING).update(**fields)
    log.info("enrolment photo %s of student %s: %s %s", photo_id, photo.student_id, fields["status"],
             fields.get("failure_reason", ""),
             extra={"enrolment_photo": photo_id, "student": photo.student_id, "status": fields["status"],
                    "error": fields.get("failure_reason", "")})
    return fields["status"]


#: Advisory lock key for enrolment decisions (any constant unique to this app).
ENROLMENT_LOCK_KEY = 72_0001


def school_wide_lock() -> None:
    """Serialise enrolment decisions until the transaction ends. PostgreSQL: an advisory
    transaction lock; SQLite: its write lock, taken when the transaction begins
    (transaction_mode IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ENROLMENT_LOCK_KEY])


def nearest_other_student(descriptor, student_id: int):
    """The enrolled student other than ``student_id`` nearest to the descriptor, if within
    ``ENROLMENT_DUPLICATE_THRESHOLD``: ``(Student, distance)`` or None. Searches the whole
    school's ready photos described by the current model (``engine.model_id``)."""
    rows = list(
        EnrolmentPhoto.objects.filter(status=EnrolmentPhoto.READY, descriptor_model=engine.model_id())
        .exclude(student_id=student_id)
        .values_list("student_id", "descriptor")
    )
    if not rows:
        return None
    gallery = np.array([descriptor_from_bytes(d) for _, d in rows], dtype=np.float32)
    distances = distance_matrix(np.asarray(descriptor)[None, :], gallery)[0]
    best = int(np.argmin(distances))
    if distances[best] > settings.ENROLMENT_DUPLICATE_THRESHOLD:
        return None
    return Student.objects.get(pk=rows[best][0]), float(distances[best])


@transaction.atomic
def resolve_duplicate(photo: EnrolmentPhoto, keep: bool, user=None) -> bool:
    """An admin's decision on a photo flagged as looking like another student: keep it
    (they are different people) or delete it. False when the photo was not waiting for
    that decision (nothing changed)."""
    if photo.status != EnrolmentPhoto.NEEDS_REVIEW:
        return False
    other = photo.duplicate_of.name if photo.duplicate_of else "another student"
    audit.record(user, AuditEntry.DUPLICATE_RESOLVED, photo,
                 f"Photo {photo.pk} of {photo.student.name}, like {other}: {'kept' if keep else 'deleted'}",
                 before={"status": photo.status}, after={"status": EnrolmentPhoto.READY} if keep else None)
    if keep:
        photo.status, photo.failure_code, photo.failure_reason = EnrolmentPhoto.READY, "", ""
        photo.save(update_fields=["status", "failure_code", "failure_reason"])
    else:
        photo.delete()
    return True


def enrol_from_zip(school_class: SchoolClass, archive, consent: dict | None = None, user=None) -> "FolderEnrolment":
    """Enrol every student folder of a zip onto the class roster (see ``zip_enrolment``
    and ``enrol_photo_folders``, which the ``enrol`` command's folders go through too).

    Raises:
        ZipEnrolmentError: the archive is not usable, names a student ambiguously or an
            existing student without consent (the message says why, naming the student).
        ConsentMissing: a student of the zip has no consent recorded and none was given.
        QueueUnavailable: the job queue is down; nothing was saved.
    """
    photos = read_enrolment_zip(archive, settings.MAX_PHOTO_BYTES, settings.MAX_ZIP_BYTES,
                                check_image=check_enrolment_image)
    return enrol_photo_folders(school_class, photos, consent, user)


def check_enrolment_image(data: bytes) -> str:
    """``engine.check_photo_header`` of a photo's bytes (a zip's or a folder's): its extension."""
    return engine.check_photo_header(io.BytesIO(data))


@dataclass
class FolderEnrolment:
    """What ``enrol_photo_folders`` did: ``photos``, ``{student: [stored enrolment photos]}``
    for every student of the folders in the order they came (an empty list when all their
    photos were already theirs); ``already``, how many photos were left out because the
    student already had the same file (``photo_hashes``)."""

    photos: dict[Student, list[EnrolmentPhoto]] = field(default_factory=dict)
    already: int = 0


def enrol_photo_folders(school_class: SchoolClass, photos, consent: dict | None = None,
                        user=None) -> FolderEnrolment:
    """Enrol students from photos in student folders onto the class roster: the one
    operation of the zip upload (web) and the ``enrol`` command (folders on disk).

    ``photos``: ``zip_enrolment.ZipPhoto`` items, read one at a time (the readers of
    ``zip_enrolment`` check each). Each folder's student is looked up once
    (``roster_student``): students already in the school (on the roster under the same
    name, by ``Name_#id`` or ``Name_@SCHOOLID`` folder, or the only student of the school
    of that name) are put on the roster and get the photos added if their consent is recorded; ``consent`` (the admin's statement
    that consent is on file for the students of the upload) is recorded only for the
    students it creates: an existing student without consent (e.g. withdrawn by a parent)
    refuses the whole upload. A photo the student already has (the same bytes, stored or
    earlier in the same folders) is left out and counted, as the photo import by school id
    does (``photo_hashes``). All or nothing: on any refusal or error no student, consent,
    photo or file is kept, and no task is sent.

    Raises:
        ZipEnrolmentError: a refused photo or folder (from the reader), a student named
            ambiguously or existing without consent ("<folder>: <why>").
        ConsentMissing: a student has no consent recorded and none was given.
        QueueUnavailable: the job queue is down; nothing was saved.
    """
    students, result, hashes = {}, FolderEnrolment(), {}
    with storing_uploads() as stored:
        for item in photos:
            key = (name_key(item.student_name), item.student_id, item.school_id)
            if key not in students:
                try:
                    students[key] = roster_student(school_class, item.student_name, consent, user, item.student_id,
                                                   item.school_id)
                except (StudentAmbiguous, ExistingStudentWithoutConsent) as exc:
                    raise ZipEnrolmentError(f"{item.folder}: {exc}" if item.folder else str(exc)) from exc
                result.photos.setdefault(students[key], [])
                hashes.setdefault(students[key].pk, stored_photo_hashes([students[key]]).get(students[key].pk, set()))
            student, digest = students[key], photo_digest(item.data)
            if digest in hashes[student.pk]:
                result.already += 1
                continue
            hashes[student.pk].add(digest)
            stored.append(add_enrolment_photo(student, ContentFile(item.data, name=item.filename)))
            result.photos[student].append(stored[-1])
    return result
