"""Operations: the health endpoint, structured logs and processing failed photos again from the admin."""
import json
import os
import subprocess
import sys

import pytest
from django.test import TestCase
from django.urls import reverse

from attendance.models import ClassPhoto, ClassSession, DetectedFace, EnrolmentPhoto, Student
from attendance.registers.recognition import process_class_photo

from .conftest import celery_broker
from .factories import class_photo, enrolment_photo, make_class

DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_health_reports_database_queue_and_a_live_worker(client, celery_worker_process):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    data = response.json()
    assert data["database"] == "ok" and data["store"] == "ok" and data["queue"] == "ok"
    assert data["worker"].startswith("ok (") and "answering" in data["worker"]


@pytest.mark.django_db
def test_health_is_503_and_names_the_part_that_is_down(client):
    with celery_broker(DEAD_BROKER):
        response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "store": "ok", "queue": "unreachable",
                               "worker": "unknown (queue unreachable)"}
    # Nothing about where the broker is (the endpoint answers without signing in).
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
class TestProcessAgain:
    def test_admin_sends_a_failed_class_photo_again_and_it_completes(self, client, users, photo,
                                                                     django_capture_on_commit_callbacks):
        session = ClassSession.objects.create(school_class=make_class(users["teacher"]), date="2026-11-03", period="1")
        failed = class_photo(session, photo("groups/obama_and_biden.jpg"))
        ClassPhoto.objects.filter(pk=failed.pk).update(status=ClassPhoto.FAILED, attempts=3, error="Face recognition "
                                                       "is not installed correctly on the server.")
        done = class_photo(session, photo("groups/obama_and_biden.jpg"))
        process_class_photo(done.pk)
        client.force_login(users["admin"])
        changelist = reverse("admin:attendance_classphoto_changelist")
        assert "is not installed correctly" in client.get(changelist + "?status__exact=failed").content.decode()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(changelist, {"action": "process_again", "_selected_action": [failed.pk, done.pk]},
                                   follow=True)
        assert "1 failed photo sent to the worker again" in response.content.decode()
        assert len(callbacks) == 1  # only the failed one is queued
        failed.refresh_from_db()
        assert (failed.status, failed.error, failed.attempts) == (ClassPhoto.PENDING, "", 0)
        assert process_class_photo(failed.pk) == ClassPhoto.DONE

    def test_admin_sends_a_failed_enrolment_photo_again(self, client, users, photo, django_capture_on_commit_callbacks):
        stored = enrolment_photo(Student.objects.create(name="Joe"), photo("identities/Joe_Biden/1.jpg"),
                                 status=EnrolmentPhoto.FAILED)
        client.force_login(users["admin"])
        changelist = reverse("admin:attendance_enrolmentphoto_changelist")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            client.post(changelist, {"action": "process_again", "_selected_action": [stored.pk]})
        stored.refresh_from_db()
        assert stored.status == EnrolmentPhoto.PENDING and len(callbacks) == 1

    def test_teacher_cannot_reach_the_failed_jobs(self, client, users):
        client.force_login(users["teacher"])
        response = client.get(reverse("admin:attendance_classphoto_changelist"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_school_admin_sees_the_register_in_the_admin_but_cannot_edit_or_delete_it(client, users):
    client.force_login(users["admin"])  # staff, without Django model permissions
    assert client.get(reverse("admin:attendance_attendancerecord_changelist")).status_code == 200
    assert client.get(reverse("admin:attendance_attendancerecord_add")).status_code == 403
    assert client.get(reverse("admin:attendance_classphoto_add")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_each_photo_is_logged_as_one_json_line_with_its_figures(users, photo, settings, tmp_path):
    """LOG_FORMAT=json: a log collector gets session, faces found, matched and seconds per photo."""
    from django.db import connection

    from .conftest import REPO, _database_url

    make_class(users["teacher"], "7A")
    broken = tmp_path / "cut_short.jpg"  # a valid start, then the upload was cut off
    broken.write_bytes(photo("groups/obama_and_biden.jpg").read_bytes()[:20000])
    env = dict(os.environ, LOG_FORMAT="json", DATABASE_URL=_database_url(connection.settings_dict),
               MEDIA_ROOT=str(settings.MEDIA_ROOT))
    result = subprocess.run(
        [sys.executable, "manage.py", "take_attendance", "--class", "7A", "--date", "2026-11-03", "--inline",
         str(photo("groups/obama_and_biden.jpg")), str(broken)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    entries = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert entries, result.stderr
    session = ClassSession.objects.get()
    done = next(e for e in entries if "faces" in e)
    assert done["session"] == session.pk and done["matched"] == 0  # nobody is enrolled
    assert done["faces"] == DetectedFace.objects.filter(photo_id=done["photo"]).count() >= 2
    assert done["levelname"] == "INFO" and done["seconds"]["detection"] > 0 and done["seconds"]["descriptors"] > 0
    failed = next(e for e in entries if "error" in e)
    assert failed["session"] == session.pk and "incomplete" in failed["error"]


@pytest.mark.django_db
def test_school_admin_deletes_a_student_with_records_and_photos_in_the_admin(client, users, photo):
    """The right to erasure from the admin: the student, their records, their enrolment
    photos (rows and files) and their faces' descriptors all go."""
    import datetime
    import os

    import numpy as np

    from attendance.models import AttendanceRecord, DetectedFace, descriptor_to_bytes

    student = Student.objects.create(name="Joe Biden")
    enrolled = enrolment_photo(student, photo("identities/Joe_Biden/1.jpg"), status=EnrolmentPhoto.READY)
    session = ClassSession.objects.create(school_class=make_class(users["teacher"], students=[student]),
                                          date=datetime.date(2026, 11, 3), period="1")
    AttendanceRecord.objects.create(session=session, student=student, status="present")
    DetectedFace.objects.create(photo=class_photo(session, photo("groups/obama_and_biden.jpg")), left=0, top=0,
                                right=50, bottom=50, descriptor=descriptor_to_bytes(np.zeros(128, np.float32)),
                                decision=DetectedFace.MATCHED, student=student)
    path = enrolled.image.path
    client.force_login(users["admin"])
    url = reverse("admin:attendance_student_delete", args=[student.pk])
    page = client.get(url).content.decode()
    assert "Are you sure" in page and "Attendance record" in page
    with TestCase.captureOnCommitCallbacks(execute=True):  # the files go when the deletion commits
        response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Student.objects.exists() and not EnrolmentPhoto.objects.exists()
    assert not AttendanceRecord.objects.exists() and not DetectedFace.objects.filter(student_id=student.pk).exists()
    assert not os.path.exists(path)
