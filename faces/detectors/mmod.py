"""dlib's MMOD CNN face detector (``faces.interfaces.Detector``), run with numpy.

The same boxes and scores as ``dlib.cnn_face_detection_model_v1(path)(image, upsample)``
(within a pixel and 1e-3; tests/test_mmod_detector.py), from the same weights
(``mmod_human_face_detector.dat``), on the same input (``mmod_pyramid``), but the
network runs on ONNX Runtime (``mmod_onnx``) or numpy's BLAS (``mmod_net``) where the
``dlib-bin`` wheel has no BLAS: 12-22x faster than dlib's own on a 1080p photo
(faces/README.md).

The CNN finds faces HOG misses (turned, tilted, partly hidden, badly lit). Its window is
80 x 80 pixels over a pyramid that starts at the photo's own size and shrinks, so it finds
faces of about 80 pixels and more at ``upsample`` 0, 40 at 1, 20 at 2 (each doubling
costs about 4x the time and memory). It is slower than HOG: faces/README.md gives the
measured times.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .. import model_files
from ..interfaces import FaceBox
from .mmod_pyramid import pyramid_up, rect_down, tensor_to_image, tiled_pyramid

#: dlib's default ``adjust_threshold`` of ``loss_mmod_::to_label``: a window is a face
#: when its score is above 0.
SCORE_THRESHOLD = 0.0


def _overlaps(kept: tuple, box: tuple, iou: float, covered: float) -> bool:
    """dlib's ``test_box_overlap(iou, covered)(kept, box)`` on inclusive integer boxes:
    the intersection over the area of the smallest box holding both (not the union),
    or over either box's area."""
    width = min(kept[2], box[2]) - max(kept[0], box[0]) + 1
    height = min(kept[3], box[3]) - max(kept[1], box[1]) + 1
    if width <= 0 or height <= 0:
        return False
    inner = float(width * height)
    outer = (max(kept[2], box[2]) - min(kept[0], box[0]) + 1) * (max(kept[3], box[3]) - min(kept[1], box[1]) + 1)
    area_kept = (kept[2] - kept[0] + 1) * (kept[3] - kept[1] + 1)
    area_box = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    return inner / outer > iou or inner / area_kept > covered or inner / area_box > covered


#: Smallest side of the tiled pyramid the three 5x5 stride-2 layers leave a score map
#: for (29 -> 13 -> 5 -> 1); ONNX Runtime refuses smaller inputs.
MIN_TENSOR_SIDE = 29

#: Engines running the network: "onnxruntime" (``mmod_onnx``, about 3x faster) and
#: "numpy" (``mmod_net``); "auto" takes ONNX Runtime when it is installed.
ENGINES = ("auto", "onnxruntime", "numpy")


def score_map(tensor: np.ndarray, net, threads: int = 1, engine: str = "auto") -> np.ndarray:
    """The network's ``(Ho, Wo) float32`` scores of a ``(3, H, W)`` tiled pyramid
    (``mmod_pyramid.tiled_pyramid``), by ``engine``.

    Raises:
        ValueError: unknown engine, or "onnxruntime" when it is not installed.
    """
    if engine not in ENGINES:
        raise ValueError(f"MMOD engine must be one of {ENGINES}, not {engine!r}.")
    scorer = net.onnx_scorer() if engine != "numpy" else None
    if scorer is None and engine == "onnxruntime":
        raise ValueError("onnxruntime is not installed (pip install -r requirements.txt).")
    return (scorer or net).scores(tensor, threads=threads)


def detect_raw(image: np.ndarray, upsample: int = 0, threads: int = 1, net=None,
               engine: str = "auto") -> list[tuple[tuple, float]]:
    """What ``dlib.cnn_face_detection_model_v1(path)(image, upsample)`` returns.

    The image is doubled ``upsample`` times (dlib's ``pyramid_up``), laid out as a tiled
    pyramid, scored by the network; every window scoring above ``SCORE_THRESHOLD`` is
    mapped back to the image, and the windows are kept best first unless they overlap a
    kept one by the model's non-max-suppression thresholds.

    Args:
        image: ``(H, W, 3) uint8`` RGB.
        upsample: times to double the image first (0 finds faces of about 80 px and
            more; each doubling halves that, at about 4x the time and memory).
        threads: threads convolving at once.
        net: a ``mmod_net.MmodNet`` (default: the verified model file's, loaded once).
        engine: what runs the network (``ENGINES``); both give the same scores within 1e-5.

    Returns:
        ``[((left, top, right, bottom), score)]``, inclusive pixels as dlib's
        ``rectangle``, best score first.

    Raises:
        ModelFileError: the model file is missing or corrupt.
        ValueError: unknown ``engine``.
    """
    net = net or model_files.mmod_net()
    work = np.ascontiguousarray(image)
    for _ in range(upsample):
        work = pyramid_up(work)
    tensor, rects = tiled_pyramid(work, net.means, net.padding, net.outer_padding)
    del work
    if min(tensor.shape[1:]) < MIN_TENSOR_SIDE:
        return []  # a photo of a few pixels: the three stride-2 layers leave nothing to score
    scores = score_map(tensor, net, threads=threads, engine=engine)
    del tensor
    rows, cols = np.nonzero(scores > SCORE_THRESHOLD)
    values = scores[rows, cols].astype(np.float64)
    xs, ys = net.output_to_input(cols, rows)
    half_width, half_height = (net.window[0] - 1) / 2, (net.window[1] - 1) / 2
    order = np.argsort(-values, kind="stable")
    kept: list[tuple[tuple, float]] = []
    for index in order:
        x, y = xs[index], ys[index]
        box = tensor_to_image(rects, (x - half_width, y - half_height, x + half_width, y + half_height))
        if any(_overlaps(other, box, net.nms_iou, net.nms_covered) for other, _ in kept):
            continue
        kept.append((box, float(values[index])))
    return [(rect_down(box, upsample), score) for box, score in kept]


class MmodDetector:
    """dlib's MMOD CNN face detector with this project's settings.

    Args:
        upsample: times to double the image first (0 finds faces down to about 80 px,
            1 down to about 40 px at 4x the time).
        max_side: longest side, in pixels, at which detection runs; 0 keeps the size.
        small_face_px: not used (HOG's second-pass trigger).
        threads: threads convolving at once.
    """

    def __init__(self, upsample: int = 0, max_side: int = 0, small_face_px: int = 0, threads: int = 1):
        self.upsample = upsample
        self.max_side = max_side
        self.threads = max(1, threads)

    def detect(self, image: np.ndarray) -> list[tuple[FaceBox, float]]:
        """``[(box, score)]`` of every face in the ``(H, W, 3) uint8`` RGB ``image``, in its
        pixels, best score first (scores: the network's, about 1 for a clear face, above 0
        for every face it reports).

        Raises:
            ModelFileError: the model file is missing or corrupt.
        """
        height, width = image.shape[:2]
        scale = 1.0
        work = image
        if self.max_side and max(height, width) > self.max_side:
            scale = self.max_side / max(height, width)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            work = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        found = detect_raw(work, upsample=self.upsample, threads=self.threads)
        return [
            (FaceBox(math.floor(left / scale + 0.5), math.floor(top / scale + 0.5),
                     math.floor((right + 1) / scale + 0.5), math.floor((bottom + 1) / scale + 0.5)), score)
            for (left, top, right, bottom), score in found
        ]
