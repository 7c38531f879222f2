"""Decoding photos into RGB arrays: the one routine the web views and the worker share."""
from __future__ import annotations

import io
import re
import warnings
from typing import BinaryIO

import numpy as np
import pillow_heif
from PIL import Image, ImageFile, ImageFilter, ImageOps

from .errors import ImageTooLarge, NotAnImage

# iPhones save photos as HEIC; pillow-heif (libheif) lets Pillow open them like any other
# format. Opening still goes by the file's content, so a HEIC named .jpg is read too.
pillow_heif.register_heif_opener()

#: Formats named in the "not an image" message (Pillow reads a few more).
READABLE_FORMATS = "JPEG, PNG, HEIC, WebP, BMP, TIFF or GIF"

#: Largest photo accepted, in pixels (width x height). 120 megapixels admits a
#: 12000 x 9000 scan or phone photo (108 MP) while refusing decompression bombs such
#: as a 20000 x 20000 PNG (400 MP) from the header alone, before any pixel is decoded.
#: Decoded, a 120 MP RGB photo takes 360 MB of memory.
DEFAULT_MAX_PIXELS = 120_000_000


def open_image(source: bytes | BinaryIO, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open a photo with Pillow and check its size from the header, without decoding pixels.

    The format is judged by the content, never by the file name.

    Raises:
        NotAnImage: the bytes are empty or not an image format Pillow reads.
        ImageTooLarge: width x height exceeds ``max_pixels``.
    """
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past 2x its own limit raises) on huge images; we apply
            # our own limit below with a clearer message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on hostile headers
        if isinstance(exc, Image.DecompressionBombError):
            # Pillow refuses, from the header alone, anything over twice its own limit
            # (about 179 MP), which is above ours; its message holds the pixel count.
            found = re.search(r"\((\d+) pixels\)", str(exc))
            size = f" ({int(found.group(1)) / 1e6:.0f} megapixels)" if found else ""
            raise ImageTooLarge(
                f"The photo is too large{size}; the limit is {max_pixels / 1e6:.0f} megapixels."
            ) from exc
        raise NotAnImage(f"This file is not a readable image ({READABLE_FORMATS}).") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise NotAnImage("The image has no pixels.")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The photo is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {max_pixels / 1e6:.0f} megapixels."
        )
    return image


def load_rgb(source: bytes | BinaryIO, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a photo into an upright RGB array.

    The EXIF Orientation tag is applied (phones store portrait photos turned), and
    transparency is composited onto white.

    Args:
        source: the encoded file, as bytes or a binary file object.
        max_pixels: the size limit checked before decoding (see ``DEFAULT_MAX_PIXELS``).

    Returns:
        ``(H, W, 3) uint8`` array, C-contiguous, RGB order, H and W in pixels after rotation.

    Raises:
        NotAnImage: the bytes are not a readable image, or decoding fails part way
            (a truncated or corrupt file).
        ImageTooLarge: the photo has more than ``max_pixels`` pixels.
    """
    image = open_image(source, max_pixels)
    # face_recognition (imported by the benchmarks) sets Pillow's process-wide
    # LOAD_TRUNCATED_IMAGES, which would silently fill a cut-off photo with grey; a
    # truncated upload must be refused instead.
    allow_truncated, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        image = _to_rgb(image)
        array = np.asarray(image, dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001
        # Pillow raises OSError for truncated data, and SyntaxError, ValueError, struct
        # errors and more for malformed data found only while decoding.
        if "truncated" in str(exc):
            raise NotAnImage(
                "The photo file is incomplete (cut off while it was copied or uploaded); please upload it again."
            ) from exc
        raise NotAnImage(f"The image is damaged and could not be decoded ({exc}).") from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = allow_truncated
    return np.ascontiguousarray(array)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB, putting transparent areas on a white background."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        # 16- and 32-bit greyscale (scanners, medical and scientific TIFF/PNG): Pillow's
        # convert("RGB") clips every value above 255 to white. Scale to 8 bits instead:
        # by the format's range for integers, by the image's own range for floats.
        values = np.asarray(image, dtype=np.float64)
        if image.mode == "F":
            low, high = float(np.nanmin(values)), float(np.nanmax(values))
        else:
            low, high = 0.0, 255.0 if values.max() <= 255 else 65535.0 if values.max() <= 65535 else float(values.max())
        scaled = (np.nan_to_num(values, nan=low) - low) * (255.0 / max(high - low, 1e-12))
        return Image.fromarray(np.clip(scaled + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    if image.mode == "1":
        # A 1-bit scan or fax is dithered: black and white dots whose density carries
        # the tones. A 1-pixel Gaussian blur turns the dots back into grey levels; on
        # ../shared/faces portraits the descriptor is then 0.21 from the original
        # photo's, against 0.65-0.85 (another person) straight from the dots.
        return image.convert("L").filter(ImageFilter.GaussianBlur(1.0)).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def from_opencv(array: np.ndarray) -> np.ndarray:
    """An image array as OpenCV gives it (``cv2.imread``, ``cv2.VideoCapture``) in RGB.

    Args:
        array: ``(H, W, 3)`` BGR, ``(H, W, 4)`` BGRA (put on white, as transparent
            files are) or ``(H, W)`` greyscale, ``uint8``; any strides, so flipped,
            rotated or cropped views work.

    Returns:
        ``(H, W, 3) uint8`` RGB array, C-contiguous: what ``load_rgb`` returns for the
        same pixels.

    Raises:
        NotAnImage: not a ``uint8`` array of one of those shapes, or empty.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise NotAnImage("The image array must be a numpy uint8 array, as OpenCV returns.")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.uint16)
        array = ((array[:, :, :3].astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    elif array.ndim != 3 or array.shape[2] != 3:
        raise NotAnImage(f"The image array must be (H, W), (H, W, 3) or (H, W, 4), not {array.shape}.")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise NotAnImage("The image has no pixels.")
    return np.ascontiguousarray(array[:, :, ::-1])


def encode_jpeg(rgb: np.ndarray, max_side: int = 0, quality: int = 85) -> bytes:
    """A JPEG of an RGB array, for showing a photo in a browser.

    Args:
        rgb: ``(H, W, 3) uint8`` RGB array (upright, as ``load_rgb`` returns).
        max_side: longest side in pixels after scaling down (0: keep the size).
        quality: JPEG quality, 1-95.

    Returns:
        the JPEG file's bytes.
    """
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    if max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
