"""dlib's HOG frontal face detector (``faces.interfaces.Detector``): banding over threads
and an adaptive second pass for faces near its size floor."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from .. import model_files
from ..interfaces import FaceBox


#: Overlap of neighbouring bands in ``_detect_in_bands``, in pixels at detection scale:
#: room for any face smaller than the coarse pass's 160 pixel floor. On 15 benchmark
#: class photos (588 faces) 200 gave the fewest boxes differing from a single pass and
#: the shortest time, against 160 and a quarter of the photo's height.
BAND_OVERLAP_PX = 200
#: Below this many pixels at detection scale (after upsampling) a photo is not split into
#: bands: a 250 x 250 enrolment photo upsampled once is 0.25 MP and takes ~15 ms.
MIN_PIXELS_TO_SPLIT = 2_000_000


def _run_hog(
    image: np.ndarray, upsample: int, x_factor: float = 1.0, y_factor: float = 1.0, top: int = 0
) -> list[tuple[FaceBox, float]]:
    """dlib's HOG detector on ``image``: ``[(box, score)]``, the boxes' pixels multiplied by
    ``x_factor`` and ``y_factor`` and moved down by ``top`` (to map a scaled image or a
    band back to the photo it came from)."""
    with model_files.hog_detector() as detector:
        rects, scores, _ = detector.run(np.ascontiguousarray(image), upsample, 0.0)
    return [
        (FaceBox(round(r.left() * x_factor), round(r.top() * y_factor) + top,
                 round((r.right() + 1) * x_factor), round((r.bottom() + 1) * y_factor) + top), float(score))
        for r, score in zip(rects, scores)
    ]


def _covered(inner: FaceBox, outer: FaceBox) -> float:
    """Share of ``inner``'s area that lies inside ``outer`` (0-1)."""
    width = min(inner.right, outer.right) - max(inner.left, outer.left)
    height = min(inner.bottom, outer.bottom) - max(inner.top, outer.top)
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(1, inner.width * inner.height)


def _detect_in_bands(image: np.ndarray, upsample: int, threads: int) -> list[tuple[FaceBox, float]]:
    """HOG detection on ``threads`` horizontal bands of the photo at once, plus one coarse pass.

    The bands overlap by ``BAND_OVERLAP_PX``, so every face smaller than that lies
    wholly inside one band; faces of 160 pixels and more are found by a pass over the
    whole photo at half size without upsampling (1/16 of the work at ``upsample`` 1).
    A face found twice (in the overlap, or also by the coarse pass) is kept once,
    preferring the full-resolution band detection with the best score. Boxes can differ
    from a single pass by a few pixels, or by one pyramid step (5/6) in size, because
    HOG's cell grid starts at each band's top.
    """
    height = image.shape[0]
    overlap = BAND_OVERLAP_PX
    # The first band is shorter by the coarse pass's share (1/16 of the rows' work,
    # spread over the threads) so that its thread, which also runs that pass, finishes
    # with the others.
    first = height // threads - height // (16 * threads)
    step = (height - first) / max(1, threads - 1)
    cuts = [0, first] + [round(first + i * step) for i in range(1, threads)]
    bands = [(max(0, cuts[i] - overlap // 2), min(height, cuts[i + 1] + overlap // 2)) for i in range(threads)]
    coarse = cv2.resize(image, (image.shape[1] // 2, height // 2), interpolation=cv2.INTER_AREA)
    jobs = [(image[top:bottom], upsample, 1.0, 1.0, top) for top, bottom in bands]
    jobs.append((coarse, 0, image.shape[1] / coarse.shape[1], height / coarse.shape[0], 0))
    # Started in this order, the first band's thread is the first free for the coarse pass.
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(lambda job: _run_hog(*job), jobs))
    candidates = sorted((found for band in results[:-1] for found in band), key=lambda item: -item[1])
    candidates += sorted(results[-1], key=lambda item: -item[1])
    kept: list[tuple[FaceBox, float]] = []
    for box, score in candidates:
        if all(_covered(box, other) < 0.5 and _covered(other, box) < 0.5 for other, _ in kept):
            kept.append((box, score))
    return kept


def detect_faces(
    image: np.ndarray, upsample: int = 1, max_side: int = 0, threads: int = 1
) -> list[tuple[FaceBox, float]]:
    """Find frontal faces with dlib's HOG detector.

    HOG finds faces of about 80 x 80 pixels and larger; each ``upsample`` doubles the
    image first, so 1 finds faces down to about 40 pixels (back rows of a class photo)
    at roughly 4x the detection time. Large photos are first scaled down so that their
    longer side is ``max_side`` pixels (0: never), and the boxes mapped back to the
    original pixels. With ``threads`` > 1, photos at least 800 pixels high and of more
    than ``MIN_PIXELS_TO_SPLIT`` pixels at detection scale are split into that many
    overlapping bands detected at once (dlib releases the GIL; see
    ``_detect_in_bands``): 0.57 s instead of 0.89 s for a 1920 x 1080 photo at
    ``upsample`` 1 on 2 cores.

    Args:
        image: ``(H, W, 3) uint8`` RGB array.
        upsample: times to double the image before detection (0, 1 or 2 are useful).
        max_side: longest side, in pixels, at which detection runs; 0 keeps the size.
        threads: how many threads may detect at once (1: the whole photo in one pass).

    Returns:
        ``[(box, score)]`` in the original image's pixels, best score first.
    """
    height, width = image.shape[:2]
    scale = 1.0
    work = image
    if max_side and max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        work = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    pixels = work.shape[0] * work.shape[1] * 4**upsample
    if threads > 1 and work.shape[0] >= 4 * BAND_OVERLAP_PX and pixels > MIN_PIXELS_TO_SPLIT:
        at_work_scale = _detect_in_bands(work, upsample, threads)
    else:
        at_work_scale = _run_hog(work, upsample)
    found = [
        (FaceBox(round(box.left / scale), round(box.top / scale), round(box.right / scale), round(box.bottom / scale)),
         score)
        for box, score in at_work_scale
    ]
    found.sort(key=lambda item: -item[1])
    return found


def detect_faces_adaptive(
    image: np.ndarray, upsample: int = 1, max_side: int = 0, small_face_px: int = 0,
    max_upsampled_pixels: int = 4_000_000, threads: int = 1,
) -> list[tuple[FaceBox, float]]:
    """``detect_faces``, run once more with one more upsampling when faces are near HOG's floor.

    HOG finds faces down to about 80 / 2**upsample pixels. When at least a quarter of the
    faces found are narrower than ``small_face_px`` (at the detection scale), the class is
    likely to have even smaller faces that were missed (a large class, a far camera), so
    detection runs again upsampled once more, as long as the image at detection scale has
    at most ``max_upsampled_pixels`` pixels (the second pass costs about 4x the time and
    memory of the first). ``small_face_px`` 0 disables the second pass.

    Returns:
        ``[(box, score)]`` in the original image's pixels, best score first.
    """
    found = detect_faces(image, upsample=upsample, max_side=max_side, threads=threads)
    if not small_face_px or not found:
        return found
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width)) if max_side else 1.0
    near_floor = sum(box.width * scale < small_face_px for box, _ in found)
    if near_floor >= len(found) / 4 and height * width * scale * scale <= max_upsampled_pixels:
        return detect_faces(image, upsample=upsample + 1, max_side=max_side, threads=threads)
    return found


class HogDetector:
    """dlib's HOG detector with this project's settings (``detect_faces_adaptive``).

    Args:
        upsample: times to double the image first (1 finds faces down to about 40 px).
        max_side: longest side, in pixels, at which detection runs; 0 keeps the size.
        small_face_px: width below which faces trigger a second, more upsampled pass (0: never).
        threads: threads detecting bands of one photo at once.
    """

    def __init__(self, upsample: int = 1, max_side: int = 0, small_face_px: int = 0, threads: int = 1):
        self.upsample = upsample
        self.max_side = max_side
        self.small_face_px = small_face_px
        self.threads = threads

    def detect(self, image: np.ndarray) -> list[tuple[FaceBox, float]]:
        """``[(box, score)]`` of every face in the ``(H, W, 3) uint8`` RGB ``image``, in its
        pixels, best score first."""
        return detect_faces_adaptive(image, upsample=self.upsample, max_side=self.max_side,
                                     small_face_px=self.small_face_px, threads=self.threads)
