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


def test_deleting_a_student_deletes_their_photo_files(users, photo, django_capture_on_commit_callbacks):
    student = Student.objects.create(name="Joe")
    first = enrolment_photo(student, photo("identities/Joe_Biden/1.jpg"))
    second = enrolment_photo(student, photo("identities/Joe_Biden/2.jpg"))
    paths = [first.image.path, second.image.path]
    assert all(os.path.exists(p) for p in paths)
    with django_capture_on_commit_callbacks(execute=True):
        student.delete()
    assert not any(os.path.exists(p) for p in paths)
    assert not EnrolmentPhoto.objects.exists()


def test_deleting_a_class_deletes_its_class_photo_files(users, photo, django_capture_on_commit_callbacks):
    school_class = make_class(users["teacher"])
    session = ClassSession.objects.create(school_class=school_class, date=datetime.date(2026, 11, 2), period="1")
    stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
    path = stored.image.path
    with django_capture_on_commit_callbacks(execute=True):
        school_class.delete()
    assert not os.path.exists(path)


def test_photo_files_are_deleted_only_when_the_deletion_commits(users, photo, django_capture_on_commit_callbacks):
    """A deletion rolled back (an error later in the same transaction) keeps the rows and
    so their files; the files go once the deletion is committed."""
    student = Student.objects.create(name="Joe")
    path = enrolment_photo(student, photo("identities/Joe_Biden/1.jpg")).image.path
    student_id = student.pk
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            student.delete()
            assert os.path.exists(path)  # deleted in the database, not yet on disk
            raise RuntimeError("a later step failed")
    assert callbacks == [] and os.path.exists(path) and EnrolmentPhoto.objects.filter(student_id=student_id).exists()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Student.objects.get(pk=student_id).delete()
        assert os.path.exists(path)
    assert len(callbacks) == 1 and not os.path.exists(path)


def test_enrolment_state_follows_the_photos(photo):
    student = Student.objects.create(name="Joe")
    assert student.enrolment_state == "not enrolled"
    failed = enrolment_photo(student, photo("misc/dogs.jpg"), status=EnrolmentPhoto.FAILED)
    assert student.enrolment_state == "failed"
    enrolment_photo(student, photo("identities/Joe_Biden/1.jpg"))
    assert student.enrolment_state == "pending"
    EnrolmentPhoto.objects.filter(pk=failed.pk).update(status=EnrolmentPhoto.READY)
    assert student.enrolment_state == "ready"


def test_school_id_is_unique_among_students_who_have_one():
    Student.objects.create(name="Ada Lovelace", school_id="S1001")
    Student.objects.create(name="Alan Turing")
    Student.objects.create(name="Grace Hopper")  # blank ids never clash
    with pytest.raises(IntegrityError), transaction.atomic():
        Student.objects.create(name="Ada Byron", school_id="S1001")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Another student already has this school id"):
        Student(name="Ada Byron", school_id="S1001").full_clean()


def test_school_id_is_one_line_without_outer_spaces(users):
    from django.core.exceptions import ValidationError

    from attendance.models import SchoolClass

    for bad in (" S1001", "S1001 ", "S10\n01", "S\u202e1001"):
        with pytest.raises(ValidationError) as raised:
            Student(name="Ada Lovelace", school_id=bad).full_clean()
        assert "school_id" in raised.value.message_dict
        with pytest.raises(ValidationError):
            SchoolClass(name="7A", teacher=users["teacher"], school_id=bad).full_clean()
    Student(name="Ada Lovelace", school_id="S-1001/2026").full_clean()


def test_class_school_id_is_unique_among_classes_that_have_one(users):
    make_class(users["teacher"], "7A").__class__.objects.filter(name="7A").update(school_id="C7A")
    make_class(users["teacher"], "7B")
    make_class(users["teacher"], "7C")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_class(users["teacher"], "7D").__class__.objects.filter(name="7D").update(school_id="C7A")


def test_office_staff_are_never_co_teachers_from_either_side(users):
    from django.core.exceptions import ValidationError

    school_class = make_class(users["teacher"])
    school_class.co_teachers.add(users["other_teacher"], users["admin"])
    with pytest.raises(ValidationError, match="office staff"), transaction.atomic():
        school_class.co_teachers.add(users["office"])
    with pytest.raises(ValidationError, match="office staff"), transaction.atomic():
        users["office"].classes_co_taught.add(school_class)
    assert set(school_class.co_teachers.all()) == {users["other_teacher"], users["admin"]}
