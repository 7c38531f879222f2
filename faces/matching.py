"""Matching probe faces against a gallery of enrolled descriptors.

Terms: the *gallery* holds enrolled descriptors, several per student; a *probe* is a
face found in a class photo. Distances are Euclidean between 128-D descriptors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

#: dlib's own threshold: two descriptors closer than 0.6 are the same person
#: (99.38 % accuracy on LFW, http://dlib.net/face_recognition.py.html).
DLIB_THRESHOLD = 0.6

MATCHED = "matched"
UNSURE = "unsure"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class FaceMatch:
    """The decision for one probe face.

    ``label`` is the gallery label of the matched (or, when unsure, the most likely)
    student, or None. ``distance`` is the distance to that student (or to the
    nearest one when unknown); ``runner_up_distance`` is the distance to the next
    nearest other student (``inf`` when there is none).
    """

    decision: str
    label: object | None
    distance: float
    runner_up_distance: float


def distance_matrix(probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Euclidean distances between every probe and every gallery descriptor.

    Args:
        probes: ``(N, 128)`` float array.
        gallery: ``(M, 128)`` float array.

    Returns:
        ``(N, M) float64`` array of distances.
    """
    probes = np.asarray(probes, dtype=np.float64).reshape(-1, 128)
    gallery = np.asarray(gallery, dtype=np.float64).reshape(-1, 128)
    squared = (
        np.einsum("ij,ij->i", probes, probes)[:, None]
        + np.einsum("ij,ij->i", gallery, gallery)[None, :]
        - 2.0 * probes @ gallery.T
    )
    return np.sqrt(np.maximum(squared, 0.0))


def distances_per_label(probes: np.ndarray, gallery: np.ndarray, labels: list) -> tuple[np.ndarray, list]:
    """Distance from each probe to each label: the smallest over that label's descriptors.

    Args:
        probes: ``(N, 128)`` float array.
        gallery: ``(M, 128)`` float array.
        labels: M labels (e.g. student ids), one per gallery row; repeats allowed.

    Returns:
        ``((N, L) float64 distances, [L unique labels in first-seen order])``.
    """
    unique = list(dict.fromkeys(labels))
    per_descriptor = distance_matrix(probes, gallery)
    result = np.full((per_descriptor.shape[0], len(unique)), np.inf)
    index = {label: i for i, label in enumerate(unique)}
    for column, label in enumerate(labels):
        j = index[label]
        result[:, j] = np.minimum(result[:, j], per_descriptor[:, column])
    return result, unique


def match_faces(
    probes: np.ndarray,
    gallery: np.ndarray,
    labels: list,
    threshold: float = DLIB_THRESHOLD,
    margin: float = 0.0,
) -> list[FaceMatch]:
    """Decide who each probe face is, one student per face and one face per student.

    Faces and students are paired by optimal assignment (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``) over the per-student distances, so two
    faces in one photo can never both be the same student. A paired face is
    ``matched`` when its distance is at most ``threshold`` and every other student is
    at least ``margin`` further away; a face whose nearest student is within the
    threshold but fails the margin (or lost its student to a closer face) is
    ``unsure``; the rest are ``unknown`` (strangers, or students not enrolled).

    Args:
        probes: ``(N, 128)`` float array of face descriptors from one photo.
        gallery: ``(M, 128)`` float array of enrolled descriptors.
        labels: M labels, one per gallery row (several rows may share a label).
        threshold: largest distance accepted as the same person; dlib's is 0.6.
        margin: smallest gap required between the chosen student and the runner-up.

    Returns:
        N ``FaceMatch`` objects in probe order.
    """
    probes = np.asarray(probes).reshape(-1, 128)
    if len(probes) == 0:
        return []
    if len(labels) == 0:
        return [FaceMatch(UNKNOWN, None, float("inf"), float("inf")) for _ in range(len(probes))]
    distances, unique = distances_per_label(probes, gallery, labels)
    # Pairs beyond the threshold must never be chosen; a large finite cost keeps the
    # problem feasible for linear_sum_assignment.
    cost = np.where(distances <= threshold, distances, 1e6)
    rows, cols = linear_sum_assignment(cost)
    assigned = {row: col for row, col in zip(rows, cols) if distances[row, col] <= threshold}

    results = []
    for i in range(len(probes)):
        order = np.argsort(distances[i])
        nearest = int(order[0])
        if i in assigned:
            j = assigned[i]
            others = np.delete(distances[i], j)
            runner_up = float(others.min()) if others.size else float("inf")
            decision = MATCHED if runner_up - distances[i, j] >= margin else UNSURE
            results.append(FaceMatch(decision, unique[j], float(distances[i, j]), runner_up))
        else:
            runner_up = float(distances[i, order[1]]) if len(order) > 1 else float("inf")
            within = distances[i, nearest] <= threshold
            results.append(
                FaceMatch(UNSURE if within else UNKNOWN, unique[nearest] if within else None,
                          float(distances[i, nearest]), runner_up)
            )
    return results


def decide_faces(
    probes: np.ndarray,
    widths: list[int],
    gallery: np.ndarray,
    labels: list,
    threshold: float = DLIB_THRESHOLD,
    margin: float = 0.0,
    min_width: int = 0,
) -> list[FaceMatch]:
    """``match_faces`` for the faces at least ``min_width`` pixels wide; narrower faces are
    too small to judge and come back ``unsure`` with no label (they go to review).

    Args:
        probes: ``(N, 128)`` float array; ``widths``: N face widths in pixels.
        gallery, labels, threshold, margin: as for ``match_faces``.
        min_width: smallest face width, in pixels, that is matched at all.

    Returns:
        N ``FaceMatch`` objects in probe order.
    """
    probes = np.asarray(probes).reshape(-1, 128)
    judgeable = [i for i, width in enumerate(widths) if width >= min_width]
    decided = dict(zip(judgeable, match_faces(probes[judgeable], gallery, labels, threshold, margin)))
    too_small = FaceMatch(UNSURE, None, float("nan"), float("nan"))
    return [decided.get(i, too_small) for i in range(len(probes))]


class GalleryIndex:
    """Exhaustive nearest-neighbour search over a large gallery (a whole district).

    Keeps the gallery as ``(M, 128) float32`` with its squared norms precomputed, so a
    query is one matrix-vector product: about 13 million multiply-adds for 100,000
    descriptors. Exact, unlike an approximate vector index; pgvector or faiss would be
    the next step past a few million descriptors.
    """

    def __init__(self, gallery: np.ndarray):
        self.gallery = np.ascontiguousarray(np.asarray(gallery, dtype=np.float32).reshape(-1, 128))
        self.squared_norms = np.einsum("ij,ij->i", self.gallery, self.gallery)

    def nearest(self, probe: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest gallery rows to one ``(128,)`` probe: ``(indices (k,), distances (k,))``."""
        probe = np.asarray(probe, dtype=np.float32).reshape(128)
        squared = self.squared_norms - 2.0 * (self.gallery @ probe) + float(probe @ probe)
        k = min(k, len(squared))
        candidates = np.argpartition(squared, k - 1)[:k]
        order = candidates[np.argsort(squared[candidates])]
        return order, np.sqrt(np.maximum(squared[order], 0.0))
