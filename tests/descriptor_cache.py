"""Real face descriptors computed once per photo per test run.

Most tests enrol the same few real photos and process the same class photos; dlib's
detector and descriptor network cost about a second a photo, for the same answer each
time. ``DescriptorCache`` wraps the engine's ``find_faces`` (``attendance.engine``, which
the worker's processing and enrolment both call): the first call for a photo runs the real
engine, later calls for the same pixels and the same face settings get a copy of that
result. It never makes a result up: whatever it returns, the engine returned for exactly
these pixels and settings (``tests/test_descriptor_cache.py`` proves it).

The conftest installs one for the session in every test except those marked ``engine``
or ``benchmark`` (tests of the engine's own behaviour or speed run it every time). A
Celery worker process computes its own descriptors: it does not share this cache.
"""
import copy
import hashlib

import numpy as np


def face_settings() -> tuple:
    """Every ``FACE_*`` Django setting as ``((name, repr(value)), ...)``, sorted by name:
    the settings that can change what the engine finds (upsampling, largest side, landmark
    points, descriptor engine, ...), so a test that changes one gets the engine's answer
    for it. Settings of matching (``FACE_MATCH_*``) are included too: harmless, as a
    changed one only costs a fresh computation."""
    from django.conf import settings

    return tuple(sorted((name, repr(getattr(settings, name))) for name in dir(settings) if name.startswith("FACE_")))


def pixels_key(rgb: np.ndarray) -> tuple:
    """``(shape, dtype, blake2b digest of the pixels)`` of a decoded photo ``(H, W, 3) uint8``."""
    pixels = np.ascontiguousarray(rgb)
    return pixels.shape, str(pixels.dtype), hashlib.blake2b(pixels.data, digest_size=16).hexdigest()


class DescriptorCache:
    """A drop-in for ``attendance.engine.find_faces(rgb, timings=None)`` that remembers results.

    Keyed by ``pixels_key(rgb)`` and ``face_settings()``. A hit returns a deep copy of the
    stored faces (``faces.DetectedFace`` list; their descriptor arrays are the
    engine's ``(128,) float32``, copied so a caller cannot change the stored ones) and fills
    ``timings`` with the seconds per stage measured when the engine ran.

    Args:
        find_faces: the real function, called on a miss as ``find_faces(rgb, timings)``.
    """

    def __init__(self, find_faces):
        self.find_faces = find_faces
        self.results: dict[tuple, tuple[list, dict]] = {}
        self.hits = 0
        self.misses = 0

    def __call__(self, rgb: np.ndarray, timings: dict | None = None) -> list:
        key = (pixels_key(rgb), face_settings())
        if key in self.results:
            self.hits += 1
        else:
            self.misses += 1
            measured: dict = {}
            self.results[key] = (self.find_faces(rgb, measured), measured)
        faces, measured = self.results[key]
        if timings is not None:
            timings.update(measured)
        return copy.deepcopy(faces)
