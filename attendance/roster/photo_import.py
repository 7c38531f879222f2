"""Enrolment photos by school id: a zip (web, command) or a folder (command) of
``<school id>.jpg`` and ``<school id>/<n>.jpg``, such as the ID-card photos an information
system exports, for students whose consent is recorded.

Two steps, used by the web page and ``manage.py import_photos``: ``plan_photo_import``
reads every file and says what it would do (a preview that stores nothing), then
``apply_photo_import`` stores the good ones and queues them for the worker exactly as the
enrolment zip does (``enrolment.add_enrolment_photo`` inside ``job_queue.storing_uploads``:
all or nothing, tasks sent on commit). A file is refused with its reason (unknown student
id, no consent, not an image, too large, a folder too deep); while any is refused nothing is
stored unless the refused files are skipped on purpose. A photo the student already has
(the same bytes) is left out, so importing the same zip twice stores nothing the second time.

Nothing is extracted under the archive's names: entries are read into memory one at a time
within the enrolment zip's limits (``zip_enrolment.MAX_ENTRIES``, ``MAX_PHOTO_BYTES``,
``MAX_ZIP_BYTES``).
"""
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import Prefetch
from django.utils.translation import gettext, ngettext

from faces.errors import ImageError

from attendance import audit, engine, image_errors
from attendance.models import AuditEntry, Consent, EnrolmentPhoto, Student
from attendance.roster.consent import ConsentMissing
from attendance.roster.enrolment import add_enrolment_photo
from attendance.roster.photo_hashes import photo_digest, stored_photo_hashes
from attendance.roster.zip_enrolment import IMAGE_SUFFIXES, MAX_ENTRIES, ZipEnrolmentError, entry_path
from attendance.wiring.job_queue import storing_uploads

NEW, ALREADY, REFUSED = "new", "already enrolled", "refused"


@dataclass
class PhotoFile:
    """What one file does: ``outcome`` NEW, ALREADY or REFUSED (``reason`` says why).
    ``data`` and ``extension`` (the real format's, from its header) are kept for NEW files."""

    path: str
    school_id: str
    outcome: str
    reason: str = ""
    student: Student | None = None
    data: bytes = field(default=b"", repr=False)
    extension: str = ""


@dataclass
class PhotoPlan:
    """The preview of a zip or folder: every file's outcome, in name order."""

    source: str
    files: list[PhotoFile]

    def of(self, outcome: str) -> list[PhotoFile]:
        return [f for f in self.files if f.outcome == outcome]

    def students(self) -> list[Student]:
        """The students who get a NEW photo, each once, in file order."""
        return list(dict.fromkeys(f.student for f in self.of(NEW)))

    def summary(self) -> str:
        """"12 new photos for 10 students, 1 already enrolled, 3 refused"."""
        new, students = len(self.of(NEW)), len(self.students())
        return gettext("%(new)s for %(students)s, %(already)d already enrolled, %(refused)d refused") % {
            "new": ngettext("%(count)s new photo", "%(count)s new photos", new) % {"count": new},
            "students": ngettext("%(count)s student", "%(count)s students", students) % {"count": students},
            "already": len(self.of(ALREADY)), "refused": len(self.of(REFUSED))}


class ImportRefused(Exception):
    """An import with refused files and no leave to skip them: nothing was stored."""


def _entries_of_zip(fileobj) -> list[tuple[str, tuple[str, ...], int, callable]]:
    """(name, path parts, declared size, read(limit)) of every file of the zip worth a look
    (hidden files and macOS metadata skipped).

    Raises ZipEnrolmentError: not a readable zip, or more than MAX_ENTRIES entries."""
    try:
        archive = zipfile.ZipFile(fileobj)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ZipEnrolmentError(gettext("This file is not a readable zip archive.")) from exc
    if len(infos) > MAX_ENTRIES:
        raise ZipEnrolmentError(gettext("The zip holds %(count)s files; the limit is %(limit)s.")
                                % {"count": len(infos), "limit": MAX_ENTRIES})
    found = []
    for info in infos:
        if info.is_dir():
            continue
        parts = tuple(p for p in entry_path(info).parts if p not in ("/", "", ".", "..") and not p.endswith(":"))
        if not parts or any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue

        def read(limit, info=info):
            try:
                with archive.open(info) as fh:
                    return fh.read(limit)  # file_size comes from the archive and can lie
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, OSError, EOFError) as exc:
                raise ImageError(gettext("cannot be read from the zip (%(problem)s)") % {"problem": exc}) from exc

        found.append(("/".join(parts), parts, info.file_size, read))
    return found


def _entries_of_folder(folder: Path) -> list[tuple[str, tuple[str, ...], int, callable]]:
    """As ``_entries_of_zip`` for a folder on disk (the command line), at most two levels
    deep, links not followed."""
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_symlink() or not path.is_file() or any(p.startswith(".") for p in relative.parts):
            continue
        if len(found) >= MAX_ENTRIES:
            raise ZipEnrolmentError(gettext("The folder holds more than %(limit)s files.") % {"limit": MAX_ENTRIES})

        def read(limit, path=path):
            with path.open("rb") as fh:
                return fh.read(limit)

        found.append((relative.as_posix(), relative.parts, path.stat().st_size, read))
    return found


def _school_id_of(parts: tuple[str, ...]) -> tuple[str, str]:
    """(school id, "") for ``<id>.jpg`` or ``<id>/<n>.jpg``, else ("", why)."""
    if len(parts) == 1:
        return PurePosixPath(parts[0]).stem.strip(), ""
    if len(parts) == 2:
        return parts[0].strip(), ""
    return "", gettext("too deep: put photos at the top (<student id>.jpg) or in one folder per student "
                       "(<student id>/1.jpg)")


def _strip_shared_folder(entries, known_ids: set[str]):
    """Entries with a folder all of them share removed (a zip made by compressing a folder
    "photos/"), unless that folder is a student's id."""
    tops = {parts[0] for _, parts, _, _ in entries}
    if len(tops) == 1 and all(len(parts) > 1 for _, parts, _, _ in entries) and next(iter(tops)) not in known_ids:
        return [(name, parts[1:], size, read) for name, parts, size, read in entries]
    return entries


def plan_photo_import(source, source_name: str = "") -> PhotoPlan:
    """Read a zip (a binary file object) or a folder (a ``Path``) and say what every file
    would do; stores nothing.

    Raises:
        ZipEnrolmentError: the zip cannot be read, has too many entries, or its photos are
            larger in total than ``settings.MAX_ZIP_BYTES``; no file is judged.
    """
    entries = _entries_of_folder(source) if isinstance(source, Path) else _entries_of_zip(source)
    # Every folder name and file stem may be an id (below a shared folder, see _strip_shared_folder).
    candidate_ids = {part.strip() for _, parts, _, _ in entries for part in parts[:-1]} | {
        PurePosixPath(parts[-1]).stem.strip() for _, parts, _, _ in entries}
    students = {s.school_id: s for s in Student.objects.filter(school_id__in=candidate_ids - {""})
                .prefetch_related(Prefetch("photos", queryset=EnrolmentPhoto.objects.only("id", "image", "student"))
                                  )}
    entries = _strip_shared_folder(entries, set(students))
    consenting = set(Consent.objects.filter(student__in=students.values()).values_list("student_id", flat=True))
    hashes = stored_photo_hashes(s for s in students.values() if s.pk in consenting)
    files, total, seen = [], 0, {}
    for name, parts, size, read in sorted(entries, key=lambda entry: entry[0]):
        school_id, why = _school_id_of(parts)
        item = PhotoFile(name, school_id, REFUSED, why)
        files.append(item)
        if why:
            continue
        if PurePosixPath(parts[-1]).suffix.lower() not in IMAGE_SUFFIXES:
            item.reason = gettext("not an image (only %(suffixes)s)") % {"suffixes": ", ".join(sorted(IMAGE_SUFFIXES))}
            continue
        student = students.get(school_id)
        if student is None:
            item.reason = (gettext("unknown student id %(id)s") % {"id": repr(school_id)} if school_id
                           else gettext("no student id in the name"))
            continue
        item.student = student
        if student.pk not in consenting:
            item.reason = gettext("no consent to face recognition is recorded for %(name)s (%(id)s): record it first "
                                  "(the consent import or the student's page)") % {
                                      "name": student.name, "id": school_id}
            continue
        too_large = gettext("too large (over the %(limit)s MB per photo)") % {
            "limit": settings.MAX_PHOTO_BYTES // (1024 * 1024)}
        if size > settings.MAX_PHOTO_BYTES:
            item.reason = too_large
            continue
        try:
            data = read(settings.MAX_PHOTO_BYTES + 1)
            if len(data) > settings.MAX_PHOTO_BYTES:
                item.reason = too_large
                continue
            item.extension = engine.check_photo_header(io.BytesIO(data))
        except ImageError as exc:
            item.reason = gettext("not an image: %(problem)s") % {"problem": image_errors.error_text(exc)}
            continue
        digest = photo_digest(data)
        if digest in hashes.get(student.pk, set()) or digest in seen.get(student.pk, set()):
            item.outcome, item.reason = ALREADY, gettext("the student already has this photo")
            continue
        total += len(data)
        if total > settings.MAX_ZIP_BYTES:
            raise ZipEnrolmentError(gettext("The photos are larger in total than the limit (%(limit)s MB): split "
                                            "them into several imports.")
                                    % {"limit": settings.MAX_ZIP_BYTES // (1024 * 1024)})
        seen.setdefault(student.pk, set()).add(digest)
        item.outcome, item.data = NEW, data
    return PhotoPlan(source_name or str(source), files)


def _still_new_under_lock(plan: PhotoPlan) -> list[PhotoFile]:
    """The plan's NEW files, checked again inside the import's transaction with their
    students' consent rows locked (``select_for_update``, as a withdrawal locks them): an
    import or a withdrawal at the same moment waits for this one, or this one for it. A
    photo another import stored meanwhile becomes ALREADY.

    Raises ConsentMissing: a student's consent was withdrawn since the plan was made.
    """
    new = plan.of(NEW)
    ids = {item.student.pk for item in new}
    consenting = set(Consent.objects.select_for_update().filter(student_id__in=ids).order_by("pk")
                     .values_list("student_id", flat=True))
    if ids - consenting:
        raise ConsentMissing(next(item.student for item in new if item.student.pk not in consenting))
    hashes = stored_photo_hashes(Student.objects.filter(pk__in=ids))  # not the plan's prefetched photos
    fresh = []
    for item in new:
        if photo_digest(item.data) in hashes.get(item.student.pk, set()):
            item.outcome, item.reason = ALREADY, gettext("the student already has this photo")
        else:
            fresh.append(item)
    return fresh


@dataclass
class PhotoImportResult:
    photos: list[EnrolmentPhoto]
    students: list[Student]
    already: int
    skipped: list[PhotoFile]


def apply_photo_import(source, user, source_name: str = "", skip_bad_rows: bool = False) -> PhotoImportResult:
    """Read the source again (``plan_photo_import``: the database may have changed since the
    preview) and store every NEW photo, queued for the worker after commit; all or nothing.
    Writes an audit entry per student (photos added) and one for the import.

    Raises:
        ZipEnrolmentError: as ``plan_photo_import``; nothing stored.
        ImportRefused: a file is refused and ``skip_bad_rows`` is False; nothing stored.
        QueueUnavailable: the job queue is down; nothing stored.
        consent.ConsentMissing: a student's consent was withdrawn while this ran; nothing stored.
    """
    plan = plan_photo_import(source, source_name)
    refused = plan.of(REFUSED)
    if refused and not skip_bad_rows:
        raise ImportRefused(ngettext("%(count)s file of %(source)s is refused (%(path)s, %(reason)s); nothing was "
                                     "stored. Correct it, or skip the refused file.",
                                     "%(count)s files of %(source)s are refused (first: %(path)s, %(reason)s); "
                                     "nothing was stored. Correct them, or skip the refused files.", len(refused))
                            % {"count": len(refused), "source": plan.source, "path": refused[0].path,
                               "reason": refused[0].reason})
    with storing_uploads() as stored:
        by_student: dict[Student, list[EnrolmentPhoto]] = {}
        for item in _still_new_under_lock(plan):
            photo = add_enrolment_photo(item.student, ContentFile(item.data, name=f"photo{item.extension}"))
            stored.append(photo)
            by_student.setdefault(item.student, []).append(photo)
        for student, photos in by_student.items():
            audit.record(user, AuditEntry.PHOTOS_ADDED, student,
                         f"{len(photos)} enrolment photo(s) added for {student.name} from {plan.source}",
                         after={"photos": [p.pk for p in photos]})
        audit.record(user, AuditEntry.IMPORTED, EnrolmentPhoto, f"Photos imported from {plan.source}: {plan.summary()}",
                     after={"source": plan.source, "photos": [p.pk for p in stored],
                            "refused": [{"file": f.path, "reason": f.reason} for f in refused]})
    return PhotoImportResult(stored, list(by_student), len(plan.of(ALREADY)), refused)
