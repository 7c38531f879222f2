"""Upright JPEG renditions of stored photos: what browsers are shown of a photo.

Every format we accept (HEIC, TIFF, EXIF-rotated JPEG) is shown the way the worker saw
it. By default each request decodes the photo and sends the JPEG's bytes. With
``PHOTO_SENDFILE`` set, the rendition is kept beside the photo (``renditions/...``,
deleted with it) and the web server sends the file after the view checked permission
(nginx ``X-Accel-Redirect`` or Apache/lighttpd ``X-Sendfile``).
"""
from pathlib import PurePosixPath

from django.core.files.base import ContentFile

from faces import images

from . import engine

#: Longest side, in pixels, of the photos shown on the session and student pages.
CLASS_PHOTO_DISPLAY_PX, ENROLMENT_PHOTO_DISPLAY_PX = 1920, 480
RENDITION_SIDES = (CLASS_PHOTO_DISPLAY_PX, ENROLMENT_PHOTO_DISPLAY_PX)


def upright_jpeg(field_file, max_side: int) -> bytes:
    """The stored photo as upright JPEG bytes of at most ``max_side`` pixels.

    Raises:
        ImageError: the file is not a readable image.
        FileNotFoundError: the file is missing from the storage.
    """
    with field_file.open("rb") as fh:
        return images.encode_jpeg(engine.decode_photo(fh.read()), max_side)


def rendition_name(photo_name: str, max_side: int) -> str:
    """Storage name of a photo's rendition, e.g. ``renditions/class-photos/<uuid>-1920.jpg``."""
    path = PurePosixPath(photo_name)
    return f"renditions/{path.parent.name}/{path.stem}-{max_side}.jpg"


def stored_rendition(field_file, max_side: int) -> str:
    """The storage name of the photo's rendition, made on first use.

    Raises:
        ImageError: the file is not a readable image.
        FileNotFoundError: the file is missing from the storage.
    """
    storage, name = field_file.storage, rendition_name(field_file.name, max_side)
    if not storage.exists(name):
        saved = storage.save(name, ContentFile(upright_jpeg(field_file, max_side)))
        if saved != name:  # another request made it meanwhile
            storage.delete(saved)
    return name


def delete_renditions(storage, photo_name: str) -> None:
    """Delete every rendition of a photo (a no-op for those never made)."""
    for side in RENDITION_SIDES:
        storage.delete(rendition_name(photo_name, side))
