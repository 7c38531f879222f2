"""The detector benchmark: seconds per photo and faces found by each face detector.

On the class photos of a folder made by make_classroom.py, each detector named (HOG and
the MMOD CNN at chosen upsampling, dlib's own MMOD optionally) runs on every photo; a
truth face counts as found when the centre of a detected box lies in its tile
(truth.json's ``boxes``, ``[x, y, w, h]``), and a box whose centre lies in no tile is a
false detection. Times are the best of ``repeat`` runs (the shared machine's load
makes single runs vary by 2-3x). Nothing here touches the database.
"""
import resource
import statistics
import time
from pathlib import Path

import dlib

from faces import images, model_files
from faces.detectors import hog
from faces.detectors.mmod import detect_raw

from attendance.benchmarks.accuracy import load_truth


def _hog(rgb, upsample, threads):
    return [(box.left, box.top, box.right, box.bottom) for box, _ in hog.detect_faces(rgb, upsample, threads=threads)]


def _mmod(rgb, upsample, threads):
    return [(left, top, right + 1, bottom + 1) for (left, top, right, bottom), _ in detect_raw(rgb, upsample, threads)]


_DLIB_CNN = []


def _dlib_mmod(rgb, upsample, threads):
    if not _DLIB_CNN:
        _DLIB_CNN.append(dlib.cnn_face_detection_model_v1(model_files.verified_path(model_files.MMOD_MODEL)))
    return [(d.rect.left(), d.rect.top(), d.rect.right() + 1, d.rect.bottom() + 1) for d in _DLIB_CNN[0](rgb, upsample)]


#: Detector name -> function(rgb, upsample, threads) -> [(left, top, right, bottom)].
DETECTORS = {"hog": _hog, "mmod": _mmod, "dlib-mmod": _dlib_mmod}


def score(boxes: list[tuple], truth_tiles: dict) -> tuple[int, int]:
    """``(truth faces found, false boxes)``: a tile ``[x, y, w, h]`` is found when some
    box's centre lies in it; a box whose centre lies in no tile is false."""
    centres = [((left + right) / 2, (top + bottom) / 2) for left, top, right, bottom in boxes]

    def inside(centre, tile):
        x, y, w, h = tile
        return x <= centre[0] < x + w and y <= centre[1] < y + h

    found = sum(any(inside(c, tile) for c in centres) for tile in truth_tiles.values())
    false = sum(not any(inside(c, tile) for tile in truth_tiles.values()) for c in centres)
    return found, false


def run(bench: Path, runs: list[tuple[str, int]], threads: int = 2, repeat: int = 3, report=print) -> dict:
    """Time and score each ``(detector, upsample)`` of ``runs`` on every class photo.

    Returns:
        ``{"photos": {name: {"size": [w, h], "faces": n, "<detector>/<upsample>":
        {"seconds", "found", "false"}}}, "summary": {"<detector>/<upsample>":
        {"median_seconds", "recall", "false"}}, "peak_rss_mb": this process's peak memory}``.
    """
    truth = load_truth(bench)
    photos, totals = {}, {f"{name}/{up}": {"seconds": [], "found": 0, "false": 0} for name, up in runs}
    faces = 0
    for name, entry in sorted(truth["snapshots"].items()):
        rgb = images.load_rgb((bench / name).read_bytes())
        tiles = entry["boxes"]
        faces += len(tiles)
        row = {"size": [rgb.shape[1], rgb.shape[0]], "faces": len(tiles)}
        for detector, upsample in runs:
            key = f"{detector}/{upsample}"
            best, boxes = float("inf"), []
            for _ in range(1 if detector == "dlib-mmod" else repeat):
                started = time.perf_counter()
                boxes = DETECTORS[detector](rgb, upsample, threads)
                best = min(best, time.perf_counter() - started)
            found, false = score(boxes, tiles)
            row[key] = {"seconds": round(best, 3), "found": found, "false": false}
            totals[key]["seconds"].append(best)
            totals[key]["found"] += found
            totals[key]["false"] += false
            report(f"{name} {rgb.shape[1]}x{rgb.shape[0]} {key}: {best:.2f} s, {found}/{len(tiles)} faces, "
                   f"{false} false")
        photos[name] = row
    summary = {key: {"median_seconds": round(statistics.median(t["seconds"]), 3),
                     "recall": round(t["found"] / max(1, faces), 4), "false": t["false"]}
               for key, t in totals.items()}
    # Linux reports KB: the process's peak resident memory over all runs.
    peak_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"photos": photos, "summary": summary, "peak_rss_mb": peak_mb}
