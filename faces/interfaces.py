"""The seam of the face engine: what a detector and a descriptor maker ("embedder") are,
and the plain values they pass along (``FaceBox``, ``DetectedFace``).

A photo goes detector -> landmarks -> embedder (``faces.pipeline``). Any object with
the methods and attributes of ``Detector`` or ``Embedder`` below can take that place;
no base class is needed (``typing.Protocol``). The backends of today are
``faces.detectors.hog`` (dlib's HOG detector) and ``faces.embedders.dlib_resnet``
(dlib's ResNet v1, run by numpy or by dlib).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@contextmanager
def timed(timings: dict | None, stage: str):
    """Add the seconds spent in the block to ``timings[stage]`` (when timings is a dict):
    how the pipeline and its backends report "detection", "landmarks" and "descriptors"."""
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
    """One face found in a photo.

    ``box``: where it is; ``descriptor``: ``(D,) float32`` from the embedder (D = its
    ``descriptor_size``, 128 for dlib's ResNet); ``detection_score``: the detector's
    confidence (HOG: unitless, higher is surer); ``landmarks``: ``(P, 2) float64``
    landmark points (x, y) in photo pixels that aligned the face for the embedder (P = 5
    or 68, dlib's shape predictor), or None when not kept.
    """

    box: FaceBox
    descriptor: np.ndarray
    detection_score: float
    landmarks: np.ndarray | None = None


@runtime_checkable
class Detector(Protocol):
    """Finds faces in a photo.

    A backend is a module of ``faces/detectors/`` registered in ``faces.detectors.DETECTORS``.
    """

    def detect(self, image: np.ndarray) -> list[tuple[FaceBox, float]]:
        """Every face in ``image``.

        Args:
            image: ``(H, W, 3) uint8`` RGB array.

        Returns:
            ``[(box, score)]`` in ``image``'s pixels, best score first.
        """
        ...


@runtime_checkable
class Embedder(Protocol):
    """Turns aligned faces into descriptors: vectors whose Euclidean distance is small for
    two photos of the same person.

    Attributes:
        model_id: short stable name of what makes the descriptors (weights, landmarks,
            chip), stored beside every descriptor: descriptors of different ids are never
            compared. It changes whenever the descriptors would change.
        descriptor_size: D, the length of a descriptor.
        default_threshold: the distance below which two descriptors are the same person,
            as the model's authors give it.
        landmark_points: which landmark model (5 or 68 points) aligns the faces it takes.
    """

    model_id: str
    descriptor_size: int
    default_threshold: float
    landmark_points: int

    def embed(self, image: np.ndarray, landmarks: list[np.ndarray], boxes: list[FaceBox],
              timings: dict | None = None) -> np.ndarray:
        """Descriptors of the faces in ``image``.

        Args:
            image: ``(H, W, 3) uint8`` RGB array.
            landmarks: per face, ``(landmark_points, 2)`` points from ``faces.landmarks``.
            boxes: per face, its box (the landmarks were found in it).
            timings: if a dict, seconds spent are added under "descriptors".

        Returns:
            ``(N, descriptor_size) float32``, one row per face, in the order given.
        """
        ...
