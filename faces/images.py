"""Decoding photos into RGB arrays: the one routine the web views and the worker share."""
from __future__ import annotations

import io
import re
import warnings
from typing import BinaryIO

import cv2
import numpy as np
import pillow_heif
from PIL import Image, ImageFile, ImageFilter

from .errors import ImageTooLarge, NotAnImage

# iPhones save photos as HEIC; pillow-heif (libheif) lets Pillow open them like any other
# format. Opening still goes by the file's content, so a HEIC named .jpg is read too.
pillow_heif.register_heif_opener()

#: The formats accepted, as Pillow names them (``Image.open(formats=...)``): JPEG (a
#: camera's multi-picture JPEG opens as "MPO" through the JPEG opener), PNG (APNG too),
#: HEIC/HEIF (pillow-heif), WebP, BMP, TIFF and GIF. Every other format Pillow reads is
#: refused unopened: some decode all their pixels inside ``Image.open``, before any size
#: check (ICO, ICNS: issue 14 follow-up, a 688 KB ICO took 660 MiB), others run outside
#: programs (EPS: Ghostscript) or are rarely used decoders no photo needs (PPM, PCX,
#: TGA, SGI, DDS, QOI, XBM, IM, SPIDER, JPEG 2000, ...).
ALLOWED_FORMATS = ("JPEG", "PNG", "HEIF", "WEBP", "BMP", "TIFF", "GIF")

#: The accepted formats, in the words of the "not an image" message and the README.
READABLE_FORMATS = "JPEG, PNG, HEIC, WebP, BMP, TIFF or GIF"

#: Largest photo accepted, in pixels (width x height). 120 megapixels admits a
#: 12000 x 9000 scan or phone photo (108 MP) while refusing decompression bombs such
#: as a 20000 x 20000 PNG (400 MP) from the header alone, before any pixel is decoded.
DEFAULT_MAX_PIXELS = 120_000_000

#: Largest memory one decoding may take, in bytes: the photo's pixels (after a JPEG's
#: reduced decoding, ``Image.draft``) times the bytes Pillow keeps per pixel of the mode
#: it decodes into (``BYTES_PER_PIXEL``), plus the decoder's own full-size buffers
#: (``_decoder_bytes``). 256 MiB admits a 10900 x 10900 16-bit greyscale PNG (238 MB),
#: an 8-bit greyscale PNG up to the pixel limit, a 64 MP RGB PNG, and any baseline JPEG up to
#: ``DEFAULT_MAX_PIXELS`` (decoded at a half, quarter or eighth of its size); it refuses
#: a 119 MP RGB PNG (476 MB), which only a decompression bomb or a scanner makes.
DEFAULT_MAX_DECODED_BYTES = 256 * 2**20

#: Largest working image, in pixels: bigger photos are reduced (area averaging, same
#: proportions) while they are decoded, so the face engine, the renditions and the crops
#: never hold more. 24 MP keeps a 6000 x 4000 photo whole; detection runs at 2400 px
#: (``FACE_DETECTION_MAX_SIDE``) and descriptors from 150 px face chips, so the
#: reduction costs nothing a class photo needs. Its RGB array takes 72 MB.
DEFAULT_MAX_WORKING_PIXELS = 24_000_000

#: Bytes per pixel of Pillow's in-memory image for each mode (Pillow keeps every
#: multi-band mode, RGB included, in 4 bytes a pixel, and "1" in one byte).
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
#: Modes not listed in ``BYTES_PER_PIXEL`` take this many bytes a pixel (I, F, LA, PA,
#: RGB, RGBA, RGBX, CMYK, YCbCr, LAB, HSV).
DEFAULT_BYTES_PER_PIXEL = 4

#: Rows decoded images are converted in (``_bounded_rgb``): about this many source pixels
#: a band, so a conversion never holds more than a few MB beside the decoded photo.
BAND_PIXELS = 1_000_000

#: Names of modes, for the "too large" message.
MODE_NAMES = {"1": "1-bit", "L": "8-bit greyscale", "P": "palette", "LA": "greyscale with transparency",
              "PA": "palette with transparency", "I": "32-bit greyscale", "F": "floating-point greyscale",
              "RGB": "RGB", "RGBA": "RGB with transparency", "CMYK": "CMYK", "I;16": "16-bit greyscale",
              "I;16L": "16-bit greyscale", "I;16B": "16-bit greyscale", "I;16N": "16-bit greyscale"}


def working_size(width: int, height: int, max_working_pixels: int) -> tuple[int, int]:
    """The size a ``width`` x ``height`` photo is reduced to: the same proportions and at
    most ``max_working_pixels`` pixels (unchanged when it fits, or when 0)."""
    if not max_working_pixels or width * height <= max_working_pixels:
        return width, height
    ratio = (max_working_pixels / (width * height)) ** 0.5
    target = max(1, int(width * ratio)), max(1, int(height * ratio))
    while target[0] * target[1] > max_working_pixels:
        target = max(1, target[0] - 1), max(1, target[1] - 1)
    return target


def decoded_bytes(image: Image.Image) -> int:
    """Bytes of memory decoding ``image`` takes (its first frame only, as ``load_rgb``
    decodes): pixels x ``BYTES_PER_PIXEL`` of its mode, plus the decoder's buffers.

    Args:
        image: an image opened by Pillow and not yet loaded (after any ``draft``).
    """
    width, height = image.size
    per_pixel = BYTES_PER_PIXEL.get(image.mode, DEFAULT_BYTES_PER_PIXEL)
    return width * height * per_pixel + _decoder_bytes(image)


def _decoder_bytes(image: Image.Image) -> int:
    """Memory a format's decoder holds besides Pillow's image, in bytes.

    Progressive JPEG: libjpeg keeps every DCT coefficient of the whole photo (2 bytes
    each, per component at its sampling), at full size even when drafted smaller.
    WebP: libwebp decodes into an RGBA buffer that Pillow copies and converts (8 more
    bytes a pixel, measured: 12.5 in all for a 24 MP WebP). HEIC: libheif's own buffer
    (4 more bytes a pixel, measured: 4.5 in all for a 24 MP HEIC). TIFF: libtiff's tile
    or strip buffer (``_tiff_block_bytes``). Run-length BMP: 2 more bytes a pixel.
    """
    width, height = image.size
    fmt = image.format or ""
    if fmt in ("JPEG", "MPO") and (image.info.get("progressive") or image.info.get("progression")):
        full_width, full_height = getattr(image, "_draft_origin_size", None) or image.size
        layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * len(image.getbands())
        h_max = max(layer[1] for layer in layers) or 1
        v_max = max(layer[2] for layer in layers) or 1
        return sum(2 * (-(-full_width * layer[1] // h_max)) * (-(-full_height * layer[2] // v_max))
                   for layer in layers)
    if fmt == "WEBP":
        return width * height * 8
    if fmt == "HEIF":
        return width * height * 4
    if fmt == "TIFF":
        return _tiff_block_bytes(image)
    if fmt == "BMP" and image.tile and image.tile[0][0] == "bmp_rle":
        # Pillow's run-length BMP decoder (Python) gathers the whole image in a bytearray,
        # a byte a pixel, then copies it (``set_as_raw(bytes(data))``): 2 more bytes a
        # pixel (measured: a 120 MP RLE8 BMP grew a process by 349 MiB).
        return width * height * 2
    return 0


def _tiff_block_bytes(image: Image.Image) -> int:
    """Bytes of the buffer libtiff decodes one tile or strip of a TIFF into, from the
    header (0 when Pillow decodes it itself: uncompressed files).

    Tiled (tags 322 TileWidth, 323 TileLength): one whole tile, however small the image
    (libtiff's ``TIFFTileSize``): a 64 x 64 TIFF declaring 16384 x 16384 RGB tiles needs
    768 MB (issue 14 follow-up: a 2 MB file took a worker to 2 GiB). Striped (278
    RowsPerStrip, at most the height, as libtiff's ``TIFFStripSize`` clamps it): one
    strip, i.e. the whole image again for a file saved as a single strip. Row bytes are
    width x samples (277) x bits per sample (258), rounded up to whole bytes; 4 bytes a
    pixel for YCbCr (262 = 6), which Pillow has libtiff decode to RGBA.
    """
    if not getattr(image, "use_load_libtiff", True):
        return 0
    tags = getattr(image, "tag_v2", None)
    if tags is None:
        return 0
    width, height = image.size

    def first(tag: int, default: int) -> int:
        value = tags.get(tag, default)
        if isinstance(value, (tuple, list)):
            value = max(value) if value else default
        try:
            return max(0, int(value))
        except (TypeError, ValueError):
            return default

    samples = max(1, first(277, 1))
    bits = max(1, first(258, 1))
    if first(262, 0) == 6:
        # YCbCr (JPEG-in-TIFF): Pillow has libtiff convert each tile or strip to RGBA,
        # 4 bytes a pixel.
        samples, bits = max(samples, 4), max(bits, 8)
    tile_width, tile_length = first(322, 0), first(323, 0)
    if tile_width and tile_length:
        return -(-tile_width * samples * bits // 8) * tile_length
    rows = min(first(278, height) or height, height)
    return -(-width * samples * bits // 8) * rows


def open_image(source: bytes | BinaryIO, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
               max_working_pixels: int = DEFAULT_MAX_WORKING_PIXELS) -> Image.Image:
    """Open a photo with Pillow and check its size from the header, without decoding pixels.

    The format is judged by the content, never by the file name. A JPEG larger than
    ``max_working_pixels`` is set to decode reduced (``Image.draft``: a half, quarter
    or eighth of each side, done by libjpeg while decoding), so its decoded size is the
    reduced one. Only the first frame of a multi-frame file (GIF, APNG, TIFF pages,
    MPO) is ever decoded.

    Args:
        source: the encoded file, as bytes or a binary file object.
        max_pixels: most pixels (width x height of the file) accepted.
        max_decoded_bytes: most bytes decoding may take (``decoded_bytes``); 0: no limit.
        max_working_pixels: the size ``load_rgb`` reduces to (``DEFAULT_MAX_WORKING_PIXELS``).

    Raises:
        NotAnImage: the bytes are empty or not in one of ``ALLOWED_FORMATS`` (the
            message names the file's format when Pillow knows its signature).
        ImageTooLarge: width x height exceeds ``max_pixels``, or decoding would take
            more than ``max_decoded_bytes`` (a TIFF's tile or strip buffer included).
    """
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past 2x its own limit raises) on huge images; we apply
            # our own limit below with a clearer message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream, formats=ALLOWED_FORMATS)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on hostile headers
        if isinstance(exc, Image.DecompressionBombError):
            # Pillow refuses, from the header alone, anything over twice its own limit
            # (about 179 MP), which is above ours; its message holds the pixel count.
            found = re.search(r"\((\d+) pixels\)", str(exc))
            size = f" ({int(found.group(1)) / 1e6:.0f} megapixels)" if found else ""
            raise ImageTooLarge(
                f"The photo is too large{size}; the limit is {max_pixels / 1e6:.0f} megapixels."
            ) from exc
        other = _other_format(stream)
        if other:
            raise NotAnImage(f"This file is in the {other} format, which is not accepted: "
                             f"photos must be {READABLE_FORMATS}.") from exc
        raise NotAnImage(f"This file is not a readable image ({READABLE_FORMATS}).") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise NotAnImage("The image has no pixels.")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The photo is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {max_pixels / 1e6:.0f} megapixels."
        )
    target = working_size(width, height, max_working_pixels)
    if target != (width, height) and image.format in ("JPEG", "MPO"):
        # libjpeg decodes at 1/2, 1/4 or 1/8 of each side: the smallest still at least
        # the working size (``_bounded_rgb`` reduces the rest), or one step smaller when
        # that would be over the memory limit (e.g. an 80 MP photo: 20 MP at half size).
        image._draft_origin_size = (width, height)
        per_pixel = BYTES_PER_PIXEL.get(image.mode, DEFAULT_BYTES_PER_PIXEL)
        scale = max([1] + [s for s in (2, 4, 8) if width // s >= target[0] and height // s >= target[1]])
        while scale < 8 and max_decoded_bytes and (
                -(-width // scale)) * (-(-height // scale)) * per_pixel + _decoder_bytes(image) > max_decoded_bytes:
            scale *= 2
        if scale > 1:
            image.draft(None, (width // scale, height // scale))
    needed = decoded_bytes(image)
    if max_decoded_bytes and needed > max_decoded_bytes:
        mode = MODE_NAMES.get(image.mode, image.mode)
        tiles = getattr(image, "tag_v2", {}) if image.format == "TIFF" else {}
        if tiles.get(322) and tiles.get(323) and _tiff_block_bytes(image) * 2 > needed:
            raise ImageTooLarge(
                f"The photo is {width} x {height} pixels stored in tiles of {tiles.get(322)} x {tiles.get(323)} "
                f"pixels: decoding one tile would take {_tiff_block_bytes(image) / 2**20:.0f} MB of memory, "
                f"over the limit of {max_decoded_bytes / 2**20:.0f} MB. Save it again as an ordinary TIFF, "
                "PNG or JPEG."
            )
        raise ImageTooLarge(
            f"The photo is {width} x {height} pixels of {mode}: decoding it would take "
            f"{needed / 2**20:.0f} MB of memory, over the limit of {max_decoded_bytes / 2**20:.0f} MB. "
            "Save it with fewer pixels, or as an ordinary (baseline) JPEG."
        )
    return image


def _other_format(stream: BinaryIO) -> str | None:
    """The name of the Pillow format whose signature ``stream`` starts with, when it is
    one not in ``ALLOWED_FORMATS`` (only signatures are compared: nothing is opened or
    decoded); None when none matches or the stream cannot be read again."""
    try:
        stream.seek(0)
        prefix = stream.read(16)
    except Exception:  # noqa: BLE001 - a stream that cannot seek back: no name
        return None
    Image.init()
    for name, (_factory, accept) in Image.OPEN.items():
        if name in ALLOWED_FORMATS or accept is None:
            continue
        try:
            if accept(prefix) is True:
                return name
        except Exception:  # noqa: BLE001 - a plugin's check may reject short input its own way
            continue
    return None


def _upright(array: np.ndarray, orientation: int) -> np.ndarray:
    """``array`` turned as the EXIF Orientation value says (as ``ImageOps.exif_transpose``)."""
    turned = {
        2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }.get(orientation)
    return array if turned is None else turned(array)


def load_rgb(source: bytes | BinaryIO, max_pixels: int = DEFAULT_MAX_PIXELS,
             max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
             max_working_pixels: int = DEFAULT_MAX_WORKING_PIXELS) -> np.ndarray:
    """Decode a photo into an upright RGB array of at most ``max_working_pixels`` pixels.

    The EXIF Orientation tag is applied (phones store portrait photos turned), and
    transparency is composited onto white. A photo of more than ``max_working_pixels``
    pixels is reduced to that size (``working_size``; JPEG first by libjpeg while
    decoding, then by averaging while converting, a band of rows at a time), so
    memory stays under ``max_decoded_bytes`` plus a few MB plus the result.

    Args:
        source: the encoded file, as bytes or a binary file object.
        max_pixels: the size limit checked before decoding (see ``DEFAULT_MAX_PIXELS``).
        max_decoded_bytes: the memory limit checked before decoding
            (``DEFAULT_MAX_DECODED_BYTES``; 0: none).
        max_working_pixels: largest result (``DEFAULT_MAX_WORKING_PIXELS``; 0: full size).

    Returns:
        ``(H, W, 3) uint8`` array, C-contiguous, RGB order, H and W in pixels after
        rotation and reduction.

    Raises:
        NotAnImage: the bytes are not a readable image, or decoding fails part way
            (a truncated or corrupt file).
        ImageTooLarge: the photo has more than ``max_pixels`` pixels or would take more
            than ``max_decoded_bytes`` to decode.
    """
    image = open_image(source, max_pixels, max_decoded_bytes, max_working_pixels)
    header_size = image.size
    # face_recognition (imported by the benchmarks) sets Pillow's process-wide
    # LOAD_TRUNCATED_IMAGES, which would silently fill a cut-off photo with grey; a
    # truncated upload must be refused instead.
    allow_truncated, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with warnings.catch_warnings():
            # Pillow checks its own pixel limit again while loading some formats (TIFF);
            # ``open_image`` applied ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
        if image.size != header_size:
            # A decoder that finds a size other than its header's (ICNS does; none of
            # ALLOWED_FORMATS should): the checks above were made on the wrong size.
            raise NotAnImage(
                f"The image's header says {header_size[0]} x {header_size[1]} pixels but it holds "
                f"{image.size[0]} x {image.size[1]}; it is refused as damaged.")
        orientation = image.getexif().get(0x0112, 1)
        array = _bounded_rgb(image, max_working_pixels)
        image.close()  # frees the full-size decoded pixels now
        del image
        array = _upright(array, orientation)
    except NotAnImage:
        raise
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


def _bounded_rgb(image: Image.Image, max_working_pixels: int) -> np.ndarray:
    """The loaded ``image`` as an ``(H, W, 3) uint8`` RGB array of at most
    ``max_working_pixels`` pixels.

    Converted (and reduced) a band of rows at a time (``BAND_PIXELS``) straight into the
    result, so besides the decoded image and the result nothing larger than a band is
    held: no full-size copy in another mode, no float64. Reduction averages the area
    each pixel covers (a box filter, as OpenCV's ``INTER_AREA``), exactly across the
    bands' edges.
    """
    width, height = image.size
    target_width, target_height = working_size(width, height, max_working_pixels)
    reduced = (target_width, target_height) != (width, height)
    # A 1-bit scan or fax is dithered: black and white dots whose density carries the
    # tones. A 1-pixel Gaussian blur turns the dots back into grey levels; on
    # ../shared/faces portraits the descriptor is then 0.21 from the original photo's,
    # against 0.65-0.85 (another person) straight from the dots. (A reduced photo needs
    # no blur: averaging the dots does the same.) Bands overlap by the blur's reach.
    blur = 0 if reduced or image.mode != "1" else 4
    levels = _grey_levels(image)
    scale = height / target_height
    out_rows = max(1, int(BAND_PIXELS / width / scale))
    out = np.empty((target_height, target_width, 3), dtype=np.uint8)
    for out_top in range(0, target_height, out_rows):
        out_bottom = min(target_height, out_top + out_rows)
        # Source rows [y0, y1) map to these output rows; the band holds every row they touch.
        y0, y1 = out_top * scale, min(height, out_bottom * scale)
        first, last = int(y0), min(height, -int(-y1 // 1))
        if blur:
            above, below = min(blur, first), min(blur, height - last)
            band = image.crop((0, first - above, width, last + below)).convert("L")
            band = band.filter(ImageFilter.GaussianBlur(1.0)).crop((0, above, width, above + last - first))
            band = band.convert("RGB")
        else:
            band = _to_rgb(image.crop((0, first, width, last)), levels)
        if band.size != (target_width, out_bottom - out_top):
            band = band.resize((target_width, out_bottom - out_top), Image.Resampling.BOX,
                               box=(0, y0 - first, width, y1 - first))
        out[out_top:out_bottom] = np.asarray(band)
    return out


def _grey_levels(image: Image.Image) -> tuple[float, float] | None:
    """The values that become black and white when a 16-bit, 32-bit or float greyscale
    image is scaled to 8 bits: 0 and the format's range (255, 65535, or the largest
    value) for integers, the image's own finite range for floats. None for other modes."""
    if not (image.mode in ("I", "F") or image.mode.startswith("I;16")):
        return None
    width, height = image.size
    rows = max(1, BAND_PIXELS // width)
    low, high = np.inf, -np.inf
    for top in range(0, height, rows):
        values = np.asarray(image.crop((0, top, width, min(height, top + rows))))
        if image.mode == "F":
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
        low, high = min(low, float(values.min())), max(high, float(values.max()))
    if image.mode == "F":
        return (0.0, 1.0) if low > high else (low, high)
    return 0.0, 255.0 if high <= 255 else 65535.0 if high <= 65535 else high


def _to_rgb(image: Image.Image, levels: tuple[float, float] | None = None) -> Image.Image:
    """Convert any Pillow mode to RGB, putting transparent areas on a white background.

    ``levels``: for 16-bit, 32-bit and float greyscale, the values that become black and
    white (``_grey_levels`` of the whole photo; None: this image's own).
    """
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        # 16- and 32-bit greyscale (scanners, medical and scientific TIFF/PNG): Pillow's
        # convert("RGB") clips every value above 255 to white. Scale to 8 bits instead,
        # in integers (floats in float32 for "F"), on this band only.
        low, high = levels or _grey_levels(image)
        values = np.asarray(image)
        if image.mode == "F":
            values = np.nan_to_num(values.astype(np.float32), nan=low, posinf=high, neginf=low)
            scaled = np.clip((values - np.float32(low)) * np.float32(255.0 / max(high - low, 1e-12)) + 0.5, 0, 255)
            grey = scaled.astype(np.uint8)
        else:
            span = int(high)  # low is 0 for integers
            if span <= 65535:  # rounded exactly in 32-bit integers: 510 x 65535 fits
                values = np.clip(values, 0, span).astype(np.uint32)
                grey = ((510 * values + span) // (2 * span)).astype(np.uint8)
            else:
                grey = np.clip(values * (255.0 / span) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if image.mode == "1":
        return image.convert("L").convert("RGB")
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
    height, width = rgb.shape[:2]
    if max_side and max(height, width) > max_side:
        # OpenCV's area averaging: as sharp as Pillow's Lanczos thumbnail for a shrink, and
        # 0.04 s instead of 0.18 s for a 12 MP photo to 1600 px (issue 17's measurement).
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(np.ascontiguousarray(rgb, dtype=np.uint8), size, interpolation=cv2.INTER_AREA)
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
