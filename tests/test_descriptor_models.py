"""Issue 15: every stored descriptor says which model made it; descriptors of two models are
never compared; a change of model stops the start until ``manage.py reencode`` ran.

Real photos of ../shared/faces and the real dlib models: Barack Obama, Joe Biden and George
Bush enrolled from their ``1.jpg``; ``groups/obama_and_biden.jpg`` shows the first two."""
import datetime
import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from attendance import engine
from attendance.registers import review
from attendance.wiring.celery import refuse_stale_descriptors
from attendance.roster.enrolment import encode_enrolment_photo
from attendance.models import (
    UNDESCRIBED,
    AuditEntry,
    ClassSession,
    DetectedFace,
    EnrolmentPhoto,
    LearntTemplate,
    Student,
)
from attendance.registers.recognition import process_class_photo
from attendance.registers.register import roster_gallery
from attendance.roster.reencode import stale_descriptor_counts

from .factories import class_photo, enrolled_students, enrolment_photo, learnt_template, make_class

pytestmark = pytest.mark.django_db

#: A model id no settings give: what a row of another model looks like.
OTHER_MODEL = "some-other-embedder/v2"


@pytest.fixture
def school(users, photo):
    students = enrolled_students(photo)
    school_class = make_class(users["teacher"], "7A", students.values())
    return {"class": school_class, **students}


def take_register(school, photo, day: int):
    session = ClassSession.objects.create(school_class=school["class"], date=datetime.date(2026, 11, day),
                                          period="Period 1")
    stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
    assert process_class_photo(stored.pk) == "done"
    return session


def matched(session) -> set[str]:
    return set(DetectedFace.objects.filter(photo__session=session, decision=DetectedFace.MATCHED)
               .values_list("student__name", flat=True))


def test_descriptors_of_two_models_are_never_compared(school, photo):
    # Stamped with today's model: Obama and Biden are recognised.
    assert set(EnrolmentPhoto.objects.values_list("descriptor_model", flat=True)) == {engine.model_id()}
    session = take_register(school, photo, 2)
    assert matched(session) == {"Barack Obama", "Joe Biden"}
    assert set(DetectedFace.objects.values_list("descriptor_model", flat=True)) == {engine.model_id()}

    # The very same descriptor bytes, said to be of another model: never compared, so Obama's
    # face in the next register matches no one, and the gallery does not hold him.
    EnrolmentPhoto.objects.filter(student=school["Barack Obama"]).update(descriptor_model=OTHER_MODEL)
    assert school["Barack Obama"].pk not in roster_gallery(school["class"]).labels
    session = take_register(school, photo, 3)
    assert matched(session) == {"Joe Biden"}
    assert not DetectedFace.objects.filter(photo__session=session, student=school["Barack Obama"]).exists()

    # The duplicate-enrolment check does not compare them either: a second Obama, enrolled
    # under another name, is not taken for the first...
    again = Student.objects.create(name="Barack Obama again")
    assert encode_enrolment_photo(enrolment_photo(again, photo("identities/Barack_Obama/2.jpg")).pk) == "ready"
    # ...and is, once the first's descriptor is of the current model again.
    EnrolmentPhoto.objects.filter(student=school["Barack Obama"]).update(descriptor_model=engine.model_id())
    third = Student.objects.create(name="Barack Obama third")
    assert encode_enrolment_photo(enrolment_photo(third, photo("identities/Barack_Obama/3.jpg")).pk) \
        == "needs_review"


def check_output() -> str:
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out)
    return out.getvalue()


def test_check_refuses_a_changed_model_until_reencode_ran(school, photo, users, settings):
    session = take_register(school, photo, 2)
    learnt = review.confirm_register(session, users["teacher"])
    assert len(learnt) == 2  # Obama's and Biden's faces, learnt with their crops
    learnt_template(school["George Bush"])  # a grey square: no face in its crop
    before = dict(EnrolmentPhoto.objects.values_list("pk", "descriptor"))
    assert "no issues" in check_output()

    settings.FACE_LANDMARK_POINTS = 68
    assert engine.model_id() == "dlib-resnet-v1/68pt"
    assert stale_descriptor_counts() == {"enrolment photos": 3, "class-photo faces": 3, "learnt templates": 3}
    with pytest.raises(SystemCheckError) as refused:
        check_output()
    assert "attendance.E002" in str(refused.value)
    assert "3 enrolment photos, 3 class-photo faces, 3 learnt templates" in str(refused.value)
    assert "manage.py reencode" in str(refused.value)
    with pytest.raises(SystemExit, match="reencode"):
        refuse_stale_descriptors()  # the worker does not start either
    call_command("migrate", verbosity=0, skip_checks=False)  # migrate still runs

    out = io.StringIO()
    call_command("reencode", stdout=out)
    report = out.getvalue()
    assert "Re-encoding for dlib-resnet-v1/68pt (9 of dlib-resnet-v1/5pt):" in report
    assert "3 enrolment photos described" in report and "3 class-photo faces described" in report
    assert "2 learnt templates described" in report and "1 learnt templates removed" in report
    assert "no issues" in check_output()
    refuse_stale_descriptors()

    # New descriptors, stamped with the new model; the 68-point gallery recognises them.
    for pk, descriptor in EnrolmentPhoto.objects.values_list("pk", "descriptor"):
        assert bytes(descriptor) != bytes(before[pk])
    for model in (EnrolmentPhoto, DetectedFace, LearntTemplate):
        assert set(model.objects.values_list("descriptor_model", flat=True)) == {"dlib-resnet-v1/68pt"}
    assert LearntTemplate.objects.count() == 2
    assert matched(take_register(school, photo, 3)) == {"Barack Obama", "Joe Biden"}
    entry = AuditEntry.objects.get(action=AuditEntry.DESCRIPTORS_REENCODED)
    assert entry.after["model"] == "dlib-resnet-v1/68pt" and entry.before == {"models": {"dlib-resnet-v1/5pt": 9}}

    # Idempotent: a second run finds nothing to do.
    out = io.StringIO()
    call_command("reencode", stdout=out)
    assert "nothing to do" in out.getvalue()


def test_reencode_leaves_faces_of_a_lost_photo_out_of_matching_and_fails_on_a_lost_enrolment_photo(
        school, photo, settings):
    session = take_register(school, photo, 2)
    stored = session.photos.get()
    stored.image.storage.delete(stored.image.name)
    lost = EnrolmentPhoto.objects.get(student=school["George Bush"])
    lost.image.storage.delete(lost.image.name)
    settings.FACE_LANDMARK_POINTS = 68

    err = io.StringIO()
    with pytest.raises(CommandError, match="could not be described"):
        call_command("reencode", stdout=io.StringIO(), stderr=err)
    assert "George Bush" in err.getvalue()
    lost.refresh_from_db()
    assert (lost.status, lost.descriptor, lost.descriptor_model) == ("failed", None, "")
    faces = DetectedFace.objects.filter(photo=stored)
    assert {(f.descriptor_model, bytes(f.descriptor)) for f in faces} == {(UNDESCRIBED, b"")}
    assert matched(session) == {"Barack Obama", "Joe Biden"}  # their decisions stay
    assert "no issues" in check_output()


def test_migration_stamps_todays_rows_with_todays_model(school, photo):
    take_register(school, photo, 2)
    learnt_template(school["Joe Biden"])
    # Rows as they stood before the migration: no model id.
    for model in (EnrolmentPhoto, DetectedFace, LearntTemplate):
        model.objects.update(descriptor_model="")
    pending = enrolment_photo(Student.objects.create(name="No descriptor yet"), photo("identities/Joe_Biden/2.jpg"))

    migration = importlib.import_module("attendance.migrations.0012_descriptor_model")
    migration.stamp_todays_descriptors(apps, None)

    # The literal is the default settings' model id.
    assert migration.TODAYS_MODEL_ID == engine.model_id() == "dlib-resnet-v1/5pt"
    for model in (DetectedFace, LearntTemplate):
        assert set(model.objects.values_list("descriptor_model", flat=True)) == {migration.TODAYS_MODEL_ID}
    stamped = dict(EnrolmentPhoto.objects.values_list("pk", "descriptor_model"))
    assert stamped.pop(pending.pk) == ""
    assert set(stamped.values()) == {migration.TODAYS_MODEL_ID}
