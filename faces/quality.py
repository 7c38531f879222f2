"""The enrolment quality gate: is this face good enough to recognise a student by?

Measured on the 1,022 photos of ../shared/faces/identities in which dlib's HOG detector
finds a face (mostly LFW: 150-250 px photos, so small, soft faces are common), which
sets the defaults so that a usable real photo is rarely refused:

| measure | 1st percentile | 50th | 99th | default limit | refuses |
| --- | --- | --- | --- | --- | --- |
| face width, pixels | 53 | 63 | 251 | at least 50 | none of them |
| sharpness (variance of the Laplacian of the 150 px grey face chip) | 10.4 | 46 | 1219 | at least 8 | 0.3 % |
| yaw (nose offset from the eyes' midpoint / eye distance) | | 0.06 | 0.39 | at most 0.4 | 0.8 % |
| roll, degrees | | 4.2 | 18.4 | at most 30 | 0.1 % |

A Gaussian blur of radius 2 px per 250 px of photo (clearly out of focus) brings the
sharpness of such photos to 2-5, below the limit; sharp phone photos score 100-1000.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ImageError
from .interfaces import FaceBox

MIN_FACE_WIDTH = 50
MIN_SHARPNESS = 8.0
MAX_YAW = 0.4
MAX_ROLL_DEGREES = 30.0


class FaceTooSmall(ImageError):
    code = "face_too_small"


class FaceTooBlurry(ImageError):
    code = "face_too_blurry"


class FaceNotFrontal(ImageError):
    code = "face_not_frontal"


@dataclass(frozen=True)
class FaceQuality:
    """Measures of one face: ``width`` in pixels, ``sharpness`` (unitless, higher is
    sharper), ``yaw`` (0 frontal; +-0.5 is about a three-quarter view) and ``roll_degrees``."""

    width: int
    sharpness: float
    yaw: float
    roll_degrees: float


def assess_face(box: FaceBox, landmarks: np.ndarray, chip: np.ndarray) -> FaceQuality:
    """Measure a face's size, sharpness and pose from its 5-point landmarks and face chip
    (``faces.pipeline.assess_quality`` finds both).

    Args:
        box: the face's box (its width is the size).
        landmarks: ``(5, 2)`` (x, y) points of dlib's 5-point model (``faces.landmarks``).
        chip: ``(150, 150, 3) uint8`` RGB face chip aligned by those points
            (``faces.landmarks.face_chips`` with its defaults).

    Raises:
        ValueError: ``landmarks`` are not 5 points.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (5, 2):
        raise ValueError(f"The quality gate measures dlib's 5 landmark points, not an array of {points.shape}.")
    # dlib's 5-point model: 0-1 corners of one eye, 2-3 of the other, 4 under the nose.
    eye_a, eye_b, nose = points[0:2].mean(axis=0), points[2:4].mean(axis=0), points[4]
    eye_line = eye_b - eye_a
    eye_distance = max(float(np.linalg.norm(eye_line)), 1e-6)
    yaw = float(np.dot(nose - (eye_a + eye_b) / 2, eye_line / eye_distance) / eye_distance)
    roll = float(np.degrees(np.arctan2(eye_line[1], eye_line[0])))
    roll = (roll + 90.0) % 180.0 - 90.0  # the eye order makes the raw angle near 180
    sharpness = float(cv2.Laplacian(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())
    return FaceQuality(width=box.width, sharpness=sharpness, yaw=yaw, roll_degrees=roll)


def check_enrolment_quality(
    quality: FaceQuality,
    min_width: int = MIN_FACE_WIDTH,
    min_sharpness: float = MIN_SHARPNESS,
    max_yaw: float = MAX_YAW,
    max_roll_degrees: float = MAX_ROLL_DEGREES,
) -> None:
    """Refuse a face that is too small, too blurred or turned away, with the reason in words.

    Raises:
        FaceTooSmall, FaceTooBlurry, FaceNotFrontal (all ``ImageError``).
    """
    if quality.width < min_width:
        raise FaceTooSmall(
            f"The face is only {quality.width} pixels wide; use a closer photo (at least {min_width} pixels)."
        )
    if quality.sharpness < min_sharpness:
        raise FaceTooBlurry("The face is too blurred; use a sharper photo.")
    if abs(quality.yaw) > max_yaw or abs(quality.roll_degrees) > max_roll_degrees:
        raise FaceNotFrontal("The student is not looking at the camera; use a photo facing the camera.")
