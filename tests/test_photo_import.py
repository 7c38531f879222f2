"""Enrolment photos by school id (issue 16): a zip or folder of <school id>.jpg and
<school id>/<n>.jpg on real photos, for students whose consent is recorded; a preview with
every file's outcome and reason that stores nothing, then an all-or-nothing import run
through the real worker, by the web page and ``manage.py import_photos``."""
import io
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from attendance.models import AuditEntry, EnrolmentPhoto, Student
from attendance.roster import photo_import

from .conftest import CONSENT_FIELDS
from .factories import give_consent, make_class


@pytest.fixture
def pupils(db):
    """S-1 (Barack Obama) and S-2 (Joe Biden) with consent, S-3 without."""
    students = {sid: Student.objects.create(name=name, school_id=sid) for sid, name in (
        ("S-1", "Barack Obama"), ("S-2", "Joe Biden"), ("S-3", "George Bush"))}
    give_consent(students["S-1"])
    give_consent(students["S-2"])
    return students


def _zip(photo, extra=None, folder="") -> bytes:
    """S-1.jpg, S-2/1.jpg, S-2/2.jpg (real photos), S-3.jpg (no consent), S-404.jpg (unknown
    id), notes.txt and S-1/fake.jpg (not images), below ``folder`` when given."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, relative in (("S-1.jpg", "identities/Barack_Obama/1.jpg"), ("S-2/1.jpg", "identities/Joe_Biden/1.jpg"),
                               ("S-2/2.jpg", "identities/Joe_Biden/2.jpg"),
                               ("S-3.jpg", "identities/George_W_Bush/1.jpg"),
                               ("S-404.jpg", "identities/Barack_Obama/2.jpg")):
            zf.write(photo(relative), folder + name)
        for name, data in (extra or {"notes.txt": b"hello", "S-1/fake.jpg": b"not a photo at all"}).items():
            zf.writestr(folder + name, data)
    return archive.getvalue()



@pytest.mark.django_db
def test_preview_names_every_file_and_stores_nothing(pupils, photo, settings):
    plan = photo_import.plan_photo_import(io.BytesIO(_zip(photo)), "photos.zip")
    outcomes = {f.path: (f.outcome, f.reason) for f in plan.files}
    assert outcomes["S-1.jpg"] == ("new", "") and outcomes["S-2/1.jpg"][0] == outcomes["S-2/2.jpg"][0] == "new"
    assert outcomes["S-3.jpg"][0] == "refused" and "no consent" in outcomes["S-3.jpg"][1]
    assert outcomes["S-404.jpg"] == ("refused", "unknown student id 'S-404'")
    assert outcomes["notes.txt"][0] == "refused" and outcomes["notes.txt"][1].startswith("not an image")
    assert outcomes["S-1/fake.jpg"][0] == "refused" and outcomes["S-1/fake.jpg"][1].startswith("not an image:")
    assert plan.summary() == "3 new photos for 2 students, 0 already enrolled, 4 refused"
    assert not EnrolmentPhoto.objects.exists() and not AuditEntry.objects.exists()
    settings.MAX_PHOTO_BYTES = 10_000  # every real photo is larger
    small = photo_import.plan_photo_import(io.BytesIO(_zip(photo)), "photos.zip")
    assert next(f for f in small.files if f.path == "S-1.jpg").reason.startswith("too large")


@pytest.mark.django_db
def test_a_zip_of_a_folder_is_read_below_it(pupils, photo):
    plan = photo_import.plan_photo_import(io.BytesIO(_zip(photo, folder="ID photos/")), "photos.zip")
    assert {f.path: f.school_id for f in plan.of("new")} == {
        "ID photos/S-1.jpg": "S-1", "ID photos/S-2/1.jpg": "S-2", "ID photos/S-2/2.jpg": "S-2"}


@pytest.mark.django_db
def test_refused_files_refuse_the_import_unless_skipped(pupils, photo, users):
    with pytest.raises(photo_import.ImportRefused, match="4 file"):
        photo_import.apply_photo_import(io.BytesIO(_zip(photo)), users["admin"], "photos.zip")
    assert not EnrolmentPhoto.objects.exists()


def wait_for(condition, timeout=180):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker did not finish in time"
        time.sleep(0.3)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_web_import_through_the_worker_then_idempotent(celery_worker_process, client, users, photo):
    students = {sid: Student.objects.create(name=name, school_id=sid) for sid, name in (
        ("S-1", "Barack Obama"), ("S-2", "Joe Biden"), ("S-3", "George Bush"))}
    give_consent(students["S-1"])
    give_consent(students["S-2"])
    school_class = make_class(users["teacher"], "7A", students=students.values())
    client.force_login(users["admin"])
    preview = client.post(reverse("photos_import"), {"file": SimpleUploadedFile("photos.zip", _zip(photo))})
    page = preview.content.decode()
    assert preview.status_code == 200 and "3 new photos for 2 students, 0 already enrolled, 4 refused" in page
    assert "unknown student id &#x27;S-404&#x27;" in page and not EnrolmentPhoto.objects.exists()
    client.post(reverse("photos_import_apply"), {"skip_bad_rows": "on"})
    assert EnrolmentPhoto.objects.count() == 3
    progress = client.get(reverse("photos_import")).content.decode()
    assert "Barack Obama" in progress and "Joe Biden" in progress and "George Bush" not in progress
    wait_for(lambda: not EnrolmentPhoto.objects.filter(status="pending").exists())
    assert set(EnrolmentPhoto.objects.values_list("status", flat=True)) == {"ready"}
    assert "refresh" not in client.get(reverse("photos_import")).content.decode()
    assert school_class.students.get(school_id="S-2").enrolment_state == "ready"
    assert AuditEntry.objects.filter(action=AuditEntry.IMPORTED).count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.PHOTOS_ADDED).count() == 2

    # The same zip again: every photo is already enrolled, nothing is stored.
    again = client.post(reverse("photos_import"), {"file": SimpleUploadedFile("photos.zip", _zip(photo))})
    assert "0 new photos for 0 students, 3 already enrolled, 4 refused" in again.content.decode()
    client.post(reverse("photos_import_apply"), {"skip_bad_rows": "on"})
    assert EnrolmentPhoto.objects.count() == 3


@pytest.mark.django_db(transaction=True)  # --inline runs the tasks when the upload commits
def test_command_on_a_folder_dry_run_then_inline(pupils, photo, tmp_path, capsys):
    (tmp_path / "S-2").mkdir()
    (tmp_path / "S-1.jpg").write_bytes(photo("identities/Barack_Obama/1.jpg").read_bytes())
    (tmp_path / "S-2" / "1.jpg").write_bytes(photo("identities/Joe_Biden/1.jpg").read_bytes())
    (tmp_path / "S-3.jpg").write_bytes(photo("identities/George_W_Bush/1.jpg").read_bytes())
    with pytest.raises(CommandError, match="1 file"):
        call_command("import_photos", str(tmp_path), "--dry-run")
    assert "S-3.jpg: S-3: refused (no consent" in capsys.readouterr().out
    assert not EnrolmentPhoto.objects.exists()
    with pytest.raises(CommandError, match="skipped"):
        call_command("import_photos", str(tmp_path), "--skip-bad-rows", "--inline", "--timeout", "60")
    out = capsys.readouterr().out
    assert "2 photos stored for 2 students" in out and out.count(": Ready") == 2
    assert set(EnrolmentPhoto.objects.values_list("student__school_id", "status")) == {("S-1", "ready"),
                                                                                       ("S-2", "ready")}


@pytest.mark.django_db
def test_teachers_and_office_staff_cannot_import_photos(client, users, pupils, photo):
    for role in ("teacher", "office"):
        client.force_login(users[role])
        upload = SimpleUploadedFile("photos.zip", _zip(photo))
        assert client.post(reverse("photos_import"), {"file": upload}).status_code == 403
        assert client.post(reverse("photos_import_apply"), {"skip_bad_rows": "on"}).status_code == 403
    assert not EnrolmentPhoto.objects.exists()


def test_the_form_names_the_files_it_expects(client, users):
    """The help text's "<school id>" placeholders are shown, not swallowed as an HTML tag."""
    client.force_login(users["admin"])
    page = client.get(reverse("photos_import")).content.decode()
    assert "&lt;school id&gt;.jpg, or &lt;school id&gt;/1.jpg, &lt;school id&gt;/2.jpg" in page
    assert "<school id>" not in page


@pytest.mark.django_db
def test_enrolment_zip_leaves_out_the_photos_a_student_already_has(client, users, pupils, photo,
                                                                     django_capture_on_commit_callbacks):
    """The enrolment zip (one folder per student) sent again stored every photo twice (4
    instead of 2): it now leaves out the same bytes, as this import does, and says how many."""
    school_class = make_class(users["teacher"], students=[pupils["S-1"]])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(photo("identities/Barack_Obama/1.jpg"), "Barack_Obama_@S-1/1.jpg")
        zf.write(photo("identities/Barack_Obama/2.jpg"), "Barack_Obama_@S-1/2.jpg")
        zf.write(photo("identities/Barack_Obama/2.jpg"), "Barack_Obama_@S-1/2 copy.jpg")
    client.force_login(users["admin"])
    messages = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=False):
            response = client.post(reverse("roster_zip", args=[school_class.pk]), {**CONSENT_FIELDS,
                "archive": SimpleUploadedFile("class.zip", archive.getvalue(), content_type="application/zip")},
                follow=True)
        assert response.status_code == 200
        messages.append([str(m) for m in response.context["messages"]])
    assert EnrolmentPhoto.objects.filter(student=pupils["S-1"]).count() == 2
    assert messages[0] == ["1 student added or updated from the zip; photos are being processed. "
                           "1 photo was left out: already enrolled (the same file)."]
    assert messages[1] == ["1 student added or updated from the zip; photos are being processed. "
                           "3 photos were left out: already enrolled (the same files)."]
    with django_capture_on_commit_callbacks(execute=False):
        chinese = client.post(reverse("roster_zip", args=[school_class.pk]), {**CONSENT_FIELDS,
            "archive": SimpleUploadedFile("class.zip", archive.getvalue(), content_type="application/zip")},
            follow=True, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "有 3 张照片未保存：已经登记过（同一文件）。" in [str(m) for m in chinese.context["messages"]][0]
