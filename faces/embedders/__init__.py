"""Descriptor makers ("embedders", ``faces.interfaces.Embedder``), one module per backend.

``EMBEDDERS`` names each backend; ``DESCRIPTOR_SIZE`` and ``DEFAULT_THRESHOLD`` are those
of the default one, which every stored descriptor of this project comes from today.
"""
from __future__ import annotations

from ..interfaces import Embedder
from .dlib_resnet import DlibResNetEmbedder

#: Backend name -> class taking ``(landmark_points, engine, threads)`` keywords.
EMBEDDERS = {"dlib-resnet-v1": DlibResNetEmbedder}
DEFAULT_EMBEDDER = "dlib-resnet-v1"
#: Length of the default embedder's descriptors (128).
DESCRIPTOR_SIZE = EMBEDDERS[DEFAULT_EMBEDDER].descriptor_size
#: The default embedder's same-person distance (dlib's 0.6; ``dlib_resnet.DEFAULT_THRESHOLD``).
DEFAULT_THRESHOLD = EMBEDDERS[DEFAULT_EMBEDDER].default_threshold


def make_embedder(name: str = DEFAULT_EMBEDDER, **options) -> Embedder:
    """The embedder called ``name`` with its ``options`` (e.g. ``landmark_points=5,
    engine="numpy", threads=2``); loads no model file.

    Raises:
        ValueError: unknown ``name`` or option value.
    """
    if name not in EMBEDDERS:
        raise ValueError(f"Embedder must be one of {sorted(EMBEDDERS)}, not {name!r}.")
    return EMBEDDERS[name](**options)
