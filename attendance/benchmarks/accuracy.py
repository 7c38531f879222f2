"""The accuracy benchmark: our pipeline and face_recognition's recipes on a labelled classroom.

A benchmark folder comes from ``../shared/tools/make_classroom.py``: ``enrol/<Name>/*.jpg``,
``classes/*.jpg`` and ``truth.json``. Each class photo is scored as its own session.
Runs the same engine functions (with the same settings) as the Celery tasks, without
the database.
"""
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings

from faces import DEFAULT_THRESHOLD, DESCRIPTOR_SIZE
from faces.errors import ImageError
from faces.matching import UNSURE, distance_matrix

from attendance import engine
from attendance.roster.zip_enrolment import IMAGE_SUFFIXES

REFERENCE_TOLERANCE = DEFAULT_THRESHOLD  # face_recognition's default tolerance: dlib's 0.6


@dataclass
class Score:
    present: int = 0
    found: int = 0
    false_presents: int = 0
    faces: int = 0
    review: int = 0
    details: list = field(default_factory=list)

    def add(self, photo: str, truly_present: set, marked: set, faces: int, review: int) -> None:
        self.present += len(truly_present)
        self.found += len(truly_present & marked)
        self.false_presents += len(marked - truly_present)
        self.faces += faces
        self.review += review
        self.details.append({"photo": photo, "missed": sorted(truly_present - marked),
                             "false_present": sorted(marked - truly_present), "faces": faces, "review": review})

    def summary(self) -> dict:
        return {
            "recall": round(self.found / self.present, 4) if self.present else None,
            "false_presents": self.false_presents,
            "review_rate": round(self.review / self.faces, 4) if self.faces else 0.0,
            "present": self.present, "found": self.found, "faces": self.faces, "review_faces": self.review,
        }


def load_truth(bench: Path) -> dict:
    return json.loads((bench / "truth.json").read_text())


def enrol_our_way(bench: Path) -> tuple[np.ndarray, list[str], dict]:
    """Enrolment as the worker does it: quality gate, then the duplicate check.

    Returns ``((M, 128) gallery, [M names], report)``; refused or flagged photos are not used.
    """
    gallery, labels, refused, flagged = [], [], {}, 0
    for path in sorted((bench / "enrol").glob("*/*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        name = path.parent.name
        try:
            face, _ = engine.enrolment_face(engine.decode_photo(path.read_bytes()))
        except ImageError as exc:
            refused[exc.code] = refused.get(exc.code, 0) + 1
            continue
        others = [i for i, label in enumerate(labels) if label != name]
        if others:
            nearest = distance_matrix(face.descriptor[None, :], np.array(gallery)[others]).min()
            if nearest <= settings.ENROLMENT_DUPLICATE_THRESHOLD:
                flagged += 1
                continue
        gallery.append(face.descriptor)
        labels.append(name)
    report = {"photos_used": len(labels), "students_enrolled": len(set(labels)), "refused": refused,
              "flagged_as_duplicates": flagged}
    return np.array(gallery, dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE), labels, report


#: Why a present student was missed (``miss_reasons`` in the result's details).
NOT_ENROLLED, NO_FACE_FOUND, TOO_FAR, NOT_CHOSEN = "not_enrolled", "no_face_found", "too_far", "not_chosen"


def miss_reason(name: str, box: list, faces, gallery: np.ndarray, labels: list[str]) -> str:
    """Why the student ``name``, whose face is inside ``box`` ([x, y, w, h] in upright
    pixels, from truth.json), was not marked present: not enrolled; no face found in the
    box; the face found there is farther than the threshold from all their enrolment
    photos; or it was within the threshold but matched to someone else or sent to review.
    """
    own = [i for i, label in enumerate(labels) if label == name]
    if not own:
        return NOT_ENROLLED
    face = face_in_box(box, faces)
    if face is None:
        return NO_FACE_FOUND
    if distance_matrix(face.descriptor[None, :], gallery[own]).min() > settings.FACE_MATCH_THRESHOLD:
        return TOO_FAR
    return NOT_CHOSEN


#: Face width bands of ``by_width`` (pixels, lower bound included): HOG upsampled twice
#: gives boxes of about 26, 32, 40 and 46 px on the small-face classrooms (README "Small faces").
WIDTH_BANDS = ((0, 32, "under 32 px"), (32, 40, "32-39 px"), (40, 48, "40-47 px"), (48, 10**9, "48 px and over"))
NO_FACE = "no face found"


def width_band(width: int | None) -> str:
    """The ``WIDTH_BANDS`` name of a face ``width`` pixels wide (``NO_FACE`` for None)."""
    if width is None:
        return NO_FACE
    return next(name for low, high, name in WIDTH_BANDS if low <= width < high)


def face_in_box(box: list, faces):
    """The widest face whose centre lies in ``box`` ([x, y, w, h], truth.json), or None."""
    x, y, w, h = box
    inside = [f for f in faces
              if x <= (f.box.left + f.box.right) / 2 < x + w and y <= (f.box.top + f.box.bottom) / 2 < y + h]
    return max(inside, key=lambda f: f.box.width) if inside else None


def by_width(details: list) -> dict:
    """Recall and false presents per face width band, from ``run_ours``'s details.

    Returns:
        ``{band: {"present", "found", "recall", "false_presents", "review"}}``: a present
        student counts in the band of the face found in their tile (``NO_FACE`` when
        none); a false present and a face sent to review in the band of their face.
    """
    bands = {name: {"present": 0, "found": 0, "false_presents": 0, "review": 0}
             for name in [name for _, _, name in WIDTH_BANDS] + [NO_FACE]}
    for item in details:
        for width, found in item["present_widths"]:
            bands[width_band(width)]["present"] += 1
            bands[width_band(width)]["found"] += found
        for width in item["false_present_widths"]:
            bands[width_band(width)]["false_presents"] += 1
        for width in item["review_widths"]:
            bands[width_band(width)]["review"] += 1
    for figures in bands.values():
        figures["recall"] = round(figures["found"] / figures["present"], 4) if figures["present"] else None
    return bands


def run_ours(bench: Path, truth: dict, gallery, labels) -> Score:
    score = Score()
    for photo, snapshot in sorted(truth["snapshots"].items()):
        faces = engine.find_faces(engine.decode_photo((bench / photo).read_bytes()))
        probes = np.array([f.descriptor for f in faces], dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)
        matches = engine.match(probes, [f.box.width for f in faces], gallery, labels)
        marked = {m.label for m in matches if m.decision == "matched"}
        present = set(snapshot["present"])
        own_faces = {name: face_in_box(box, faces) for name, box in snapshot.get("boxes", {}).items()}
        widths = {
            "present_widths": [(own_faces[name].box.width if own_faces.get(name) else None, name in marked)
                               for name in sorted(present)],
            "false_present_widths": [f.box.width for f, m in zip(faces, matches)
                                     if m.decision == "matched" and m.label not in present],
            "review_widths": [f.box.width for f, m in zip(faces, matches) if m.decision == UNSURE],
        }
        score.add(photo, set(snapshot["present"]), marked, len(faces), sum(m.decision == UNSURE for m in matches))
        missed = sorted(set(snapshot["present"]) - marked)
        score.details[-1].update(widths)
        score.details[-1]["miss_reasons"] = {
            name: miss_reason(name, snapshot["boxes"][name], faces, gallery, labels)
            for name in missed if name in snapshot.get("boxes", {})
        }
    return score


def run_reference(bench: Path, truth: dict) -> dict:
    """face_recognition's usual recipes at tolerance 0.6: first match and nearest match."""
    import face_recognition

    known, names = [], []
    for path in sorted((bench / "enrol").glob("*/*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            encodings = face_recognition.face_encodings(face_recognition.load_image_file(path))
            if encodings:
                known.append(encodings[0])
                names.append(path.parent.name)
    first, nearest = Score(), Score()
    for photo, snapshot in sorted(truth["snapshots"].items()):
        image = face_recognition.load_image_file(bench / photo)
        encodings = face_recognition.face_encodings(image, face_recognition.face_locations(image, 1))
        marked_first, marked_nearest = set(), set()
        for encoding in encodings:
            matches = face_recognition.compare_faces(known, encoding, tolerance=REFERENCE_TOLERANCE)
            if True in matches:
                marked_first.add(names[matches.index(True)])
            distances = face_recognition.face_distance(known, encoding)
            if len(distances) and distances.min() <= REFERENCE_TOLERANCE:
                marked_nearest.add(names[int(distances.argmin())])
        present = set(snapshot["present"])
        first.add(photo, present, marked_first, len(encodings), 0)
        nearest.add(photo, present, marked_nearest, len(encodings), 0)
    return {"first_match_0.6": first.summary(), "nearest_0.6": nearest.summary()}


def lfw_verification(lfw_dir: Path) -> dict:
    """Standard LFW verification (pairs.txt) on the pairs whose photos are present.

    Photos are looked for at ``<dir>/<Name>/<Name>_<nnnn>.jpg`` (the LFW layout). The face
    nearest each photo's centre is used (LFW's convention). Same person when the distance
    is at most ``FACE_MATCH_THRESHOLD``.
    """
    lines = (lfw_dir / "pairs.txt").read_text().split("\n")[1:]
    cache = {}

    def descriptor(name, number):
        path = lfw_dir / name / f"{name}_{int(number):04d}.jpg"
        if path not in cache:
            cache[path] = None
            if path.is_file():
                rgb = engine.decode_photo(path.read_bytes())
                faces = engine.find_faces(rgb)
                if faces:
                    h, w = rgb.shape[:2]
                    centre = min(faces, key=lambda f: ((f.box.left + f.box.right) / 2 - w / 2) ** 2
                                 + ((f.box.top + f.box.bottom) / 2 - h / 2) ** 2)
                    cache[path] = centre.descriptor
        return cache[path]

    correct = evaluated = skipped = 0
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            pair, same = ((parts[0], parts[1]), (parts[0], parts[2])), True
        elif len(parts) == 4:
            pair, same = ((parts[0], parts[1]), (parts[2], parts[3])), False
        else:
            continue
        a, b = descriptor(*pair[0]), descriptor(*pair[1])
        if a is None or b is None:
            skipped += 1
            continue
        evaluated += 1
        correct += (float(np.linalg.norm(a - b)) <= settings.FACE_MATCH_THRESHOLD) == same
    return {"pairs_evaluated": evaluated, "pairs_skipped": skipped,
            "accuracy": round(correct / evaluated, 4) if evaluated else None}


def run(bench: Path, reference: bool = True) -> dict:
    """The whole benchmark; returns the result dict printed as the command's last line."""
    started = time.monotonic()
    truth = load_truth(bench)
    gallery, labels, enrol_report = enrol_our_way(bench)
    ours = run_ours(bench, truth, gallery, labels)
    enrolled = set(labels)
    present_enrolled = [set(s["present"]) & enrolled for s in truth["snapshots"].values()]
    found_enrolled = sum(len(p) - len(set(d["missed"]) & p) for p, d in zip(present_enrolled, ours.details))
    total_enrolled = sum(len(p) for p in present_enrolled)
    reasons = [reason for d in ours.details for reason in d.get("miss_reasons", {}).values()]
    result = {
        **ours.summary(),
        # Each missed present student once per photo, by cause (see ``miss_reason``).
        "misses": {reason: reasons.count(reason) for reason in (NOT_ENROLLED, NO_FACE_FOUND, TOO_FAR, NOT_CHOSEN)},
        # Recall over the present students whose enrolment was accepted: separates
        # recognition misses from enrolment photos the quality gate refused.
        "recall_enrolled": round(found_enrolled / total_enrolled, 4) if total_enrolled else None,
        # Per width band of the face found in each present student's tile (README "Small faces").
        "by_width": by_width(ours.details),
        "photos": len(truth["snapshots"]),
        "enrolment": enrol_report,
        "details": ours.details,
        "settings": {
            "threshold": settings.FACE_MATCH_THRESHOLD, "margin": settings.FACE_MATCH_MARGIN,
            "min_probe_px": settings.FACE_MIN_PROBE_PX, "upsample": settings.FACE_DETECTION_UPSAMPLE,
            "small_face_px": settings.FACE_DETECTION_SMALL_FACE_PX, "landmarks": settings.FACE_LANDMARK_POINTS,
            "small_probe_px": settings.FACE_SMALL_PROBE_PX, "small_margin": settings.FACE_SMALL_MATCH_MARGIN,
        },
    }
    if reference:
        result["reference"] = run_reference(bench, truth)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result
