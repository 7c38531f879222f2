"""Issue 18: an upload retried after its response was lost (weak Wi-Fi) is answered with the
same session and does not store the photos twice (``web.upload_ids``)."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from attendance.models import ClassPhoto, ClassSession
from attendance.web import upload_ids

from .test_views import signed_in, upload
from .world import build_school

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(users, photo):
    """The shared school (tests/world.py) with Joe Biden enrolled and no session yet."""
    return build_school(users, photo, enrolled=["Joe Biden"], by_hand=[], session=False)


def _post(client, school, photo, upload_id, period="Period 2"):
    return client.post(reverse("session_upload", args=[school["class"].pk]), {
        "date": "2026-11-03", "period": period, "upload_id": upload_id,
        "photos": upload(photo("groups/obama_and_biden.jpg"))})


def test_a_retry_of_a_stored_upload_gets_the_same_answer_and_stores_nothing(client, users, school, photo):
    signed_in(client, users["teacher"])
    first = _post(client, school, photo, "4f1c2a9e-0b7d-4e55-9a0c-1d2e3f405162")
    session = ClassSession.objects.get(school_class=school["class"], date="2026-11-03")
    assert first.status_code == 302 and first["Location"] == reverse("session_detail", args=[session.pk])
    # The phone never saw that answer and sends the same upload again.
    retry = _post(client, school, photo, "4f1c2a9e-0b7d-4e55-9a0c-1d2e3f405162")
    assert retry.status_code == 302 and retry["Location"] == first["Location"]
    assert ClassPhoto.objects.filter(session=session).count() == 1
    # Another upload (a new page, a new id) adds its photo to the same session.
    another = _post(client, school, photo, "a0a0a0a0-1111-2222-3333-444455556666")
    assert another["Location"] == first["Location"]
    assert ClassPhoto.objects.filter(session=session).count() == 2


def test_without_an_upload_id_every_post_stores_its_photos(client, users, school, photo):
    signed_in(client, users["teacher"])
    _post(client, school, photo, "")
    _post(client, school, photo, "")
    assert ClassPhoto.objects.filter(session__date="2026-11-03").count() == 2


def test_an_upload_id_is_remembered_a_day_per_browser_session_and_class(client, users, school, photo):
    signed_in(client, users["teacher"])
    _post(client, school, photo, "1234567890abcdef")
    store = client.session
    entry = store[upload_ids.SESSION_KEY]["1234567890abcdef"]
    entry[2] = (timezone.now() - upload_ids.MAX_AGE - datetime.timedelta(minutes=1)).isoformat()
    store.save()
    _post(client, school, photo, "1234567890abcdef")  # older than a day: a new upload
    assert ClassPhoto.objects.filter(session__date="2026-11-03").count() == 2
    # Another browser session with the same id is a new upload too.
    client.logout()
    signed_in(client, users["teacher"])
    _post(client, school, photo, "1234567890abcdef")
    assert ClassPhoto.objects.filter(session__date="2026-11-03").count() == 3
