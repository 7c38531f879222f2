"""The command-line tools with --inline: same task functions, no worker."""
import datetime
import io
import json
import os
import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from attendance.models import (
    AttendanceRecord, ClassPhoto, ClassSession, Consent, EnrolmentPhoto, SchoolClass, Student,
)
from faces.images import READABLE_FORMATS

from .conftest import CONSENT
from .factories import make_class

# Transactional: the commands queue tasks on commit, as they do outside tests.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enrol_dir(tmp_path, photo):
    for folder, relative in [("Barack_Obama", "identities/Barack_Obama/1.jpg"),
                             ("Joe_Biden", "identities/Joe_Biden/1.jpg"),
                             ("Two_People", "groups/two_people.jpg")]:
        (tmp_path / "enrol" / folder).mkdir(parents=True)
        shutil.copy(photo(relative), tmp_path / "enrol" / folder / "1.jpg")
    return tmp_path / "enrol"


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def enrol_with_two_people_refused(enrol_dir) -> str:
    """``enrol`` of ``enrol_dir``: the photo of two people is refused, so the command fails
    (exit code 1) after reporting every student. Its output."""
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"1 photo not used"):
        call_command("enrol", str(enrol_dir), "--class", "7A", "--teacher", "teacher", *CONSENT, "--inline",
                     stdout=out)
    return out.getvalue()


def test_enrol_creates_class_and_reports_each_student(users, enrol_dir):
    output = enrol_with_two_people_refused(enrol_dir)
    assert "Barack Obama: 1 of 1 photos ready" in output
    assert "Two People: 0 of 1 photos ready; not used: This photo shows 2 faces" in output
    assert "2 of 3 students enrolled in 7A." in output
    assert SchoolClass.objects.get(name="7A").students.count() == 3


def test_enrol_refusing_a_photo_part_way_stores_nothing(users, enrol_dir, settings):
    """The enrol command enrols as the zip upload does (enrolment.enrol_photo_folders): a
    photo refused after other folders' photos were read leaves no student, photo or file."""
    (enrol_dir / "Zoe_Adams").mkdir()
    (enrol_dir / "Zoe_Adams" / "1.jpg").write_bytes(b"not a photo")
    before = _media_files(settings)
    with pytest.raises(CommandError, match=r"Zoe_Adams/1.jpg: This file is not a readable image"):
        run("enrol", str(enrol_dir), "--class", "7A", "--teacher", "teacher", *CONSENT, "--inline")
    assert not Student.objects.exists() and not EnrolmentPhoto.objects.exists()
    assert _media_files(settings) == before


def test_enrol_records_the_consent_forms_date_and_who_recorded_it(users, enrol_dir):
    (enrol_dir / "Two_People" / "1.jpg").unlink()
    (enrol_dir / "Two_People").rmdir()
    run("enrol", str(enrol_dir), "--class", "7A", "--teacher", "teacher", *CONSENT, "--consent-date", "2026-09-01",
        "--recorded-by", "admin", "--inline")
    consents = Consent.objects.all()
    assert [(c.given_on, c.recorded_by.username) for c in consents] == [(datetime.date(2026, 9, 1), "admin")] * 2
    with pytest.raises(CommandError, match="--recorded-by: no active user named 'nobody'"):
        run("enrol", str(enrol_dir), "--class", "7A", *CONSENT, "--recorded-by", "nobody", "--inline")


def test_enrol_without_recorded_by_warns_and_dates_the_consent_today(users, enrol_dir):
    (enrol_dir / "Two_People" / "1.jpg").unlink()
    (enrol_dir / "Two_People").rmdir()
    errors = io.StringIO()
    call_command("enrol", str(enrol_dir), "--class", "7A", "--teacher", "teacher", *CONSENT, "--inline",
                 stdout=io.StringIO(), stderr=errors)
    assert "no --recorded-by USERNAME given" in errors.getvalue()
    assert {(c.given_on, c.recorded_by) for c in Consent.objects.all()} == {(timezone.localdate(), None)}


def test_take_attendance_sessions_have_a_creator(users, enrol_dir, photo):
    enrol_with_two_people_refused(enrol_dir)
    group = str(photo("groups/obama_and_biden.jpg"))
    run("take_attendance", "--class", "7A", "--date", "2026-11-02", "--inline", group)
    run("take_attendance", "--class", "7A", "--date", "2026-11-03", "--user", "admin", "--inline", group)
    assert [(s.date.day, s.created_by.username) for s in ClassSession.objects.order_by("date")] == [
        (2, "teacher"), (3, "admin")]


def test_take_attendance_prints_json_last(users, enrol_dir, photo):
    enrol_with_two_people_refused(enrol_dir)
    output = run("take_attendance", "--class", "7A", "--date", "2026-11-02", "--inline",
                 str(photo("groups/obama_and_biden.jpg")))
    result = json.loads(output.strip().splitlines()[-1])
    assert sorted(result["present"]) == ["Barack Obama", "Joe Biden"]
    assert result["absent"] == ["Two People"]
    assert result["unknown_faces"] == 1  # the third, partly visible face
    assert AttendanceRecord.objects.count() == 3


def test_take_attendance_refuses_unusable_photo_with_reason(users, enrol_dir, tmp_path, capsys):
    enrol_with_two_people_refused(enrol_dir)
    capsys.readouterr()  # enrol's own messages (its warning of no --recorded-by)
    bad = tmp_path / "class.jpg"
    bad.write_text("not a photo")
    with pytest.raises(SystemExit) as exit_info:
        run("take_attendance", "--class", "7A", "--date", "2026-11-02", "--inline", str(bad))
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip() == f"{bad}: This file is not a readable image ({READABLE_FORMATS})."
    assert not AttendanceRecord.objects.exists()


def _media_files(settings) -> set:
    return {os.path.join(d, f) for d, _, files in os.walk(settings.MEDIA_ROOT) for f in files}


@pytest.mark.parametrize("second", ["not an image", "over the size limit"])
def test_take_attendance_refusing_the_second_photo_stores_none(users, photo, tmp_path, settings, capsys, second):
    """The command line uploads as the web form does (sessions.upload_class_photos): a
    second file refused part-way through a multi-photo upload leaves no photo, no file
    and no session behind, and says why."""
    make_class(users["teacher"], "7A")
    first = photo("groups/obama_and_biden.jpg")
    bad = tmp_path / "second.jpg"
    if second == "not an image":
        bad.write_bytes(b"not a photo")
        reason = f"{bad}: This file is not a readable image ({READABLE_FORMATS})."
    else:  # a real photo larger than the limit, which the first photo is within
        shutil.copy(photo("groups/bald_guys.jpg"), bad)
        settings.MAX_PHOTO_BYTES = first.stat().st_size
        assert bad.stat().st_size > settings.MAX_PHOTO_BYTES
        reason = f"{bad}: "
    before = _media_files(settings)
    with pytest.raises(SystemExit) as exit_info:
        run("take_attendance", "--class", "7A", "--date", "2026-11-02", "--inline", str(first), str(bad))
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith(reason)
    assert not ClassPhoto.objects.exists() and not ClassSession.objects.exists()
    assert _media_files(settings) == before


def test_take_attendance_unknown_class_is_an_error(users, photo):
    with pytest.raises(CommandError, match="No class named"):
        run("take_attendance", "--class", "nope", "--date", "2026-11-02", "--inline", str(photo("misc/dogs.jpg")))


def test_existing_scripts_work_on_an_imported_school(users, photo, tmp_path, client):
    """Issue 16: after the first day's imports (roster, consent, photos by school id, all
    from the command line) ``take_attendance --class NAME`` and the API's upload to
    ``/api/v1/classes/<id>/sessions/`` work as before, and a child in both classes is one
    student, present in both registers."""
    from rest_framework.authtoken.models import Token

    from attendance.wiring.celery import app as celery_app

    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,class,teacher,teacher_email\n"
                      "S-1,Barack Obama,Maths 7,teacher,\nS-2,Joe Biden,Maths 7,teacher,\n"
                      "S-1,Barack Obama,History 7,other,\n", encoding="utf-8")
    run("import_roster", str(roster), "--user", "admin")
    consent = tmp_path / "consent.csv"
    consent.write_text("student_id,given_by,given_on,note\n"
                       "S-1,Parent or guardian,2026-09-01,Office file 2026/27\nS-2,Parent or guardian,2026-09-01,Office file 2026/27\n",
                       encoding="utf-8")
    run("import_consent", str(consent))
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(photo("identities/Barack_Obama/1.jpg"), photos / "S-1.jpg")
    shutil.copy(photo("identities/Joe_Biden/1.jpg"), photos / "S-2.jpg")
    run("import_photos", str(photos), "--inline")
    assert set(EnrolmentPhoto.objects.values_list("status", flat=True)) == {EnrolmentPhoto.READY}

    # An existing script: the class by name.
    output = run("take_attendance", "--class", "Maths 7", "--date", "2026-11-02", "--inline",
                 str(photo("groups/obama_and_biden.jpg")))
    assert sorted(json.loads(output.strip().splitlines()[-1])["present"]) == ["Barack Obama", "Joe Biden"]

    # Another: the class by id, through the API, the teacher's token; processed in this process.
    celery_app.conf.task_always_eager = True  # restored after the test (conftest)
    history = SchoolClass.objects.get(name="History 7")
    token = Token.objects.create(user=users["other_teacher"]).key
    response = client.post(f"/api/v1/classes/{history.pk}/sessions/", {
        "date": "2026-11-02", "period": "Period 2", "photos": SimpleUploadedFile("class.jpg", photo("identities/Barack_Obama/2.jpg").read_bytes())},
        HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 202, response.content
    records = client.get(response.json()["records_url"], HTTP_AUTHORIZATION=f"Token {token}").json()["results"]
    assert [(r["student"]["name"], r["status"]) for r in records] == [("Barack Obama", "present")]

    obama = Student.objects.get(school_id="S-1")
    assert Student.objects.count() == 2 and obama.photos.count() == 1
    assert AttendanceRecord.objects.filter(student=obama, status="present").count() == 2


def test_enrol_again_leaves_out_the_photos_the_students_already_have(users, enrol_dir):
    """The same folders enrolled twice: the second run stores nothing and says so (the
    enrolment zip's rule, shared with the photo import by school id)."""
    (enrol_dir / "Two_People" / "1.jpg").unlink()
    (enrol_dir / "Two_People").rmdir()
    first = run("enrol", str(enrol_dir), "--class", "7A", "--teacher", "teacher", *CONSENT, "--inline")
    assert "2 of 2 students enrolled in 7A." in first and "left out" not in first
    again = run("enrol", str(enrol_dir), "--class", "7A", *CONSENT, "--inline")
    assert "2 photos left out: already enrolled (the same file)." in again
    assert "Barack Obama: no new photo (the student already has these)" in again
    assert "2 of 2 students enrolled in 7A." in again
    assert EnrolmentPhoto.objects.count() == 2
