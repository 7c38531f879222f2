"""The web pages: access rules, forms, uploads, reports and CSV."""
import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from attendance.roster.enrolment import encode_enrolment_photo
from attendance.models import AttendanceRecord, ClassPhoto, ClassSession, DetectedFace, EnrolmentPhoto, SchoolClass, Student
from attendance.registers.register import match_session

from .conftest import CONSENT_FIELDS

from .factories import enrolment_photo, give_consent
from .world import build_school

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(users, photo):
    """The shared school (tests/world.py) with Joe Biden its only student and a processed
    session: Barack Obama is not enrolled, so his face in the class photo is the stranger
    the review and report tests work on."""
    return build_school(users, photo, enrolled=["Joe Biden"], by_hand=[], session=True)


def signed_in(client, user):
    client.force_login(user)
    return client


def upload(path, name=None, content_type="image/jpeg"):
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


class TestAccess:
    def urls(self, school):
        return [
            reverse("class_detail", args=[school["class"].pk]),
            reverse("class_report", args=[school["class"].pk]),
            reverse("class_report_csv", args=[school["class"].pk]),
            reverse("session_upload", args=[school["class"].pk]),
            reverse("session_detail", args=[school["session"].pk]),
            reverse("session_status", args=[school["session"].pk]),
            reverse("student_detail", args=[school["student"].pk]),
            reverse("student_report_csv", args=[school["student"].pk]),
            reverse("class_photo_image", args=[school["photo"].pk]),
            reverse("enrolment_photo_image", args=[school["student"].photos.first().pk]),
        ]

    def test_anonymous_is_sent_to_sign_in(self, client, school):
        for url in self.urls(school) + [reverse("home")]:
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith("/login/"), url

    def test_teacher_of_the_class_sees_every_page(self, client, users, school):
        signed_in(client, users["teacher"])
        for url in self.urls(school):
            assert client.get(url).status_code == 200, url

    def test_teacher_of_another_class_is_refused(self, client, users, school):
        signed_in(client, users["other_teacher"])
        for url in self.urls(school):
            assert client.get(url).status_code == 403, url

    def test_admin_sees_every_page(self, client, users, school):
        signed_in(client, users["admin"])
        for url in self.urls(school):
            assert client.get(url).status_code == 200, url

    def test_teacher_cannot_enrol_or_create_classes(self, client, users, school, photo):
        signed_in(client, users["teacher"])
        assert client.get(reverse("class_create")).status_code == 403
        response = client.post(reverse("student_enrol", args=[school["class"].pk]),
                               {**CONSENT_FIELDS, "name": "X", "photos": upload(photo("identities/Joe_Biden/2.jpg"))})
        assert response.status_code == 403
        assert not Student.objects.filter(name="X").exists()

    def test_home_lists_only_the_teachers_classes(self, client, users, school):
        signed_in(client, users["teacher"])
        page = client.get(reverse("home")).content.decode()
        assert ">7A</a>" in page and ">8B</a>" not in page

    def test_photo_is_served_privately(self, client, users, school):
        signed_in(client, users["teacher"])
        response = client.get(reverse("class_photo_image", args=[school["photo"].pk]))
        assert response["Cache-Control"] == "private, no-store"
        assert response["Content-Type"] == "image/jpeg" and response["X-Content-Type-Options"] == "nosniff"
        # An upright JPEG rendition with the photo's own proportions (the SVG overlay's
        # boxes are in the worker's upright pixels).
        shown = Image.open(io.BytesIO(response.content))
        stored = ClassPhoto.objects.get(pk=school["photo"].pk)
        assert shown.format == "JPEG" and max(shown.size) <= 1920
        assert abs(shown.width / shown.height - stored.width / stored.height) < 0.01


class TestAdminEnrols:
    def test_create_class(self, client, users):
        signed_in(client, users["admin"])
        response = client.post(reverse("class_create"), {"name": "9C", "teacher": users["teacher"].pk})
        school_class = SchoolClass.objects.get(name="9C")
        assert response.status_code == 302 and school_class.teacher == users["teacher"]

    def test_enrol_student_with_photos_queues_encoding(self, client, users, school, photo,
                                                       django_capture_on_commit_callbacks):
        signed_in(client, users["admin"])
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(reverse("student_enrol", args=[school["class"].pk]), {**CONSENT_FIELDS,
                "name": "Barack Obama",
                "photos": [upload(photo("identities/Barack_Obama/1.jpg")), upload(photo("identities/Barack_Obama/2.jpg"))],
            })
        assert response.status_code == 302
        student = school["class"].students.get(name="Barack Obama")
        assert [p.status for p in student.photos.all()] == ["pending", "pending"]
        assert len(callbacks) == 2  # one encoding task per photo, sent after commit
        page = client.get(reverse("class_detail", args=[school["class"].pk])).content.decode()
        assert "Barack Obama" in page and "pending" in page

    def test_roster_shows_failure_reason_in_words(self, client, users, school, photo):
        failed = Student.objects.create(name="Dog Owner")
        school["class"].students.add(failed)
        encode_enrolment_photo(enrolment_photo(failed, photo("misc/dogs.jpg")).pk)
        signed_in(client, users["admin"])
        page = client.get(reverse("class_detail", args=[school["class"].pk])).content.decode()
        assert "No face was found in this photo." in page

    def test_file_that_is_not_an_image_is_refused_with_its_name(self, client, users, school):
        signed_in(client, users["admin"])
        response = client.post(reverse("student_enrol", args=[school["class"].pk]), {**CONSENT_FIELDS,
            "name": "Nobody", "photos": SimpleUploadedFile("notes.jpg", b"just text", content_type="image/jpeg")})
        assert response.status_code == 400
        assert "notes.jpg: This file is not a readable image" in response.content.decode()
        assert not Student.objects.filter(name="Nobody").exists()

    def test_zip_enrols_one_student_per_folder_and_ignores_hostile_paths(self, client, users, school, photo,
                                                                         django_capture_on_commit_callbacks):
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("enrol/Barack_Obama/1.jpg", photo("identities/Barack_Obama/1.jpg").read_bytes())
            z.writestr("enrol/Barack_Obama/2.jpg", photo("identities/Barack_Obama/2.jpg").read_bytes())
            z.writestr("enrol/Ariel_Sharon/1.jpg", photo("identities/Ariel_Sharon/1.jpg").read_bytes())
            z.writestr("../evil.jpg", b"x")
            z.writestr("__MACOSX/enrol/._1.jpg", b"x")
        signed_in(client, users["admin"])
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(reverse("roster_zip", args=[school["class"].pk]), {**CONSENT_FIELDS,
                "archive": SimpleUploadedFile("class.zip", archive.getvalue(), content_type="application/zip")})
        assert response.status_code == 302
        names = set(school["class"].students.values_list("name", flat=True))
        assert names == {"Joe Biden", "Barack Obama", "Ariel Sharon"}
        assert EnrolmentPhoto.objects.filter(student__name="Barack Obama").count() == 2
        assert len(callbacks) == 3
        assert all(p.image.name.startswith("enrolment/") for p in EnrolmentPhoto.objects.all())

    def test_not_a_zip_is_refused(self, client, users, school):
        signed_in(client, users["admin"])
        response = client.post(reverse("roster_zip", args=[school["class"].pk]), {**CONSENT_FIELDS,
            "archive": SimpleUploadedFile("class.zip", b"not a zip", content_type="application/zip")})
        assert response.status_code == 400
        assert "not a readable zip" in response.content.decode()


class TestTeacherTakesAttendance:
    def test_upload_creates_session_and_queues_photo(self, client, users, school, photo,
                                                     django_capture_on_commit_callbacks):
        signed_in(client, users["teacher"])
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(reverse("session_upload", args=[school["class"].pk]), {
                "date": "2026-11-03", "period": "Period 2",
                "photos": upload(photo("groups/obama_and_biden.jpg"), name="../../x.jpg")})
        session = ClassSession.objects.get(school_class=school["class"], date="2026-11-03", period="Period 2")
        assert response.status_code == 302 and response["Location"] == reverse("session_detail", args=[session.pk])
        stored = session.photos.get()
        assert stored.status == ClassPhoto.PENDING and stored.image.name.startswith("class-photos/")
        assert len(callbacks) == 1
        page = client.get(response["Location"]).content.decode()
        assert "Recognising faces" in page

    def test_finished_session_shows_marked_photo_and_lists(self, client, users, school):
        signed_in(client, users["teacher"])
        page = client.get(reverse("session_detail", args=[school["session"].pk])).content.decode()
        # Issue 18: numbered markers on the faces, the names in a list (no names drawn on the photo).
        assert "<svg" in page and 'class="marker-number"' in page and "Joe Biden</text>" not in page
        assert '<span class="face-name">Joe Biden</span>' in page
        assert '<span class="face-name">Not on this class&#x27;s list</span>' in page
        assert "Present <span class=\"count\">1</span>" in page

    def test_an_answer_from_the_marked_photo_comes_back_to_the_session_page(self, client, users, school):
        signed_in(client, users["teacher"])
        face = DetectedFace.objects.filter(photo__session=school["session"], decision=DetectedFace.UNKNOWN).first()
        response = client.post(reverse("face_review", args=[face.pk]), {"student": "none", "back": "session"})
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('session_detail', args=[school['session'].pk])}#photo-face-{face.pk}"
        face.refresh_from_db()
        assert face.is_reviewed and face.reviewed_student_id is None
        undo = client.post(reverse("face_undo", args=[face.pk]), {"back": "session"})
        assert undo["Location"].endswith(f"#photo-face-{face.pk}") and "/review/" not in undo["Location"]

    def test_status_json_reports_finished(self, client, users, school):
        signed_in(client, users["teacher"])
        data = client.get(reverse("session_status", args=[school["session"].pk])).json()
        assert data["finished"] is True and data["photos"][0]["status"] == "done"

    def test_upload_of_text_file_is_refused_and_nothing_stored(self, client, users, school):
        signed_in(client, users["teacher"])
        response = client.post(reverse("session_upload", args=[school["class"].pk]), {
            "date": "2026-11-03", "period": "1", "photos": SimpleUploadedFile("class.jpg", b"%PDF-1.4")})
        assert response.status_code == 400
        assert not ClassSession.objects.filter(date="2026-11-03").exists()

    def test_photo_over_the_size_limit_is_refused(self, client, users, school, photo, settings):
        settings.MAX_PHOTO_BYTES = 1000
        signed_in(client, users["teacher"])
        response = client.post(reverse("session_upload", args=[school["class"].pk]), {
            "date": "2026-11-03", "period": "1", "photos": upload(photo("groups/obama_and_biden.jpg"))})
        assert response.status_code == 400 and "over the limit" in response.content.decode()


class TestReports:
    def test_class_report_and_csv(self, client, users, school):
        signed_in(client, users["teacher"])
        page = client.get(reverse("class_report", args=[school["class"].pk])).content.decode()
        assert "Joe Biden" in page and "100%" in page
        response = client.get(reverse("class_report_csv", args=[school["class"].pk]))
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0] == ["Student", "2026-11-02 Period 1", "present", "late", "absent", "excused", "Counted present",
                           "Recorded", "Rate", "Below 90%"]
        assert rows[1] == ["Joe Biden", "present", "1", "0", "0", "0", "1", "1", "100%", ""]

    def test_student_history_csv(self, client, users, school):
        signed_in(client, users["teacher"])
        rows = list(csv.reader(io.StringIO(
            client.get(reverse("student_report_csv", args=[school["student"].pk])).content.decode("utf-8-sig"))))
        assert rows == [["Date", "Period", "Class", "Status", "Source", "Reason"],
                        ["2026-11-02", "Period 1", "7A", "present", "photo", ""]]

    def test_csv_neutralises_spreadsheet_formulas(self, client, users, school):
        evil = Student.objects.create(name="=HYPERLINK(\"http://x\")")
        school["class"].students.add(evil)
        AttendanceRecord.objects.create(session=school["session"], student=evil, status="absent")
        signed_in(client, users["teacher"])
        text = client.get(reverse("class_report_csv", args=[school["class"].pk])).content.decode()
        assert "'=HYPERLINK" in text


class TestReview:
    def test_review_page_lists_unrecognised_faces_with_crops(self, client, users, school):
        signed_in(client, users["teacher"])
        page = client.get(reverse("session_review", args=[school["session"].pk])).content.decode()
        unknown = school["photo"].faces.exclude(decision="matched")
        assert unknown.count() == 2  # Obama (not enrolled in this fixture) and a third face
        for face in unknown:
            assert reverse("face_crop", args=[face.pk]) in page
        crop = client.get(reverse("face_crop", args=[unknown[0].pk]))
        assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg"
        assert crop.content[:2] == b"\xff\xd8"

    def test_teacher_of_another_class_cannot_see_or_review_faces(self, client, users, school):
        face = school["photo"].faces.first()
        signed_in(client, users["other_teacher"])
        assert client.get(reverse("face_crop", args=[face.pk])).status_code == 403
        assert client.post(reverse("face_review", args=[face.pk]), {"student": "none"}).status_code == 403
        assert client.get(reverse("session_review", args=[school["session"].pk])).status_code == 403

    def test_confirming_a_face_marks_the_student_present_as_a_manual_change(self, client, users, school):
        obama = Student.objects.create(name="Barack Obama")
        school["class"].students.add(obama)
        give_consent(obama)
        from attendance.registers.register import match_session

        match_session(school["session"])
        assert school["session"].records.get(student=obama).status == "absent"
        face = school["photo"].faces.exclude(decision="matched").order_by("-right").first()
        signed_in(client, users["teacher"])
        response = client.post(reverse("face_review", args=[face.pk]), {"student": obama.pk})
        assert response.status_code == 302
        record = school["session"].records.get(student=obama)
        assert record.status == "present" and record.source == "manual"
        assert record.changed_by == users["teacher"] and record.machine_status == "absent"
        face.refresh_from_db()
        assert face.review_action == "reassigned" and face.decision in ("unknown", "unsure")

    def test_a_student_without_consent_is_never_given_a_face(self, client, users, school):
        obama = Student.objects.create(name="Barack Obama")  # on the roster, no consent recorded
        school["class"].students.add(obama)
        face = school["photo"].faces.exclude(decision="matched").order_by("-right").first()
        signed_in(client, users["teacher"])
        page = client.get(reverse("session_review", args=[school["session"].pk])).content.decode()
        assert f'<option value="{obama.pk}">' not in page and f'<option value="{school["student"].pk}">' in page
        response = client.post(reverse("face_review", args=[face.pk]), {"student": obama.pk}, follow=True)
        assert "Choose a student of the class" in response.content.decode()
        face.refresh_from_db()
        assert not face.is_reviewed and not face.reviewed_student_id
        from attendance.registers import review

        with pytest.raises(review.ReviewError, match="No consent"):
            review.decide_face(face, users["teacher"], obama)

    def test_not_a_student_removes_a_wrong_match(self, client, users, school):
        matched = school["photo"].faces.get(decision="matched")
        signed_in(client, users["teacher"])
        client.post(reverse("face_review", args=[matched.pk]), {"student": "none"})
        record = school["session"].records.get(student=school["student"])
        assert record.status == "absent" and record.source == "manual" and record.machine_status == "present"
        matched.refresh_from_db()
        assert matched.decision == "matched" and matched.review_action == "not_student"

    def test_undo_puts_back_the_face_and_the_record(self, client, users, school):
        matched = school["photo"].faces.get(decision="matched")
        signed_in(client, users["teacher"])
        client.post(reverse("face_review", args=[matched.pk]), {"student": "none"})
        response = client.post(reverse("face_undo", args=[matched.pk]), follow=True)
        assert "Answer undone. Register put back for Joe Biden." in response.content.decode()
        matched.refresh_from_db()
        assert not matched.is_reviewed and matched.undo is None and matched.label == "Joe Biden"
        record = school["session"].records.get(student=school["student"])
        assert (record.status, record.source, record.changed_by) == ("present", "photo", None)
        response = client.post(reverse("face_undo", args=[matched.pk]), follow=True)
        assert "There is no answer to undo on this face." in response.content.decode()

    def test_one_student_cannot_be_confirmed_on_two_faces(self, client, users, school):
        faces = list(school["photo"].faces.exclude(decision="matched"))
        signed_in(client, users["teacher"])
        client.post(reverse("face_review", args=[faces[0].pk]), {"student": school["student"].pk})
        response = client.post(reverse("face_review", args=[faces[1].pk]), {"student": school["student"].pk}, follow=True)
        assert "already given to another face" in response.content.decode()

    def test_reviewing_one_face_keeps_other_students_manual_marks(self, client, users, school):
        bush = Student.objects.create(name="George Bush")
        school["class"].students.add(bush)
        from attendance.registers.register import match_session

        match_session(school["session"])
        signed_in(client, users["teacher"])
        client.post(reverse("record_set", args=[school["session"].pk, bush.pk]), {"status": "present"})
        stranger = school["photo"].faces.exclude(decision="matched").first()
        client.post(reverse("face_review", args=[stranger.pk]), {"student": "none"})
        record = school["session"].records.get(student=bush)
        assert (record.status, record.source) == ("present", "manual")
        untouched = school["session"].records.get(student=school["student"])
        assert (untouched.status, untouched.source) == ("present", "photo")

    def test_teacher_marks_a_student_by_hand(self, client, users, school):
        signed_in(client, users["teacher"])
        url = reverse("record_set", args=[school["session"].pk, school["student"].pk])
        assert client.post(url, {"status": "absent"}).status_code == 302
        record = school["session"].records.get(student=school["student"])
        assert (record.status, record.source, record.machine_status) == ("absent", "manual", "present")
        assert client.post(url, {"status": "maybe"}).status_code == 400

    def test_admin_resolves_a_flagged_enrolment_photo(self, client, users, school, photo):
        twin = Student.objects.create(name="Twin")
        school["class"].students.add(twin)
        flagged = enrolment_photo(twin, photo("identities/Joe_Biden/2.jpg"))
        assert encode_enrolment_photo(flagged.pk) == "needs_review"
        signed_in(client, users["teacher"])
        url = reverse("enrolment_photo_resolve", args=[flagged.pk])
        assert client.post(url, {"keep": "1"}).status_code == 403
        signed_in(client, users["admin"])
        assert "Different people: use it" in client.get(reverse("student_detail", args=[twin.pk])).content.decode()
        assert client.post(url, {"keep": "1"}).status_code == 302
        assert EnrolmentPhoto.objects.get(pk=flagged.pk).status == "ready"


class TestUploadForm:
    def test_date_is_prefilled_in_iso_format_for_the_date_picker(self, client, users, school):
        from django.utils import timezone

        signed_in(client, users["teacher"])
        page = client.get(reverse("session_upload", args=[school["class"].pk])).content.decode()
        assert f'value="{timezone.localdate().isoformat()}"' in page

    def test_add_another_photo_keeps_the_session_date_and_period(self, client, users, school):
        signed_in(client, users["teacher"])
        page = client.get(reverse("session_detail", args=[school["session"].pk])).content.decode()
        assert "?date=2026-11-02&amp;period=Period%201" in page
        form = client.get(reverse("session_upload", args=[school["class"].pk]) + "?date=2026-11-02&period=Period%201")
        assert 'value="2026-11-02"' in form.content.decode() and 'value="Period 1"' in form.content.decode()


def test_report_and_csv_show_changes_made_by_hand(client, users, school):
    signed_in(client, users["teacher"])
    client.post(reverse("record_set", args=[school["session"].pk, school["student"].pk]), {"status": "absent"})
    page = client.get(reverse("class_report", args=[school["class"].pk])).content.decode()
    assert "changed by hand" in page and "<sup>M</sup>" in page
    rows = list(csv.reader(io.StringIO(client.get(reverse("class_report_csv", args=[school["class"].pk])).content.decode())))
    assert rows[1] == ["Joe Biden", "absent (manual)", "0", "0", "1", "0", "0", "1", "0%", "yes"]


def test_reviewed_faces_no_longer_count_as_unknown(client, users, school):
    signed_in(client, users["teacher"])
    unknown = school["photo"].faces.filter(decision="unknown")
    before = unknown.count()
    response = client.post(reverse("face_review", args=[unknown.first().pk]), {"student": "none"}, follow=True)
    assert "The register did not need to change." in response.content.decode()
    page = client.get(reverse("session_detail", args=[school["session"].pk])).content.decode()
    assert f"{before - 1} not on the class's list" in page and "1 not a student" in page


def test_saving_a_review_without_choosing_changes_nothing(client, users, school):
    signed_in(client, users["teacher"])
    face = school["photo"].faces.filter(decision="unknown").first()
    page = client.get(reverse("session_review", args=[school["session"].pk])).content.decode()
    assert "— choose from the class —" in page and "selected" not in page  # nothing is pre-selected
    response = client.post(reverse("face_review", args=[face.pk]), {"student": ""}, follow=True)
    assert "Choose a student of the class, or “Not a student”." in response.content.decode()
    face.refresh_from_db()
    assert not face.is_reviewed


def test_register_flags_students_the_photos_cannot_recognise(client, users, school):
    # A student with no usable enrolment photo is absent by photo: the page says why.
    newcomer = Student.objects.create(name="New Pupil")
    school["class"].students.add(newcomer)
    match_session(school["session"])  # the register now lists the newcomer, absent
    signed_in(client, users["teacher"])
    page = client.get(reverse("session_detail", args=[school["session"].pk])).content.decode()
    newcomer_item = page[page.index("New Pupil"):page.index("New Pupil") + 400]
    assert "no usable photo" in newcomer_item
    joe_item = page[page.index(">Joe Biden</a>"):page.index(">Joe Biden</a>") + 200]
    assert "no usable photo" not in joe_item


def test_a_refused_request_logs_one_line_without_a_traceback(client, users, caplog):
    """A 403 (PermissionDenied) is normal use: Django's warning is kept, its traceback is not."""
    import logging

    signed_in(client, users["teacher"])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("class_create")).status_code == 403
    refused = [r for r in caplog.records if r.name == "django.request" and getattr(r, "status_code", None) == 403]
    assert len(refused) == 1 and refused[0].getMessage() == "Forbidden (Permission denied): /classes/new/"
    assert refused[0].exc_info is None and "Traceback" not in caplog.text


def test_the_student_page_shows_the_enrolled_face_not_the_whole_photo(client, users, school):
    """A ready enrolment photo is shown as the face that was enrolled (its stored crop),
    linked to the whole photo; the crop is cut around the stored face box."""
    photo = school["student"].photos.get()
    assert photo.is_ready and photo.face_left is not None
    page = signed_in(client, users["teacher"]).get(reverse("student_detail", args=[school["student"].pk])).content.decode()
    face_url, photo_url = reverse("enrolment_photo_face", args=[photo.pk]), reverse("enrolment_photo_image", args=[photo.pk])
    assert f'<a href="{photo_url}"><img src="{face_url}"' in page
    response = client.get(face_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    with Image.open(io.BytesIO(b"".join(response))) as crop, Image.open(photo.image.path) as whole:
        assert max(crop.size) <= 200 and crop.size != whole.size
        face_width = photo.face_right - photo.face_left
        # The box and a margin of 30% each side, scaled to at most 200 pixels.
        assert crop.width / crop.height == pytest.approx(
            min(face_width * 1.6, whole.width) / min((photo.face_bottom - photo.face_top) * 1.6, whole.height), rel=0.1)
    assert signed_in(client, users["other_teacher"]).get(face_url).status_code == 403
    # The roster shows the same crop beside the name.
    roster = signed_in(client, users["teacher"]).get(reverse("class_detail", args=[school["class"].pk])).content.decode()
    assert f'<img class="roster-face" src="{face_url}"' in roster


def test_favicon_is_served(client):
    """Browsers ask for /favicon.ico on every site: it leads to the icon in static/, no 404."""
    from django.contrib.staticfiles import finders
    from PIL import Image

    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200 and response.redirect_chain[0][1] == 302
    assert response.redirect_chain[-1][0].endswith("favicon.ico")
    with Image.open(finders.find("favicon.ico")) as icon:
        assert icon.format == "ICO"
    assert "favicon.ico" in client.get(reverse("login")).content.decode()  # the pages name it too
