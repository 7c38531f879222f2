"""Reading a zip of enrolment photos (one folder per student) without trusting it.

Nothing is ever extracted to disk under the archive's own names: entries are read
into memory one by one, with limits on count and sizes, so "../evil.jpg" entries and
zip bombs cannot write outside the media root or exhaust memory.
"""
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic"}
MAX_ENTRIES = 2000


class ZipEnrolmentError(Exception):
    """The archive cannot be used; the message says why."""


@dataclass
class ZipPhoto:
    student_name: str
    filename: str
    data: bytes


def folder_to_name(folder: str) -> str:
    """A student's name from a folder name: "Ada_Lovelace" -> "Ada Lovelace"."""
    return " ".join(folder.replace("_", " ").split())


def read_enrolment_zip(fileobj, max_photo_bytes: int, max_total_bytes: int) -> list[ZipPhoto]:
    """The photos in the archive, each labelled with its folder's student name.

    Args:
        fileobj: the zip file, opened for binary reading.
        max_photo_bytes: largest uncompressed photo accepted.
        max_total_bytes: largest total uncompressed size accepted.

    Raises:
        ZipEnrolmentError: not a zip, too many entries, too large, or no photos in folders.
    """
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipEnrolmentError("This file is not a readable zip archive.") from exc
    entries = [e for e in archive.infolist() if not e.is_dir()]
    if len(entries) > MAX_ENTRIES:
        raise ZipEnrolmentError(f"The zip holds {len(entries)} files; the limit is {MAX_ENTRIES}.")
    photos, total = [], 0
    for entry in entries:
        path = PurePosixPath(entry.filename.replace("\\", "/"))
        if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES or len(path.parts) < 2:
            continue
        name = folder_to_name(path.parent.name)
        if not name or name == "..":
            continue
        if entry.file_size > max_photo_bytes:
            raise ZipEnrolmentError(f"{entry.filename} is larger than the per-photo limit.")
        total += entry.file_size
        if total > max_total_bytes:
            raise ZipEnrolmentError("The photos in the zip are larger in total than the limit.")
        with archive.open(entry) as fh:
            # file_size comes from the archive and can lie; never read past the limit.
            data = fh.read(max_photo_bytes + 1)
        if len(data) > max_photo_bytes:
            raise ZipEnrolmentError(f"{entry.filename} is larger than the per-photo limit.")
        photos.append(ZipPhoto(name, path.name, data))
    if not photos:
        raise ZipEnrolmentError("The zip has no photos inside student folders (e.g. Ada_Lovelace/1.jpg).")
    return photos
