"""Several machines: photos in an S3-compatible store instead of a shared media folder.

moto's server mode plays the store (on 127.0.0.1, over HTTP, as MinIO or AWS would be
reached); the web views run in this process and a real Celery worker in another, whose
MEDIA_ROOT does not exist, so any read of a photo through a local path fails.
"""
import io
import logging
import os
import time
import types
import uuid
from pathlib import PurePosixPath

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from attendance.wiring.env import photo_storage
from attendance.models import ClassPhoto, EnrolmentPhoto, SchoolClass, Student

from .conftest import CONSENT_FIELDS, celery_broker, run_celery_worker

BUCKET = "attendance-photos"
S3_VARIABLES = ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "S3_ADDRESSING_STYLE", "S3_DEFAULT_ACL")


def wait_for(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker did not finish in time"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def s3_store():
    """moto in server mode on a free port of 127.0.0.1 with one empty bucket; yields the
    environment a host needs to use it (fake credentials) and a boto3 client to look inside."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed (requirements.txt)")
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": f"http://{host}:{port}", "S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        # Never look for credentials on a cloud metadata address.
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    client = boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    yield types.SimpleNamespace(env=env, client=client)
    server.stop()


def bucket_keys(store) -> set[str]:
    return {item["Key"] for item in store.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def photo_keys(store) -> set[str]:
    """The photos in the bucket (their renditions aside: ``rendition_owners``)."""
    return {key for key in bucket_keys(store) if not key.startswith("renditions/")}


def rendition_owners(store) -> set[str]:
    """The stems (file names without extension) of the photos whose renditions and face
    crops the bucket holds, e.g. ``renditions/enrolment/<stem>-480.jpg``."""
    return {key.split("/")[2].split("-")[0] for key in bucket_keys(store) if key.startswith("renditions/")}


def stems(keys) -> set[str]:
    return {PurePosixPath(key).stem for key in keys}


@pytest.fixture(scope="module")
def s3_worker(faces_dir, django_db_setup, redis_url, s3_store, tmp_path_factory):
    """A real Celery worker process whose photos are in the bucket and whose MEDIA_ROOT
    does not exist; tasks sent from this process go to its queue while the module runs."""
    queue = f"test-s3-{uuid.uuid4().hex[:8]}"
    log_dir = tmp_path_factory.mktemp("s3-worker")
    absent_media = log_dir / "no-media-here"
    with run_celery_worker(redis_url, queue, log_dir, MEDIA_ROOT=str(absent_media), **s3_store.env) as process:
        with celery_broker(redis_url, queue):
            yield types.SimpleNamespace(process=process, media_root=absent_media)


@pytest.fixture
def s3_storage(settings, monkeypatch, s3_store, tmp_path):
    """This process's photos go to the bucket, configured from the same environment
    variables as the worker's (``photo_storage``). Overriding STORAGES resets Django's
    ``default_storage``, which every FileField uses; MEDIA_ROOT points nowhere."""
    for name, value in s3_store.env.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": photo_storage()}
    settings.MEDIA_ROOT = str(tmp_path / "no-media-here")
    return s3_store


def test_photo_storage_is_local_by_default_and_private_in_a_bucket(monkeypatch):
    for name in S3_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert photo_storage() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}

    monkeypatch.setenv("S3_BUCKET", "photos")
    monkeypatch.setenv("S3_ENDPOINT_URL", "https://minio.school.example:9000")
    config = photo_storage()
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    options = config["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"]) == ("photos", "https://minio.school.example:9000")
    assert options["default_acl"] == "private" and options["querystring_auth"] is True
    assert options["client_config"].s3 == {"addressing_style": "path"}

    monkeypatch.setenv("S3_DEFAULT_ACL", "none")
    assert photo_storage()["OPTIONS"]["default_acl"] is None
    monkeypatch.setenv("S3_DEFAULT_ACL", "public-read")
    with pytest.raises(ImproperlyConfigured, match="S3_DEFAULT_ACL"):
        photo_storage()
    monkeypatch.setenv("S3_DEFAULT_ACL", "private")
    monkeypatch.setenv("S3_ENDPOINT_URL", "minio.school.example:9000")
    with pytest.raises(ImproperlyConfigured, match="S3_ENDPOINT_URL"):
        photo_storage()


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_web_and_worker_share_photos_through_the_bucket(s3_worker, s3_storage, client, users, photo, settings):
    from storages.backends.s3 import S3Storage

    assert isinstance(EnrolmentPhoto._meta.get_field("image").storage, S3Storage)

    # An admin enrols two students through the web pages; the worker reads their photos
    # from the bucket.
    client.force_login(users["admin"])
    client.post(reverse("class_create"), {"name": "7A", "teacher": users["teacher"].pk})
    school_class = SchoolClass.objects.get(name="7A")
    for name, relative in [("Barack Obama", "identities/Barack_Obama/1.jpg"),
                           ("Joe Biden", "identities/Joe_Biden/1.jpg")]:
        response = client.post(reverse("student_enrol", args=[school_class.pk]), {**CONSENT_FIELDS,
            "name": name, "photos": SimpleUploadedFile("p.jpg", photo(relative).read_bytes())})
        assert response.status_code == 302
    wait_for(lambda: not EnrolmentPhoto.objects.filter(status="pending").exists())
    assert dict(EnrolmentPhoto.objects.values_list("student__name", "status")) == {
        "Barack Obama": "ready", "Joe Biden": "ready"}
    enrolment_keys = {p.image.name: p.student.name for p in EnrolmentPhoto.objects.select_related("student")}
    assert photo_keys(s3_storage) == set(enrolment_keys)
    # The worker stored each photo's rendition and face crop beside it, private too.
    assert rendition_owners(s3_storage) == stems(enrolment_keys)
    for key in bucket_keys(s3_storage) - set(enrolment_keys):
        grants = s3_storage.client.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    for key in enrolment_keys:
        assert key.startswith("enrolment/")
        grants = s3_storage.client.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner's only: private

    # The teacher uploads a class photo; the worker finds both students in it.
    client.force_login(users["teacher"])
    response = client.post(reverse("session_upload", args=[school_class.pk]), {
        "date": "2026-11-02", "period": "1",
        "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
    session_url = response["Location"]
    wait_for(lambda: client.get(session_url + "status.json").json()["finished"])
    class_photo = ClassPhoto.objects.get()
    assert (class_photo.status, class_photo.error) == ("done", "")
    assert class_photo.image.name.startswith("class-photos/")
    assert photo_keys(s3_storage) == set(enrolment_keys) | {class_photo.image.name}
    assert rendition_owners(s3_storage) == stems(set(enrolment_keys) | {class_photo.image.name})

    # The session page shows the photo through the view that checks permissions (never
    # a link to the store), with a name on each face.
    page = client.get(session_url).content.decode()
    assert '<span class="face-name">Barack Obama</span>' in page and '<span class="face-name">Joe Biden</span>' in page
    image_url = reverse("class_photo_image", args=[class_photo.pk])
    assert image_url in page and s3_storage.env["S3_ENDPOINT_URL"] not in page
    response = client.get(image_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    shown = Image.open(io.BytesIO(response.content))
    assert shown.format == "JPEG"
    assert abs(shown.width / shown.height - class_photo.width / class_photo.height) < 0.01  # the whole photo
    obama = Student.objects.get(name="Barack Obama")
    student_page = client.get(reverse("student_detail", args=[obama.pk])).content.decode()
    enrolment_url = reverse("enrolment_photo_image", args=[obama.photos.get().pk])
    assert enrolment_url in student_page
    assert client.get(enrolment_url).status_code == 200
    client.force_login(users["other_teacher"])
    assert client.get(image_url).status_code == 403  # another class's teacher

    # The admin's page of the class photo links to the same view, not to the bucket.
    client.force_login(users["admin"])
    admin_page = client.get(reverse("admin:attendance_classphoto_change", args=[class_photo.pk])).content.decode()
    assert image_url in admin_page and s3_storage.env["S3_ENDPOINT_URL"] not in admin_page

    # Deleting a student deletes their photos from the bucket; deleting the class, its photos.
    obama.delete()
    biden_keys = {key for key, name in enrolment_keys.items() if name == "Joe Biden"}
    assert photo_keys(s3_storage) == biden_keys | {class_photo.image.name}
    assert rendition_owners(s3_storage) == stems(biden_keys | {class_photo.image.name})
    school_class.delete()
    assert not ClassPhoto.objects.exists()
    assert photo_keys(s3_storage) == biden_keys and rendition_owners(s3_storage) == stems(biden_keys)

    # Nothing was written under either process's MEDIA_ROOT.
    assert not os.path.exists(settings.MEDIA_ROOT)
    assert not s3_worker.media_root.exists()
    assert s3_worker.process.poll() is None


@pytest.mark.django_db
def test_health_checks_the_bucket(s3_storage, client, settings, monkeypatch):
    """/health/ asks the store for the bucket: "ok" for moto's, a refusal for a bucket it lacks."""
    assert client.get(reverse("health")).json()["store"] == "ok"
    monkeypatch.setenv("S3_BUCKET", "no-such-bucket")
    settings.STORAGES = {**settings.STORAGES, "default": photo_storage()}
    response = client.get(reverse("health"))
    assert response.status_code == 503 and response.json()["store"] == "refused (HTTP 404)"
