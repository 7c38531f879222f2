"""Per-photo detection figures for the speed benchmark: the faces each pass of the
configured detector found, and detection recall against the benchmark's truth boxes,
beside the "hog" detector that always detects at the finest scale (before issue 17)."""
import time

from django.conf import settings

from faces.detectors import make_detector

#: The detector the benchmark compares the configured one with: dlib's HOG always at
#: the finest scale (``FACE_DETECTION_UPSAMPLE`` at ``FACE_DETECTION_MAX_SIDE``).
BASELINE_DETECTOR = "hog"


def detection_recall(boxes, truth_boxes: dict) -> tuple[int, int]:
    """``(found, total)``: how many of the truth faces (``{name: [x, y, side, side]}``, in
    the upright photo's pixels, from make_classroom.py's truth.json) have a detected box
    (``FaceBox``) whose centre lies inside their box."""
    found = 0
    for x, y, width, height in truth_boxes.values():
        found += any(x <= (b.left + b.right) / 2 <= x + width and y <= (b.top + b.bottom) / 2 <= y + height
                     for b in boxes)
    return found, len(truth_boxes)


def _detector(name: str):
    return make_detector(name, upsample=settings.FACE_DETECTION_UPSAMPLE, max_side=settings.FACE_DETECTION_MAX_SIDE,
                         small_face_px=settings.FACE_DETECTION_SMALL_FACE_PX, threads=settings.FACE_ENGINE_THREADS)


def compare_detectors(rgb, truth_boxes: dict) -> dict:
    """Detection alone on one decoded photo, by the configured detector and the baseline.

    Args:
        rgb: ``(H, W, 3) uint8`` upright photo (as the worker decodes it).
        truth_boxes: the photo's truth boxes (``detection_recall``).

    Returns:
        ``{"new": {...}, "old": {...}}``, each with ``seconds``, ``cpu_seconds`` (all
        threads' CPU time, ``time.process_time``), ``faces`` (boxes found),
        ``found`` (truth faces with a box) and ``truth``; "new" also has ``passes``:
        ``[{"scale", "seconds", "faces", "new"}]`` when the detector keeps its passes
        (``faces.detectors.coarse_to_fine``).
    """
    result = {}
    for key, name in (("new", settings.FACE_DETECTOR), ("old", BASELINE_DETECTOR)):
        detector = _detector(name)
        started, cpu_started = time.perf_counter(), time.process_time()
        found = detector.detect(rgb)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        hits, total = detection_recall([box for box, _ in found], truth_boxes)
        result[key] = {"detector": name, "seconds": round(seconds, 4), "cpu_seconds": round(cpu, 4),
                       "faces": len(found), "found": hits, "truth": total}
        passes = getattr(detector, "passes", None)
        if passes is not None:
            result[key]["passes"] = [{"scale": p.scale, "seconds": round(p.seconds, 4), "faces": p.faces, "new": p.new}
                                     for p in passes]
    return result


def describe(comparison: dict) -> str:
    """One line for the report: the passes and detection recall of new and old."""
    new, old = comparison["new"], comparison["old"]
    passes = "; ".join(f"x{p['scale']:.2f} {p['seconds']:.3f} s {p['faces']} faces (+{p['new']})"
                       for p in new.get("passes", []))
    return (f"  detection {new['detector']} {new['seconds']:.3f} s ({new['cpu_seconds']:.3f} CPU s), "
            f"{new['found']}/{new['truth']} truth faces [{passes}]; {old['detector']} {old['seconds']:.3f} s "
            f"({old['cpu_seconds']:.3f} CPU s), {old['found']}/{old['truth']}")
