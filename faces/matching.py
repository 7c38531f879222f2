"""Matching probe faces against a gallery of enrolled descriptors.

Terms: the *gallery* holds enrolled descriptors, several per student; a *probe* is a
face found in a class photo. Distances are Euclidean between descriptors of
``DESCRIPTOR_SIZE`` (128) elements, all made by the same embedder (``faces.embedders``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .embedders import DEFAULT_THRESHOLD, DESCRIPTOR_SIZE

#: The default embedder's own threshold, dlib's: two descriptors closer than 0.6 are the
#: same person (99.38 % accuracy on LFW, http://dlib.net/face_recognition.py.html).
DLIB_THRESHOLD = DEFAULT_THRESHOLD

MATCHED = "matched"
UNSURE = "unsure"
UNKNOWN = "unknown"


#: Why a face within its nearest student's threshold is unsure (``FaceMatch.reason``).
CLOSE_CALL = "close_call"  # another student is nearly as near (within the margin)
CLOSER_FACE = "closer_face"  # another face of the session is nearer to that student
TAKEN = "taken"  # a person gave that student to another face of the session
TOO_SMALL = "too_small"  # narrower than the minimum width: not judged at all
SMALL_FOR_PHOTO = "small_for_photo"  # much narrower than the other faces of its photo
SMALL_UNSURE = "small_unsure"  # narrower than the small-face width and not near enough for such a face


@dataclass(frozen=True)
class FaceMatch:
    """The decision for one probe face.

    ``label`` is the gallery label of the matched (or, when unsure, the most likely)
    student, or None. ``distance`` is the distance to the nearest student (``nan`` for a
    face not judged); ``runner_up_distance`` is the distance to the next nearest other
    student (``inf`` when there is none). ``reason`` says why an unsure face is unsure
    (one of the constants above; empty otherwise). ``gallery_row`` is the index of the
    gallery row that gave ``distance`` (None when unknown or not judged), so a caller can
    tell which enrolment photo or template a match relied on. ``candidates`` are the
    labels within their threshold, nearest first.
    """

    decision: str
    label: object | None
    distance: float
    runner_up_distance: float
    reason: str = ""
    gallery_row: int | None = None
    candidates: tuple = ()


def distance_matrix(probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Euclidean distances between every probe and every gallery descriptor.

    Args:
        probes: ``(N, D)`` float array.
        gallery: ``(M, D)`` float array.

    Returns:
        ``(N, M) float64`` array of distances.
    """
    probes = np.asarray(probes, dtype=np.float64).reshape(-1, DESCRIPTOR_SIZE)
    gallery = np.asarray(gallery, dtype=np.float64).reshape(-1, DESCRIPTOR_SIZE)
    squared = (
        np.einsum("ij,ij->i", probes, probes)[:, None]
        + np.einsum("ij,ij->i", gallery, gallery)[None, :]
        - 2.0 * probes @ gallery.T
    )
    return np.sqrt(np.maximum(squared, 0.0))


def distances_per_label(probes: np.ndarray, gallery: np.ndarray, labels: list, with_rows: bool = False):
    """Distance from each probe to each label: the smallest over that label's descriptors.

    Args:
        probes: ``(N, D)`` float array.
        gallery: ``(M, D)`` float array.
        labels: M labels (e.g. student ids), one per gallery row; repeats allowed.
        with_rows: also return, per probe and label, the gallery row giving that distance.

    Returns:
        ``((N, L) float64 distances, [L unique labels in first-seen order])``, and with
        ``with_rows`` a third item: ``(N, L) int`` gallery row indices.
    """
    unique = list(dict.fromkeys(labels))
    per_descriptor = distance_matrix(probes, gallery)
    result = np.full((per_descriptor.shape[0], len(unique)), np.inf)
    rows = np.zeros(result.shape, dtype=np.int64)
    index = {label: i for i, label in enumerate(unique)}
    for column, label in enumerate(labels):
        j = index[label]
        closer = per_descriptor[:, column] < result[:, j]
        result[closer, j] = per_descriptor[closer, column]
        rows[closer, j] = column
    return (result, unique, rows) if with_rows else (result, unique)


def tightened_threshold(threshold: float, gallery_size: int, per_doubling: float) -> float:
    """The threshold for a student with ``gallery_size`` gallery rows: ``threshold`` minus
    ``per_doubling`` for each doubling of the rows beyond one (more rows give a stranger
    more chances to fall near one of them by chance).

    Args:
        threshold: the threshold for one gallery row (a distance).
        gallery_size: how many rows count (>= 1; the app counts 1 + learnt templates).
        per_doubling: distance taken off per doubling (0 leaves the threshold as it is).

    Returns:
        The student's threshold (a distance).
    """
    return threshold - per_doubling * float(np.log2(max(1, gallery_size)))


def match_faces(
    probes: np.ndarray,
    gallery: np.ndarray,
    labels: list,
    threshold: float = DLIB_THRESHOLD,
    margin: float = 0.0,
    taken=(),
    label_thresholds: dict | None = None,
    max_candidates: int = 3,
    strict_mutual_best: bool = False,
) -> list[FaceMatch]:
    """Decide who each probe face is: a student only when that student is clearly the face's
    best match and the face is that student's best face (mutual best).

    A face is ``matched`` to its nearest student when all of these hold:

    - the distance is at most the student's threshold (``label_thresholds[label]``, else
      ``threshold``);
    - every other student is at least ``margin`` further away;
    - no other probe whose nearest student is the same one is nearer to that student
      (ties: the earlier probe); with ``strict_mutual_best``, no other probe at all (even
      one that is clearly another student's face: issue 13's benchmarks lost 2-7 presents
      per set that way, README "Accuracy");
    - the student is not in ``taken`` (given to another face by a person).

    Otherwise a face within its nearest student's threshold is ``unsure`` with that
    student as its label and a reason (``CLOSE_CALL``, ``CLOSER_FACE``, ``TAKEN``); a face
    farther than that is ``unknown`` (a stranger, a bystander, a student not enrolled).
    A face is never given to the student it fits second best, and no assignment is
    searched that would maximise the number of matches: a face that lost its student
    to a closer face stays unsure instead of taking an absent student's place.

    Args:
        probes: ``(N, D)`` float array of face descriptors (the session's undecided faces).
        gallery: ``(M, D)`` float array of gallery descriptors (enrolment photos, templates).
        labels: M labels, one per gallery row (several rows may share a label).
        threshold: largest distance accepted as the same person; dlib's is 0.6.
        margin: smallest gap required between the nearest student and the runner-up.
        taken: labels a person already gave to another face of the session.
        label_thresholds: optional per-label thresholds (e.g. tightened for a large gallery).
        max_candidates: how many labels within their threshold to list per face.
        strict_mutual_best: compare a face with every other probe, not only those that
            claim the same student.

    Returns:
        N ``FaceMatch`` objects in probe order.
    """
    probes = np.asarray(probes).reshape(-1, DESCRIPTOR_SIZE)
    if len(probes) == 0:
        return []
    if len(labels) == 0:
        return [FaceMatch(UNKNOWN, None, float("inf"), float("inf")) for _ in range(len(probes))]
    distances, unique, rows = distances_per_label(probes, gallery, labels, with_rows=True)
    limits = np.array([(label_thresholds or {}).get(label, threshold) for label in unique], dtype=np.float64)
    taken = set(taken)
    # For each label, the probe nearest to it among those whose nearest label it is (or,
    # strict, among all probes); argmin takes the first of equal distances.
    if strict_mutual_best:
        best_probe = np.argmin(distances, axis=0)
    else:
        claims = np.argmin(distances, axis=1)[:, None] == np.arange(distances.shape[1])[None, :]
        best_probe = np.argmin(np.where(claims, distances, np.inf), axis=0)
    results = []
    for i in range(len(probes)):
        order = np.argsort(distances[i], kind="stable")
        nearest = int(order[0])
        distance = float(distances[i, nearest])
        runner_up = float(distances[i, order[1]]) if len(order) > 1 else float("inf")
        within = [int(j) for j in order if distances[i, j] <= limits[j]]
        candidates = tuple(unique[j] for j in within[:max_candidates])
        row = int(rows[i, nearest])
        if distance > limits[nearest]:
            results.append(FaceMatch(UNKNOWN, None, distance, runner_up, candidates=candidates))
            continue
        label = unique[nearest]
        if label in taken:
            reason = TAKEN
        elif runner_up - distance < margin:
            reason = CLOSE_CALL
        elif best_probe[nearest] != i:
            reason = CLOSER_FACE
        else:
            results.append(FaceMatch(MATCHED, label, distance, runner_up, gallery_row=row, candidates=candidates))
            continue
        results.append(FaceMatch(UNSURE, label, distance, runner_up, reason=reason, gallery_row=row,
                                 candidates=candidates))
    return results


def decide_faces(
    probes: np.ndarray,
    widths: list[int],
    gallery: np.ndarray,
    labels: list,
    threshold: float = DLIB_THRESHOLD,
    margin: float = 0.0,
    min_width: int = 0,
    taken=(),
    label_thresholds: dict | None = None,
    groups: list | None = None,
    min_relative_width: float = 0.0,
    strict_mutual_best: bool = False,
    small_width: int = 0,
    small_threshold: float | None = None,
    small_margin: float = 0.0,
) -> list[FaceMatch]:
    """``match_faces`` for the faces wide enough to judge; the others come back ``unsure``
    with no label and the reason ``TOO_SMALL`` or ``SMALL_FOR_PHOTO`` (they go to review).

    A face is too small when it is narrower than ``min_width`` pixels, or narrower than
    ``min_relative_width`` times the median width of the faces of its group (its photo:
    a face much smaller than the photo's others is usually someone in the background).
    A face narrower than ``small_width`` that ``match_faces`` matched farther than
    ``small_threshold`` from its student, or with another student less than
    ``small_margin`` further, comes back ``unsure`` with that student and the reason
    ``SMALL_UNSURE``: descriptors of faces of 24-46 pixels lie farther from the student's
    own photo and nearer to other students' than those of larger faces (README "Small
    faces"), so such a face is only matched when it is near and clearly nearest.

    Args:
        probes: ``(N, D)`` float array; ``widths``: N face widths in pixels.
        gallery, labels, threshold, margin, taken, label_thresholds, strict_mutual_best: as for
            ``match_faces``.
        min_width: smallest face width, in pixels, that is matched at all.
        groups: N group keys (e.g. photo ids) for the relative width; None: one group.
        min_relative_width: fraction of the group's median face width (0: no such rule).
        small_width: width in pixels under which a face needs ``small_threshold`` and
            ``small_margin`` (0: no such rule).
        small_threshold: the largest distance at which a face narrower than ``small_width``
            is matched (None: ``threshold``).
        small_margin: the smallest gap to the runner-up student for such a face (a distance).

    Returns:
        N ``FaceMatch`` objects in probe order.
    """
    probes = np.asarray(probes).reshape(-1, DESCRIPTOR_SIZE)
    groups = list(groups) if groups is not None else [0] * len(probes)
    medians = {g: float(np.median([w for w, h in zip(widths, groups) if h == g])) for g in set(groups)}
    not_judged = {}
    for i, width in enumerate(widths):
        if width < min_width:
            not_judged[i] = TOO_SMALL
        elif min_relative_width > 0 and width < min_relative_width * medians[groups[i]]:
            not_judged[i] = SMALL_FOR_PHOTO
    judgeable = [i for i in range(len(probes)) if i not in not_judged]
    decided = dict(zip(judgeable, match_faces(probes[judgeable], gallery, labels, threshold, margin, taken,
                                               label_thresholds, strict_mutual_best=strict_mutual_best)))
    if small_width:
        limit = threshold if small_threshold is None else small_threshold
        for i, match in decided.items():
            if match.decision == MATCHED and widths[i] < small_width and (
                    match.distance > limit or match.runner_up_distance - match.distance < small_margin):
                decided[i] = replace(match, decision=UNSURE, reason=SMALL_UNSURE)
    return [decided.get(i) or FaceMatch(UNSURE, None, float("nan"), float("nan"), reason=not_judged[i])
            for i in range(len(probes))]


#: Rows of the gallery per matrix-vector product in ``GalleryIndex.nearest``: 1 MB of
#: float32 descriptors, small enough that OpenBLAS runs each product on one thread.
#: One product over 100,000 rows (51 MB, memory-bound) ran on 2 threads in 4.5-5.6 ms
#: on a quiet 2-core machine (issue 17) and 10-20 ms on a loaded one, where chunks of
#: 1,024-2,048 rows took 2-3 ms (README "Speed").
GALLERY_CHUNK_ROWS = 2048


class GalleryIndex:
    """Exhaustive nearest-neighbour search over a large gallery (a whole district).

    Keeps the gallery as ``(M, D) float32`` with its squared norms precomputed, so a
    query is one matrix-vector product (about 13 million multiply-adds and 51 MB read
    for 100,000 descriptors), done in chunks of ``GALLERY_CHUNK_ROWS`` rows. Exact,
    unlike an approximate vector index; pgvector or faiss would be the next step past
    a few million descriptors.
    """

    def __init__(self, gallery: np.ndarray):
        self.gallery = np.ascontiguousarray(np.asarray(gallery, dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE))
        self.squared_norms = np.einsum("ij,ij->i", self.gallery, self.gallery)

    def nearest(self, probe: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest gallery rows to one ``(D,)`` probe: ``(indices (k,), distances (k,))``,
        nearest first; fewer when the gallery has fewer rows."""
        probe = np.asarray(probe, dtype=np.float32).reshape(DESCRIPTOR_SIZE)
        squared = np.empty(len(self.gallery), dtype=np.float32)
        minus_twice = -2.0 * probe
        for start in range(0, len(squared), GALLERY_CHUNK_ROWS):
            np.matmul(self.gallery[start:start + GALLERY_CHUNK_ROWS], minus_twice,
                      out=squared[start:start + GALLERY_CHUNK_ROWS])
        squared += self.squared_norms
        squared += float(probe @ probe)
        k = min(k, len(squared))
        if k == 1:
            order = np.array([np.argmin(squared)]) if len(squared) else np.array([], dtype=np.intp)
        else:
            candidates = np.argpartition(squared, k - 1)[:k]
            order = candidates[np.argsort(squared[candidates])]
        return order, np.sqrt(np.maximum(squared[order], 0.0))
