"""Which photos a student already has: the same file bytes (SHA-256), so an import or an
enrolment zip sent twice stores nothing the second time. Used by the photo import by
school id (``photo_import``) and the enrolment zip and folders (``enrolment.enrol_photo_folders``)."""
import hashlib


def photo_digest(data: bytes) -> str:
    """The SHA-256 of a photo's bytes, as hex: what "the same photo" compares."""
    return hashlib.sha256(data).hexdigest()


def stored_photo_hashes(students) -> dict[int, set[str]]:
    """``{student pk: photo_digest of each stored enrolment photo}`` of the given students
    (an iterable of ``Student``; prefetch their ``photos`` to read them in one query). A
    photo whose file is missing is not one they have."""
    hashes: dict[int, set[str]] = {}
    for student in students:
        for photo in student.photos.all():
            try:
                with photo.image.open("rb") as fh:
                    hashes.setdefault(student.pk, set()).add(photo_digest(fh.read()))
            except OSError:
                continue
    return hashes
