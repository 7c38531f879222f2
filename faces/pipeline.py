"""A photo's faces: detector -> landmarks -> embedder (``faces.interfaces``).

``find_faces`` is what the app calls, with today's settings by keyword; ``run`` takes any
detector and embedder objects. ``assess_quality`` measures a found face for the enrolment
quality gate from the landmarks the pipeline found, and ``model_id`` names the
descriptors a setting produces without loading a model.
"""
from __future__ import annotations

import numpy as np

from . import landmarks as landmark_model
from . import quality
from .detectors import DEFAULT_DETECTOR, make_detector
from .embedders import DEFAULT_EMBEDDER, make_embedder
from .embedders.dlib_resnet import DESCRIPTOR_ENGINES
from .interfaces import DetectedFace, Detector, Embedder, FaceBox, timed

__all__ = ["DESCRIPTOR_ENGINES", "assess_quality", "compute_descriptors", "find_faces", "model_id", "run"]


def _landmarks(image: np.ndarray, boxes: list[FaceBox], points: int, timings: dict | None) -> list[np.ndarray]:
    """``landmarks.find_landmarks``, timed under "landmarks" when there are faces."""
    if not boxes:
        return []
    with timed(timings, "landmarks"):
        return landmark_model.find_landmarks(image, boxes, points)


def run(image: np.ndarray, detector: Detector, embedder: Embedder, timings: dict | None = None) -> list[DetectedFace]:
    """Every face of a photo with its descriptor: ``detector.detect``, the landmarks the
    embedder aligns by (``embedder.landmark_points``), then ``embedder.embed``.

    Args:
        image: ``(H, W, 3) uint8`` RGB array.
        detector, embedder: any objects meeting ``faces.interfaces.Detector`` / ``Embedder``.
        timings: if a dict, seconds spent are added under "detection", "landmarks" and
            "descriptors" (for the speed benchmark).

    Returns:
        one ``DetectedFace`` per face (with its landmarks), in the detector's order.

    Raises:
        ModelFileError: a model file is missing or corrupt.
    """
    with timed(timings, "detection"):
        found = detector.detect(image)
    boxes = [box for box, _ in found]
    points = _landmarks(image, boxes, embedder.landmark_points, timings)
    descriptors = embedder.embed(image, points, boxes, timings)
    return [DetectedFace(box, descriptors[i], score, points[i]) for i, (box, score) in enumerate(found)]


def find_faces(
    image: np.ndarray, upsample: int = 1, max_side: int = 0, landmark_points: int = 5, small_face_px: int = 0,
    timings: dict | None = None, threads: int = 1, engine: str = "numpy", detector: str = DEFAULT_DETECTOR,
    embedder: str = DEFAULT_EMBEDDER,
) -> list[DetectedFace]:
    """Detect every face in a photo and compute its descriptor, with the backends named
    by ``detector`` and ``embedder`` (``run``).

    Args:
        image: ``(H, W, 3) uint8`` RGB array.
        upsample, max_side, small_face_px: the detector's options
            (``faces.detectors.hog.detect_faces_adaptive``).
        landmark_points: 5 or 68, the landmarks aligning faces for descriptors.
        timings: as for ``run``.
        threads: threads for detection and descriptors.
        engine: how descriptors are computed (``DESCRIPTOR_ENGINES``).
        detector, embedder: backend names (``faces.detectors.DETECTORS``, ``faces.embedders.EMBEDDERS``).

    Returns:
        one ``DetectedFace`` per face, best detection score first.

    Raises:
        ValueError: unknown backend, engine or landmark setting.
        ModelFileError: a model file is missing or corrupt.
    """
    return run(
        image,
        make_detector(detector, upsample=upsample, max_side=max_side, small_face_px=small_face_px, threads=threads),
        make_embedder(embedder, landmark_points=landmark_points, engine=engine, threads=threads),
        timings,
    )


def compute_descriptors(
    image: np.ndarray, boxes: list[FaceBox], landmark_points: int = 5, timings: dict | None = None,
    engine: str = "numpy", threads: int = 1, embedder: str = DEFAULT_EMBEDDER,
) -> np.ndarray:
    """Descriptors of faces at known boxes (landmarks, then the embedder).

    Args:
        image: ``(H, W, 3) uint8`` RGB array, the same pixels the boxes refer to.
        boxes: face boxes in that image's pixels.
        landmark_points, timings, engine, threads, embedder: as for ``find_faces``.

    Returns:
        ``(N, descriptor_size) float32`` array, one row per box, in the order given.

    Raises:
        ValueError: unknown embedder, engine or landmark setting.
        ModelFileError: a model file is missing or corrupt.
    """
    chosen = make_embedder(embedder, landmark_points=landmark_points, engine=engine, threads=threads)
    points = _landmarks(image, boxes, landmark_points, timings)
    return chosen.embed(image, points, boxes, timings)


#: The landmark model the quality gate's measures are defined on (``faces.quality``).
QUALITY_LANDMARK_POINTS = 5


def assess_quality(image: np.ndarray, face: DetectedFace) -> quality.FaceQuality:
    """A found face's size, sharpness and pose for the enrolment gate (``quality.assess_face``).

    Uses the face's own landmarks when they are the 5-point ones (the default setting);
    otherwise finds the 5 points for its box.

    Args:
        image: ``(H, W, 3) uint8`` RGB array the face was found in.
        face: from ``find_faces`` or ``run``.

    Raises:
        ModelFileError: the landmark model file is missing or corrupt.
    """
    points = face.landmarks
    if points is None or len(points) != QUALITY_LANDMARK_POINTS:
        (points,) = landmark_model.find_landmarks(image, [face.box], QUALITY_LANDMARK_POINTS)
    (chip,) = landmark_model.face_chips(image, [points], [face.box])
    return quality.assess_face(face.box, points, chip)


def model_id(landmark_points: int = 5, embedder: str = DEFAULT_EMBEDDER) -> str:
    """The ``model_id`` of the descriptors ``find_faces`` makes with these settings, e.g.
    "dlib-resnet-v1/5pt": the same for every engine of the same weights, different for
    another landmark model or embedder. Loads no model file.

    Raises:
        ValueError: unknown embedder or landmark setting.
    """
    return make_embedder(embedder, landmark_points=landmark_points).model_id
