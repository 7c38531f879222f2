"""The register's data rules, enforced by the database."""
import datetime
import os

import numpy as np
import pytest
from django.db import IntegrityError, transaction

from attendance.models import (
    AttendanceRecord, ClassSession, EnrolmentPhoto, Student, descriptor_from_bytes, descriptor_to_bytes,
)

from .factories import class_photo, enrolment_photo, make_class

pytestmark = pytest.mark.django_db


def test_descriptor_round_trips_through_512_bytes():
    descriptor = np.random.default_rng(1).normal(size=128).astype(np.float32)
    data = descriptor_to_bytes(descriptor)
    assert len(data) == 512
    assert np.array_equal(descriptor_from_bytes(data), descriptor)


def test_one_record_per_student_per_session(users):
    student = Student.objects.create(name="Ada Lovelace")
    session = ClassSession.objects.create(
        school_class=make_class(users["teacher"], students=[student]), date=datetime.date(2026, 11, 2), period="1")
    AttendanceRecord.objects.create(session=session, student=student, status="present")
    with pytest.raises(IntegrityError), transaction.atomic():
        AttendanceRecord.objects.create(session=session, student=student, status="absent")


def test_one_session_per_class_date_and_period(users):
    school_class = make_class(users["teacher"])
    ClassSession.objects.create(school_class=school_class, date=datetime.date(2026, 11, 2), period="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassSession.objects.create(school_class=school_class, date=datetime.date(2026, 11, 2), period="1")


def test_uploaded_name_is_never_used_on_disk(photo, settings):
    student = Student.objects.create(name="Ada")
    path = photo("identities/Joe_Biden/1.jpg")
    from django.core.files.base import ContentFile

    stored = EnrolmentPhoto.objects.create(student=student, image=ContentFile(path.read_bytes(), name="../../x.jpg"))
    assert stored.image.name.startswith("enrolment/") and ".." not in stored.image.name
    assert os.path.realpath(stored.image.path).startswith(os.path.realpath(settings.MEDIA_ROOT))


def test_deleting_a_student_deletes_their_photo_files(users, photo):
    student = Student.objects.create(name="Joe")
    first = enrolment_photo(student, photo("identities/Joe_Biden/1.jpg"))
    second = enrolment_photo(student, photo("identities/Joe_Biden/2.jpg"))
    paths = [first.image.path, second.image.path]
    assert all(os.path.exists(p) for p in paths)
    student.delete()
    assert not any(os.path.exists(p) for p in paths)
    assert not EnrolmentPhoto.objects.exists()


def test_deleting_a_class_deletes_its_class_photo_files(users, photo):
    school_class = make_class(users["teacher"])
    session = ClassSession.objects.create(school_class=school_class, date=datetime.date(2026, 11, 2), period="1")
    stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
    path = stored.image.path
    school_class.delete()
    assert not os.path.exists(path)


def test_enrolment_state_follows_the_photos(photo):
    student = Student.objects.create(name="Joe")
    assert student.enrolment_state == "not enrolled"
    failed = enrolment_photo(student, photo("misc/dogs.jpg"), status=EnrolmentPhoto.FAILED)
    assert student.enrolment_state == "failed"
    enrolment_photo(student, photo("identities/Joe_Biden/1.jpg"))
    assert student.enrolment_state == "pending"
    EnrolmentPhoto.objects.filter(pk=failed.pk).update(status=EnrolmentPhoto.READY)
    assert student.enrolment_state == "ready"
