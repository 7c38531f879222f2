"""Who may open what: every URL of the app, tried as anonymous, as each role and as a
teacher of another class (issue 7's access table)."""
import numpy as np
import pytest
from django.test import TestCase
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from django.core.files.base import ContentFile

from attendance.crops import crop_jpeg
from attendance.models import ClassSession, DetectedFace, EnrolmentPhoto, LearntTemplate, Student, descriptor_to_bytes

from .factories import class_photo, enrolment_photo, make_class

ROLES = ["anonymous", "admin", "teacher", "other_teacher", "office"]
LOGIN = 302  # anonymous visitors are sent to the sign-in page
NO_CREDENTIALS = 401  # the API answers anonymous requests with 401 (no redirect)


def expect(admin, teacher, other_teacher, office, anonymous=LOGIN):
    return {"anonymous": anonymous, "admin": admin, "teacher": teacher, "other_teacher": other_teacher,
            "office": office}


#: url name -> (method, POST data, expected status for each role). "other_teacher" teaches
#: another class; "office" is read-only office staff (reports, never photos).
TABLE = {
    "home": ("get", None, expect(200, 200, 200, 200)),
    "class_create": ("get", None, expect(200, 403, 403, 403)),
    "class_detail": ("get", None, expect(200, 200, 403, 403)),
    # Class membership and co-teachers are the school admins' (the class's teachers view the roster).
    "class_edit": ("get", None, expect(200, 403, 403, 403)),
    "class_students_add": ("post", {}, expect(302, 403, 403, 403)),
    "class_students_change": ("post", {}, expect(302, 403, 403, 403)),
    "possible_duplicates": ("get", None, expect(200, 403, 403, 403)),
    "duplicate_decide": ("post", {}, expect(302, 403, 403, 403)),
    # Roster import: school admins only (with no file waiting, "Import" goes back to the upload).
    "roster_import": ("get", None, expect(200, 403, 403, 403)),
    "roster_import_apply": ("post", {}, expect(302, 403, 403, 403)),
    "student_enrol": ("post", {}, expect(400, 403, 403, 403)),
    "roster_zip": ("post", {}, expect(400, 403, 403, 403)),
    "session_upload": ("get", None, expect(200, 200, 403, 403)),
    "class_report": ("get", None, expect(200, 200, 403, 200)),
    "class_report_csv": ("get", None, expect(200, 200, 403, 200)),
    "class_report_xlsx": ("get", None, expect(200, 200, 403, 200)),
    "student_detail": ("get", None, expect(200, 200, 403, 403)),
    "student_report": ("get", None, expect(200, 200, 403, 200)),
    "student_report_csv": ("get", None, expect(200, 200, 403, 200)),
    "student_report_xlsx": ("get", None, expect(200, 200, 403, 200)),
    "session_detail": ("get", None, expect(200, 200, 403, 403)),
    "session_status": ("get", None, expect(200, 200, 403, 403)),
    "session_review": ("get", None, expect(200, 200, 403, 403)),
    "session_register": ("get", None, expect(200, 200, 403, 403)),
    "register_by_hand": ("post", {}, expect(400, 400, 403, 403)),
    "record_set": ("post", {"status": "absent"}, expect(302, 302, 403, 403)),
    "face_review": ("post", {}, expect(302, 302, 403, 403)),
    "face_undo": ("post", {}, expect(302, 302, 403, 403)),
    "session_confirm": ("post", {}, expect(302, 302, 403, 403)),
    "student_face": ("get", None, expect(200, 200, 403, 403)),
    # A learnt face the user may not see is 404, as one that does not exist (issue 14 G2).
    "template_crop": ("get", None, expect(200, 200, 404, 404)),
    # Removing a learnt face is for school admins (it changes what the gallery knows).
    "template_remove": ("post", {}, expect(302, 403, 403, 403)),
    "face_crop": ("get", None, expect(200, 200, 403, 403)),
    "enrolment_photo_resolve": ("post", {}, expect(400, 403, 403, 403)),
    "consent_record": ("post", {}, expect(400, 403, 403, 403)),
    "consent_withdraw": ("post", {}, expect(400, 403, 403, 403)),
    "class_photo_image": ("get", None, expect(200, 200, 403, 403)),
    "enrolment_photo_image": ("get", None, expect(200, 200, 403, 403)),
    # The enrolled face's crop: the same rule as the whole photo (this world's photo waits
    # for an admin's decision, so it has no enrolled face yet: 404 to those who may see it).
    "enrolment_photo_face": ("get", None, expect(404, 404, 403, 403)),
    # Office staff chase missing registers: the page names classes, teachers and periods only.
    "untaken_registers": ("get", None, expect(200, 403, 403, 200)),
    "password_change": ("get", None, expect(200, 200, 200, 200)),
    # The register export for the information system: the whole school, as office staff read it.
    # School-wide imports (consent in bulk, photos by school id) are for school admins.
    "consent_import": ("get", None, expect(200, 403, 403, 403)),
    "consent_import_apply": ("post", {}, expect(302, 403, 403, 403)),
    "photos_import": ("get", None, expect(200, 403, 403, 403)),
    "photos_import_apply": ("post", {}, expect(302, 403, 403, 403)),
    "registers_export": ("get", None, expect(200, 403, 403, 200)),
    "registers_export_csv": ("get", None, expect(200, 403, 403, 200)),
    # The Staff page (issue 16) is for school admins; a set-password link's page is public
    # (the token in its URL is the credential; a wrong one shows "this link does not work").
    "staff_list": ("get", None, expect(200, 403, 403, 403)),
    "staff_add": ("post", {}, expect(400, 403, 403, 403)),
    "staff_role": ("post", {}, expect(302, 403, 403, 403)),
    "staff_active": ("post", {"active": "1"}, expect(302, 403, 403, 403)),
    "staff_password": ("post", {}, expect(302, 403, 403, 403)),
    "password_reset_confirm": ("get", None, expect(200, 200, 200, 200, anonymous=200)),
    "password_set_done": ("get", None, expect(200, 200, 200, 200, anonymous=200)),
    # Public by design: the sign-in page, signing out and the health check (which names
    # no addresses; 503 here, as no worker runs).
    "login": ("get", None, expect(200, 200, 200, 200, anonymous=200)),
    # Browsers ask for it before signing in: a redirect to the static icon for everyone.
    "favicon": ("get", None, expect(302, 302, 302, 302, anonymous=302)),
    "logout": ("post", {}, expect(302, 302, 302, 302, anonymous=302)),
    # The header's language menu (also on the sign-in page) and the scripts' translations.
    "set_language": ("post", {"language": "zh-hans"}, expect(302, 302, 302, 302, anonymous=302)),
    "javascript_catalog": ("get", None, expect(200, 200, 200, 200, anonymous=200)),
    "health": ("get", None, expect(503, 503, 503, 503, anonymous=503)),
    # The REST API (attendance/api/): the same rules as the pages above. Office staff read
    # classes, rosters (no photos) and registers as the report; never a session's photos.
    "api:classes": ("get", None, expect(200, 200, 200, 200, anonymous=NO_CREDENTIALS)),
    "api:class": ("get", None, expect(200, 200, 403, 200, anonymous=NO_CREDENTIALS)),
    "api:class-students": [("get", None, expect(200, 200, 403, 200, anonymous=NO_CREDENTIALS)),
                           ("post", {}, expect(400, 403, 403, 403, anonymous=NO_CREDENTIALS)),
                           ("delete", {}, expect(400, 403, 403, 403, anonymous=NO_CREDENTIALS))],
    "api:class-students-move": ("post", {}, expect(400, 403, 403, 403, anonymous=NO_CREDENTIALS)),
    # A student: read as their report (office staff too, without photos); changed by admins.
    "api:student": [("get", None, expect(200, 200, 403, 200, anonymous=NO_CREDENTIALS)),
                    ("patch", {"school_id": "S1"}, expect(200, 403, 403, 403, anonymous=NO_CREDENTIALS))],
    "api:class-sessions": [("get", None, expect(200, 200, 403, 200, anonymous=NO_CREDENTIALS)),
                           ("post", {}, expect(400, 400, 403, 403, anonymous=NO_CREDENTIALS))],
    "api:session": ("get", None, expect(200, 200, 403, 403, anonymous=NO_CREDENTIALS)),
    "api:session-status": ("get", None, expect(200, 200, 403, 403, anonymous=NO_CREDENTIALS)),
    "api:session-records": ("get", None, expect(200, 200, 403, 200, anonymous=NO_CREDENTIALS)),
    "api:record": [("get", None, expect(200, 200, 403, 200, anonymous=NO_CREDENTIALS)),
                   ("patch", {"status": "absent"}, expect(200, 200, 403, 403, anonymous=NO_CREDENTIALS))],
    "api:session-faces": ("get", None, expect(200, 200, 403, 403, anonymous=NO_CREDENTIALS)),
    "api:face-decision": ("post", {"not_a_student": True}, expect(200, 200, 403, 403, anonymous=NO_CREDENTIALS)),
    "api:session-confirm": ("post", {}, expect(200, 200, 403, 403, anonymous=NO_CREDENTIALS)),
    "api:exports-registers": ("get", None, expect(200, 403, 403, 200, anonymous=NO_CREDENTIALS)),
    "api:schema": ("get", None, expect(200, 200, 200, 200, anonymous=NO_CREDENTIALS)),
    "api:docs": ("get", None, expect(200, 200, 200, 200, anonymous=NO_CREDENTIALS)),
}

#: (url name, method, data, expected statuses): one case per method a URL answers.
CASES = [(name, *case) for name, cases in TABLE.items()
         for case in (cases if isinstance(cases, list) else [cases])]


def app_url_names(patterns=None, namespace="") -> set[str]:
    """Every named URL of the app (included ones as "namespace:name"), the admin site's aside."""
    names = set()
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLPattern):
            if not entry.name:
                raise AssertionError(f"URL {entry.pattern} has no name, so the access table cannot list it")
            names.add(namespace + entry.name)
        elif isinstance(entry, URLResolver) and entry.app_name != "admin":
            if not entry.namespace:
                raise AssertionError(f"included URLs {entry.pattern} need a namespace for the access table")
            names |= app_url_names(entry.url_patterns, f"{namespace}{entry.namespace}:")
    return names


def test_the_table_covers_every_url():
    assert set(TABLE) == app_url_names()


@pytest.fixture
def school(users, photo):
    """Class 7A of ``teacher`` with one enrolled student, a processed session with one face;
    class 8B of ``other_teacher``.

    Not the shared school (tests/world.py): the access table runs about 450 times, so its
    school is rows only (an enrolment photo waiting for review, a photo marked done with a
    face and a learnt template of zeros), with no photo decoded or processed; and the
    enrolment photo must wait for review for ``enrolment_photo_resolve``."""
    student = Student.objects.create(name="Barack Obama")
    enrolled = enrolment_photo(student, photo("identities/Barack_Obama/1.jpg"), status=EnrolmentPhoto.NEEDS_REVIEW)
    school_class = make_class(users["teacher"], "7A", students=[student])
    make_class(users["other_teacher"], "8B")
    session = ClassSession.objects.create(school_class=school_class, date="2026-11-03", period="1")
    stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
    stored.status = "done"
    stored.save()
    face = DetectedFace.objects.create(photo=stored, left=10, top=10, right=60, bottom=60,
                                       descriptor=descriptor_to_bytes(np.zeros(128, np.float32)),
                                       decision=DetectedFace.UNKNOWN)
    template = LearntTemplate.objects.create(
        student=student, descriptor=descriptor_to_bytes(np.zeros(128, np.float32)), face_width=50,
        source_session=session, source_photo=stored,
        crop=ContentFile(crop_jpeg(np.full((60, 60, 3), 128, np.uint8), 10, 10, 50, 50), name="face.jpg"))
    return {"class_id": school_class.pk, "student_id": student.pk, "session_id": session.pk, "face_id": face.pk,
            "photo_id": stored.pk, "enrolment_photo_id": enrolled.pk, "template_id": template.pk,
            "user_id": users["teacher"].pk}


def url_of(name, school) -> str:
    kwargs = {
        "class_detail": ["class_id"], "student_enrol": ["class_id"], "class_edit": ["class_id"],
        "class_students_add": ["class_id"], "class_students_change": ["class_id"],
        "api:class-students-move": ["class_id"], "api:student": ["student_id"], "roster_zip": ["class_id"],
        "session_upload": ["class_id"], "register_by_hand": ["class_id"],
        "class_report": ["class_id"], "class_report_csv": ["class_id"],
        "class_report_xlsx": ["class_id"], "student_report": ["student_id"], "student_report_xlsx": ["student_id"],
        "student_detail": ["student_id"], "student_report_csv": ["student_id"],
        "consent_record": ["student_id"], "consent_withdraw": ["student_id"],
        "session_detail": ["session_id"], "session_status": ["session_id"], "session_review": ["session_id"],
        "session_register": ["session_id"],
        "record_set": ["session_id", "student_id"], "face_review": ["face_id"], "face_crop": ["face_id"],
        "face_undo": ["face_id"], "session_confirm": ["session_id"], "student_face": ["student_id"],
        "template_crop": ["template_id"], "template_remove": ["template_id"],
        "api:session-faces": ["session_id"], "api:session-confirm": ["session_id"], "api:face-decision": ["face_id"],
        "enrolment_photo_resolve": ["photo_id"], "class_photo_image": ["photo_id"],
        "enrolment_photo_image": ["photo_id"], "enrolment_photo_face": ["photo_id"],
        "api:class": ["class_id"], "api:class-students": ["class_id"], "api:class-sessions": ["class_id"],
        "api:session": ["session_id"], "api:session-status": ["session_id"], "api:session-records": ["session_id"],
        "api:record": ["session_id", "student_id"],
        "staff_role": ["user_id"], "staff_active": ["user_id"], "staff_password": ["user_id"],
        "password_reset_confirm": ["uidb64", "token"],
    }.get(name, [])
    values = {**school, "uidb64": "MQ", "token": "not-a-token", "photo_id": school["enrolment_photo_id"] if name.startswith("enrolment_photo")
              else school["photo_id"]}
    return reverse(name, kwargs={key: values[key] for key in kwargs})


def send(client, name, method, data, url):
    """One request of the table: JSON bodies for the API's PATCH, DELETE and non-empty POST."""
    if method in ("patch", "delete"):
        return getattr(client, method)(url, data, content_type="application/json")
    if name.startswith("api:") and method == "post" and data:
        return client.post(url, data, content_type="application/json")
    return client.post(url, data) if method == "post" else client.get(url)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, data, expected", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_access(client, users, school, name, method, data, expected, role):
    if role != "anonymous":
        client.force_login(users[role])
    url = url_of(name, school)
    response = send(client, name, method, data, url)
    assert response.status_code == expected[role], f"{role} {method.upper()} {url}"
    if response.status_code == LOGIN and role == "anonymous" and name not in ("logout", "favicon", "set_language"):
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("name, method, data, expected", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_a_co_teacher_has_the_teachers_rights(client, users, school, name, method, data, expected):
    """A co-teacher of 7A (co-teaching, cover; ``SchoolClass.co_teachers``) gets what its
    teacher gets on every URL, though ``other_teacher`` teaches only 8B otherwise."""
    from attendance.models import SchoolClass

    SchoolClass.objects.get(pk=school["class_id"]).co_teachers.add(users["other_teacher"])
    client.force_login(users["other_teacher"])
    url = url_of(name, school)
    response = send(client, name, method, data, url)
    assert response.status_code == expected["teacher"], f"co-teacher {method.upper()} {url}"


@pytest.mark.django_db
def test_office_staff_left_as_co_teacher_in_the_database_get_no_photo(client, users, school):
    """A co-teacher row of office staff written in the database directly (the model refuses
    it) gives no session or photo page: the rules ask the role, not only the column."""
    from attendance.models import SchoolClass

    SchoolClass.co_teachers.through.objects.create(schoolclass_id=school["class_id"], user_id=users["office"].pk)
    client.force_login(users["office"])
    assert client.get(reverse("session_detail", args=[school["session_id"]])).status_code == 403
    assert client.get(reverse("class_photo_image", args=[school["photo_id"]])).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_photo_files_have_no_public_url(client, users, school, role, settings):
    """The files under MEDIA_ROOT are reachable only through the views above."""
    from attendance.models import ClassPhoto

    if role != "anonymous":
        client.force_login(users[role])
    name = ClassPhoto.objects.get().image.name
    for url in (f"/media/{name}", f"/{name}", f"/static/../media/{name}"):
        assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_admin_site_is_for_school_admins_only(client, users):
    for role in ("teacher", "other_teacher", "office"):
        client.force_login(users[role])
        assert client.get(reverse("admin:index")).status_code == 302  # to the admin's sign-in
    client.force_login(users["admin"])
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_a_learnt_face_is_found_for_who_may_see_it_in_one_query(users, school, django_assert_num_queries,
                                                                 django_assert_max_num_queries):
    """access.get_template: one query for the template (and one for the user's groups if
    not an admin); the same 404 for a teacher of neither the child nor the photo."""
    from django.http import Http404

    from attendance import access

    for role, queries in (("admin", 1), ("teacher", 2)):
        user = get_user_model().objects.get(pk=users[role].pk)  # nothing cached on the user
        with django_assert_num_queries(queries):
            assert access.get_template(user, school["template_id"]).pk == school["template_id"]
    for role in ("other_teacher", "office"):
        with django_assert_max_num_queries(2), pytest.raises(Http404):
            access.get_template(users[role], school["template_id"])


@pytest.mark.django_db
def test_pages_offer_new_class_and_the_admin_site_to_school_admins_only(client, users):
    """The templates ask access (context processor ``can_manage_school``), not the user's flags."""
    for role in ("admin", "teacher", "other_teacher", "office"):
        client.force_login(users[role])
        home = client.get(reverse("home")).content.decode()
        offered = role == "admin"
        assert (f'href="{reverse("class_create")}"' in home) == offered, role
        assert (f'href="{reverse("admin:index")}"' in home) == offered, role


@pytest.mark.django_db
def test_office_staff_read_reports_without_photo_links(client, users, school):
    client.force_login(users["office"])
    home = client.get(reverse("home")).content.decode()
    assert "7A" in home and "8B" in home and "Take attendance" not in home
    report = client.get(reverse("class_report", args=[school["class_id"]])).content.decode()
    assert "Barack Obama" in report
    assert f'href="{reverse("session_detail", args=[school["session_id"]])}"' not in report
    assert f'href="{reverse("student_detail", args=[school["student_id"]])}"' not in report
    assert reverse("student_report_csv", args=[school["student_id"]]) in report


class TestWebServerSendsThePhoto:
    """PHOTO_SENDFILE: the view checks permission, the web server sends the file."""

    @pytest.mark.django_db
    @pytest.mark.parametrize("mode, header", [("x-accel-redirect", "X-Accel-Redirect"), ("x-sendfile", "X-Sendfile")])
    def test_header_names_the_upright_rendition_after_the_permission_check(self, client, users, school, settings,
                                                                           mode, header):
        import os

        from PIL import Image

        from attendance.models import ClassPhoto
        from attendance.renditions import rendition_name

        settings.PHOTO_SENDFILE = mode
        stored = ClassPhoto.objects.get()
        url = reverse("class_photo_image", args=[stored.pk])
        client.force_login(users["other_teacher"])
        refused = client.get(url)
        assert refused.status_code == 403 and header not in refused
        client.force_login(users["teacher"])
        response = client.get(url)
        assert response.status_code == 200 and response.content == b""
        assert response["Content-Type"] == "image/jpeg" and response["Cache-Control"] == "private, no-store"
        name = rendition_name(stored.image.name, 1920)
        path = os.path.join(settings.MEDIA_ROOT, name)
        expected = settings.PHOTO_SENDFILE_PREFIX + name if mode == "x-accel-redirect" else path
        assert response[header] == expected
        with Image.open(path) as rendition, Image.open(stored.image.path) as original:
            assert rendition.format == "JPEG" and max(rendition.size) == min(1920, max(original.size))
            assert abs(rendition.width / rendition.height - original.width / original.height) < 0.01
        # The rendition goes with its photo.
        with TestCase.captureOnCommitCallbacks(execute=True):  # the files go on commit
            stored.delete()
        assert not os.path.exists(path)


def test_every_admin_list_refuses_dates_out_of_range_by_one_mechanism():
    """admin.cover_every_admin gives every registered ModelAdmin (ours, Django's, DRF's)
    DatesInRange once; no admin class names it itself."""
    from django.contrib import admin as django_admin

    from attendance.admin import DatesInRange

    for model, model_admin in django_admin.site._registry.items():
        covered = type(model_admin)
        assert covered.__bases__[0] is DatesInRange, model  # added by cover_every_admin ...
        assert DatesInRange not in covered.__bases__[1].__mro__, model  # ... to a class that does not name it
