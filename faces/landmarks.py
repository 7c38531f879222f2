"""Face landmarks with dlib's shape predictor, and the aligned face chips cut from them.

Landmarks leave this module as plain ``(P, 2) float64`` arrays of (x, y) pixel points
(P = 5 or 68); ``dlib_shapes`` and ``face_chips`` turn them back into what dlib's chip
and descriptor code take, point for point (dlib's points are integers, so the round trip
is exact).

The 5-point model is the default: public domain, and what face_recognition uses for
descriptors. Its points: 0-1 the corners of one eye, 2-3 of the other, 4 under the nose.
The 68-point model (iBUG 300-W, not for commercial use) follows the iBUG numbering.
"""
from __future__ import annotations

import numpy as np

from . import model_files
from .interfaces import FaceBox

#: dlib's ``get_face_chip`` defaults, which dlib's ResNet was trained on: a 150 x 150
#: pixel chip with 0.25 of the face's size as padding on each side.
CHIP_SIZE = 150
CHIP_PADDING = 0.25


def _rectangle(box: FaceBox):
    import dlib

    return dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)


def find_landmarks(image: np.ndarray, boxes: list[FaceBox], points: int = 5) -> list[np.ndarray]:
    """dlib's landmark points of each face.

    Args:
        image: ``(H, W, 3) uint8`` RGB array, the pixels the boxes refer to.
        boxes: face boxes in that image's pixels.
        points: 5 or 68 (``model_files.shape_predictor``).

    Returns:
        one ``(points, 2) float64`` array of (x, y) pixels per box, in the order given.

    Raises:
        ValueError: ``points`` is not 5 or 68.
        ModelFileError: the landmark model file is missing or corrupt.
    """
    predictor = model_files.shape_predictor(points)
    image = np.ascontiguousarray(image, dtype=np.uint8)
    found = []
    for box in boxes:
        shape = predictor(image, _rectangle(box))
        found.append(np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)],
                              dtype=np.float64))
    return found


def dlib_shapes(landmarks: list[np.ndarray], boxes: list[FaceBox]):
    """The landmarks as ``dlib.full_object_detections`` (for dlib's chip and descriptor code).

    Args:
        landmarks: per face, ``(P, 2)`` integer-valued points from ``find_landmarks``.
        boxes: per face, the box the points were found in.
    """
    import dlib

    shapes = dlib.full_object_detections()
    for points, box in zip(landmarks, boxes):
        # A plain list of points: 25 us a face, where a dlib.points object costs 100 us.
        parts = [dlib.point(x, y) for x, y in np.asarray(points).astype(np.int64).tolist()]
        shapes.append(dlib.full_object_detection(_rectangle(box), parts))
    return shapes


def face_chips(image: np.ndarray, landmarks: list[np.ndarray], boxes: list[FaceBox],
               size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> np.ndarray:
    """Each face rotated, scaled and cut out by its landmarks (dlib's ``get_face_chips``).

    Args:
        image: ``(H, W, 3) uint8`` RGB array.
        landmarks, boxes: as for ``dlib_shapes``.
        size: side of the chip in pixels; padding: share of the face added on each side.

    Returns:
        ``(N, size, size, 3) uint8`` chips, in the order given.
    """
    import dlib

    if not landmarks:
        return np.zeros((0, size, size, 3), dtype=np.uint8)
    image = np.ascontiguousarray(image, dtype=np.uint8)
    return np.stack(dlib.get_face_chips(image, dlib_shapes(landmarks, boxes), size=size, padding=padding))
