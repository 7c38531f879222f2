"""The REST API (/api/v1/): token authentication, the web pages' permissions, a real photo
uploaded and processed, manual changes in the audit log, refused uploads, the schema."""
import datetime
import json
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token

from attendance.registers import recognition
from attendance.models import AttendanceRecord, AuditEntry, ClassPhoto, ClassSession, Student

from .conftest import celery_broker

pytestmark = pytest.mark.django_db

#: Nothing listens on port 1: connections are refused at once.
DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def api(client, users):
    """``api(role)``: the test client sending that user's token (no session)."""
    def as_role(role):
        key = Token.objects.get_or_create(user=users[role])[0].key
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
        return client
    return as_role


def upload(path, name=None):
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="image/jpeg")


def media_files(settings):
    return {os.path.join(d, f) for d, _, files in os.walk(settings.MEDIA_ROOT) for f in files}


def sessions_url(school_class):
    return reverse("api:class-sessions", args=[school_class.pk])


def make_session(school, users):
    session = ClassSession.objects.create(school_class=school["class"], date=datetime.date(2026, 11, 2),
                                          period="Period 1", created_by=users["teacher"])
    AttendanceRecord.objects.create(session=session, student=school["joe"], status=AttendanceRecord.PRESENT)
    return session


class TestTokenAuthentication:
    def test_no_token_is_401_not_a_redirect(self, client, school):
        response = client.get(reverse("api:classes"))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json()["detail"]

    def test_bad_token_is_401(self, client, school):
        response = client.get(reverse("api:classes"), HTTP_AUTHORIZATION="Token " + "0" * 40)
        assert response.status_code == 401 and response.json()["detail"] == "Invalid token."

    def test_token_of_a_deactivated_user_is_401(self, api, users, school):
        client = api("teacher")
        users["teacher"].is_active = False
        users["teacher"].save()
        assert client.get(reverse("api:classes")).status_code == 401

    def test_teacher_token_sees_only_own_classes(self, api, school):
        classes = api("teacher").get(reverse("api:classes")).json()["results"]
        assert [c["name"] for c in classes] == ["7A"]
        assert classes[0]["teacher"] == "teacher" and classes[0]["student_count"] == 3

    def test_other_teacher_is_refused_a_foreign_class(self, api, school, users):
        client = api("other_teacher")
        own = school["class"]
        for url in (reverse("api:class", args=[own.pk]), reverse("api:class-students", args=[own.pk]),
                    sessions_url(own)):
            response = client.get(url)
            assert response.status_code == 403, url
            assert response.json()["detail"] == "You do not teach this class."
        session = make_session(school, users)
        for url in (reverse("api:session", args=[session.pk]), reverse("api:session-records", args=[session.pk])):
            assert client.get(url).status_code == 403, url
        assert client.get(reverse("api:class", args=[own.pk + 1000])).status_code == 404

    def test_admin_sees_every_class(self, api, school):
        assert {c["name"] for c in api("admin").get(reverse("api:classes")).json()["results"]} == {"7A", "8B"}

    def test_tokens_are_made_in_the_admin_by_a_superuser(self, client, users, django_user_model):
        # A token acts as its user, so only those with Django's Token permissions (superusers)
        # make them, not every school admin.
        client.force_login(users["admin"])
        add = reverse("admin:authtoken_tokenproxy_add")
        assert client.post(add, {"user": users["teacher"].pk}).status_code == 403
        client.force_login(django_user_model.objects.create_superuser("root", password="pw-root-1"))
        assert client.post(add, {"user": users["teacher"].pk}).status_code == 302
        assert Token.objects.filter(user=users["teacher"]).exists()


class TestOfficeStaff:
    def test_lists_classes_and_reads_rosters_without_photos(self, api, school):
        client = api("office")
        assert {c["name"] for c in client.get(reverse("api:classes")).json()["results"]} == {"7A", "8B"}
        roster = client.get(reverse("api:class-students", args=[school["class"].pk])).json()["results"]
        assert roster == [
            {"id": school["ada"].pk, "name": "Ada Lovelace", "school_id": "", "enrolment_state": "not enrolled"},
            {"id": school["barack"].pk, "name": "Barack Obama", "school_id": "", "enrolment_state": "ready"},
            {"id": school["joe"].pk, "name": "Joe Biden", "school_id": "", "enrolment_state": "ready"}]

    def test_reads_records_but_not_the_sessions_photos(self, api, school, users):
        session = make_session(school, users)
        client = api("office")
        listed = client.get(sessions_url(school["class"])).json()["results"]
        assert [s["id"] for s in listed] == [session.pk]
        records = client.get(reverse("api:session-records", args=[session.pk])).json()["results"]
        assert {r["student"]["name"]: r["status"] for r in records} == {
            "Joe Biden": "present", "Barack Obama": None, "Ada Lovelace": None}
        assert client.get(reverse("api:session", args=[session.pk])).status_code == 403
        assert client.get(reverse("api:session-status", args=[session.pk])).status_code == 403

    def test_cannot_upload_or_change(self, api, school, users, photo, settings):
        session = make_session(school, users)
        before = media_files(settings)
        client = api("office")
        response = client.post(sessions_url(school["class"]), {
            "date": "2026-11-03", "period": "1", "photos": upload(photo("groups/obama_and_biden.jpg"))})
        assert response.status_code == 403 and "Office staff" in response.json()["detail"]
        assert not ClassSession.objects.filter(date="2026-11-03").exists() and media_files(settings) == before
        response = client.patch(reverse("api:record", args=[session.pk, school["joe"].pk]),
                                {"status": "absent"}, content_type="application/json")
        assert response.status_code == 403
        assert AttendanceRecord.objects.get(session=session, student=school["joe"]).status == "present"
        assert not AuditEntry.objects.filter(action=AuditEntry.RECORD_CHANGED).exists()


class TestTakeAttendance:
    def test_upload_a_real_photo_process_it_and_read_the_records(self, api, school, photo,
                                                                 django_capture_on_commit_callbacks):
        client = api("teacher")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(sessions_url(school["class"]), {
                "date": "2026-11-03", "period": "Period 2",
                "photos": upload(photo("groups/obama_and_biden.jpg"), name="../../x.jpg")})
        assert response.status_code == 202, response.content
        body = response.json()
        session = ClassSession.objects.get(pk=body["session"])
        assert (session.school_class, str(session.date), session.period) == (school["class"], "2026-11-03", "Period 2")
        stored = ClassPhoto.objects.get(pk=body["photos"][0])
        assert body["photos"] == [stored.pk] and stored.session == session and stored.status == ClassPhoto.PENDING
        assert stored.image.name.startswith("class-photos/")
        assert len(callbacks) == 1  # one recognition task, sent after commit
        assert response["Location"] == body["session_url"]

        status = client.get(body["status_url"]).json()
        assert status == {"finished": False, "photos": [{"id": stored.pk, "status": "pending", "error": ""}]}

        assert recognition.process_class_photo_task(stored.pk) == ClassPhoto.DONE  # the worker's task, in-process

        assert client.get(body["status_url"]).json()["finished"] is True
        records = client.get(body["records_url"]).json()["results"]
        assert {r["student"]["name"]: (r["status"], r["source"]) for r in records} == {
            "Joe Biden": ("present", "photo"), "Barack Obama": ("present", "photo"),
            "Ada Lovelace": ("absent", "photo")}
        detail = client.get(body["session_url"])
        data = detail.json()
        assert data["finished"] is True and data["school_class"] == {"id": school["class"].pk, "name": "7A"}
        [shown] = data["photos"]
        assert shown["status"] == "done" and shown["faces"] >= 2
        # Photos only through the permission-checking web view; never the file or a descriptor.
        assert shown["image_url"] == "http://testserver" + reverse("class_photo_image", args=[stored.pk])
        text = detail.content.decode()
        assert "descriptor" not in text and stored.image.name not in text and "/media/" not in text

    def test_teacher_reads_roster_with_enrolment_photo_links(self, api, school):
        roster = api("teacher").get(reverse("api:class-students", args=[school["class"].pk])).json()["results"]
        joe = next(s for s in roster if s["name"] == "Joe Biden")
        assert joe["consent_recorded"] is True and joe["enrolment_state"] == "ready"
        [enrolled] = joe["photos"]
        assert enrolled["status"] == "ready"
        assert enrolled["image_url"].endswith(reverse("enrolment_photo_image", args=[enrolled["id"]]))
        assert set(enrolled) == {"id", "status", "failure_reason", "uploaded_at", "processed_at", "image_url"}

    def test_patch_a_record_is_a_manual_change_in_the_audit_log(self, api, school, users):
        session = make_session(school, users)
        url = reverse("api:record", args=[session.pk, school["joe"].pk])
        response = api("teacher").patch(url, {"status": "absent"}, content_type="application/json")
        assert response.status_code == 200
        assert response.json() | {"changed_at": None} == {
            "student": {"id": school["joe"].pk, "name": "Joe Biden"}, "status": "absent", "reason": "",
            "source": "manual", "machine_status": "present", "changed_by": "teacher", "changed_at": None,
            "url": "http://testserver" + url}
        record = AttendanceRecord.objects.get(session=session, student=school["joe"])
        assert (record.status, record.source, record.changed_by) == ("absent", "manual", users["teacher"])
        entry = AuditEntry.objects.get(action=AuditEntry.RECORD_CHANGED)
        assert entry.username == "teacher" and entry.object_id == str(record.pk)
        assert entry.before == {"status": "present", "reason": "", "source": "photo"}
        assert entry.after == {"status": "absent", "reason": "", "source": "manual"}

    def test_patch_a_student_without_a_record_yet_creates_it(self, api, school, users):
        session = make_session(school, users)
        response = api("admin").patch(reverse("api:record", args=[session.pk, school["ada"].pk]),
                                      {"status": "present"}, content_type="application/json")
        assert response.status_code == 200 and response.json()["status"] == "present"
        assert AuditEntry.objects.filter(action=AuditEntry.RECORD_CHANGED, username="admin").count() == 1

    def test_patch_sets_any_active_code_with_its_reason(self, api, school, users):
        session = make_session(school, users)
        url = reverse("api:record", args=[session.pk, school["joe"].pk])
        refused = api("teacher").patch(url, {"status": "excused"}, content_type="application/json")
        assert refused.status_code == 400 and "reason" in refused.json()["status"][0]
        response = api("teacher").patch(url, {"status": "excused", "reason": "Dentist"}, content_type="application/json")
        assert response.status_code == 200 and (response.json()["status"], response.json()["reason"]) == (
            "excused", "Dentist")
        assert AttendanceRecord.objects.get(session=session, student=school["joe"]).reason == "Dentist"

    def test_patch_refuses_an_unknown_status_or_a_student_not_on_the_roster(self, api, school, users):
        session = make_session(school, users)
        client = api("teacher")
        response = client.patch(reverse("api:record", args=[session.pk, school["joe"].pk]),
                                {"status": "on-holiday"}, content_type="application/json")
        assert response.status_code == 400 and "status" in response.json()
        stranger = Student.objects.create(name="Not In 7A")
        assert client.patch(reverse("api:record", args=[session.pk, stranger.pk]), {"status": "present"},
                            content_type="application/json").status_code == 404
        assert not AuditEntry.objects.exists()


class TestRefusedUploads:
    def post(self, api, school, **fields):
        return api("teacher").post(sessions_url(school["class"]), {"date": "2026-11-03", "period": "1", **fields})

    def test_not_an_image_is_400_naming_the_file_and_nothing_stored(self, api, school, settings):
        before = media_files(settings)
        response = self.post(api, school, photos=SimpleUploadedFile("notes.jpg", b"just text"))
        assert response.status_code == 400
        [message] = response.json()["photos"]
        assert message.startswith("notes.jpg: This file is not a readable image")
        assert not ClassSession.objects.exists() and not ClassPhoto.objects.exists()
        assert media_files(settings) == before

    def test_one_bad_photo_refuses_the_whole_upload(self, api, school, photo, settings):
        before = media_files(settings)
        response = self.post(api, school, photos=[upload(photo("groups/obama_and_biden.jpg")),
                                                  SimpleUploadedFile("b.jpg", b"%PDF-1.4")])
        assert response.status_code == 400 and response.json()["photos"][0].startswith("b.jpg: ")
        assert not ClassPhoto.objects.exists() and media_files(settings) == before

    def test_photo_over_the_size_limit_is_400(self, api, school, photo, settings):
        settings.MAX_PHOTO_BYTES = 1000
        response = self.post(api, school, photos=upload(photo("groups/obama_and_biden.jpg")))
        assert response.status_code == 400
        assert "is over the limit of 1000\xa0bytes per photo" in response.json()["photos"][0]
        assert not ClassSession.objects.exists()

    def test_missing_fields_are_400_each_named(self, api, school):
        response = api("teacher").post(sessions_url(school["class"]), {})
        assert response.status_code == 400 and set(response.json()) == {"date", "period", "photos"}

    def test_too_many_files_is_400_json(self, api, school, photo, settings):
        settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
        path = photo("groups/obama_and_biden.jpg")
        response = self.post(api, school, photos=[upload(path), upload(path)])
        assert response.status_code == 400 and response.json()["code"] == "too_many_files"
        assert not ClassPhoto.objects.exists()

    def test_upload_over_the_request_limit_is_413_json(self, api, school, photo, settings):
        settings.MAX_UPLOAD_BYTES = 1000
        response = self.post(api, school, photos=upload(photo("groups/obama_and_biden.jpg")))
        assert response.status_code == 413 and response.json()["code"] == "too_large"

    def test_queue_down_is_503_with_a_clear_error_and_nothing_stored(self, api, school, photo, settings):
        before = media_files(settings)
        with celery_broker(DEAD_BROKER):
            response = self.post(api, school, photos=upload(photo("groups/obama_and_biden.jpg")))
        assert response.status_code == 503 and response["Retry-After"] == "60"
        body = response.json()
        assert body["code"] == "queue_unavailable" and "try again in a minute" in body["detail"]
        assert not ClassSession.objects.exists() and not ClassPhoto.objects.exists()
        assert media_files(settings) == before


class TestSchema:
    def test_schema_is_valid_openapi_3_listing_every_endpoint(self, api, school):
        from drf_spectacular.validation import validate_schema

        response = api("teacher").get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        schema = json.loads(response.content)
        assert schema["openapi"].startswith("3.")
        validate_schema(schema)  # raises on an invalid document
        assert set(schema["paths"]) == {
            "/api/v1/classes/", "/api/v1/classes/{class_id}/", "/api/v1/classes/{class_id}/students/",
            "/api/v1/classes/{class_id}/students/move/", "/api/v1/students/{student_id}/",
            "/api/v1/classes/{class_id}/sessions/", "/api/v1/sessions/{session_id}/",
            "/api/v1/sessions/{session_id}/status/", "/api/v1/sessions/{session_id}/records/",
            "/api/v1/sessions/{session_id}/records/{student_id}/", "/api/v1/sessions/{session_id}/faces/",
            "/api/v1/faces/{face_id}/decision/", "/api/v1/sessions/{session_id}/confirm/",
            "/api/v1/exports/registers/"}
        assert set(schema["paths"]["/api/v1/faces/{face_id}/decision/"]) == {"post"}
        face = schema["components"]["schemas"]["Face"]["properties"]
        assert {"id", "photo", "box", "decision", "student", "candidates", "decided_by"} <= set(face)
        assert set(schema["paths"]["/api/v1/classes/{class_id}/sessions/"]) == {"get", "post"}
        assert set(schema["paths"]["/api/v1/sessions/{session_id}/records/{student_id}/"]) == {"get", "patch"}
        upload_body = schema["paths"]["/api/v1/classes/{class_id}/sessions/"]["post"]["requestBody"]["content"]
        assert list(upload_body) == ["multipart/form-data"]
        assert "tokenAuth" in schema["components"]["securitySchemes"]
        assert "descriptor" not in response.content.decode()

    def test_schema_as_yaml_by_default(self, api, school):
        response = api("teacher").get(reverse("api:schema"))
        assert response.status_code == 200 and response.content.startswith(b"openapi: 3.")

    def test_swagger_ui_assets_are_served_by_the_app(self, client, users):
        client.force_login(users["teacher"])
        page = client.get(reverse("api:docs")).content.decode()
        assert "<script>" not in page and "<style>" not in page and "https://" not in page
        bundle = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        assert f'<script src="{bundle}">' in page
        assert client.get(bundle).status_code == 200
        init = client.get(reverse("api:docs") + "?script=")
        assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
        assert reverse("api:schema") in init.content.decode()


def test_browsable_api_pages_render_for_a_signed_in_teacher(client, users, school):
    """In development (DEBUG) the API's pages render in a browser with the session."""
    from django.conf import settings

    if "rest_framework.renderers.BrowsableAPIRenderer" not in settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]:
        pytest.skip("the browsable API is on only when DEBUG is on")
    session = make_session(school, users)
    client.force_login(users["teacher"])
    own = school["class"].pk
    for url in (reverse("api:classes"), reverse("api:class", args=[own]), reverse("api:class-students", args=[own]),
                reverse("api:class-sessions", args=[own]), reverse("api:session", args=[session.pk]),
                reverse("api:session-records", args=[session.pk]),
                reverse("api:record", args=[session.pk, school["joe"].pk])):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html"), url


def test_a_signed_in_session_needs_the_csrf_token_a_token_does_not(users, school):
    """Session authentication keeps Django's CSRF check (a page elsewhere cannot use the
    browser's cookie); a request with a token carries no cookie and needs none."""
    from django.test import Client

    url = reverse("api:record", args=[make_session(school, users).pk, school["joe"].pk])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(users["teacher"])
    response = browser.patch(url, {"status": "absent"}, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not AuditEntry.objects.exists()
    program = Client(enforce_csrf_checks=True,
                     HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users['teacher']).key}")
    assert program.patch(url, {"status": "absent"}, content_type="application/json").status_code == 200


class TestReviewThroughTheApi:
    """GET /sessions/<id>/faces/, POST /faces/<id>/decision/, POST /sessions/<id>/confirm/:
    the review page's functions, with its permissions."""

    @pytest.fixture
    def processed(self, school, photo):
        from attendance.registers.recognition import process_class_photo

        from .factories import class_photo

        session = ClassSession.objects.create(school_class=school["class"], date=datetime.date(2026, 11, 2),
                                              period="Period 1")
        stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
        process_class_photo(stored.pk)
        stored.refresh_from_db()
        return session, stored

    def test_faces_list_each_face_with_its_decision(self, api, school, processed):
        session, stored = processed
        response = api("teacher").get(reverse("api:session-faces", args=[session.pk]))
        assert response.status_code == 200
        faces = response.json()["results"]
        assert len(faces) == stored.faces.count() == 3
        by_student = {f["student"]: f for f in faces if f["decision"] == "matched"}
        assert set(by_student) == {school["joe"].pk, school["barack"].pk}
        joe = by_student[school["joe"].pk]
        assert joe["photo"] == stored.pk and joe["decided_by"] == "machine" and joe["candidates"][0] == school["joe"].pk
        left, top, right, bottom = joe["box"]
        assert 0 <= left < right <= stored.width and 0 <= top < bottom <= stored.height
        (third,) = [f for f in faces if f["decision"] != "matched"]
        assert third["decision"] in ("unknown", "unsure") and third["student"] is None
        assert "descriptor" not in response.content.decode()

    def test_decision_changes_that_face_and_its_students_record_only(self, api, school, processed, users):
        session, stored = processed
        joe_face = stored.faces.get(student=school["joe"], decision="matched")
        client = api("teacher")
        url = reverse("api:face-decision", args=[joe_face.pk])
        response = client.post(url, {"not_a_student": True}, content_type="application/json")
        assert response.status_code == 200
        body = response.json()
        assert body["face"]["decision"] == "not_a_student" and body["face"]["decided_by"] == "teacher"
        assert body["records_changed"] == [school["joe"].pk]
        assert session.records.get(student=school["joe"]).status == "absent"
        assert session.records.get(student=school["barack"]).status == "present"
        response = client.post(url, {"undo": True}, content_type="application/json")
        assert response.status_code == 200 and response.json()["face"]["decision"] == "matched"
        assert session.records.get(student=school["joe"]).status == "present"
        # Exactly one answer; a student of the class with consent only (Ada has none).
        for bad in ({}, {"student": school["joe"].pk, "not_a_student": True}, {"student": school["ada"].pk},
                    {"student": 999999}):
            refused = client.post(url, bad, content_type="application/json")
            assert refused.status_code == 400, bad
        assert not stored.faces.filter(reviewed_student=school["ada"]).exists()

    def test_office_staff_and_other_teachers_cannot_review(self, api, processed):
        session, stored = processed
        face = stored.faces.first()
        for role in ("office", "other_teacher"):
            client = api(role)
            assert client.get(reverse("api:session-faces", args=[session.pk])).status_code == 403
            assert client.post(reverse("api:face-decision", args=[face.pk]), {"not_a_student": True},
                               content_type="application/json").status_code == 403
            assert client.post(reverse("api:session-confirm", args=[session.pk])).status_code == 403
        face.refresh_from_db()
        assert not face.is_reviewed

    def test_confirm_records_who_and_when_and_learns(self, api, school, processed, users):
        from attendance.models import LearntTemplate

        session, _ = processed
        response = api("teacher").post(reverse("api:session-confirm", args=[session.pk]))
        assert response.status_code == 200
        body = response.json()
        assert body["confirmed_by"] == "teacher" and body["templates_learnt"] == 2
        assert set(LearntTemplate.objects.values_list("student__name", flat=True)) == {"Joe Biden", "Barack Obama"}
        detail = api("teacher").get(reverse("api:session", args=[session.pk])).json()
        assert detail["confirmed_by"] == "teacher" and detail["confirmed_at"]
        assert AuditEntry.objects.filter(action=AuditEntry.REGISTER_CONFIRMED, username="teacher").exists()

    def test_confirm_waits_for_the_photos(self, api, school, photo):
        from .factories import class_photo

        session = ClassSession.objects.create(school_class=school["class"], date=datetime.date(2026, 11, 3),
                                              period="Period 1")
        class_photo(session, photo("groups/obama_and_biden.jpg"))  # pending
        response = api("teacher").post(reverse("api:session-confirm", args=[session.pk]))
        assert response.status_code == 409 and "still being processed" in response.json()["detail"]
