"""Consent before enrolment, withdrawal that deletes at once, and the audit log."""
import datetime
import io
import zipfile

import pytest
from django.test import TestCase
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from attendance.roster import consent as consents
from attendance.roster.enrolment import encode_enrolment_photo
from attendance.models import (
    AttendanceRecord,
    AuditEntry,
    ClassPhoto,
    ClassSession,
    Consent,
    DetectedFace,
    EnrolmentPhoto,
    LearntTemplate,
    Student,
)
from attendance.registers.recognition import process_class_photo

from .conftest import CONSENT_FIELDS
from .factories import class_photo, make_class

pytestmark = pytest.mark.django_db


def upload(path):
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")


def stored_files(storage):
    found = []

    def walk(folder):
        folders, files = storage.listdir(folder)
        found.extend(f"{folder}/{f}" if folder else f for f in files)
        for sub in folders:
            walk(f"{folder}/{sub}" if folder else sub)
    walk("")
    return found


class TestConsentBeforeEnrolment:
    def test_photos_without_consent_are_refused_and_nothing_is_stored(self, client, users, photo, settings):
        from django.core.files.storage import default_storage

        school_class = make_class(users["teacher"])
        before = stored_files(default_storage)
        client.force_login(users["admin"])
        response = client.post(reverse("student_enrol", args=[school_class.pk]), {
            "name": "Joe Biden", "photos": upload(photo("identities/Joe_Biden/1.jpg"))})
        assert response.status_code == 400
        assert "only with recorded consent" in response.content.decode()
        assert not Student.objects.exists() and not EnrolmentPhoto.objects.exists()
        assert stored_files(default_storage) == before

    def test_student_without_photos_joins_the_roster_registered_by_hand(self, client, users):
        school_class = make_class(users["teacher"])
        client.force_login(users["admin"])
        response = client.post(reverse("student_enrol", args=[school_class.pk]), {"name": "Ada Lovelace"},
                               follow=True)
        assert "added without face recognition: registered by hand" in response.content.decode()
        ada = school_class.students.get()
        assert not Consent.objects.filter(student=ada).exists() and not ada.photos.exists()
        page = client.get(reverse("student_detail", args=[ada.pk])).content.decode()
        assert "No consent recorded." in page and "Photos can be added once consent is recorded." in page

    def test_consent_recorded_on_the_student_page_then_photos_accepted(self, client, users, photo,
                                                                      django_capture_on_commit_callbacks):
        ada = Student.objects.create(name="Joe Biden")
        make_class(users["teacher"], students=[ada])
        client.force_login(users["admin"])
        refused = client.post(reverse("student_detail", args=[ada.pk]),
                              {"photos": upload(photo("identities/Joe_Biden/1.jpg"))})
        assert refused.status_code == 400 and "no consent to face recognition is recorded" in refused.content.decode()
        assert not EnrolmentPhoto.objects.exists()

        client.post(reverse("consent_record", args=[ada.pk]),
                    {"given_by": "Jill Biden", "given_on": "2026-09-01", "note": "Office file 2026/27, form 14"})
        consent = Consent.objects.get(student=ada)
        assert consent.given_by == "Jill Biden" and consent.recorded_by == users["admin"]
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            accepted = client.post(reverse("student_detail", args=[ada.pk]),
                                   {"photos": upload(photo("identities/Joe_Biden/1.jpg"))})
        assert accepted.status_code == 302 and EnrolmentPhoto.objects.count() == 1
        assert len(callbacks) == 1  # its encoding is queued
        page = client.get(reverse("student_detail", args=[ada.pk])).content.decode()
        assert "Given by <strong>Jill Biden</strong>" in page and "Withdraw consent" in page
        entries = list(AuditEntry.objects.order_by("id").values_list("action", "username"))
        assert entries == [(AuditEntry.CONSENT_RECORDED, "admin"), (AuditEntry.PHOTOS_ADDED, "admin")]

    def test_zip_needs_the_consent_statement(self, client, users, photo):
        school_class = make_class(users["teacher"])
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.write(photo("identities/Joe_Biden/1.jpg"), "Joe_Biden/1.jpg")
        client.force_login(users["admin"])
        fields = {key: value for key, value in CONSENT_FIELDS.items() if key != "consent_on_file"}
        response = client.post(reverse("roster_zip", args=[school_class.pk]), {
            **fields, "archive": SimpleUploadedFile("c.zip", archive.getvalue(), content_type="application/zip")})
        assert response.status_code == 400 and "confirm it is on file for every student" in response.content.decode()
        assert not Student.objects.exists()
        response = client.post(reverse("roster_zip", args=[school_class.pk]), {
            **CONSENT_FIELDS,
            "archive": SimpleUploadedFile("c.zip", archive.getvalue(), content_type="application/zip")})
        assert response.status_code == 302
        assert Consent.objects.get(student__name="Joe Biden").note == CONSENT_FIELDS["note"]

    def test_enrol_command_requires_a_consent_note(self, users, tmp_path, photo):
        (tmp_path / "Joe_Biden").mkdir()
        (tmp_path / "Joe_Biden" / "1.jpg").write_bytes(photo("identities/Joe_Biden/1.jpg").read_bytes())
        with pytest.raises(CommandError, match="--consent-note"):
            call_command("enrol", str(tmp_path), "--class", "7A", "--teacher", "teacher", "--inline")
        assert not Student.objects.exists()

    def test_review_and_learning_never_link_a_face_to_a_student_without_consent(self, users, photo):
        from attendance.registers import review

        joe = Student.objects.create(name="Joe Biden")
        session = ClassSession.objects.create(school_class=make_class(users["teacher"], students=[joe]),
                                              date=datetime.date(2026, 11, 3), period="1")
        process_class_photo(class_photo(session, photo("groups/obama_and_biden.jpg")).pk)
        face = DetectedFace.objects.order_by("-right").first()
        with pytest.raises(review.ReviewError, match="No consent"):
            review.decide_face(face, users["teacher"], joe)
        assert review.confirm_register(session, users["teacher"]) == []
        assert not EnrolmentPhoto.objects.exists() and not LearntTemplate.objects.exists()
        assert not DetectedFace.objects.filter(student=joe).exists()


def test_withdrawing_consent_deletes_photos_and_face_data_at_once_and_keeps_the_register(client, users, photo):
    joe = Student.objects.create(name="Joe Biden")
    consents.record_consent(joe, "Jill Biden", datetime.date(2026, 9, 1), "Office file", users["admin"])
    enrolled = EnrolmentPhoto.objects.create(student=joe, image=upload(photo("identities/Joe_Biden/1.jpg")))
    encode_enrolment_photo(enrolled.pk)
    school_class = make_class(users["teacher"], students=[joe])
    session = ClassSession.objects.create(school_class=school_class, date=datetime.date(2026, 11, 3), period="1")
    process_class_photo(class_photo(session, photo("groups/obama_and_biden.jpg")).pk)
    assert session.records.get(student=joe).status == AttendanceRecord.PRESENT
    assert DetectedFace.objects.filter(student=joe).exists()
    storage, name = enrolled.image.storage, enrolled.image.name
    from attendance.registers import review

    (template,) = review.confirm_register(session, users["teacher"])  # Joe's face in the class photo is learnt
    assert template.student == joe and storage.exists(template.crop.name)

    client.force_login(users["admin"])
    refused = client.post(reverse("consent_withdraw", args=[joe.pk]), {})
    assert refused.status_code == 400 and Consent.objects.filter(student=joe).exists()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the files go when the withdrawal commits
        response = client.post(reverse("consent_withdraw", args=[joe.pk]), {"confirm": "on"}, follow=True)
    assert "Consent withdrawn: 1 photo and all face data of Joe Biden deleted" in response.content.decode()
    assert not Consent.objects.filter(student=joe).exists()
    assert not EnrolmentPhoto.objects.exists() and not storage.exists(name)
    assert not DetectedFace.objects.filter(student=joe).exists()
    assert not LearntTemplate.objects.exists() and not storage.exists(template.crop.name)
    # The register keeps what was recorded; from now on Joe is registered by hand.
    assert session.records.get(student=joe).status == AttendanceRecord.PRESENT
    later = ClassSession.objects.create(school_class=school_class, date=datetime.date(2026, 11, 4), period="1")
    assert process_class_photo(class_photo(later, photo("groups/obama_and_biden.jpg")).pk) == ClassPhoto.DONE
    assert later.records.get(student=joe).status == AttendanceRecord.ABSENT
    client.force_login(users["teacher"])
    assert "no usable photo" in client.get(reverse("session_detail", args=[later.pk])).content.decode()
    entry = AuditEntry.objects.get(action=AuditEntry.CONSENT_WITHDRAWN)
    assert entry.username == "admin" and entry.before["given_by"] == "Jill Biden"
    assert entry.before["enrolment_photos"] == 1 and entry.before["faces_in_class_photos"] >= 1
    assert entry.before["learnt_templates"] == 1


class TestAuditLog:
    def test_manual_change_is_logged_with_before_and_after(self, client, users):
        joe = Student.objects.create(name="Joe Biden")
        session = ClassSession.objects.create(school_class=make_class(users["teacher"], students=[joe]),
                                              date=datetime.date(2026, 11, 3), period="1")
        AttendanceRecord.objects.create(session=session, student=joe, status="absent")
        client.force_login(users["teacher"])
        client.post(reverse("record_set", args=[session.pk, joe.pk]), {"status": "present"})
        entry = AuditEntry.objects.get()
        assert entry.action == AuditEntry.RECORD_CHANGED and entry.user == users["teacher"]
        assert entry.before == {"status": "absent", "reason": "", "source": "photo"}
        assert entry.after == {"status": "present", "reason": "", "source": "manual"}
        assert "Joe Biden marked present in 7A on 2026-11-03" in entry.summary

    def test_admin_deletion_of_a_student_is_logged_and_outlives_the_student(self, client, users):
        joe = Student.objects.create(name="Joe Biden")
        make_class(users["teacher"], students=[joe])
        client.force_login(users["admin"])
        client.post(reverse("admin:attendance_student_delete", args=[joe.pk]), {"post": "yes"})
        assert not Student.objects.exists()
        entry = AuditEntry.objects.get(action=AuditEntry.DELETED)
        assert entry.summary == "Student deleted: Joe Biden" and entry.username == "admin"

    def test_log_is_for_school_admins_only_and_read_only(self, client, users):
        joe = Student.objects.create(name="Joe Biden")
        consents.record_consent(joe, "Jill Biden", datetime.date(2026, 9, 1), "Office file", users["admin"])
        url = reverse("admin:attendance_auditentry_changelist")
        client.force_login(users["admin"])
        page = client.get(url).content.decode()
        assert "Consent recorded for Joe Biden" in page
        entry = AuditEntry.objects.get()
        assert client.post(reverse("admin:attendance_auditentry_delete", args=[entry.pk]),
                           {"post": "yes"}).status_code == 403
        assert AuditEntry.objects.exists()
        for role in ("teacher", "office"):
            client.force_login(users[role])
            assert client.get(url).status_code == 302


def test_every_consent_form_starts_empty(client, users):
    """The enrol form, the zip form (class page) and the student page's consent form all
    start with empty consent fields: no "Parent or guardian", no date the admin did not
    type, so the record and its audit entry hold what the signed form says."""
    import re

    ada = Student.objects.create(name="Ada Lovelace")
    school_class = make_class(users["teacher"], students=[ada])
    client.force_login(users["admin"])
    class_page = client.get(reverse("class_detail", args=[school_class.pk])).content.decode()
    student_page = client.get(reverse("student_detail", args=[ada.pk])).content.decode()
    inputs = [tag for page in (class_page, student_page)
              for tag in re.findall(r"<input[^>]*name=\"(?:given_by|given_on|note)\"[^>]*>", page)]
    assert len(inputs) == 9, inputs  # three fields on each of the three forms
    assert not [tag for tag in inputs if "value=" in tag], inputs
    assert "Parent or guardian" not in class_page
