"""Through a real Celery worker process and the real Redis: the acceptance run of issue 2."""
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.core.files import File
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from attendance.registers import sessions
from attendance.wiring.celery import app as celery_app
from attendance.models import AttendanceRecord, ClassPhoto, DetectedFace, EnrolmentPhoto, SchoolClass
from attendance.roster.zip_enrolment import folder_to_name

from .conftest import CONSENT, CONSENT_FIELDS, REPO, _database_url, celery_broker, start_worker, stop_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def wait_for(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker did not finish in time"
        time.sleep(0.3)


def test_upload_through_the_web_is_processed_by_the_worker(celery_worker_process, client, users, photo):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(users["admin"])
    client.post(reverse("class_create"), {"name": "7A", "teacher": users["teacher"].pk})
    school_class = SchoolClass.objects.get(name="7A")
    for name, relative in [("Barack Obama", "identities/Barack_Obama/1.jpg"), ("Joe Biden", "identities/Joe_Biden/1.jpg")]:
        client.post(reverse("student_enrol", args=[school_class.pk]), {**CONSENT_FIELDS,
            "name": name, "photos": SimpleUploadedFile("p.jpg", photo(relative).read_bytes())})
    wait_for(lambda: not EnrolmentPhoto.objects.filter(status="pending").exists())
    assert set(EnrolmentPhoto.objects.values_list("status", flat=True)) == {"ready"}

    client.force_login(users["teacher"])
    response = client.post(reverse("session_upload", args=[school_class.pk]), {
        "date": "2026-11-02", "period": "1",
        "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
    session_url = response["Location"]
    wait_for(lambda: client.get(session_url + "status.json").json()["finished"])
    page = client.get(session_url).content.decode()
    assert '<span class="face-name">Barack Obama</span>' in page and '<span class="face-name">Joe Biden</span>' in page
    assert ClassPhoto.objects.get().status == "done"


def manage(*args, timeout=600):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=_worker_env())


def _worker_env():
    # The command-line tools talk to the same test database, Redis queue and media root
    # as the worker process started by the fixture.
    import os

    from django.conf import settings
    from django.db import connection

    from attendance.wiring.celery import app as celery_app

    from .conftest import _database_url

    return dict(os.environ, DATABASE_URL=_database_url(connection.settings_dict),
                REDIS_URL=celery_app.conf.broker_url, CELERY_QUEUE=celery_app.conf.task_default_queue,
                MEDIA_ROOT=str(settings.MEDIA_ROOT))


def test_classroom_benchmark_through_the_worker(celery_worker_process, classroom, users):
    """Enrol 40 students, then each class photo as its own session: >= 95 % recall, no false present."""
    enrolled = manage("enrol", str(classroom / "enrol"), "--class", "Benchmark", "--teacher", "teacher", *CONSENT)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "40 of 40 students enrolled" in enrolled.stdout

    truth = json.loads((classroom / "truth.json").read_text())
    found = missed = false_present = 0
    for day, (relative, snapshot) in enumerate(sorted(truth["snapshots"].items()), start=1):
        result = manage("take_attendance", "--class", "Benchmark", "--date", f"2026-11-{day:02d}",
                        str(classroom / relative))
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout.strip().splitlines()[-1])
        present = {folder_to_name(n) for n in snapshot["present"]}
        marked = set(report["present"])
        assert marked | set(report["absent"]) == {folder_to_name(n) for n in truth["roster"]}
        found += len(present & marked)
        missed += len(present - marked)
        false_present += len(marked - present)
        assert report["unknown_faces"] >= len(snapshot["strangers"])
    assert false_present == 0
    assert found / (found + missed) >= 0.95


def test_worker_killed_in_the_middle_of_a_photo(classroom, users, redis_url, tmp_path, settings):
    """SIGKILL (out of memory, a container stopped) while a class photo is being processed:
    when a worker comes back, every photo is processed once and every record exists once."""
    call_command("enrol", str(classroom / "enrol"), "--class", "7K", "--teacher", "teacher", *CONSENT, "--inline")
    celery_app.conf.task_always_eager = False  # --inline switched this process to eager mode
    school_class = SchoolClass.objects.get(name="7K")
    queue = f"killed-{uuid.uuid4().hex[:8]}"
    database_url = _database_url(connection.settings_dict)
    media = settings.MEDIA_ROOT
    first = start_worker(queue, redis_url, media, database_url, tmp_path / "first.log")
    class_photos = sorted((classroom / "classes").glob("*.jpg"))
    with celery_broker(redis_url, queue):
        handles = [open(path, "rb") for path in class_photos]
        try:
            session, _ = sessions.upload_class_photos(
                school_class, "2026-11-04", "1", [File(h, name=p.name) for h, p in zip(handles, class_photos)])
        finally:
            for handle in handles:
                handle.close()
        wait_for(lambda: session.photos.filter(status=ClassPhoto.PROCESSING).exists(), timeout=60)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        stop_worker(first)
        interrupted = session.photos.get(status=ClassPhoto.PROCESSING)
        assert interrupted.claimed_by.endswith(f":{first.pid}")

        second = start_worker(queue, redis_url, media, database_url, tmp_path / "second.log")
        try:
            wait_for(lambda: not session.photos.exclude(status__in=[ClassPhoto.DONE, ClassPhoto.FAILED]).exists())
        finally:
            stop_worker(second)
        second_log = (tmp_path / "second.log").read_text()

    photos = {p.pk: p for p in session.photos.all()}
    assert {p.status for p in photos.values()} == {ClassPhoto.DONE}, [p.error for p in photos.values()]
    # The interrupted photo was claimed a second time, by the new worker; the others once.
    assert photos.pop(interrupted.pk).attempts == 2
    assert {p.attempts for p in photos.values()} == {1}
    assert "re-queued 1 stalled class photos" in second_log
    # Nothing doubled: one set of faces per photo, one record per rostered student.
    for photo in session.photos.all():
        boxes = list(DetectedFace.objects.filter(photo=photo).values_list("left", "top", "right", "bottom"))
        assert boxes and len(boxes) == len(set(boxes))
    records = AttendanceRecord.objects.filter(session=session)
    assert records.count() == school_class.students.count() == 40
    assert records.values("student").distinct().count() == 40
    assert records.filter(status=AttendanceRecord.PRESENT).count() >= 30


def test_two_workers_on_the_same_photo_uploaded_twice(classroom, users, redis_url, tmp_path, settings):
    """The same class photo uploaded twice in one session, and a second photo holding many of
    the same students, processed at the same time by two worker processes: each student has
    one record, and is matched by one face only (the other copy says "matched in another photo")."""
    call_command("enrol", str(classroom / "enrol"), "--class", "7D", "--teacher", "teacher", *CONSENT, "--inline")
    celery_app.conf.task_always_eager = False  # --inline switched this process to eager mode
    school_class = SchoolClass.objects.get(name="7D")
    queue = f"twice-{uuid.uuid4().hex[:8]}"
    database_url = _database_url(connection.settings_dict)
    workers = [start_worker(queue, redis_url, settings.MEDIA_ROOT, database_url, tmp_path / f"{n}.log")
               for n in range(2)]
    try:
        with celery_broker(redis_url, queue):
            paths = [classroom / "classes" / "0.jpg", classroom / "classes" / "0.jpg", classroom / "classes" / "1.jpg"]
            handles = [open(path, "rb") for path in paths]
            try:
                session, _ = sessions.upload_class_photos(
                    school_class, "2026-11-05", "1", [File(h, name="class.jpg") for h in handles])
            finally:
                for handle in handles:
                    handle.close()
            wait_for(lambda: not session.photos.exclude(status__in=[ClassPhoto.DONE, ClassPhoto.FAILED]).exists())
    finally:
        for worker in workers:
            stop_worker(worker)
    assert set(session.photos.values_list("status", flat=True)) == {ClassPhoto.DONE}
    # Both workers took part.
    assert len(set(session.photos.values_list("claimed_by", flat=True))) == 2
    records = AttendanceRecord.objects.filter(session=session)
    assert records.count() == records.values("student").distinct().count() == 40
    matched = DetectedFace.objects.filter(photo__session=session, decision=DetectedFace.MATCHED)
    assert matched.count() == matched.values("student").distinct().count() > 0
    first, copy, _ = session.photos.order_by("pk")
    assert first.faces.count() == copy.faces.count()
    # A student matched in one copy is a repeat (not a second match, not a review) in the other.
    assert copy.faces.filter(decision=DetectedFace.REPEAT).exists() or first.faces.filter(
        decision=DetectedFace.REPEAT).exists()
    assert records.filter(status=AttendanceRecord.PRESENT).count() == len(
        {f.final_student_id for f in DetectedFace.objects.filter(photo__session=session)} - {None})
