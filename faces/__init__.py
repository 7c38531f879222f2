"""The face engine: decoding photos, finding faces, face descriptors and matching.

Nothing here knows about HTTP or Django. Functions take and return plain Python
values and numpy arrays; dlib objects stay private to this package. README.md in this
folder says which function to call for what, and how to add a detector or embedder.
"""
from .embedders import DEFAULT_THRESHOLD, DESCRIPTOR_SIZE
from .enrolment import select_enrolment_face
from .errors import FaceEngineError, ImageError, ModelFileError
from .images import load_rgb, open_image
from .interfaces import DetectedFace, Detector, Embedder, FaceBox
from .matching import decide_faces, distance_matrix, match_faces
from .pipeline import assess_quality, compute_descriptors, find_faces, model_id, run
from .quality import check_enrolment_quality

__all__ = [
    # Decoding photos (faces.images)
    "load_rgb", "open_image",
    # Finding faces and their descriptors (faces.pipeline)
    "find_faces", "run", "compute_descriptors", "model_id", "DESCRIPTOR_SIZE", "DEFAULT_THRESHOLD",
    # The seam (faces.interfaces)
    "Detector", "Embedder", "FaceBox", "DetectedFace",
    # Enrolment photos (faces.enrolment, faces.quality)
    "select_enrolment_face", "assess_quality", "check_enrolment_quality",
    # Matching (faces.matching)
    "distance_matrix", "match_faces", "decide_faces",
    # Errors (faces.errors)
    "FaceEngineError", "ImageError", "ModelFileError",
]
