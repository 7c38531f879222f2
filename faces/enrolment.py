"""Choosing the face to enrol from an enrolment photo."""
from __future__ import annotations

from .detection import DetectedFace
from .errors import MultipleFacesFound, NoFaceFound

#: The largest face is taken as the one to enrol when its area is at least this many
#: times the next largest face's. Measured on the 53 photos of ../shared/faces/identities
#: in which dlib's HOG detector finds 2-3 faces: wherever the largest face had at least
#: 1.27x the area of the next, it was the labelled person; the 5 photos where it was not
#: all had ratios below 1.12. 1.5 keeps a margin on both sides.
DOMINANT_FACE_AREA_RATIO = 1.5


def select_enrolment_face(faces: list[DetectedFace], dominant_ratio: float = DOMINANT_FACE_AREA_RATIO) -> DetectedFace:
    """The one face an enrolment photo is about.

    Args:
        faces: every face found in the photo (``detection.find_faces``).
        dominant_ratio: how many times larger (by area) the largest face must be than
            the second largest for a photo with several faces to be accepted.

    Returns:
        the single face, or the clearly dominant one.

    Raises:
        NoFaceFound: no face at all.
        MultipleFacesFound: several faces of similar size, so it is unclear who to enrol.
    """
    if not faces:
        raise NoFaceFound("No face was found in this photo.")
    if len(faces) == 1:
        return faces[0]
    by_area = sorted(faces, key=lambda f: f.box.width * f.box.height, reverse=True)
    largest, second = by_area[0], by_area[1]
    if largest.box.width * largest.box.height >= dominant_ratio * second.box.width * second.box.height:
        return largest
    raise MultipleFacesFound(
        f"This photo shows {len(faces)} faces of similar size; use a photo of the student alone."
    )
