"""Which photos a student already has: the same file bytes (SHA-256), so an import or an
enrolment zip sent twice stores nothing the second time. Used by the photo import by
school id (``photo_import``), the enrolment zip and folders (``enrolment.enrol_photo_folders``)
and merging students (``merging``)."""
import hashlib


def photo_digest(data: bytes) -> str:
    """The SHA-256 of a photo's bytes, as hex: what "the same photo" compares."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(field_file) -> str | None:
    """The SHA-256 (hex) of a stored file's bytes, read in 1 MB pieces, or None when it
    cannot be read (missing file, no file)."""
    digest = hashlib.sha256()
    try:
        with field_file.storage.open(field_file.name, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except (OSError, ValueError):
        return None
    return digest.hexdigest()


def stored_photo_hashes(students) -> dict[int, set[str]]:
    """``{student pk: photo_digest of each stored enrolment photo}`` of the given students
    (an iterable of ``Student``; prefetch their ``photos`` to read them in one query). A
    photo whose file is missing is not one they have."""
    hashes: dict[int, set[str]] = {}
    for student in students:
        for photo in student.photos.all():
            digest = file_sha256(photo.image)
            if digest is not None:
                hashes.setdefault(student.pk, set()).add(digest)
    return hashes
