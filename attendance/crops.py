"""Face crops: a small JPEG of one face, cut once from a bounded working image of its
photo and stored (``renditions.crops_folder``); later requests send the stored file."""
import io
import logging

import numpy as np
from django.utils.translation import gettext_lazy
from PIL import Image

from faces import images

from attendance import engine
from attendance import renditions

log = logging.getLogger(__name__)

#: Margin (fraction of the box added on each side) and longest side of review crops.
CROP_MARGIN, CROP_PX = 0.3, 200


def crop_jpeg(rgb, left: int, top: int, right: int, bottom: int, margin: float = CROP_MARGIN,
              max_side: int = CROP_PX, quality: int = 90) -> bytes:
    """A JPEG of the box ``left, top, right, bottom`` (pixels of the upright photo) with
    ``margin`` x the box's size added on each side, scaled down to at most ``max_side``
    pixels.

    Args:
        rgb: ``(H, W, 3) uint8`` upright photo (``engine.decode_photo``).
        margin: fraction of the box's width (height) added left and right (top and bottom).
        max_side: longest side of the JPEG in pixels.

    Returns:
        The JPEG's bytes.
    """
    height, width = rgb.shape[:2]
    pad_x, pad_y = int((right - left) * margin), int((bottom - top) * margin)
    crop = rgb[max(0, top - pad_y): min(height, bottom + pad_y), max(0, left - pad_x): min(width, right + pad_x)]
    return images.encode_jpeg(crop, max_side, quality=quality)


def decode_stored(field_file):
    """The ``(H, W, 3) uint8`` upright pixels of a stored photo (through the storage API),
    bounded as ``engine.decode_photo``."""
    with field_file.open("rb") as fh:
        return engine.decode_photo(fh.read())


def crop_name(photo_name: str, box, margin: float, max_side: int) -> str:
    """Storage name of a crop: ``<crops folder>/<l>_<t>_<r>_<b>-m<margin %>-<side>.jpg``
    (``box`` None: the whole photo)."""
    what = "whole" if box is None else "_".join(str(int(v)) for v in box)
    return f"{renditions.crops_folder(photo_name)}/{what}-m{round(margin * 100)}-{max_side}.jpg"


def _scaled(box, rgb, photo_width):
    """A box stored in pixels of a photo ``photo_width`` wide, in pixels of ``rgb`` (photos
    processed before decoding was bounded keep their boxes in full-size pixels)."""
    if box is None or not photo_width or photo_width == rgb.shape[1]:
        return box
    factor = rgb.shape[1] / photo_width
    return tuple(round(v * factor) for v in box)


def _cut(rgb, box, margin, max_side):
    if box is None:
        return images.encode_jpeg(rgb, max_side, quality=90)
    return crop_jpeg(rgb, *box, margin=margin, max_side=max_side)


def store_crops(field_file, rgb, boxes, margin: float = CROP_MARGIN, max_side: int = CROP_PX,
                photo_width=None) -> dict:
    """Cut and store the crops of ``boxes`` (``(left, top, right, bottom)``, or None for the
    whole photo) from the decoded photo ``rgb``; returns ``{box: JPEG bytes}``.

    ``photo_width``: the width the boxes were measured in (None: ``rgb``'s)."""
    made = {}
    for box in boxes:
        data = _cut(rgb, _scaled(box, rgb, photo_width), margin, max_side)
        renditions.save_file(field_file.storage, crop_name(field_file.name, box, margin, max_side), data)
        made[box] = data
    return made


def stored_crop(field_file, box, margin: float = CROP_MARGIN, max_side: int = CROP_PX, photo_width=None,
                sibling_boxes=tuple, make: bool = True, wait: float | None = renditions.DECODING_WAIT_SECONDS) -> bytes:
    """The stored crop of ``box`` in a photo, cut on first use when ``make`` (False: the
    photo is still being processed; never decoded here). The first use decodes the
    photo once (bounded, one at a time per process: ``renditions.decoding``) and also
    stores the crops of ``sibling_boxes()`` (a callable returning the other faces' boxes,
    which the review page asks for next; called only then). ``wait``: seconds to wait for the decoding lock (None: no limit).

    Raises:
        renditions.NotReady: ``make`` is False and the crop is not stored yet.
        renditions.Busy: another decoding held the lock for ``wait`` seconds.
        ImageError: the file is not a readable image.
        FileNotFoundError: the photo's file is missing.
    """
    storage, name = field_file.storage, crop_name(field_file.name, box, margin, max_side)

    def create() -> bytes:
        rgb = decode_stored(field_file)
        others = [b for b in sibling_boxes()
                  if b != box and not storage.exists(crop_name(field_file.name, b, margin, max_side))]
        return store_crops(field_file, rgb, [box, *others], margin, max_side, photo_width)[box]

    return renditions.stored_or_made(storage, name, create, make, gettext_lazy(
        "This photo is still being processed; its faces are shown once it ends."), wait)


def store_photo_renditions(photo, rgb, display_px: int, boxes, log_extra: dict) -> None:
    """The worker stores a processed photo's display rendition (``display_px`` longest
    side) and the crops of its faces' ``boxes`` from its decoded pixels (``rgb``,
    ``(H, W, 3) uint8``), so no page decodes the original. Class photos and enrolment
    photos alike.

    A storage error is logged (with ``log_extra``), not raised: the pages then make them
    on first view. (The caller removes them again, ``renditions.delete_renditions``, when
    the photo's row was deleted meanwhile.)
    """
    try:
        renditions.save_rendition(photo.image, rgb, display_px)
        store_crops(photo.image, rgb, boxes)
    except OSError as exc:
        log.warning("%s %s: renditions not stored: %s", photo._meta.verbose_name, photo.pk, exc, extra=log_extra)


def _face_box(face):
    return face.left, face.top, face.right, face.bottom


def face_crop_jpeg(face, margin: float = CROP_MARGIN, max_side: int = CROP_PX, make: bool = True,
                   wait: float | None = renditions.DECODING_WAIT_SECONDS) -> bytes:
    """A JPEG of a ``DetectedFace`` from its class photo (stored; see ``stored_crop`` for
    ``make``, ``wait`` and the errors raised)."""
    photo = face.photo

    def siblings():
        return [_face_box(f) for f in photo.faces.all()]

    return stored_crop(photo.image, _face_box(face), margin, max_side, photo.width, siblings, make, wait)


def enrolment_face_jpeg(photo, margin: float = CROP_MARGIN, max_side: int = CROP_PX) -> bytes:
    """A JPEG of the enrolled face of a ready ``EnrolmentPhoto`` (the whole photo if its
    face box is not stored); stored, see ``stored_crop``."""
    box = None if photo.face_left is None else (photo.face_left, photo.face_top, photo.face_right, photo.face_bottom)
    return stored_crop(photo.image, box, margin, max_side)


def template_crop_jpeg(face, max_side: int) -> bytes:
    """The crop kept with a learnt template: the face's stored review crop
    (``face_crop_jpeg``, cut if missing however long the decoding lock takes: this is
    learning, not a page view), scaled down to ``max_side`` pixels when smaller than it."""
    if max_side > CROP_PX:
        return face_crop_jpeg(face, max_side=max_side, wait=None)
    # Our own JPEG rendition: opened as JPEG only (no other format's decoder runs).
    with Image.open(io.BytesIO(face_crop_jpeg(face, wait=None)), formats=("JPEG",)) as image:
        return images.encode_jpeg(np.asarray(image.convert("RGB")), max_side, quality=90)
