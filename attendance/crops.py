"""Face crops: a small JPEG of one face cut from a decoded photo (review page, templates)."""
from faces import images

from . import engine


def crop_jpeg(rgb, left: int, top: int, right: int, bottom: int, margin: float = 0.3, max_side: int = 200,
              quality: int = 90) -> bytes:
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
    """The ``(H, W, 3) uint8`` upright pixels of a stored photo (through the storage API)."""
    with field_file.open("rb") as fh:
        return engine.decode_photo(fh.read())


def face_crop_jpeg(face, margin: float = 0.3, max_side: int = 200) -> bytes:
    """A JPEG of a ``DetectedFace`` cut from its class photo (see ``crop_jpeg``)."""
    return crop_jpeg(decode_stored(face.photo.image), face.left, face.top, face.right, face.bottom,
                     margin, max_side)


def enrolment_face_jpeg(photo, margin: float = 0.3, max_side: int = 200) -> bytes:
    """A JPEG of the enrolled face of a ready ``EnrolmentPhoto`` (the whole photo if its
    face box is not stored)."""
    rgb = decode_stored(photo.image)
    if photo.face_left is None:
        return images.encode_jpeg(rgb, max_side, quality=90)
    return crop_jpeg(rgb, photo.face_left, photo.face_top, photo.face_right, photo.face_bottom, margin, max_side)
