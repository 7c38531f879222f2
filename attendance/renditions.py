"""Upright JPEG renditions of stored photos and their face crops: what browsers are shown.

Every format we accept (HEIC, TIFF, EXIF-rotated JPEG) is shown the way the worker saw
it. Renditions are made once and stored beside the photo (``renditions/...``, deleted
with it): by the worker while it has the photo decoded anyway, or on the first view of a
finished photo the worker never rendered (one bounded decoding, ``engine.decode_photo``,
one at a time per process; a photo still being processed is never decoded here). Every
later view sends the stored file and never decodes the original again. With
``PHOTO_SENDFILE`` set, the web server sends the file after the view checked permission
(nginx ``X-Accel-Redirect`` or Apache/lighttpd ``X-Sendfile``).
"""
import contextlib
import os
import threading
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.utils.translation import gettext, gettext_lazy

from faces import images

from attendance import engine


#: One decoding at a time per process for renditions and crops made on first view, so a
#: web process's threads never hold more than one decoded photo between them (README
#: "Memory"); the others wait at most ``DECODING_WAIT_SECONDS``, then find the file made
#: or give up (``Busy``), so views of undecoded photos never hold every server thread.
DECODING = threading.Lock()

#: Seconds a request waits for ``DECODING`` before it answers 503 "try again" (a bounded
#: decoding takes 1-2 s; waiting longer would hold a server thread per waiting view).
DECODING_WAIT_SECONDS = 2.0


class Busy(Exception):
    """Another request of this process is decoding a photo and did not finish within
    ``DECODING_WAIT_SECONDS``: the view answers 503 with Retry-After."""


class NotReady(Exception):
    """The photo is still being processed and its rendition (or crop) is not stored yet:
    the web does not decode it; the view answers 503 with Retry-After."""


@contextlib.contextmanager
def decoding(wait: float | None = DECODING_WAIT_SECONDS):
    """Hold ``DECODING`` for one decoding on first view, waiting at most ``wait`` seconds
    for it (None: as long as it takes, for work that is not a page view, e.g. learning on
    confirmation).

    Raises:
        Busy: not acquired within ``wait`` seconds.
    """
    if not DECODING.acquire(timeout=-1 if wait is None else wait):
        raise Busy(gettext("Another photo is being prepared; try again in a moment."))
    try:
        yield
    finally:
        DECODING.release()

#: Longest side, in pixels, of the photos shown on the session and student pages.
CLASS_PHOTO_DISPLAY_PX, ENROLMENT_PHOTO_DISPLAY_PX = 1920, 480
RENDITION_SIDES = (CLASS_PHOTO_DISPLAY_PX, ENROLMENT_PHOTO_DISPLAY_PX)


def upright_jpeg(field_file, max_side: int) -> bytes:
    """The stored photo decoded (bounded: ``engine.decode_photo``) as upright JPEG bytes
    of at most ``max_side`` pixels.

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


def crops_folder(photo_name: str) -> str:
    """Storage folder of a photo's face crops, e.g. ``renditions/class-photos/<uuid>-faces``."""
    path = PurePosixPath(photo_name)
    return f"renditions/{path.parent.name}/{path.stem}-faces"


def save_file(storage, name: str, data: bytes) -> str:
    """Store ``data`` as ``name`` unless a file of that name exists (another process made
    the same rendition meanwhile). Returns ``name``."""
    if not storage.exists(name):
        saved = storage.save(name, ContentFile(data))
        if saved != name:  # another request made it meanwhile
            storage.delete(saved)
    return name


def save_rendition(field_file, rgb, max_side: int) -> str:
    """Store the rendition of a photo from its decoded pixels (the worker's ``rgb``,
    ``(H, W, 3) uint8``); returns its storage name."""
    return save_file(field_file.storage, rendition_name(field_file.name, max_side),
                     images.encode_jpeg(rgb, max_side))


def stored_or_made(storage, name: str, create, allowed: bool, not_ready: str,
                   wait: float | None = DECODING_WAIT_SECONDS, look=None):
    """What the pages send of a stored rendition or crop ``name``: the stored file, else
    (first use) ``create()``, which decodes the photo once and stores the file; the one
    store-or-make sequence of renditions and face crops (``crops.stored_crop``).

    ``look(storage, name)``: the answer for a stored file, None when it is missing
    (default: its bytes); ``create()`` returns the same answer for the file it stored.
    ``allowed`` False (a photo still being processed, whose files the worker is about to
    store) never decodes. The decoding holds ``decoding(wait)``: one at a time per
    process, and the file is looked for again once the lock is held (another thread may
    have made it meanwhile).

    Raises:
        NotReady: ``allowed`` is False and the file is not stored yet (``not_ready`` says why).
        Busy: another decoding held the process's lock for ``wait`` seconds.
        whatever ``create`` raises (ImageError, FileNotFoundError for the photo's file).
    """
    look = look or stored_bytes
    found = look(storage, name)
    if found is not None:
        return found
    if not allowed:
        raise NotReady(not_ready)
    with decoding(wait):
        found = look(storage, name)
        return found if found is not None else create()


def stored_bytes(storage, name: str) -> bytes | None:
    """The bytes of the stored file ``name``, or None when there is none (one storage call)."""
    try:
        with storage.open(name, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def _name_if_stored(storage, name: str) -> str | None:
    return name if storage.exists(name) else None


#: Why a rendition of a photo still being processed is not sent (``NotReady``).
RENDITION_NOT_READY = gettext_lazy("This photo is still being processed; it is shown once processing ends.")


def stored_rendition(field_file, max_side: int, make: bool = True) -> str:
    """The storage name of the photo's rendition (for the web server to send), made on
    first use when ``make`` (a finished photo the worker never rendered: one bounded
    decoding, ``stored_or_made``). ``make`` False (a photo still being processed) never decodes.

    Raises:
        NotReady: ``make`` is False and the rendition is not stored yet.
        Busy: another decoding held the process's lock for ``DECODING_WAIT_SECONDS``.
        ImageError: the file is not a readable image.
        FileNotFoundError: the file is missing from the storage.
    """
    storage, name = field_file.storage, rendition_name(field_file.name, max_side)
    return stored_or_made(storage, name, lambda: save_file(storage, name, upright_jpeg(field_file, max_side)),
                          make, RENDITION_NOT_READY, look=_name_if_stored)


def rendition_bytes(field_file, max_side: int, make: bool = True) -> bytes:
    """The JPEG bytes of the photo's stored rendition, made on first use when ``make``
    (as ``stored_rendition``; raises as it does)."""
    storage, name = field_file.storage, rendition_name(field_file.name, max_side)

    def create() -> bytes:
        data = upright_jpeg(field_file, max_side)
        save_file(storage, name, data)
        return data

    return stored_or_made(storage, name, create, make, RENDITION_NOT_READY)


def delete_renditions(storage, photo_name: str) -> None:
    """Delete every rendition and face crop of a photo (a no-op for those never made)."""
    for side in RENDITION_SIDES:
        storage.delete(rendition_name(photo_name, side))
    folder = crops_folder(photo_name)
    try:
        _, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        storage.delete(f"{folder}/{name}")
    try:
        os.rmdir(storage.path(folder))
    except (NotImplementedError, OSError):
        pass  # not a local folder (S3 has none), or another file appeared meanwhile
