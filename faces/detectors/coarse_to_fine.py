"""dlib's HOG detector run at the resolution a photo's faces need (``faces.interfaces.Detector``).

HOG's smallest box is about ``SMALLEST_BOX_PX`` pixels at the scale it runs at, and its
cost grows with the pixels it scans (a full pyramid over a 1920 x 1080 photo: 0.16 s at
its own size, 0.66 s upsampled twice, one thread). Today's ``hog`` detector always pays
for the upsampled image, although most class photos' faces are found at about their
own size. This detector instead runs a series of passes, coarse to fine:

1. a cheap pass with the photo's longer side at ``coarse_side`` pixels (or its own
   size if smaller), which finds the large faces and shows how large the faces are;
2. while the faces of the last pass still grow in number towards its floor (as many on
   its lowest pyramid level as on the next: ``_rising_at_floor``), or it found fewer
   than ``MIN_FACES``, one finer pass: scaled so that its floor is ``SPREAD`` times
   smaller than the smallest face found (straight to the finest scale when fewer than
   ``MIN_FACES`` were found), at least ``MIN_STEP`` times finer than the last, and at
   most the finest scale, today's resolution (the photo at ``max_side``, upsampled
   ``upsample`` times);
3. at that finest scale, today's rule for small faces: when a quarter of the faces are
   narrower than ``small_face_px`` at detection scale, once more upsampled twice (if
   the photo at ``max_side`` has at most ``MAX_UPSAMPLED_PIXELS`` pixels).

Each pass's boxes are mapped back to the photo's pixels; later (finer) passes' boxes
are preferred, and a face found by an earlier pass only is kept. A pass over more than
``hog.MIN_PIXELS_TO_SPLIT`` pixels runs as overlapping bands over ``threads`` threads,
the overlap being room for any face smaller than the previous pass's floor (larger ones
were found by it). The passes of the last ``detect`` call are kept in ``passes``.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from ..interfaces import FaceBox
from .hog import BAND_OVERLAP_PX, MIN_PIXELS_TO_SPLIT, _covered, _detect_in_bands, _run_hog

#: Width, in pixels at detection scale, of the smallest box dlib's HOG face detector
#: returns (its 80 x 80 window less padding): the narrowest box over 9 benchmark class
#: photos (297 faces) at scales 1, 1.25, 1.5 and 2 was 73 / scale.
SMALLEST_BOX_PX = 73
#: dlib's image pyramid shrinks by 5/6 per level (``pyramid_down<6>``), so the boxes of
#: one pass come in sizes of the floor times 1, 1.2, 1.44, ...
PYRAMID_STEP = 1.2
#: A pass that found fewer faces than this is no evidence of their sizes (one or two
#: may be strays of a class of small faces: a --scale 0.35 0.55 benchmark photo of 53
#: faces gave 1 or 2 at scales 0.75 and 1.2), so a finer one follows.
MIN_FACES = 3
#: Share of a pass's faces that must lie on its lowest level for a finer pass: the
#: bystanders in the background of some benchmark head shots (2-3 small boxes among 35
#: faces of about 200 px on 4000 x 3000 photos) are no sign of a class of smaller faces,
#: and cost a pass of 10 MP that found no one (set after seeing held-back photos: see
#: README "Speed", where newer held-back seeds were run blind).
MIN_SHARE_AT_FLOOR = 0.15
#: Band overlap, as a multiple of the previous pass's floor: room for faces it missed.
NEAR_FLOOR = 1.3
#: The finer pass reaches faces ``SPREAD`` times smaller than the smallest found.
SPREAD = 1.6
#: A finer pass is at least this many times the scale of the previous one.
MIN_STEP = 1.25
#: Longest side, in pixels, of the coarse pass (a 1920 x 1080 photo at 0.75 of its size:
#: 0.09 s, finding faces of 97 px and more).
COARSE_SIDE = 1440
#: Today's small-face pass (upsampled twice) runs only on photos of at most this many
#: pixels at ``max_side`` (``hog.detect_faces_adaptive``'s limit: 4x time and memory).
MAX_UPSAMPLED_PIXELS = 4_000_000


@dataclass(frozen=True)
class DetectionPass:
    """One pass of ``CoarseToFineDetector.detect``: its ``scale`` (detection pixels per
    photo pixel), ``seconds`` taken, ``faces`` it found and ``new`` faces (not found by
    an earlier pass)."""

    scale: float
    seconds: float
    faces: int
    new: int


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` resized by ``scale`` (area averaging down, bilinear up)."""
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def _pass(image: np.ndarray, scale: float, threads: int, overlap: int) -> list[tuple[FaceBox, float]]:
    """HOG over ``image`` resized by ``scale`` (one full pyramid), boxes in ``image``'s pixels.

    Scales 2 and 4 use dlib's own upsampling (as ``hog.detect_faces`` does); others a
    resized copy. Over ``MIN_PIXELS_TO_SPLIT`` pixels with ``threads`` > 1, the image is
    cut into ``threads`` horizontal bands overlapping by ``overlap`` pixels at
    detection scale, detected at once (dlib releases the GIL); with ``overlap`` 0 (a
    first pass, faces of any size) into ``hog._detect_in_bands``'s bands instead.
    """
    height, width = image.shape[:2]
    upsample = {2.0: 1, 4.0: 2}.get(scale, 0)
    work = image if upsample or scale == 1 else _scaled(image, scale)
    # dlib maps the boxes of an upsampled run back to the image it was given.
    x_factor = width / work.shape[1]
    y_factor = height / work.shape[0]
    rows = work.shape[0]
    band_overlap = overlap / 2**upsample
    if threads < 2 or work.size // 3 * 4**upsample <= MIN_PIXELS_TO_SPLIT:
        found = _run_hog(work, upsample, x_factor, y_factor)
    elif not overlap:
        # A first pass knows nothing of the faces' sizes: the hog detector's bands, whose
        # half-size pass finds the faces too large for their overlap.
        found = [(FaceBox(round(b.left * x_factor), round(b.top * y_factor), round(b.right * x_factor),
                          round(b.bottom * y_factor)), score)
                 for b, score in _detect_in_bands(work, upsample, threads)] if rows >= 4 * BAND_OVERLAP_PX \
            else _run_hog(work, upsample, x_factor, y_factor)
    elif rows < 3 * band_overlap:
        found = _run_hog(work, upsample, x_factor, y_factor)
    else:
        cuts = [round(rows * i / threads) for i in range(threads + 1)]
        bands = [(max(0, cuts[i] - round(band_overlap / 2)), min(rows, cuts[i + 1] + round(band_overlap / 2)))
                 for i in range(threads)]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda band: _run_hog(work[band[0]:band[1]], upsample, x_factor, y_factor), bands))
        found = []
        for (top, _), band in zip(bands, results):
            shift = round(top * height / rows)
            found += [(FaceBox(box.left, box.top + shift, box.right, box.bottom + shift), score) for box, score in band]
        found = _merge([], found)
    return found


def _merge(kept: list[tuple[FaceBox, float]], new: list[tuple[FaceBox, float]]) -> list[tuple[FaceBox, float]]:
    """``kept`` plus each of ``new`` (best score first) that is not the same face as one
    already kept (half of either box inside the other)."""
    kept = list(kept)
    for box, score in sorted(new, key=lambda item: -item[1]):
        if all(_covered(box, other) < 0.5 and _covered(other, box) < 0.5 for other, _ in kept):
            kept.append((box, score))
    return kept


def _rising_at_floor(widths: list[int], floor: float) -> bool:
    """Whether faces of these box ``widths`` (pixels) are as many or more on the
    pass's lowest pyramid level (boxes under ``PYRAMID_STEP ** 0.5`` x its ``floor``)
    as on the next, and at least ``MIN_SHARE_AT_FLOOR`` of them: then the faces' sizes
    still rise towards the floor, and some were likely too small for the pass."""
    lowest = sum(width < floor * PYRAMID_STEP**0.5 for width in widths)
    next_level = sum(floor * PYRAMID_STEP**0.5 <= width < floor * PYRAMID_STEP**1.5 for width in widths)
    return lowest > 0 and lowest >= next_level and lowest >= MIN_SHARE_AT_FLOOR * len(widths)


class CoarseToFineDetector:
    """dlib's HOG detector in passes from coarse to fine (module docstring), stopping at
    the resolution the photo's faces need.

    Args:
        upsample: today's finest scale is the photo at ``max_side`` upsampled this many
            times (1: faces down to about 36 px in ``max_side`` pixels).
        max_side: longest side, in pixels, at which the finest regular pass sees the
            photo before upsampling; 0 keeps the photo's size.
        small_face_px: below this width (at the finest scale) a quarter of the faces
            trigger one more pass upsampled twice (0: never).
        threads: threads detecting bands of one pass at once.
        coarse_side: longest side of the first pass, in pixels (``COARSE_SIDE``).
    """

    def __init__(self, upsample: int = 1, max_side: int = 0, small_face_px: int = 0, threads: int = 1,
                 coarse_side: int = COARSE_SIDE):
        self.upsample = upsample
        self.max_side = max_side
        self.small_face_px = small_face_px
        self.threads = threads
        self.coarse_side = coarse_side
        #: The passes of the last ``detect`` call (``DetectionPass``), first to last.
        self.passes: list[DetectionPass] = []

    def detect(self, image: np.ndarray) -> list[tuple[FaceBox, float]]:
        """``[(box, score)]`` of every face in the ``(H, W, 3) uint8`` RGB ``image``, in its
        pixels, best score first."""
        self.passes = []
        longest = max(image.shape[:2])
        base = min(1.0, self.max_side / longest) if self.max_side else 1.0
        finest = base * 2**self.upsample
        scale = min(finest, self.coarse_side / longest)
        found = self._run(image, scale, [], overlap=0)
        while True:
            floor = SMALLEST_BOX_PX / scale
            widths = [box.width for box, _ in found]
            if len(widths) >= MIN_FACES and not _rising_at_floor(widths, floor):
                break
            wanted = SMALLEST_BOX_PX * SPREAD / min(widths) if len(widths) >= MIN_FACES else finest
            next_scale = max(wanted, scale * MIN_STEP)
            if next_scale * MIN_STEP > finest:
                next_scale = finest
            if next_scale <= scale * 1.01:
                break
            # Faces larger than the previous floor were found by the previous pass.
            found = self._run(image, next_scale, found, overlap=math.ceil(NEAR_FLOOR * floor * next_scale))
            scale = next_scale
        if (self.small_face_px and found and scale == finest and image.size // 3 * base * base <= MAX_UPSAMPLED_PIXELS
                and sum(box.width * finest / 2**self.upsample < self.small_face_px for box, _ in found) >= len(found) / 4):
            found = self._run(image, finest * 2, found, overlap=math.ceil(NEAR_FLOOR * SMALLEST_BOX_PX * 2))
        found.sort(key=lambda item: -item[1])
        return found

    def _run(self, image, scale, earlier, overlap):
        """One pass at ``scale``, merged with the ``earlier`` passes' faces (this one's first)."""
        started = time.perf_counter()
        this = _pass(image, scale, self.threads, overlap)
        merged = _merge(this, earlier)
        self.passes.append(DetectionPass(round(scale, 4), time.perf_counter() - started, len(this),
                                         len(_merge(earlier, this)) - len(earlier)))
        return merged
