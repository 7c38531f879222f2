"""Issue 18: with ``S3_BUCKET`` set and the store unreachable (its endpoint a closed port of
this machine: a real connection refused, no mock), an upload answers HTTP 503 with a clear
message and saves nothing, and ``/health/`` reports the store down."""
import os
import socket

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token

from attendance.models import AuditEntry, ClassPhoto, ClassSession, EnrolmentPhoto, Student
from attendance.wiring.env import photo_storage

from .conftest import CONSENT_FIELDS

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on: bound, then closed, so connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def store_down(settings, monkeypatch, tmp_path):
    """Photos go to a bucket whose endpoint refuses connections; MEDIA_ROOT is an empty
    folder, to show no photo lands there instead."""
    for name, value in {"S3_BUCKET": "attendance-photos", "S3_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
                        "S3_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": photo_storage()}
    settings.MEDIA_ROOT = str(tmp_path / "media")
    os.makedirs(settings.MEDIA_ROOT)
    return settings.MEDIA_ROOT


def nothing_saved(media_root):
    assert not ClassPhoto.objects.exists() and not EnrolmentPhoto.objects.exists()
    assert not os.listdir(media_root)


def test_class_photo_upload_is_503_with_a_clear_message_and_saves_nothing(store_down, client, users, school_class,
                                                                          photo):
    client.force_login(users["teacher"])
    response = client.post(reverse("session_upload", args=[school_class.pk]), {
        "date": "2026-11-02", "period": "Period 1",
        "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
    assert response.status_code == 503
    page = response.content.decode()
    assert "The photo store is not reachable just now, so nothing was saved" in page
    assert "127.0.0.1" not in page  # no address of the server
    nothing_saved(store_down)
    assert not ClassSession.objects.exists()  # not even the session


def test_api_upload_is_503_store_unavailable(store_down, client, users, school_class, photo):
    token = Token.objects.create(user=users["teacher"]).key
    response = client.post(reverse("api:class-sessions", args=[school_class.pk]), {
        "date": "2026-11-02", "period": "Period 1",
        "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())},
        HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert response.json()["code"] == "store_unavailable"
    assert "photo store is not reachable" in response.json()["detail"]
    nothing_saved(store_down)
    assert not ClassSession.objects.exists()


def test_enrolment_is_503_and_keeps_no_student_consent_or_photo(store_down, client, users, school_class, photo):
    client.force_login(users["admin"])
    response = client.post(reverse("student_enrol", args=[school_class.pk]), {
        **CONSENT_FIELDS, "name": "Barack Obama",
        "photos": SimpleUploadedFile("p.jpg", photo("identities/Barack_Obama/1.jpg").read_bytes())})
    assert response.status_code == 503
    assert "The photo store is not reachable just now, so nothing was saved" in response.content.decode()
    nothing_saved(store_down)
    assert not Student.objects.filter(name="Barack Obama").exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.PHOTOS_ADDED).exists()


def test_health_reports_the_store_unreachable(store_down, client):
    response = client.get(reverse("health"))
    assert response.status_code == 503
    data = response.json()
    assert data["store"] == "unreachable" and data["database"] == "ok"
    assert "127.0.0.1" not in response.content.decode()


def test_health_reports_a_local_folder_that_cannot_be_written(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media" / "photos")
    assert client.get(reverse("health")).json()["store"] == "ok"  # created with the first photo
    (tmp_path / "media").write_text("a file where the folder should be")
    response = client.get(reverse("health"))
    assert response.status_code == 503 and response.json()["store"] == "not writable"
