"""Face detectors (``faces.interfaces.Detector``), one module per backend.

To add one: write ``faces/detectors/<name>.py`` with a class whose ``detect(image)``
returns ``[(FaceBox, score)]`` best first and whose constructor takes the keywords of
``make_detector`` (ignoring those it has no use for), then name it in ``DETECTORS``.
"""
from __future__ import annotations

from ..interfaces import Detector
from .coarse_to_fine import CoarseToFineDetector
from .hog import HogDetector
from .mmod import MmodDetector

#: Backend name -> class taking ``(upsample, max_side, small_face_px, threads)`` keywords.
#: "hog": dlib's HOG at the finest scale always (upsampled once), as before issue 17;
#: "hog-coarse-to-fine": the same detector in passes from coarse to fine, stopping at
#: the resolution the photo's faces need (README "Speed"); "mmod": dlib's CNN (MMOD)
#: detector run with numpy.
DETECTORS = {"hog": HogDetector, "hog-coarse-to-fine": CoarseToFineDetector, "mmod": MmodDetector}
DEFAULT_DETECTOR = "hog-coarse-to-fine"


def make_detector(name: str = DEFAULT_DETECTOR, **options) -> Detector:
    """The detector called ``name`` with its ``options`` (``upsample``, ``max_side``,
    ``small_face_px``, ``threads``).

    Raises:
        ValueError: unknown ``name``.
    """
    if name not in DETECTORS:
        raise ValueError(f"Detector must be one of {sorted(DETECTORS)}, not {name!r}.")
    return DETECTORS[name](**options)
