"""Choosing the face to enrol from an enrolment photo."""
from __future__ import annotations

from .errors import MultipleFacesFound, NoFaceFound
from .interfaces import DetectedFace

#: The largest face is taken as the one to enrol when its area is at least this many
#: times the next largest face's. Measured on the 53 photos of ../shared/faces/identities
#: in which dlib's HOG detector finds 2-3 faces: wherever the largest face had at least
#: 1.27x the area of the next, it was the labelled person; the 5 photos where it was not
#: all had ratios below 1.12. 1.5 keeps a margin on both sides.
DOMINANT_FACE_AREA_RATIO = 1.5


def _contains_centre(face: DetectedFace, width: int, height: int) -> bool:
    box = face.box
    return box.left <= width / 2 < box.right and box.top <= height / 2 < box.bottom


def select_enrolment_face(
    faces: list[DetectedFace],
    dominant_ratio: float = DOMINANT_FACE_AREA_RATIO,
    image_size: tuple[int, int] | None = None,
) -> DetectedFace:
    """The one face an enrolment photo is about.

    A photo with several faces is accepted when one face is clearly the subject:

    * it is ``dominant_ratio`` times larger (by area) than every other face; or
    * (with ``image_size``) it is the only face whose box contains the centre of the
      photo, and no other face is ``dominant_ratio`` times larger than it. Portraits are
      framed on their subject: in all 53 photos of ../shared/faces/identities where
      dlib's HOG detector finds 2-3 faces, exactly one box contains the centre and it is
      the labelled person (checked by descriptor distance to the person's other photos),
      including the 5 photos where the largest face is someone else.

    Args:
        faces: every face found in the photo (``faces.pipeline.find_faces``).
        dominant_ratio: the area ratio above.
        image_size: ``(width, height)`` of the upright photo in pixels, for the centre rule.

    Returns:
        the single face, the clearly dominant one, or the centred one.

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
    if image_size is not None:
        centred = [face for face in faces if _contains_centre(face, *image_size)]
        if len(centred) == 1 and largest.box.width * largest.box.height < dominant_ratio * (
            centred[0].box.width * centred[0].box.height
        ):
            return centred[0]
    raise MultipleFacesFound(
        f"This photo shows {len(faces)} faces and it is not clear which one is the student (none is much "
        "larger than the others or alone at the centre); use a photo of the student alone."
    )
