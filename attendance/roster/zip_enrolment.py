"""Reading a zip of enrolment photos (one folder per student) without trusting it.

Nothing is ever extracted under the archive's own names: entries are read one at a
time into memory, with limits on count and sizes, and each is checked to be an image,
so "../evil.jpg" entries, damaged archives and zip bombs cannot write outside the
media root, exhaust memory or fill the disk.
"""
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterator

from django.utils.translation import gettext

from faces.errors import ImageError

from attendance import image_errors
from attendance.text import forbidden_character

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
MAX_ENTRIES = 2000
MAX_NAME_LENGTH = 150  # Student.name


class ZipEnrolmentError(Exception):
    """The archive cannot be used; the message says why."""


@dataclass
class ZipPhoto:
    student_name: str
    filename: str
    data: bytes
    student_id: int | None = None  # from a folder named with the student's id ("Ada_Lovelace_#17")
    folder: str = ""  # the student's folder as named in the zip or directory, for messages
    school_id: str = ""  # from a folder named with the school's id for the child ("Ada_Lovelace_@S1001")


def folder_to_name(folder: str) -> str:
    """A student's name from a folder name: "Ada_Lovelace" -> "Ada Lovelace"."""
    return " ".join(folder.replace("_", " ").split())


_STUDENT_ID = re.compile(r"^(?P<name>.*?)\s*#(?P<id>[0-9]{1,18})$")
#: "Name_@SCHOOLID": the school id after the last "@", 1 to 64 characters, no space or "@".
_SCHOOL_ID = re.compile(r"^(?P<name>.*?)_*@(?P<id>[^\s@]{1,64})$")


def parse_student_folder(folder: str) -> tuple[str, int | None, str]:
    """A student folder's name, id and school id: "Ada_Lovelace" -> ("Ada Lovelace", None, "");
    "Ada_Lovelace_#17" -> ("Ada Lovelace", 17, ""); "#17" -> ("", 17, "");
    "Ada_Lovelace_@S-1001" -> ("Ada Lovelace", None, "S-1001"). The id (the number the
    student's page and the API show) or the school id (admission number, kept as typed,
    underscores included) says which student is meant when two share a name; a school id
    no student has yet makes a new student with it.

    The name is returned in Unicode NFC (macOS writes folder names decomposed).

    Raises:
        ZipEnrolmentError: the folder holds a control, bidi-control or noncharacter
            (``text.forbidden_character``), or has a "#" not followed by an id of 1 to 18 digits at
            its end ("Joe_Biden_#99999999999999999999", "Ada_#x"): it is refused, never
            taken for a new student's name; or it names nobody (empty, no id) or its name
            is over ``MAX_NAME_LENGTH`` characters.
    """
    name, student_id, school_id = _folder_name_and_id(folder)
    if not name and student_id is None and not school_id:
        raise ZipEnrolmentError(gettext("The folder %(folder)s is not a student's name.") % {"folder": repr(folder)})
    if len(name) > MAX_NAME_LENGTH:
        raise ZipEnrolmentError(gettext("The folder name %(folder)s is longer than %(limit)s characters.")
                                % {"folder": repr(folder), "limit": MAX_NAME_LENGTH})
    return name, student_id, school_id


def _folder_name_and_id(folder: str) -> tuple[str, int | None, str]:
    if found := forbidden_character(folder):
        raise ZipEnrolmentError(gettext("The folder %(folder)s contains %(character)s, which a student's name "
                                        "cannot hold. Rename the folder.") % {
                                            "folder": repr(folder), "character": found})
    if "@" in folder:
        found = _SCHOOL_ID.match(unicodedata.normalize("NFC", folder))
        if not found:
            raise ZipEnrolmentError(gettext("The folder %(folder)s does not end with a school id: an \"@\" in a "
                                            "folder name must be followed by the student's school id (1 to 64 "
                                            "characters, no spaces), e.g. Ada_Lovelace_@S1001.")
                                    % {"folder": repr(folder)})
        return unicodedata.normalize("NFC", folder_to_name(found["name"])), None, found["id"]
    name = unicodedata.normalize("NFC", folder_to_name(folder))
    # Full-width "＃１７" is read as "#17", as the roster's names are compared (text.name_key).
    compatible = unicodedata.normalize("NFKC", name)
    if "#" not in compatible:
        return name, None, ""
    found = _STUDENT_ID.match(compatible)
    if not found:
        raise ZipEnrolmentError(gettext("The folder %(folder)s does not end with a student id: a \"#\" in a folder "
                                        "name must be followed by the student's id (1 to 18 digits), e.g. "
                                        "Ada_Lovelace_#17.") % {"folder": repr(folder)})
    return found["name"], int(found["id"]), ""


def entry_path(entry: zipfile.ZipInfo) -> PurePosixPath:
    """The entry's path, its name read as UTF-8 even without the zip's UTF-8 flag (see below)
    and backslashes as folder separators; not yet cleaned of "..", "/" or hidden parts."""
    name = entry.filename
    if not entry.flag_bits & 0x800:
        # Without the UTF-8 flag zipfile decodes names as cp437; most tools that omit
        # the flag still write UTF-8 (e.g. "Zoë" would come out as "Zo├½").
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return PurePosixPath(name.replace("\\", "/"))


def _photo_entries(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Image entries with their folder parts, hidden and macOS metadata files skipped."""
    found = []
    for entry in archive.infolist():
        if entry.is_dir():
            continue
        path = entry_path(entry)
        parts = tuple(p for p in path.parts if p not in ("/", "", ".", "..") and not p.endswith(":"))
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES and len(parts) >= 2:
            found.append((entry, parts[:-1]))
    return found


def _student_folder_depth(folders: list[tuple[str, ...]]) -> int:
    """How many leading folders all photos share ("enrol/Ada/1.jpg": 1), keeping at
    least one folder for the student's name. Folders below the student's are ignored."""
    depth = 0
    shortest = min(len(f) for f in folders)
    while depth < shortest - 1 and len({f[depth] for f in folders}) == 1:
        depth += 1
    return depth


def read_enrolment_zip(fileobj, max_photo_bytes: int, max_total_bytes: int, check_image) -> Iterator[ZipPhoto]:
    """The photos in the archive, one at a time, each labelled with its student's name.

    The student is the first folder below any folders all photos share, so
    ``enrol/Ada_Lovelace/1.jpg`` and ``Ada_Lovelace/2024/1.jpg`` both belong to "Ada Lovelace";
    a folder may end with the student's id (``Ada_Lovelace_#17``, see ``parse_student_folder``).

    Args:
        fileobj: the zip file, opened for binary reading.
        max_photo_bytes: largest uncompressed photo accepted.
        max_total_bytes: largest total uncompressed size accepted.
        check_image: called with each photo's bytes; raises ``ImageError`` for a file
            that is not a usable image and returns the extension of its real format.

    Raises:
        ZipEnrolmentError: not a zip, damaged, too many entries, too large, a photo that
            is not an image, a folder name too long, or no photos in folders.
    """
    try:
        archive = zipfile.ZipFile(fileobj)
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ZipEnrolmentError(gettext("This file is not a readable zip archive.")) from exc
    if len(entries) > MAX_ENTRIES:
        raise ZipEnrolmentError(gettext("The zip holds %(count)s files; the limit is %(limit)s.")
                                % {"count": len(entries), "limit": MAX_ENTRIES})
    photos = _photo_entries(archive)
    if not photos:
        raise ZipEnrolmentError(gettext("The zip has no photos inside student folders (e.g. Ada_Lovelace/1.jpg)."))
    depth = _student_folder_depth([folders for _, folders in photos])
    total = 0
    for entry, folders in photos:
        name, student_id, school_id = parse_student_folder(folders[depth])
        if entry.file_size > max_photo_bytes:
            raise ZipEnrolmentError(gettext("%(file)s is larger than the per-photo limit.") % {"file": entry.filename})
        total += entry.file_size
        if total > max_total_bytes:
            raise ZipEnrolmentError(gettext("The photos in the zip are larger in total than the limit."))
        try:
            with archive.open(entry) as fh:
                # file_size comes from the archive and can lie; never read past the limit.
                data = fh.read(max_photo_bytes + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, OSError, EOFError) as exc:
            raise ZipEnrolmentError(gettext("%(file)s cannot be read from the zip (%(problem)s).")
                                    % {"file": entry.filename, "problem": exc}) from exc
        yield _checked_photo(entry.filename, data, max_photo_bytes, check_image, name, student_id, folders[depth],
                             school_id)


def read_enrolment_folders(folders: dict, max_photo_bytes: int, check_image) -> Iterator[ZipPhoto]:
    """The photos of student folders on disk (the ``enrol`` command's DIR/<Student_Name>/*.jpg),
    one at a time, checked as a zip's are (``read_enrolment_zip``).

    Args:
        folders: ``{pathlib.Path: (name, student_id, school_id)}``, each folder as ``parse_student_folder``
            read it.
        max_photo_bytes, check_image: as ``read_enrolment_zip``.

    Raises:
        ZipEnrolmentError: a photo over the limit or not an image (the message names it).
        OSError: a photo cannot be read.
    """
    for folder, (name, student_id, school_id) in folders.items():
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                with path.open("rb") as fh:
                    data = fh.read(max_photo_bytes + 1)
                yield _checked_photo(str(path), data, max_photo_bytes, check_image, name, student_id, folder.name,
                                     school_id)


def _checked_photo(label: str, data: bytes, max_photo_bytes: int, check_image, name: str, student_id, folder: str,
                   school_id: str = ""):
    """The ``ZipPhoto`` of a photo's bytes, named by its real format; ``label`` names it in refusals."""
    if len(data) > max_photo_bytes:
        raise ZipEnrolmentError(gettext("%(file)s is larger than the per-photo limit.") % {"file": label})
    try:
        extension = check_image(data)
    except ImageError as exc:
        raise ZipEnrolmentError(f"{label}: {image_errors.error_text(exc)}") from exc
    return ZipPhoto(name, f"photo{extension}", data, student_id, folder, school_id)
