"""Finding faces and computing dlib's 128-D face descriptors."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from . import model_files

#: Length of dlib's ResNet face descriptor.
DESCRIPTOR_SIZE = 128


@contextmanager
def _timed(timings: dict | None, stage: str):
    """Add the seconds spent in the block to ``timings[stage]`` (when timings is a dict)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started


@dataclass(frozen=True)
class FaceBox:
    """A face's bounding box in pixels of the upright photo; right and bottom are exclusive.

    dlib's HOG boxes can reach a few pixels past the photo's edge; they are kept as
    dlib gave them (the landmark model was trained on such boxes) and clipped only
    for display (``clipped``).
    """

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def clipped(self, width: int, height: int) -> "FaceBox":
        """The box limited to a ``width`` x ``height`` photo."""
        return FaceBox(max(0, self.left), max(0, self.top), min(width, self.right), min(height, self.bottom))


@dataclass(frozen=True)
class DetectedFace:
    """One face found in a photo: its box, its descriptor ``(128,) float32`` and the HOG score."""

    box: FaceBox
    descriptor: np.ndarray
    detection_score: float


def detect_faces(image: np.ndarray, upsample: int = 1, max_side: int = 0) -> list[tuple[FaceBox, float]]:
    """Find frontal faces with dlib's HOG detector.

    HOG finds faces of about 80 x 80 pixels and larger; each ``upsample`` doubles the
    image first, so 1 finds faces down to about 40 pixels (back rows of a class photo)
    at roughly 4x the detection time. Large photos are first scaled down so that their
    longer side is ``max_side`` pixels (0: never), and the boxes mapped back to the
    original pixels.

    Args:
        image: ``(H, W, 3) uint8`` RGB array.
        upsample: times to double the image before detection (0, 1 or 2 are useful).
        max_side: longest side, in pixels, at which detection runs; 0 keeps the size.

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
    rects, scores, _ = model_files.hog_detector().run(np.ascontiguousarray(work), upsample, 0.0)
    found = []
    for rect, score in zip(rects, scores):
        box = FaceBox(
            round(rect.left() / scale),
            round(rect.top() / scale),
            round((rect.right() + 1) / scale),
            round((rect.bottom() + 1) / scale),
        )
        found.append((box, float(score)))
    found.sort(key=lambda item: -item[1])
    return found


def compute_descriptors(
    image: np.ndarray, boxes: list[FaceBox], landmark_points: int = 5, timings: dict | None = None
) -> np.ndarray:
    """dlib's ResNet face descriptor for each box, as face_recognition computes it.

    Each face is aligned by the landmark model (``landmark_points``: 5 or 68), cut out
    as a 150 x 150 pixel chip with 0.25 padding (dlib's ``get_face_chip`` defaults) and
    passed through ``dlib_face_recognition_resnet_model_v1`` in one batch. Two
    descriptors of the same person are usually within 0.6 Euclidean distance (dlib's
    threshold, 99.38 % on LFW).

    Args:
        image: ``(H, W, 3) uint8`` RGB array, the same pixels the boxes refer to.
        boxes: face boxes in that image's pixels.
        landmark_points: 5 (default, public domain) or 68 (non-commercial licence).
        timings: if a dict, seconds spent are added under "landmarks" and "descriptors".

    Returns:
        ``(N, 128) float32`` array, one row per box, in the order given.

    Raises:
        ModelFileError: a model file is missing or corrupt.
    """
    if not boxes:
        return np.zeros((0, DESCRIPTOR_SIZE), dtype=np.float32)
    import dlib

    image = np.ascontiguousarray(image, dtype=np.uint8)
    predictor = model_files.shape_predictor(landmark_points)
    recognition = model_files.recognition_model()
    shapes = dlib.full_object_detections()
    with _timed(timings, "landmarks"):
        for box in boxes:
            rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
            shapes.append(predictor(image, rect))
    with _timed(timings, "descriptors"):
        vectors = recognition.compute_face_descriptor(image, shapes, 1)
    return np.array([np.array(v) for v in vectors], dtype=np.float32).reshape(len(boxes), DESCRIPTOR_SIZE)


def detect_faces_adaptive(
    image: np.ndarray, upsample: int = 1, max_side: int = 0, small_face_px: int = 0, max_upsampled_pixels: int = 4_000_000
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
    found = detect_faces(image, upsample=upsample, max_side=max_side)
    if not small_face_px or not found:
        return found
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width)) if max_side else 1.0
    near_floor = sum(box.width * scale < small_face_px for box, _ in found)
    if near_floor >= len(found) / 4 and height * width * scale * scale <= max_upsampled_pixels:
        return detect_faces(image, upsample=upsample + 1, max_side=max_side)
    return found


def find_faces(
    image: np.ndarray, upsample: int = 1, max_side: int = 0, landmark_points: int = 5, small_face_px: int = 0,
    timings: dict | None = None,
) -> list[DetectedFace]:
    """Detect every face in a photo and compute its descriptor (``detect_faces_adaptive`` +
    ``compute_descriptors``).

    Args:
        timings: if a dict, seconds spent are added under "detection", "landmarks" and
            "descriptors" (for the speed benchmark).

    Returns:
        one ``DetectedFace`` per face, best detection score first.
    """
    with _timed(timings, "detection"):
        found = detect_faces_adaptive(image, upsample=upsample, max_side=max_side, small_face_px=small_face_px)
    descriptors = compute_descriptors(image, [box for box, _ in found], landmark_points, timings)
    return [DetectedFace(box, descriptors[i], score) for i, (box, score) in enumerate(found)]
