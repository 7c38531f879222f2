"""Finding, checking and loading dlib's model files, lazily and once per process.

The files come from the ``face-recognition-models`` package (installed by
requirements.txt); ``models/checksums.sha256`` in this repository pins their
SHA-256, so a corrupt or substituted file is refused with a clear error instead of
producing wrong descriptors. ``FACE_MODELS_DIR`` in the environment points at
another folder holding the same files (for offline installs).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import queue
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import ModelFileError

RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
LANDMARKS_5_MODEL = "shape_predictor_5_face_landmarks.dat"
LANDMARKS_68_MODEL = "shape_predictor_68_face_landmarks.dat"
MMOD_MODEL = "mmod_human_face_detector.dat"

CHECKSUMS_FILE = Path(__file__).resolve().parent.parent / "models" / "checksums.sha256"

_lock = threading.Lock()


def models_dir() -> Path:
    """The folder holding the .dat files: ``$FACE_MODELS_DIR`` or the package's own folder.

    Raises:
        ModelFileError: neither is available.
    """
    configured = os.environ.get("FACE_MODELS_DIR")
    if configured:
        return Path(configured)
    # find_spec does not execute the package, whose __init__ imports pkg_resources.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "The face-recognition-models package is not installed; run `make venv` "
            "(pip install -r requirements.txt) or set FACE_MODELS_DIR."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def expected_checksums() -> dict[str, str]:
    """File name -> SHA-256 hex digest, read from models/checksums.sha256."""
    result = {}
    for line in CHECKSUMS_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            result[name] = digest
    return result


@functools.cache
def verified_path(name: str) -> str:
    """Path of model file ``name``, after checking its SHA-256 (once per process).

    Raises:
        ModelFileError: the file is missing, or its checksum is not the pinned one.
    """
    path = models_dir() / name
    if not path.is_file():
        raise ModelFileError(f"Model file {path} is missing; reinstall face-recognition-models.")
    expected = expected_checksums().get(name)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelFileError(f"Model file {path} does not match models/checksums.sha256.")
    return str(path)


@functools.cache
def _load(kind: str, name: str | None = None):
    import dlib

    if kind == "shape_predictor":
        return dlib.shape_predictor(verified_path(name))
    if kind == "recognition":
        return dlib.face_recognition_model_v1(verified_path(RECOGNITION_MODEL))
    if kind == "descriptor_net":
        from .embedders.descriptor_net import DescriptorNet

        return DescriptorNet(Path(verified_path(RECOGNITION_MODEL)).read_bytes())
    if kind == "mmod_net":
        from .detectors.mmod_net import MmodNet

        return MmodNet(Path(verified_path(MMOD_MODEL)).read_bytes())
    raise ValueError(kind)


_idle_detectors: "queue.SimpleQueue" = queue.SimpleQueue()


@contextmanager
def hog_detector():
    """dlib's HOG frontal face detector (built into dlib, no file needed), lent to one caller.

    Use as ``with hog_detector() as detector: detector.run(...)``. dlib releases the GIL
    while detecting and a detector keeps scratch buffers, so two threads running the
    same detector object corrupt memory ("double free"); each caller borrows its own
    from a pool. Building one takes about 0.3 s (holding the GIL), so they are kept for
    reuse: a process ends up with as many as it ever used at once.
    """
    try:
        detector = _idle_detectors.get_nowait()
    except queue.Empty:
        import dlib

        detector = dlib.get_frontal_face_detector()
    try:
        yield detector
    finally:
        _idle_detectors.put(detector)


def shape_predictor(points: int = 5):
    """dlib's landmark predictor with ``points`` landmarks (5 or 68).

    The 5-point model is the default: public domain, and what face_recognition uses
    for descriptors. The 68-point model was trained on iBUG 300-W, which forbids
    commercial use.

    Raises:
        ValueError: ``points`` is not 5 or 68.
        ModelFileError: the model file is missing or corrupt.
    """
    if points not in (5, 68):
        raise ValueError(f"Landmark model must have 5 or 68 points, not {points}.")
    with _lock:
        return _load("shape_predictor", LANDMARKS_5_MODEL if points == 5 else LANDMARKS_68_MODEL)


def recognition_model():
    """dlib's ResNet face recognition model v1 (128-D descriptors).

    Raises:
        ModelFileError: the model file is missing or corrupt.
    """
    with _lock:
        return _load("recognition")


def descriptor_net():
    """dlib's ResNet face recognition model v1 run with numpy (``descriptor_net.DescriptorNet``).

    Raises:
        ModelFileError: the model file is missing, corrupt or not that network.
    """
    with _lock:
        return _load("descriptor_net")


def mmod_net():
    """dlib's MMOD CNN face detector network run with numpy (``detectors.mmod_net.MmodNet``).

    Raises:
        ModelFileError: the model file is missing, corrupt or not that network.
    """
    with _lock:
        return _load("mmod_net")
