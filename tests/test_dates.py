"""Session dates are the school's local date (TIME_ZONE), fixed when the photo is uploaded."""
import datetime
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.registers import recognition
from attendance.roster.enrolment import encode_enrolment_photo
from attendance.models import AttendanceRecord, ClassPhoto, ClassSession, Student

from .factories import enrolment_photo, make_class

UTC = datetime.timezone.utc


def offered_date(client, school_class) -> str:
    page = client.get(reverse("session_upload", args=[school_class.pk])).content.decode()
    return re.search(r'name="date" value="([0-9-]+)"', page).group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("time_zone, utc_instant, local_date", [
    ("Europe/London", datetime.datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "2026-11-30"),
    # Already tomorrow in New Zealand, still yesterday in New York.
    ("Pacific/Auckland", datetime.datetime(2026, 11, 30, 11, 30, tzinfo=UTC), "2026-12-01"),
    ("America/New_York", datetime.datetime(2026, 11, 30, 3, 30, tzinfo=UTC), "2026-11-29"),
])
def test_upload_form_offers_the_schools_local_date(client, users, settings, time_zone, utc_instant, local_date):
    settings.TIME_ZONE = time_zone
    school_class = make_class(users["teacher"], "7A")
    client.force_login(users["teacher"])
    with time_machine.travel(utc_instant, tick=False):
        assert offered_date(client, school_class) == local_date


@pytest.mark.django_db
def test_photo_uploaded_before_midnight_and_processed_after_keeps_its_date(client, users, photo, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.TIME_ZONE = "Europe/London"
    obama = Student.objects.create(name="Barack Obama")
    encode_enrolment_photo(enrolment_photo(obama, photo("identities/Barack_Obama/1.jpg")).pk)
    school_class = make_class(users["teacher"], "7A", students=[obama])
    client.force_login(users["teacher"])
    with time_machine.travel(datetime.datetime(2026, 11, 30, 23, 59, 40, tzinfo=UTC), tick=False):
        date = offered_date(client, school_class)
        with django_capture_on_commit_callbacks(execute=False):  # the worker runs it after midnight
            response = client.post(reverse("session_upload", args=[school_class.pk]), {
                "date": date, "period": "1",
                "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
        assert response.status_code == 302
    stored = ClassPhoto.objects.get()
    with time_machine.travel(datetime.datetime(2026, 12, 1, 0, 0, 20, tzinfo=UTC), tick=False):
        assert recognition.process_class_photo_task(stored.pk) == ClassPhoto.DONE
        assert offered_date(client, school_class) == "2026-12-01"
    stored.refresh_from_db()
    assert stored.processed_at.date() == datetime.date(2026, 12, 1)
    session = ClassSession.objects.get()
    assert session.date == datetime.date(2026, 11, 30)
    record = AttendanceRecord.objects.get(session=session)
    assert record.status == AttendanceRecord.PRESENT and record.session.date == datetime.date(2026, 11, 30)
