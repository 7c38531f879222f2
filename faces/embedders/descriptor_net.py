"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1``) run with numpy.

The same weights and the same arithmetic as dlib's own CPU code, but the convolutions
are matrix products in numpy's BLAS (OpenBLAS in the numpy wheel), where the prebuilt
``dlib-bin`` wheel has no BLAS: 8 ms per face instead of 97 ms on this project's
2-core machine, and descriptors within 5.1e-7 per element of
``dlib.face_recognition_model_v1.compute_face_descriptor`` (measured on 68 faces of
../shared/faces/identities; tests/test_faces_engine.py checks 1e-4).

The network (dlib's ``dnn_face_recognition_ex.cpp``): a 7x7/2 convolution with 32
filters, 3x3/2 max pooling, 29 3x3 convolutions in residual blocks of 32, 64, 128 and 256
filters (each followed by an inference-time batch norm, dlib's ``affine`` layer), global
average pooling and a 256 -> 128 fully connected layer without bias. Its input is a
150 x 150 RGB face chip, ``(pixel - channel mean) / 256``.

The model file is read from dlib's own serialisation (``dlib/serialize.h``,
``dlib/dnn/core.h``, ``dlib/dnn/layers.h``), checking every layer's type, size, stride and
padding against that architecture, so a different or damaged file is refused instead of
giving wrong descriptors.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import as_strided
from threadpoolctl import threadpool_limits

from ..errors import ModelFileError

#: Side of the aligned face chip the network takes, in pixels (dlib's ``get_face_chip``).
CHIP_SIZE = 150
_BLAS_LIMIT_LOCK = threading.Lock()

#: Faces per forward pass: keeps the im2col buffers (about 30 MB per 8 faces) in cache.
CHUNK = 8


class _Reader:
    """dlib's binary serialisation (``dlib/serialize.h``, ``dlib/cuda/tensor.h``)."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def int(self) -> int:
        # A control byte (bit 7: negative; low 4 bits: byte count), then little-endian bytes.
        control = self.data[self.pos]
        size = control & 0x0F
        if not 1 <= size <= 8:
            raise ValueError(f"bad integer at byte {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if control & 0x80 else value

    def bool(self) -> bool:
        byte = self.data[self.pos]
        self.pos += 1
        if byte not in b"01":
            raise ValueError(f"bad boolean at byte {self.pos - 1}")
        return byte == ord("1")

    def str(self) -> str:
        size = self.int()
        text = self.data[self.pos:self.pos + size].decode("latin-1")
        self.pos += size
        return text

    def float(self) -> float:
        # dlib's portable float: mantissa then exponent, both as integers above.
        mantissa = self.int()
        return float(np.ldexp(float(mantissa), self.int()))

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            raise ValueError(f"unknown tensor version at byte {self.pos}")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).astype(np.float32)
        self.pos += 4 * count
        return values.reshape(shape)

    def alias_tensor(self) -> tuple[int, ...]:
        if self.int() != 1:
            raise ValueError(f"unknown alias_tensor version at byte {self.pos}")
        return tuple(self.int() for _ in range(4))


def _read_layer(reader: _Reader) -> dict:
    kind = reader.str()
    layer = {"type": kind}
    if kind == "con_4":
        params = reader.tensor().reshape(-1)
        layer["filters_count"], layer["rows"], layer["cols"] = reader.int(), reader.int(), reader.int()
        layer["stride"] = (reader.int(), reader.int())
        layer["padding"] = (reader.int(), reader.int())
        filters_shape, biases_shape = reader.alias_tensor(), reader.alias_tensor()
        [reader.float() for _ in range(4)]  # learning-rate and weight-decay multipliers
        count = int(np.prod(filters_shape))
        if params.size != count + int(np.prod(biases_shape)):
            raise ValueError("convolution parameters of the wrong size")
        layer["filters"] = params[:count].reshape(filters_shape)  # (F, C, rows, cols)
        layer["biases"] = params[count:].copy()
    elif kind == "affine_":
        params = reader.tensor().reshape(-1)
        gamma_shape, beta_shape = reader.alias_tensor(), reader.alias_tensor()
        layer["mode"] = reader.int()
        count = int(np.prod(gamma_shape))
        layer["gamma"], layer["beta"] = params[:count].copy(), params[count:count + int(np.prod(beta_shape))].copy()
    elif kind in ("max_pool_2", "avg_pool_2"):
        layer["rows"], layer["cols"] = reader.int(), reader.int()
        layer["stride"] = (reader.int(), reader.int())
        layer["padding"] = (reader.int(), reader.int())
    elif kind == "fc_2":
        layer["outputs"], layer["inputs"] = reader.int(), reader.int()
        params = reader.tensor().reshape(-1)
        weights_shape, _ = reader.alias_tensor(), reader.alias_tensor()
        layer["bias_mode"] = reader.int()
        [reader.float() for _ in range(4)]
        layer["weights"] = params[:int(np.prod(weights_shape))].reshape(layer["inputs"], layer["outputs"])
    elif kind not in ("relu_", "add_prev_"):
        raise ValueError(f"unexpected layer {kind!r}")
    return layer


def _parse(data: bytes) -> tuple[list[float], list[dict]]:
    """The input means and the layers, bottom-up, of a serialised ``loss_metric`` network."""
    reader = _Reader(data)
    if reader.int() != 1 or reader.str() not in ("loss_metric_", "loss_metric_2"):
        raise ValueError("not a dlib metric-learning network")
    reader.float(), reader.float()  # the loss's margin and distance threshold (training only)
    # Each layer wrapper writes its version, then its subnet, then its own details, so
    # the versions come top-down and the details bottom-up (dlib/dnn/core.h). Version
    # 1 is a tag or skip layer (no details); 3 is the layer over the input.
    versions = []
    while not versions or versions[-1] != 3:
        versions.append(reader.int())
        if versions[-1] not in (1, 2, 3):
            raise ValueError("unexpected layer wrapper")
    if reader.str() != "input_rgb_image_sized":
        raise ValueError("unexpected input layer")
    means = [reader.float() for _ in range(3)]
    if (reader.int(), reader.int()) != (CHIP_SIZE, CHIP_SIZE):
        raise ValueError("unexpected input size")
    layers = []
    for version in reversed(versions):
        if version == 1:
            layers.append({"type": "tag_or_skip"})
            continue
        layer = _read_layer(reader)
        reader.bool(), reader.bool(), reader.bool()
        reader.tensor(), reader.tensor(), reader.tensor()  # training buffers, empty
        if version == 3:
            reader.int()  # sample expansion factor
        layers.append(layer)
    if reader.pos != len(data):
        raise ValueError("unexpected bytes after the network")
    return means, layers


#: Residual blocks bottom-up: (filters, downsampling), from dnn_face_recognition_ex.cpp.
BLOCKS = [(32, False)] * 3 + [(64, True)] + [(64, False)] * 3 + [(128, True)] + [(128, False)] * 2 \
    + [(256, True)] + [(256, False)] * 2 + [(256, True)]


def _expected_layers() -> list[tuple]:
    expected = [("con_4", 32, 7, 2), ("affine_",), ("relu_",), ("max_pool_2", 3, 2)]
    for filters, down in BLOCKS:
        expected += [("tag_or_skip",), ("con_4", filters, 3, 2 if down else 1), ("affine_",), ("relu_",),
                     ("con_4", filters, 3, 1), ("affine_",)]
        if down:
            expected += [("tag_or_skip",), ("tag_or_skip",), ("avg_pool_2", 2, 2)]
        expected += [("add_prev_",), ("relu_",)]
    return expected + [("avg_pool_2", 0, 1), ("fc_2", 128)]


def _check(layer: dict, expected: tuple) -> None:
    kind = expected[0]
    if layer["type"] != kind:
        raise ValueError(f"layer {layer['type']} where {kind} was expected")
    if kind == "con_4":
        _, filters, size, stride = expected
        # dlib's default padding: size // 2 for stride 1, none otherwise (dlib/dnn/layers.h).
        padding = size // 2 if stride == 1 else 0
        if (layer["filters_count"], layer["rows"], layer["cols"], layer["stride"], layer["padding"]) != (
            filters, size, size, (stride, stride), (padding, padding)
        ):
            raise ValueError("a convolution differs from the face recognition ResNet")
    elif kind in ("max_pool_2", "avg_pool_2"):
        _, size, stride = expected
        if (layer["rows"], layer["cols"], layer["stride"], layer["padding"]) != (size, size, (stride, stride), (0, 0)):
            raise ValueError("a pooling layer differs from the face recognition ResNet")
    elif kind == "affine_" and layer["mode"] != 0:
        raise ValueError("an affine layer is not per channel")
    elif kind == "fc_2" and (layer["outputs"], layer["inputs"], layer["bias_mode"]) != (128, 256, 1):
        raise ValueError("the last layer differs from the face recognition ResNet")


def _im2col(x: np.ndarray, size: int, stride: int, padding: int) -> tuple[np.ndarray, int, int]:
    """``(N, H, W, C)`` -> ``(N * Ho * Wo, size * size * C)`` patches, zero padded."""
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    count, height, width, channels = x.shape
    out_height, out_width = 1 + (height - size) // stride, 1 + (width - size) // stride
    s_n, s_h, s_w, s_c = x.strides
    patches = as_strided(x, shape=(count, out_height, out_width, size, size, channels),
                         strides=(s_n, s_h * stride, s_w * stride, s_h, s_w, s_c), writeable=False)
    return patches.reshape(count * out_height * out_width, size * size * channels), out_height, out_width


class DescriptorNet:
    """dlib's face recognition ResNet v1 in numpy.

    Args:
        data: the bytes of ``dlib_face_recognition_resnet_model_v1.dat``.

    Raises:
        ModelFileError: the file is not that network (damaged, or another model).
    """

    def __init__(self, data: bytes):
        try:
            means, layers = _parse(data)
            expected = _expected_layers()
            if len(layers) != len(expected):
                raise ValueError(f"{len(layers)} layers where {len(expected)} were expected")
            for layer, wanted in zip(layers, expected):
                _check(layer, wanted)
        except (ValueError, IndexError) as error:
            raise ModelFileError(f"The face recognition model file is not dlib's ResNet v1: {error}") from error
        self.means = np.array(means, dtype=np.float32)
        convolutions = [layer for layer in layers if layer["type"] == "con_4"]
        affines = [layer for layer in layers if layer["type"] == "affine_"]
        # (weights (size*size*C, F), bias, gamma, beta, size, stride, padding) per convolution.
        self.convolutions = [
            (np.ascontiguousarray(conv["filters"].transpose(2, 3, 1, 0).reshape(-1, conv["filters_count"])),
             conv["biases"], affine["gamma"], affine["beta"], conv["rows"], conv["stride"][0], conv["padding"][0])
            for conv, affine in zip(convolutions, affines)
        ]
        self.fully_connected = np.ascontiguousarray(layers[-1]["weights"])

    def _convolve(self, x: np.ndarray, index: int, relu: bool) -> np.ndarray:
        # dlib's order: convolution, + bias, then the affine layer's * gamma + beta.
        weights, bias, gamma, beta, size, stride, padding = self.convolutions[index]
        patches, out_height, out_width = _im2col(x, size, stride, padding)
        y = patches @ weights
        y += bias
        y *= gamma
        y += beta
        if relu:
            np.maximum(y, 0, out=y)
        return y.reshape(x.shape[0], out_height, out_width, weights.shape[1])

    @staticmethod
    def _max_pool_3x3_stride_2(x: np.ndarray) -> np.ndarray:
        out_height, out_width = 1 + (x.shape[1] - 3) // 2, 1 + (x.shape[2] - 3) // 2
        result = None
        for dy in range(3):
            for dx in range(3):
                window = x[:, dy:dy + 2 * out_height - 1:2, dx:dx + 2 * out_width - 1:2, :]
                result = window.copy() if result is None else np.maximum(result, window, out=result)
        return result

    @staticmethod
    def _avg_pool_2x2_stride_2(x: np.ndarray) -> np.ndarray:
        # dlib sums each window row by row, then divides.
        rows, cols = 2 * ((x.shape[1] - 2) // 2 + 1), 2 * ((x.shape[2] - 2) // 2 + 1)
        result = x[:, 0:rows:2, 0:cols:2, :] + x[:, 0:rows:2, 1:cols:2, :]
        result += x[:, 1:rows:2, 0:cols:2, :]
        result += x[:, 1:rows:2, 1:cols:2, :]
        result *= np.float32(0.25)
        return result

    @staticmethod
    def _add(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        # dlib's add_prev: tensors of different sizes are added as if zero-padded to the
        # larger of each dimension (cpu::add in dlib/cuda/cpu_dlib.cpp).
        if first.shape == second.shape:
            first += second
            return first
        total = np.zeros(tuple(max(a, b) for a, b in zip(first.shape, second.shape)), dtype=np.float32)
        total[:, :first.shape[1], :first.shape[2], :first.shape[3]] = first
        total[:, :second.shape[1], :second.shape[2], :second.shape[3]] += second
        return total

    def _forward(self, chips: np.ndarray) -> np.ndarray:
        x = (chips.astype(np.float32) - self.means) / np.float32(256.0)
        x = self._max_pool_3x3_stride_2(self._convolve(x, 0, relu=True))
        index = 1
        for _, down in BLOCKS:
            y = self._convolve(self._convolve(x, index, relu=True), index + 1, relu=False)
            index += 2
            x = self._add(self._avg_pool_2x2_stride_2(x), y) if down else self._add(y, x)
            np.maximum(x, 0, out=x)
        # Global average pooling, summed in dlib's row-major order.
        pooled = x[:, 0, 0, :].copy()
        for position in range(1, x.shape[1] * x.shape[2]):
            pooled += x[:, position // x.shape[2], position % x.shape[2], :]
        pooled /= np.float32(x.shape[1] * x.shape[2])
        return pooled @ self.fully_connected

    def compute(self, chips: np.ndarray, threads: int = 1) -> np.ndarray:
        """Face descriptors of aligned face chips.

        Args:
            chips: ``(N, 150, 150, 3) uint8`` RGB chips, as ``dlib.get_face_chips(image,
                shapes, size=150, padding=0.25)`` cuts them.
            threads: chunks of ``CHUNK`` faces computed at once (numpy releases the GIL
                in matrix products), each with one BLAS thread: 4.5 ms per face with 2
                threads on 2 cores, against 6.4 ms with OpenBLAS's own threading, which
                also slows down badly when another process is busy.

        Returns:
            ``(N, 128) float32`` descriptors, one row per chip.

        Raises:
            ValueError: ``chips`` is not ``(N, 150, 150, 3)``.
        """
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"Face chips must be (N, {CHIP_SIZE}, {CHIP_SIZE}, 3), not {chips.shape}.")
        if not len(chips):
            return np.zeros((0, 128), dtype=np.float32)
        # Equal chunks of at most CHUNK faces, a multiple of ``threads`` of them, so that
        # the threads finish together.
        count = -(-len(chips) // CHUNK)
        count = -(-count // max(1, threads)) * max(1, threads) if threads > 1 else count
        chunks = [chunk for chunk in np.array_split(chips, min(count, len(chips))) if len(chunk)]
        # threadpool_limits sets and restores the process-wide BLAS thread count: two
        # calls overlapping in time would restore each other's value out of order.
        with _BLAS_LIMIT_LOCK, threadpool_limits(limits=1, user_api="blas"):
            if threads > 1 and len(chunks) > 1:
                with ThreadPoolExecutor(max_workers=threads) as pool:
                    results = list(pool.map(self._forward, chunks))
            else:
                results = [self._forward(chunk) for chunk in chunks]
        return np.concatenate(results).astype(np.float32, copy=False)
