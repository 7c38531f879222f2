"""dlib's face recognition ResNet v1 (``dlib_face_recognition_resnet_model_v1``) as an embedder.

Each face is aligned by its landmarks (5 or 68 points), cut out as a 150 x 150 pixel chip
with 0.25 padding (dlib's ``get_face_chip`` defaults) and passed through the network in one
batch, as face_recognition computes it. Two engines run the same weights:

- "numpy" (``descriptor_net``): the network in numpy's BLAS, 4.5 ms per face;
- "dlib": dlib's own ``compute_face_descriptor``, 75-97 ms per face in the dlib-bin wheel
  (which has no BLAS).

Both give the same descriptors within 5.1e-7 per element, so they share one ``model_id``;
the landmark model changes the chips and thus the descriptors (by up to about 0.2), so it
is part of the id.
"""
from __future__ import annotations

import numpy as np

from .. import model_files
from ..interfaces import FaceBox, timed
from ..landmarks import CHIP_PADDING, dlib_shapes, face_chips
from .descriptor_net import CHIP_SIZE

#: Length of dlib's ResNet face descriptor.
DESCRIPTOR_SIZE = 128
#: dlib's own threshold: two descriptors closer than 0.6 are the same person
#: (99.38 % accuracy on LFW, http://dlib.net/face_recognition.py.html).
DEFAULT_THRESHOLD = 0.6
#: How descriptors are computed (see the module's docstring).
DESCRIPTOR_ENGINES = ("numpy", "dlib")
#: The landmark models the chips can be aligned by (``model_files.shape_predictor``).
LANDMARK_POINTS = (5, 68)
#: The weights' name in ``model_id``.
WEIGHTS_NAME = "dlib-resnet-v1"


def model_id_for(landmark_points: int = 5) -> str:
    """The ``model_id`` of this embedder with ``landmark_points`` landmarks, e.g.
    "dlib-resnet-v1/5pt", without loading any model file.

    Raises:
        ValueError: ``landmark_points`` is not 5 or 68.
    """
    if landmark_points not in LANDMARK_POINTS:
        raise ValueError(f"Landmark model must have 5 or 68 points, not {landmark_points}.")
    return f"{WEIGHTS_NAME}/{landmark_points}pt"


class DlibResNetEmbedder:
    """dlib's ResNet v1 descriptors (``faces.interfaces.Embedder``).

    Args:
        landmark_points: 5 (default, public domain) or 68 (non-commercial licence).
        engine: one of ``DESCRIPTOR_ENGINES``.
        threads: threads for the numpy engine (``DescriptorNet.compute``).

    Raises:
        ValueError: unknown ``engine`` or ``landmark_points``.
    """

    descriptor_size = DESCRIPTOR_SIZE
    default_threshold = DEFAULT_THRESHOLD

    def __init__(self, landmark_points: int = 5, engine: str = "numpy", threads: int = 1):
        if engine not in DESCRIPTOR_ENGINES:
            raise ValueError(f"Descriptor engine must be one of {DESCRIPTOR_ENGINES}, not {engine!r}.")
        self.model_id = model_id_for(landmark_points)
        self.landmark_points = landmark_points
        self.engine = engine
        self.threads = threads

    def embed(self, image: np.ndarray, landmarks: list[np.ndarray], boxes: list[FaceBox],
              timings: dict | None = None) -> np.ndarray:
        """Descriptors of the faces in ``image`` (``faces.interfaces.Embedder.embed``).

        Returns:
            ``(N, 128) float32``, one row per face, in the order given.

        Raises:
            ModelFileError: the model file is missing or corrupt.
        """
        if not boxes:
            return np.zeros((0, DESCRIPTOR_SIZE), dtype=np.float32)
        image = np.ascontiguousarray(image, dtype=np.uint8)
        with timed(timings, "descriptors"):
            if self.engine == "dlib":
                vectors = model_files.recognition_model().compute_face_descriptor(
                    image, dlib_shapes(landmarks, boxes), 1)
                return np.array([np.array(v) for v in vectors], dtype=np.float32).reshape(len(boxes), DESCRIPTOR_SIZE)
            chips = face_chips(image, landmarks, boxes, size=CHIP_SIZE, padding=CHIP_PADDING)
            return model_files.descriptor_net().compute(chips, threads=self.threads)
