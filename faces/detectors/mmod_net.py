"""dlib's MMOD CNN face detector network (``mmod_human_face_detector.dat``) run with numpy.

The same weights and arithmetic as dlib's CPU code (``dlib.cnn_face_detection_model_v1``,
``tools/python/src/cnn_face_detector.cpp``), but each convolution is a matrix product in
numpy's BLAS (OpenBLAS in the numpy wheel), where the prebuilt ``dlib-bin`` wheel has none.

The network (dlib's ``dnn_mmod_face_detection_ex.cpp``), bottom-up::

    input_rgb_image_pyramid<pyramid_down<6>>            (faces.detectors.mmod_pyramid)
    3 x (5x5 stride-2 convolution, affine, relu)         16, 32, 32 filters ("downsampler")
    3 x (5x5 stride-1 convolution, affine, relu)         45 filters each ("rcon5")
    9x9 stride-1 convolution                            1 filter: the detection score map

``affine`` is dlib's inference-time batch norm (``gamma * x + beta`` per channel). The
loss layer (``loss_mmod_``) holds the detection window (80 x 80 pixels) and the
non-max-suppression thresholds, read here from the file too.

The model file is read from dlib's own serialisation (``dlib/serialize.h``,
``dlib/dnn/core.h``, ``dlib/dnn/layers.h``, ``dlib/dnn/loss.h`` ``mmod_options``), checking
every layer against that architecture, so a different or damaged file is refused.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import as_strided
from threadpoolctl import threadpool_limits

from ..embedders.descriptor_net import _BLAS_LIMIT_LOCK, _Reader, _read_layer
from ..errors import ModelFileError

#: Bottom-up convolutions of the network: (filters, size, stride), each but the last
#: followed by an affine layer and a relu (cnn_face_detector.cpp's ``net_type``).
CONVOLUTIONS = [(16, 5, 2), (32, 5, 2), (32, 5, 2), (45, 5, 1), (45, 5, 1), (45, 5, 1), (1, 9, 1)]

#: Floats of im2col patches built at once per convolution: about 32 MB, so a 1080p
#: photo's 300 MB of patches is never held at once and the block stays near the cache.
PATCH_BLOCK_FLOATS = 8_000_000


def _expected_layers() -> list[tuple]:
    expected = []
    for index, (filters, size, stride) in enumerate(CONVOLUTIONS):
        expected.append(("con_4", filters, size, stride))
        if index < len(CONVOLUTIONS) - 1:
            expected += [("affine_",), ("relu_",)]
    return expected


def _read_mmod_layer(reader: _Reader) -> dict:
    """One layer; a batch-norm layer as saved in training (``bn_con2``) becomes the
    ``affine_`` layer dlib turns it into when loading (``affine_(const bn_&)`` in
    dlib/dnn/layers.h: gamma / sqrt(running variance + eps), beta - that * running mean)."""
    start = reader.pos
    if reader.str() != "bn_con2":
        reader.pos = start
        return _read_layer(reader)
    params = reader.tensor().reshape(-1)
    gamma_shape, beta_shape = reader.alias_tensor(), reader.alias_tensor()
    reader.tensor(), reader.tensor()  # the last batch's means and inverse deviations
    running_means, running_variances = reader.tensor().reshape(-1), reader.tensor().reshape(-1)
    reader.int(), reader.int()  # updates and window size of the running statistics
    [reader.float() for _ in range(4)]  # learning-rate and weight-decay multipliers
    eps = np.float32(reader.float())
    count = int(np.prod(gamma_shape))
    gamma = params[:count] / np.sqrt(running_variances + eps)
    beta = params[count:count + int(np.prod(beta_shape))] - gamma * running_means
    return {"type": "affine_", "mode": 0, "gamma": gamma.astype(np.float32), "beta": beta.astype(np.float32)}


def _parse(data: bytes) -> tuple[dict, list[dict]]:
    """The loss options, the input layer's settings and the layers, bottom-up, of a
    serialised ``loss_mmod`` network."""
    reader = _Reader(data)
    if reader.int() != 1 or reader.str() != "loss_mmod_":
        raise ValueError("not a dlib MMOD detector")
    options = {}
    version = reader.int()
    if version != 1:
        # Versions 2-4 (dlib >= 19.5) hold a list of windows with labels; the face
        # detector of face-recognition-models is version 1 (one window).
        raise ValueError(f"unsupported mmod_options version {version}")
    options["window"] = (reader.int(), reader.int())  # width, height
    options["loss_per_false_alarm"], options["loss_per_missed_target"] = reader.float(), reader.float()
    options["truth_match_iou_threshold"] = reader.float()
    options["nms_iou"], options["nms_covered"] = reader.float(), reader.float()
    reader.float(), reader.float()  # overlaps_ignore (training only)
    versions = []
    while not versions or versions[-1] != 3:
        versions.append(reader.int())
        if versions[-1] not in (2, 3):
            raise ValueError("unexpected layer wrapper")
    kind = reader.str()
    if kind not in ("input_rgb_image_pyramid", "input_rgb_image_pyramid2"):
        raise ValueError("unexpected input layer")
    options["means"] = [reader.float() for _ in range(3)]
    # input.h: the first version has no padding fields and uses 10 and 11.
    options["padding"], options["outer_padding"] = (10, 11) if kind == "input_rgb_image_pyramid" else (
        reader.int(), reader.int())
    layers = []
    for version in reversed(versions):
        layer = _read_mmod_layer(reader)
        reader.bool(), reader.bool(), reader.bool()
        reader.tensor(), reader.tensor(), reader.tensor()  # training buffers, empty
        if version == 3:
            reader.int()  # sample expansion factor
        layers.append(layer)
    if reader.pos != len(data):
        raise ValueError("unexpected bytes after the network")
    return options, layers


def _check(layers: list[dict]) -> None:
    expected = _expected_layers()
    if len(layers) != len(expected):
        raise ValueError(f"{len(layers)} layers where {len(expected)} were expected")
    for layer, wanted in zip(layers, expected):
        if layer["type"] != wanted[0]:
            raise ValueError(f"layer {layer['type']} where {wanted[0]} was expected")
        if wanted[0] == "con_4":
            _, filters, size, stride = wanted
            # dlib's default padding: size // 2 for stride 1, none otherwise (dlib/dnn/layers.h).
            padding = size // 2 if stride == 1 else 0
            if (layer["filters_count"], layer["rows"], layer["cols"], layer["stride"], layer["padding"]) != (
                filters, size, size, (stride, stride), (padding, padding)
            ):
                raise ValueError("a convolution differs from the MMOD face detector")
        elif wanted[0] == "affine_" and layer["mode"] != 0:
            # mode 0 is dlib's CONV_MODE: one gamma and beta per channel.
            raise ValueError("an affine layer is not per channel")


class MmodNet:
    """dlib's MMOD face detector network in numpy.

    Attributes:
        window: ``(width, height)`` of the detection window in tensor pixels (80, 80).
        nms_iou, nms_covered: dlib's ``test_box_overlap`` thresholds of its non-max
            suppression (0.338 and 1.0 in the face detector).
        means: ``(3,) float32`` channel means (R, G, B) subtracted from the input.
        padding, outer_padding: pixels between and around the pyramid's tiles (10, 11).

    Args:
        data: the bytes of ``mmod_human_face_detector.dat``.

    Raises:
        ModelFileError: the file is not that network (damaged, or another model).
    """

    def __init__(self, data: bytes):
        try:
            options, layers = _parse(data)
            _check(layers)
        except (ValueError, IndexError) as error:
            raise ModelFileError(f"The face detector model file is not dlib's MMOD detector: {error}") from error
        self.window = options["window"]
        self.nms_iou, self.nms_covered = options["nms_iou"], options["nms_covered"]
        self.means = np.array(options["means"], dtype=np.float32)
        self.padding, self.outer_padding = options["padding"], options["outer_padding"]
        convolutions = [layer for layer in layers if layer["type"] == "con_4"]
        affines = [layer for layer in layers if layer["type"] == "affine_"]
        # Per convolution: ((size*size*C, F) weights, (F,) bias, size, stride, padding, relu),
        # with the affine layer folded in: (x.w + b) * gamma + beta = x.(w * gamma) + (b * gamma + beta).
        self._onnx = None
        self._onnx_lock = threading.Lock()
        self.layers = []
        for index, conv in enumerate(convolutions):
            weights = conv["filters"].transpose(2, 3, 1, 0).reshape(-1, conv["filters_count"])
            bias = conv["biases"]
            if index < len(affines):
                gamma, beta = affines[index]["gamma"], affines[index]["beta"]
                weights, bias = weights * gamma, bias * gamma + beta
            self.layers.append((np.ascontiguousarray(weights, dtype=np.float32), bias.astype(np.float32),
                                conv["rows"], conv["stride"][0], conv["padding"][0], index < len(affines)))

    def onnx_scorer(self):
        """This network run by ONNX Runtime (``mmod_onnx.OnnxScorer``), made on first use;
        None when ``onnxruntime`` is not installed."""
        from . import mmod_onnx

        with self._onnx_lock:
            if self._onnx is None and mmod_onnx.available():
                self._onnx = mmod_onnx.OnnxScorer(self.layers)
            return self._onnx

    def output_to_input(self, column: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tensor pixel at the centre of the score map's ``(column, row)`` (dlib's
        ``output_tensor_to_input_tensor``: each convolution maps ``p`` to
        ``p * stride - padding + size // 2``), as float arrays."""
        x, y = np.asarray(column, dtype=np.float64), np.asarray(row, dtype=np.float64)
        for _, _, size, stride, padding, _ in reversed(self.layers):
            x, y = x * stride - padding + size // 2, y * stride - padding + size // 2
        return x, y

    @staticmethod
    def _convolve_rows(x: np.ndarray, layer: tuple, out: np.ndarray, first: int, last: int) -> None:
        """Output rows ``first``..``last - 1`` of one convolution of the padded ``(H, W, C)``
        input ``x``, written to ``out``.

        With few input channels (the first layer's 3) the patches of whole windows are
        multiplied at once (im2col). Otherwise only the window's rows are gathered
        (``size * C`` values per place, 1/5 of im2col's copying) and each of its
        ``size`` rows is a product over a contiguous slab of those: the rows a window
        row touches are every row (stride 1) or every other row (stride 2, kept as
        separate even and odd slabs). On a 1080p photo's pyramid this was 1.3-4x
        faster per layer than im2col (layers 2-7, on the loaded test machine).
        """
        weights, bias, size, stride, _, relu = layer
        width, count = out.shape[1], last - first
        channels = x.shape[2]
        s_h, s_w, s_c = x.strides
        if channels < 8:
            view = as_strided(x[first * stride:], shape=(count, width, size, size, channels),
                              strides=(s_h * stride, s_w * stride, s_h, s_w, s_c), writeable=False)
            y = view.reshape(-1, weights.shape[0]) @ weights
        else:
            row_length = size * channels
            by_row = weights.reshape(size, row_length, -1)
            # slabs[p][i]: the window rows starting at input row first * stride + p + i * stride.
            slabs = []
            for parity in range(stride):
                rows = count + (size - 1 - parity) // stride
                view = as_strided(x[first * stride + parity:], shape=(rows, width, size, channels),
                                  strides=(s_h * stride, s_w * stride, s_w, s_c), writeable=False)
                slabs.append(np.ascontiguousarray(view).reshape(rows, width * row_length))
            y = None
            for dy in range(size):
                slab = slabs[dy % stride][dy // stride:dy // stride + count]
                part = slab.reshape(-1, row_length) @ by_row[dy]
                if y is None:
                    y = part
                else:
                    y += part
        y += bias
        if relu:
            np.maximum(y, 0, out=y)
        out[first:last] = y.reshape(count, width, -1)

    def _convolve(self, x: np.ndarray, layer: tuple, pool: ThreadPoolExecutor | None) -> np.ndarray:
        weights, _, size, stride, padding, _ = layer
        if padding:
            x = np.pad(x, ((padding, padding), (padding, padding), (0, 0)))
        out_height, out_width = 1 + (x.shape[0] - size) // stride, 1 + (x.shape[1] - size) // stride
        out = np.empty((out_height, out_width, weights.shape[1]), dtype=np.float32)
        rows = max(1, PATCH_BLOCK_FLOATS // max(1, out_width * weights.shape[0]))
        blocks = [(first, min(out_height, first + rows)) for first in range(0, out_height, rows)]
        if pool is None:
            for first, last in blocks:
                self._convolve_rows(x, layer, out, first, last)
        else:
            list(pool.map(lambda block: self._convolve_rows(x, layer, out, *block), blocks))
        return out

    def scores(self, tensor: np.ndarray, threads: int = 1) -> np.ndarray:
        """The detection score map of an input tensor.

        Args:
            tensor: ``(3, H, W) float32``, the tiled pyramid with the means subtracted and
                divided by 256 (``faces.detectors.mmod_pyramid.tiled_pyramid``).
            threads: blocks of rows convolved at once, each with one BLAS thread.

        Returns:
            ``(Ho, Wo) float32`` scores, Ho = ceil-ish ``H / 8`` (``output_to_input``
            maps a cell back); a face's window is centred where its score is above 0.
        """
        x = np.ascontiguousarray(tensor.transpose(1, 2, 0), dtype=np.float32)
        with _BLAS_LIMIT_LOCK, threadpool_limits(limits=1, user_api="blas"):
            if threads > 1:
                with ThreadPoolExecutor(max_workers=threads) as pool:
                    for layer in self.layers:
                        x = self._convolve(x, layer, pool)
            else:
                for layer in self.layers:
                    x = self._convolve(x, layer, None)
        return x[:, :, 0]
