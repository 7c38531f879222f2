"""The speed benchmark: seconds per stage of the real pipeline, against face_recognition's recipe.

Runs the worker's own functions in this process (``encode_enrolment_photo``,
``process_class_photo``) on a temporary class in the configured database, which is
deleted afterwards with its photos.
"""
import datetime
import multiprocessing
import resource
import statistics
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import override_settings

from faces import DESCRIPTOR_SIZE
from faces.matching import GalleryIndex

from attendance import engine
from attendance.benchmarks import speed_detection
from attendance.benchmarks.accuracy import load_truth
from attendance.benchmarks.speed_detection import BASELINE_DETECTOR
from attendance.roster.enrolment import encode_enrolment_photo
from attendance.models import ClassPhoto, ClassSession, Consent, EnrolmentPhoto, SchoolClass, Student, descriptor_from_bytes
from attendance.registers.recognition import process_class_photo
from attendance.registers.register import roster_gallery
from attendance.roster.zip_enrolment import IMAGE_SUFFIXES

STAGES = ("decode", "detection", "landmarks", "descriptors", "renditions", "matching", "database", "total")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_gallery_search(size: int = 100_000, queries: int = 50, seed: int = 0) -> float:
    """Median milliseconds to find the nearest of ``size`` random descriptors to one probe."""
    rng = np.random.default_rng(seed)
    gallery = rng.normal(0, 0.09, size=(size, DESCRIPTOR_SIZE)).astype(np.float32)  # dlib descriptors' spread
    index = GalleryIndex(gallery)
    times = []
    for probe in rng.normal(0, 0.09, size=(queries, DESCRIPTOR_SIZE)).astype(np.float32):
        started = time.perf_counter()
        index.nearest(probe)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _process_in_child(photo_id: int) -> str:
    from django.db import connections

    try:
        return process_class_photo(photo_id)
    finally:
        connections.close_all()


def photos_per_minute(school_class, photos: list[tuple[str, bytes]], processes: int, copies: int = 4) -> float:
    """Class photos processed per minute by ``processes`` worker processes at once.

    Each photo is uploaded ``copies`` times (each copy its own session) and every copy
    goes through ``process_class_photo``, the function the Celery task runs, in a pool
    of forked processes: the same work as a worker started with ``--concurrency
    processes``, without the broker's round trips (about a millisecond each).
    """
    from django.db import connections

    pending = []
    for copy in range(copies):
        for number, (name, data) in enumerate(photos):
            session = ClassSession.objects.create(school_class=school_class, date=f"2001-01-{number % 28 + 1:02d}",
                                                  period=f"throughput {processes}-{copy}-{number}")
            pending.append(ClassPhoto.objects.create(session=session, image=ContentFile(data, name=Path(name).name)).pk)
    connections.close_all()  # forked children must not share the parent's connection
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork")) as pool:
        statuses = list(pool.map(_process_in_child, pending))
    seconds = time.perf_counter() - started
    if any(status != ClassPhoto.DONE for status in statuses):
        raise RuntimeError(f"throughput run: photos ended as {sorted(set(statuses))}")
    return 60 * len(pending) / seconds


def run(bench: Path, reference: bool = True, report=print, worker_processes: tuple[int, ...] = (1, 2),
        baseline: bool = True) -> dict:
    """Time the pipeline on the benchmark folder ``bench`` (module docstring).

    With ``baseline``, each class photo is also processed with ``BASELINE_DETECTOR``
    (dlib's HOG always at the finest scale) in the same run, for its seconds and recall.
    Returns the figures printed as the command's JSON line."""
    truth = load_truth(bench)
    user = get_user_model().objects.create_user(f"benchmark-{uuid.uuid4().hex[:8]}", is_active=False)
    school_class = SchoolClass.objects.create(name=f"Speed benchmark {uuid.uuid4().hex[:8]}", teacher=user)
    try:
        return _run(bench, truth, school_class, reference, report, worker_processes, baseline)
    finally:
        # Cascades delete the photos' files too.
        Student.objects.filter(classes=school_class).delete()
        school_class.delete()
        user.delete()


def _run(bench, truth, school_class, reference, report, worker_processes, baseline) -> dict:
    enrol_seconds = []
    for path in sorted((bench / "enrol").glob("*/*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        student = school_class.students.filter(name=path.parent.name).first()
        if student is None:
            student = Student.objects.create(name=path.parent.name)
            school_class.students.add(student)
            # Public benchmark photos; without consent no face is ever given to a student.
            Consent.objects.create(student=student, given_by="Benchmark", given_on=datetime.date.today(),
                                   note="public benchmark photos (make_classroom.py)")
        started = time.perf_counter()
        photo = EnrolmentPhoto.objects.create(student=student, image=ContentFile(path.read_bytes(), name=path.name))
        encode_enrolment_photo(photo.pk)
        enrol_seconds.append(time.perf_counter() - started)

    rows, found, present = _process_photos(bench, truth, school_class, "benchmark", report)
    ours_peak = peak_rss_mb()  # before the baseline and the detectors' comparison, whose peak may be higher
    details = []
    for name, snapshot in sorted(truth["snapshots"].items()):
        comparison = speed_detection.compare_detectors(engine.decode_photo((bench / name).read_bytes()),
                                                       snapshot["boxes"])
        timings = dict(rows)[name]
        details.append({"photo": name, "seconds": round(timings["total"], 4),
                        "detection_seconds": round(timings.get("detection", 0.0), 4), **comparison})
        report(f"{name}:" + speed_detection.describe(comparison))
    if baseline:
        with override_settings(FACE_DETECTOR=BASELINE_DETECTOR):
            old_rows, old_found, old_present = _process_photos(bench, truth, school_class, "baseline", report)

    reference_seconds, reference_cpu = [], []
    if reference:
        import face_recognition

        for name in sorted(truth["snapshots"]):
            started, cpu_started = time.perf_counter(), time.process_time()
            image = face_recognition.load_image_file(bench / name)
            face_recognition.face_encodings(image, face_recognition.face_locations(image, 1))
            reference_seconds.append(time.perf_counter() - started)
            reference_cpu.append(time.process_time() - cpu_started)
            report(f"{name}: face_recognition recipe {reference_seconds[-1]:.3f} s")

    throughput = {}
    snapshots = [(name, (bench / name).read_bytes()) for name in sorted(truth["snapshots"])]
    for processes in worker_processes:
        throughput[str(processes)] = round(photos_per_minute(school_class, snapshots, processes), 1)
        report(f"{processes} worker process(es): {throughput[str(processes)]} photos per minute")

    medians = {stage: round(statistics.median(t.get(stage, 0.0) for _, t in rows), 4) for stage in STAGES}
    ours = medians["total"]
    old = {}
    if baseline:
        old = {"detector": BASELINE_DETECTOR, "recall": round(old_found / old_present, 4) if old_present else None,
               "seconds_per_photo": round(statistics.median(t["total"] for _, t in old_rows), 4),
               "detection_seconds": round(statistics.median(t.get("detection", 0.0) for _, t in old_rows), 4),
               "cpu_seconds_per_photo": round(statistics.median(t["cpu"] for _, t in old_rows), 4)}
    ref = round(statistics.median(reference_seconds), 4) if reference_seconds else None
    return {
        "seconds_per_photo": ours,
        "reference_seconds_per_photo": ref,
        "speedup": round(ref / ours, 2) if ref else None,
        "recall": round(found / present, 4) if present else None,
        # CPU seconds of all this process's threads: the work done, less disturbed than
        # the seconds by other processes on a shared machine.
        "cpu_seconds_per_photo": round(statistics.median(t["cpu"] for _, t in rows), 4),
        "reference_cpu_seconds_per_photo": round(statistics.median(reference_cpu), 4) if reference_cpu else None,
        "peak_rss_mb": round(ours_peak, 1),
        "median_seconds": medians,
        "faces_per_photo": statistics.median(t["faces"] for _, t in rows),
        "enrolment_seconds_per_photo": round(statistics.median(enrol_seconds), 4),
        "enrolment_photos_per_second": round(len(enrol_seconds) / sum(enrol_seconds), 2),
        "gallery_100k_search_ms": round(time_gallery_search(), 3),
        "photos_per_minute": throughput,
        "photos": len(rows),
        "detector": settings.FACE_DETECTOR,
        "baseline": old,
        "detection": {key: {"seconds": round(statistics.median(d[key]["seconds"] for d in details), 4),
                            "cpu_seconds": round(statistics.median(d[key]["cpu_seconds"] for d in details), 4),
                            "found": sum(d[key]["found"] for d in details),
                            "truth": sum(d[key]["truth"] for d in details)} for key in ("new", "old")},
        "per_photo": details,
    }


def _process_photos(bench, truth, school_class, label, report):
    """Each class photo through ``process_class_photo`` in a session of its own, timed.

    Returns ``(rows, found, present)``: ``[(name, timings)]`` (seconds per stage, and
    "cpu": CPU seconds of all threads), and the truth students marked present and truly
    present over all photos.
    """
    rows, found, present = [], 0, 0
    for number, (name, snapshot) in enumerate(sorted(truth["snapshots"].items())):
        session = ClassSession.objects.create(school_class=school_class, date=f"2000-01-{number % 28 + 1:02d}",
                                              period=f"{label} {number}")
        data = (bench / name).read_bytes()
        started, cpu_started = time.perf_counter(), time.process_time()
        photo = ClassPhoto.objects.create(session=session, image=ContentFile(data, name=Path(name).name))
        timings = {}
        process_class_photo(photo.pk, timings)
        timings["total"] = time.perf_counter() - started
        timings["cpu"] = time.process_time() - cpu_started
        timings["matching"] = _matching_seconds(photo, school_class)
        marked = {r.student.name for r in session.records.filter(status="present").select_related("student")}
        truly = set(snapshot["present"])
        found, present = found + len(truly & marked), present + len(truly)
        timings["faces"] = photo.faces.count()
        rows.append((name, timings))
        report(f"{name} ({settings.FACE_DETECTOR}): {timings['faces']} faces, {len(truly & marked)}/{len(truly)} "
               "present found; " + ", ".join(f"{s} {timings.get(s, 0):.3f} s" for s in STAGES))
    return rows, found, present


def _matching_seconds(photo: ClassPhoto, school_class) -> float:
    """Seconds to match the photo's faces against the roster (arrays already in memory)."""
    gallery = roster_gallery(school_class)
    faces = list(photo.faces.all())
    probes = np.array([descriptor_from_bytes(f.descriptor) for f in faces], dtype=np.float32).reshape(-1, DESCRIPTOR_SIZE)
    started = time.perf_counter()
    engine.match(probes, [f.width for f in faces], gallery.descriptors, gallery.labels)
    return time.perf_counter() - started
