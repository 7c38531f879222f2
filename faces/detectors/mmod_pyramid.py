"""The input of dlib's MMOD face detector, as dlib builds it, and the way back to the photo.

``input_rgb_image_pyramid<pyramid_down<6>>`` (``dlib/dnn/input.h``) does not run the
network once per scale: it lays the photo and ever smaller copies of it (each 5/6 of the
previous) side by side in one image, a "tiled pyramid"
(``dlib/image_transforms/image_pyramid.h``, ``compute_tiled_image_pyramid_details``),
and runs the network once over that. Each copy is made from the previous one by dlib's
bilinear ``resize_image`` on the mean-subtracted float planes. The detector's boxes are
mapped back from the tile they fall in (``tiled_pyramid_to_image``).

Sizes, places and sample positions follow dlib 20's arithmetic step by step, including
where it rounds, because a pixel's difference in a tile's place or size moves boxes: the
network's boxes then agree with dlib's within a pixel (tests/test_mmod_detector.py).
"""
from __future__ import annotations

import math

import numpy as np

#: Each level of dlib's pyramid_down<6> is 5/6 of the previous one (``pyramid_rate``).
PYRAMID_RATE = (6 - 1.0) / 6
#: Levels lower than this many rows are not made (``compute_tiled_image_pyramid_details``).
MIN_LEVEL_HEIGHT = 5


def pyramid_rects(rows: int, cols: int, padding: int, outer_padding: int) -> tuple[list[tuple], int, int]:
    """Where each level of the tiled pyramid of a ``rows`` x ``cols`` image lies.

    dlib's ``compute_tiled_image_pyramid_details`` with ``pyramid_down<6>``: the image at
    the top left, then its smaller copies below it, until they fit beside one another;
    the rest go up the right-hand side from the bottom.

    Returns:
        ``(rects, height, width)``: per level ``(left, top, right, bottom)``, inclusive
        pixels of the tiled image, level 0 first; the tiled image's size.
    """
    sizes = [(cols, rows)]
    while True:
        rows, cols = math.floor(PYRAMID_RATE * rows), math.floor(PYRAMID_RATE * cols)
        if rows * cols == 0 or rows < MIN_LEVEL_HEIGHT:
            break
        sizes.append((cols, rows))
    total_height = sum(height + padding for _, height in sizes) - 2 * padding
    first_width, first_height = sizes[0]
    height = prev_width = 0
    for width, level_height in sizes:
        if width <= first_width - prev_width - padding and (height - first_height) * 2 >= total_height - first_height:
            break
        height += level_height + padding
        prev_width = width
    height -= padding
    rects = []
    y = outer_padding
    index = 0
    while y < height + outer_padding and index < len(sizes):
        width, level_height = sizes[index]
        rects.append((outer_padding, y, outer_padding + width - 1, y + level_height - 1))
        y += level_height + padding
        index += 1
    y -= padding
    while index < len(sizes):
        width, level_height = sizes[index]
        right, bottom = outer_padding + first_width - 1, y - 1
        rect = (right - (width - 1), bottom - (level_height - 1), right, bottom)
        first = rects[0]
        if rect[0] <= first[2] and first[0] <= rect[2] and rect[1] <= first[3] and first[1] <= rect[3]:
            break  # it would overlap the full-size image
        rects.append(rect)
        y -= level_height + padding
        index += 1
    return rects, height + 2 * outer_padding, first_width + 2 * outer_padding


def _column_positions(width: int, cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output column: the source columns on its left and right and its float32
    fraction between them, as dlib's ``resize_image`` computes them (see ``resize_bilinear``)."""
    x_scale = (width - 1) / max(cols - 1, 1)
    # Columns in groups of four: lane k starts at float(-4 x_scale + k x_scale) and adds
    # float(4 x_scale) once per group, in single precision; left is truncated.
    groups = (cols + 3) // 4 + 1
    lane_steps = np.empty((groups + 1, 4), dtype=np.float32)
    lane_steps[0] = np.array([-4 * x_scale + k * x_scale for k in range(4)], dtype=np.float64).astype(np.float32)
    lane_steps[1:] = np.float32(4 * x_scale)
    lanes = np.add.accumulate(lane_steps, axis=0, dtype=np.float32)[1:]
    lefts = np.trunc(lanes).astype(np.int64)
    # The grouped loop stops at the first group whose last lane's right neighbour is past
    # the image; from there on the columns are done one by one, x in double precision.
    stop = np.nonzero(lefts[:, 3] + 1 >= width)[0]
    grouped = min(cols, 4 * int(stop[0]) if len(stop) else 4 * groups)
    x = lanes.reshape(-1)[:grouped]
    left = np.empty(cols, dtype=np.int64)
    right = np.empty(cols, dtype=np.int64)
    frac = np.empty(cols, dtype=np.float32)
    left[:grouped] = lefts.reshape(-1)[:grouped]
    right[:grouped] = left[:grouped] + 1
    frac[:grouped] = x - left[:grouped].astype(np.float32)
    x = -x_scale + grouped * x_scale
    for column in range(grouped, cols):
        x += x_scale
        left[column] = math.floor(x)
        right[column] = min(left[column] + 1, width - 1)
        frac[column] = x - left[column]
    return left, right, frac


def resize_bilinear(source: np.ndarray, rows: int, cols: int, to_uint8: bool = False) -> np.ndarray:
    """dlib's ``resize_image`` with bilinear interpolation, to ``rows`` x ``cols``.

    The sample positions are dlib's (``dlib/image_transforms/interpolation.h``): the
    corners map onto the corners, row positions are summed in double precision, column
    positions four at a time in single precision (its SSE path) but for the last ones.
    dlib weighs the four neighbours in one sum; here each source row is interpolated
    across first, then the output rows between two of those (two gathers instead of four:
    a 1080p photo's pyramid in 0.2-0.6 s instead of 0.9-1.1 s on the loaded test machine),
    which differs from dlib's float32 sum by about 1e-7 of a value. uint8 results
    (``to_uint8``) are truncated, as dlib's are.

    Args:
        source: ``(h, w, C)`` float32 (or uint8 with ``to_uint8``), h and w at least 1.
        rows, cols: the output's size.

    Returns:
        ``(rows, cols, C)`` float32, or uint8 with ``to_uint8``.
    """
    height, width = source.shape[:2]
    y_scale = (height - 1) / max(rows - 1, 1)
    # Rows: y += y_scale from -y_scale, in double precision.
    steps = np.full(rows + 1, y_scale)
    steps[0] = -y_scale
    y = np.add.accumulate(steps)[1:]
    top = np.floor(y).astype(np.int64)
    bottom = np.minimum(top + 1, height - 1)
    tb_frac = (y - top).astype(np.float32)[:, None, None]
    left, right, lr_frac = _column_positions(width, cols)
    lr_frac = lr_frac[None, :, None]
    needed = np.unique(np.concatenate([top, bottom]))
    src = source[needed].astype(np.float32, copy=False)
    across = np.take(src, left, axis=1)
    across *= np.float32(1) - lr_frac
    across += lr_frac * np.take(src, right, axis=1)
    where = np.searchsorted(needed, top), np.searchsorted(needed, bottom)
    out = np.take(across, where[0], axis=0)
    out *= np.float32(1) - tb_frac
    out += tb_frac * np.take(across, where[1], axis=0)
    if to_uint8:
        return np.trunc(out, out=out).astype(np.uint8)
    return out


def pyramid_up(image: np.ndarray) -> np.ndarray:
    """dlib's ``pyramid_up(image)`` (pyramid_down<2>): the image doubled, as
    ``cnn_face_detection_model_v1`` does for each ``upsample_num_times``.

    The size is that of the image's rectangle mapped up, ``(p + (1.25, 0.75)) * 2``
    per corner and rounded: ``(2 H + 1) x (2 W + 2)`` for an ``H x W`` image.

    Args:
        image: ``(H, W, 3) uint8``.

    Returns:
        ``(2 H + 1, 2 W + 2, 3) uint8``.
    """
    height, width = image.shape[:2]
    bottom = math.floor((height - 1 + 0.75) * 2 + 0.5)
    right = math.floor((width - 1 + 1.25) * 2 + 0.5)
    return resize_bilinear(image, bottom + 1, right + 1, to_uint8=True)


def rect_down(rect: tuple, levels: int) -> tuple[int, int, int, int]:
    """``pyramid_down<2>.rect_down(rect, levels)`` rounded: a box found in the image
    upsampled ``levels`` times, in the original's pixels (``p / 2 - (1.25, 0.75)`` per
    level and corner). ``rect`` is ``(left, top, right, bottom)``, inclusive."""
    left, top, right, bottom = (float(value) for value in rect)
    for _ in range(levels):
        left, top, right, bottom = left / 2.0 - 1.25, top / 2.0 - 0.75, right / 2.0 - 1.25, bottom / 2.0 - 0.75
    return tuple(math.floor(value + 0.5) for value in (left, top, right, bottom))


def tiled_pyramid(image: np.ndarray, means: np.ndarray, padding: int, outer_padding: int) -> tuple[np.ndarray, list]:
    """The network's input for an image (``input_rgb_image_pyramid::to_tensor``).

    Args:
        image: ``(H, W, 3) uint8`` RGB.
        means: ``(3,) float32`` per-channel means (dlib's 122.782, 117.001, 104.298).
        padding, outer_padding: pixels between the tiles and around them.

    Returns:
        ``(tensor, rects)``: ``(3, rows, cols) float32`` planes (R, G, B; the layout ONNX
        Runtime takes, so the largest array is never copied), 0 outside the tiles,
        ``(pixel - mean) / 256`` in them; ``rects`` as ``pyramid_rects`` gives them.
    """
    rects, rows, cols = pyramid_rects(image.shape[0], image.shape[1], padding, outer_padding)
    tensor = np.zeros((3, rows, cols), dtype=np.float32)
    pixels = tensor.transpose(1, 2, 0)  # a (rows, cols, 3) view of the same memory
    left, top, right, bottom = rects[0]
    pixels[top:bottom + 1, left:right + 1] = (image.astype(np.float32) - means.astype(np.float32)) / np.float32(256)
    for previous, rect in zip(rects, rects[1:]):
        source = pixels[previous[1]:previous[3] + 1, previous[0]:previous[2] + 1]
        pixels[rect[1]:rect[3] + 1, rect[0]:rect[2] + 1] = resize_bilinear(
            source, rect[3] - rect[1] + 1, rect[2] - rect[0] + 1)
    return tensor, rects


def _nearest_rect(rects: list, x: int, y: int) -> int:
    # dlib's nearest_rect: the first rect holding the point, else the nearest (first on ties).
    best, best_distance = 0, math.inf
    for index, (left, top, right, bottom) in enumerate(rects):
        if left <= x <= right and top <= y <= bottom:
            return index
        distance = math.hypot(min(max(x, left), right) - x, min(max(y, top), bottom) - y)
        if distance < best_distance:
            best, best_distance = index, distance
    return best


def tensor_to_image(rects: list, box: tuple) -> tuple[int, int, int, int]:
    """A box of the tiled pyramid in the pyramid's base image, rounded (dlib's
    ``tiled_pyramid_to_image`` then ``drectangle`` -> ``rectangle``).

    Args:
        rects: the pyramid's tiles (``pyramid_rects``).
        box: ``(left, top, right, bottom)`` floats, inclusive, in the tiled image.

    Returns:
        ``(left, top, right, bottom)``, inclusive pixels of the base image: the box's
        coordinates relative to the tile holding its centre, scaled up by 6/5 plus 0.3
        once per level (``pyramid_down<6>.point_up``).
    """
    left, top, right, bottom = box
    # dcenter(r) becomes an integer point by rounding (dlib::vector's conversion).
    centre_x, centre_y = math.floor((left + right) / 2 + 0.5), math.floor((top + bottom) / 2 + 0.5)
    level = _nearest_rect(rects, centre_x, centre_y)
    origin_x, origin_y = rects[level][0], rects[level][1]
    left, right, top, bottom = left - origin_x, right - origin_x, top - origin_y, bottom - origin_y
    ratio = 6 / (6 - 1.0)
    for _ in range(level):
        left, top, right, bottom = left * ratio + 0.3, top * ratio + 0.3, right * ratio + 0.3, bottom * ratio + 0.3
    return tuple(math.floor(value + 0.5) for value in (left, top, right, bottom))
