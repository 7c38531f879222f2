"""dlib's MMOD face detector network run by ONNX Runtime (``onnxruntime`` from PyPI).

The network of ``mmod_net.MmodNet`` (its weights, with the affine layers folded into the
convolutions) written as a small ONNX model in memory: seven ``Conv`` nodes, six followed
by ``Relu``. ONNX Runtime's CPU convolutions (MLAS, with AVX-512 where the processor
has it) ran the network of a 1920 x 1080 photo's pyramid in 1.5 s against numpy's 4.0-4.8 s
on this project's loaded 2-core machine, with the same scores within 6.2e-6.

The model is encoded here with a few lines of protobuf (the wire format of
``onnx/onnx.proto``) rather than with the ``onnx`` package, which would add that package
and its dependencies only to write seven nodes.
"""
from __future__ import annotations

import threading

import numpy as np

#: ONNX's FLOAT element type (``TensorProto.DataType``).
_FLOAT = 1
#: AttributeProto.AttributeType INTS.
_INTS = 7
#: The operator set the model declares (Conv and Relu are unchanged since 11).
OPSET = 17
#: ONNX IR version 8 (ONNX 1.10 and later read it).
IR_VERSION = 8


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s as two's complement, as protobuf does
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | str | int) -> bytes:
    """One protobuf field: a varint for an int, else length-delimited bytes."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _tensor(name: str, array: np.ndarray) -> bytes:
    # TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian floats).
    body = b"".join(_field(1, int(size)) for size in array.shape)
    return body + _field(2, _FLOAT) + _field(8, name) + _field(9, np.ascontiguousarray(array, dtype="<f4").tobytes())


def _value_info(name: str, dims: list[str]) -> bytes:
    # ValueInfoProto{name = 1, type = 2: TypeProto{tensor_type = 1: {elem_type = 1,
    # shape = 2: TensorShapeProto{dim = 1: Dimension{dim_value = 1 | dim_param = 2}}}}}
    shape = b"".join(_field(1, _field(1, dim) if isinstance(dim, int) else _field(2, dim)) for dim in dims)
    return _field(1, name) + _field(2, _field(1, _field(1, _FLOAT) + _field(2, shape)))


def _node(op_type: str, inputs: list[str], output: str, **ints) -> bytes:
    # NodeProto: input = 1, output = 2, op_type = 4, attribute = 5 (AttributeProto: name = 1,
    # ints = 8, type = 20).
    body = b"".join(_field(1, name) for name in inputs) + _field(2, output) + _field(4, op_type)
    for name, values in ints.items():
        body += _field(5, _field(1, name) + b"".join(_field(8, int(v)) for v in values) + _field(20, _INTS))
    return body


def model_bytes(layers: list[tuple]) -> bytes:
    """The ONNX model of the network.

    Args:
        layers: ``MmodNet.layers``: per convolution ``((size*size*C, F) weights, (F,) bias,
            size, stride, padding, relu)``.

    Returns:
        A serialised ``ModelProto`` taking ``x``, ``(1, 3, H, W) float32`` (NCHW), and
        giving ``y``, ``(1, 1, Ho, Wo) float32`` scores.
    """
    nodes, initializers = [], []
    current = "x"
    for index, (weights, bias, size, stride, padding, relu) in enumerate(layers):
        filters = weights.shape[1]
        channels = weights.shape[0] // (size * size)
        # (size, size, C, F) -> ONNX's (F, C, size, size).
        kernel = weights.reshape(size, size, channels, filters).transpose(3, 2, 0, 1)
        initializers += [_tensor(f"w{index}", kernel), _tensor(f"b{index}", bias)]
        output = f"conv{index}" if relu else "y"
        nodes.append(_node("Conv", [current, f"w{index}", f"b{index}"], output, kernel_shape=[size, size],
                           strides=[stride, stride], pads=[padding] * 4))
        if relu:
            nodes.append(_node("Relu", [output], f"relu{index}"))
            current = f"relu{index}"
    # GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
    graph = b"".join(_field(1, node) for node in nodes) + _field(2, "mmod_human_face_detector")
    graph += b"".join(_field(5, tensor) for tensor in initializers)
    graph += _field(11, _value_info("x", [1, 3, "height", "width"]))
    graph += _field(12, _value_info("y", [1, 1, "rows", "cols"]))
    # ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 (domain = 1, version = 2).
    return (_field(1, IR_VERSION) + _field(2, "faces.detectors.mmod_onnx") + _field(7, graph)
            + _field(8, _field(1, "") + _field(2, OPSET)))


def available() -> bool:
    """Whether ``onnxruntime`` can be imported."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


#: Tensor pixels scored at once (``OnnxScorer.scores``). Measured peak memory of one
#: detection (ONNX Runtime, 2 threads, /tmp script of branch attack22's report) with the
#: whole tensor at once -> in bands of this size: a 24 MP photo at ``max_side`` 2400 and
#: ``upsample`` 1 (a 13110 x 4864 tensor) 2.36 GB -> 1.18 GB, its float32 tensor alone
#: being 765 MB; a 1080p photo at ``upsample`` 1 1.18 GB -> 0.65 GB; same boxes, 10% slower.
BAND_PIXELS = 4_000_000


def geometry(layers: list[tuple]) -> tuple[int, int, int]:
    """``(stride, field, halo)`` of the network ``layers`` (``MmodNet.layers``): its
    unpadded strided convolutions map score row ``r`` to tensor rows ``r * stride`` ..
    ``r * stride + field - 1``; its padded ones read ``halo`` score rows either side."""
    stride, field, halo = 1, 1, 0
    for _, _, size, layer_stride, padding, _ in layers:
        if padding:
            halo += padding
        else:
            field += (size - 1) * stride
            stride *= layer_stride
    return stride, field, halo


def row_bands(geometry_: tuple[int, int, int], height: int, band_rows: int) -> list[tuple[tuple, tuple]]:
    """The bands of a ``height``-row tensor to score apart, at most about ``band_rows``
    rows each: per band ``((top, bottom), (keep_from, keep_to))``, its tensor rows and
    the rows of its score map that are the whole map's (``halo`` away from a cut). One
    band when the tensor has no more rows than ``band_rows``."""
    stride, field, halo = geometry_
    total = 1 + (height - field) // stride if height >= field else 0
    step = max(1, (band_rows - field) // stride + 1 - 2 * halo)
    if height <= band_rows or total <= step:
        return [((0, height), (0, None))]
    bands = []
    for first in range(0, total, step):
        last = min(total, first + step)
        start, end = max(0, first - halo), min(total, last + halo)
        bands.append(((start * stride, (end - 1) * stride + field), (first - start, last - start)))
    return bands


class OnnxScorer:
    """The network's score map computed by ONNX Runtime, one session per thread count.

    Args:
        layers: ``MmodNet.layers``.
    """

    def __init__(self, layers: list[tuple]):
        self._model = model_bytes(layers)
        self._geometry = geometry(layers)
        self._sessions: dict[int, object] = {}
        self._lock = threading.Lock()

    def _session(self, threads: int):
        import onnxruntime

        with self._lock:
            if threads not in self._sessions:
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                # Photos differ in size, so a memory arena sized by the largest would
                # only hold memory between photos.
                options.enable_cpu_mem_arena = False
                self._sessions[threads] = onnxruntime.InferenceSession(
                    self._model, options, providers=["CPUExecutionProvider"])
            return self._sessions[threads]

    def scores(self, tensor: np.ndarray, threads: int = 1, band_pixels: int = BAND_PIXELS) -> np.ndarray:
        """``MmodNet.scores`` by ONNX Runtime: ``(3, H, W) float32`` in, ``(Ho, Wo) float32`` out.

        A tensor of more than ``band_pixels`` pixels is scored in bands of rows
        (``row_bands``), each with the rows the score map's edges need around it, so the
        memory ONNX Runtime takes is bounded by the band, not the photo; the scores are
        the whole tensor's (within 1e-5).
        """
        session = self._session(max(1, threads))
        height, width = tensor.shape[1:]
        bands = row_bands(self._geometry, height, max(1, band_pixels // max(width, 1)))
        parts = []
        for (top, bottom), (keep_from, keep_to) in bands:
            x = np.ascontiguousarray(tensor[:, top:bottom], dtype=np.float32)[None]
            parts.append(session.run(["y"], {"x": x})[0][0, 0, keep_from:keep_to])
            del x
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

