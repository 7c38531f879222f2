"""Bad and hostile input: a clear refusal, never a 500, nothing half-written."""
import io
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from attendance.roster.enrolment import encode_enrolment_photo, encode_enrolment_photo_task
from attendance.models import ClassPhoto, ClassSession, EnrolmentPhoto, Student
from attendance.registers.recognition import requeue_stalled_photos

from .conftest import CONSENT_FIELDS

from .factories import class_photo, make_class

pytestmark = pytest.mark.django_db


def png_bytes(image):
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def media_files(settings):
    return {os.path.join(d, f) for d, _, files in os.walk(settings.MEDIA_ROOT) for f in files}


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    return client


def zip_of(entries):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


def post_zip(client, school_class, data):
    return client.post(reverse("roster_zip", args=[school_class.pk]),
                       {**CONSENT_FIELDS, "archive": SimpleUploadedFile("class.zip", data, content_type="application/zip")})


class TestMalformedImages:
    @pytest.mark.parametrize("name, data", [
        ("cut.webp", None),  # filled in below from a real photo
        ("bad.bmp", b"BM" + b"\x00" * 12 + b"\x28\x00\x00\x00" + b"\x10\x00\x00\x00" * 2 + b"\x01\x00\x18\x00"
         + b"\x63\x00\x00\x00" + b"\x00" * 20),
        ("bad.ppm", b"P6\n-5 10\n255\n" + b"\x00" * 30),
        ("empty.jpg", b""),
    ])
    def test_malformed_file_is_a_form_error_not_a_crash(self, admin_client, school_class, photo, name, data):
        if data is None:
            webp = io.BytesIO()
            Image.open(photo("identities/Joe_Biden/1.jpg")).save(webp, "WEBP")
            data = webp.getvalue()[:60]
        response = admin_client.post(reverse("student_enrol", args=[school_class.pk]),
                                     {**CONSENT_FIELDS, "name": "X", "photos": SimpleUploadedFile(name, data)})
        assert response.status_code == 400
        page = response.content.decode()
        assert (f"{name}: " in page) if data else ("The submitted file is empty." in page)
        assert not Student.objects.exists()

    def test_photo_one_pixel_wide_fails_enrolment_instead_of_staying_pending(self, school_class, settings):
        settings.FACE_DETECTION_MAX_SIDE = 2400
        stored = EnrolmentPhoto.objects.create(
            student=Student.objects.create(name="Thin"),
            image=SimpleUploadedFile("thin.png", png_bytes(Image.new("RGB", (1, 5000), "white"))))
        assert encode_enrolment_photo_task(stored.pk) == "failed"
        assert EnrolmentPhoto.objects.get(pk=stored.pk).status == "failed"

    def test_file_with_a_misleading_name_is_stored_by_its_real_format(self, admin_client, school_class, photo):
        admin_client.post(reverse("student_enrol", args=[school_class.pk]), {**CONSENT_FIELDS,
            "name": "Joe", "photos": SimpleUploadedFile("x.php", photo("identities/Joe_Biden/1.jpg").read_bytes())})
        stored = EnrolmentPhoto.objects.get()
        assert stored.image.name.endswith(".jpg")
        # A pending photo is not decoded by the web (503); once the worker's function has
        # processed it, its rendition is served as what it really is.
        encode_enrolment_photo(stored.pk)
        response = admin_client.get(reverse("enrolment_photo_image", args=[stored.pk]))
        assert response["Content-Type"] == "image/jpeg"


class TestHostileZips:
    def test_nested_folders_belong_to_the_top_student_folder(self, admin_client, school_class, photo):
        data = zip_of([("Ada_Lovelace/2024/1.jpg", photo("identities/Joe_Biden/1.jpg").read_bytes()),
                       ("Grace_Hopper/2024/1.jpg", photo("identities/Barack_Obama/1.jpg").read_bytes())])
        assert post_zip(admin_client, school_class, data).status_code == 302
        assert set(school_class.students.values_list("name", flat=True)) == {"Ada Lovelace", "Grace Hopper"}

    def test_one_student_zip_uses_its_folder(self, admin_client, school_class, photo):
        data = zip_of([("Ada_Lovelace/1.jpg", photo("identities/Joe_Biden/1.jpg").read_bytes())])
        assert post_zip(admin_client, school_class, data).status_code == 302
        assert list(school_class.students.values_list("name", flat=True)) == ["Ada Lovelace"]

    def test_utf8_names_without_the_utf8_flag_are_read_as_utf8(self, admin_client, school_class, photo):
        # As older zip tools write it: UTF-8 bytes in the name, without the UTF-8 flag.
        utf8 = "Zoë_Ångström/1.jpg".encode("utf-8")
        placeholder = b"X" * (len(utf8) - 6) + b"/1.jpg"
        data = zip_of([(placeholder.decode(), photo("identities/Joe_Biden/1.jpg").read_bytes())])
        assert post_zip(admin_client, school_class, data.replace(placeholder, utf8)).status_code == 302
        assert list(school_class.students.values_list("name", flat=True)) == ["Zoë Ångström"]

    def test_zip_bomb_of_zeros_is_refused_and_nothing_kept(self, admin_client, school_class, photo, settings):
        before = media_files(settings)
        data = zip_of([("Ada/1.jpg", photo("identities/Joe_Biden/1.jpg").read_bytes())]
                      + [(f"Bob/{i}.jpg", b"\x00" * (20 * 1024 * 1024)) for i in range(3)])
        assert len(data) < 1024 * 1024
        response = post_zip(admin_client, school_class, data)
        assert response.status_code == 400 and "Bob/0.jpg: This file is not a readable image" in response.content.decode()
        assert not Student.objects.exists() and not EnrolmentPhoto.objects.exists()
        assert media_files(settings) == before

    def test_zip_of_5000_entries_is_refused_before_any_is_read(self, admin_client, school_class, photo, settings):
        before = media_files(settings)
        portrait = photo("identities/Joe_Biden/1.jpg").read_bytes()
        data = zip_of([(f"Student_{i % 50}/{i}.jpg", portrait if i == 0 else b"x") for i in range(5000)])
        response = post_zip(admin_client, school_class, data)
        assert response.status_code == 400
        assert "The zip holds 5000 files; the limit is 2000." in response.content.decode()
        assert not Student.objects.exists() and not EnrolmentPhoto.objects.exists()
        assert media_files(settings) == before

    def test_decompression_bomb_upload_is_a_form_error(self, client, users, school_class, settings):
        before = media_files(settings)
        bomb = png_bytes(Image.new("1", (20000, 20000)))
        client.force_login(users["teacher"])
        response = client.post(reverse("session_upload", args=[school_class.pk]), {
            "date": "2026-11-03", "period": "1", "photos": SimpleUploadedFile("class.png", bomb)})
        assert response.status_code == 400
        assert "400 megapixels" in response.content.decode()
        assert not ClassSession.objects.exists() and media_files(settings) == before

    def test_damaged_entry_is_a_clear_error(self, admin_client, school_class, photo):
        data = bytearray(zip_of([("Ada/1.jpg", photo("identities/Joe_Biden/1.jpg").read_bytes())]))
        data[100] ^= 0xFF  # inside the stored photo: the CRC no longer matches
        response = post_zip(admin_client, school_class, bytes(data))
        assert response.status_code == 400 and "cannot be read from the zip" in response.content.decode()

    def test_overlong_folder_name_is_refused(self, admin_client, school_class, photo):
        data = zip_of([("A" * 200 + "/1.jpg", photo("identities/Joe_Biden/1.jpg").read_bytes())])
        response = post_zip(admin_client, school_class, data)
        assert response.status_code == 400 and "longer than 150 characters" in response.content.decode()


class TestStalledWork:
    def test_photo_left_processing_by_a_killed_worker_is_sent_again(self, users, photo, django_capture_on_commit_callbacks):
        from django.utils import timezone

        session = ClassSession.objects.create(school_class=make_class(users["teacher"]), date="2026-11-02", period="1")
        stalled = class_photo(session, photo("groups/obama_and_biden.jpg"))
        fresh = class_photo(session, photo("groups/two_people.jpg"))
        long_ago = timezone.now() - timezone.timedelta(hours=1)
        ClassPhoto.objects.filter(pk=stalled.pk).update(status="processing", attempts=1, started_at=long_ago)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert requeue_stalled_photos(older_than_seconds=600) == 1
        assert len(callbacks) == 1
        assert fresh.pk  # uploaded just now: still waiting for its own task

    def test_failed_upload_leaves_no_file_behind(self, users, photo, settings, monkeypatch):
        from attendance.registers import sessions

        school_class = make_class(users["teacher"])
        before = media_files(settings)

        def broken_queue(photo):
            raise RuntimeError("broker down")

        monkeypatch.setattr(sessions, "queue_class_photo", broken_queue)
        with pytest.raises(RuntimeError):
            sessions.upload_class_photos(school_class, "2026-11-02", "1", [
                SimpleUploadedFile("a.jpg", photo("groups/obama_and_biden.jpg").read_bytes())])
        assert not ClassPhoto.objects.exists()
        assert media_files(settings) == before


def test_photo_of_a_killed_local_worker_is_sent_again_at_once(users, photo, django_capture_on_commit_callbacks):
    import subprocess

    from django.utils import timezone

    session = ClassSession.objects.create(school_class=make_class(users["teacher"]), date="2026-11-02", period="1")
    stalled = class_photo(session, photo("groups/obama_and_biden.jpg"))
    running = class_photo(session, photo("groups/two_people.jpg"))
    dead = subprocess.Popen(["true"])
    dead.wait()
    from attendance.registers.recognition import this_process

    host = this_process().rpartition(":")[0]
    ClassPhoto.objects.filter(pk=stalled.pk).update(status="processing", started_at=timezone.now(),
                                                    claimed_by=f"{host}:{dead.pid}")
    ClassPhoto.objects.filter(pk=running.pk).update(status="processing", started_at=timezone.now(),
                                                    claimed_by=this_process())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert requeue_stalled_photos(older_than_seconds=600) == 1
    assert len(callbacks) == 1
