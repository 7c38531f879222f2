"""Issue 14, follow-up F2: each test does one attack found on enrolment, consent, names,
dates and learnt-face crops, and asserts the safe outcome."""
import datetime
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from attendance.models import Consent, EnrolmentPhoto, Student

from .conftest import CONSENT_FIELDS
from .test_api import api  # noqa: F401  (the API tests' token client)
from .factories import learnt_template, make_class, zip_of_folders

pytestmark = pytest.mark.django_db


def _post_zip(client, school_class, photo, folders):
    return client.post(reverse("roster_zip", args=[school_class.pk]), {
        **CONSENT_FIELDS, "archive": SimpleUploadedFile("c.zip", zip_of_folders(photo, folders),
                                                        content_type="application/zip")})


def _media_files(settings):
    return {os.path.join(d, f) for d, _, files in os.walk(settings.MEDIA_ROOT) for f in files}


# 1. A zip upload re-recorded consent a parent had withdrawn.

def test_zip_and_enrol_command_never_record_consent_for_an_existing_student(client, users, photo, tmp_path,
                                                                          settings):
    from attendance.roster.consent import record_consent, withdraw_consent

    zoe = Student.objects.create(name="Zoe Adams")
    school_class = make_class(users["teacher"], "7A", [zoe])
    record_consent(zoe, "Parent", datetime.date(2026, 9, 1), "form in office", users["admin"])
    withdraw_consent(zoe, users["admin"])
    files_before = _media_files(settings)
    client.force_login(users["admin"])

    # The attack: the zip's consent tick with a folder for the withdrawn student, beside a new one.
    response = _post_zip(client, school_class, photo, ["Bea_Baker", "Zoe_Adams"])
    html = response.content.decode()
    assert response.status_code == 400
    assert f"Zoe Adams (#{zoe.pk}) is already in the school with no consent" in html and "Nothing was saved" in html
    assert not Consent.objects.exists() and not EnrolmentPhoto.objects.exists()
    assert not Student.objects.filter(name="Bea Baker").exists()
    assert _media_files(settings) == files_before
    # By id too.
    response = _post_zip(client, school_class, photo, [f"#{zoe.pk}"])
    assert response.status_code == 400 and not Consent.objects.exists()

    # The enrol command's --consent-note: refused the same way, before anything is stored.
    for folder in ("Zoe_Adams", "Cy_Cole"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "1.jpg").write_bytes(photo("identities/Joe_Biden/1.jpg").read_bytes())
    with pytest.raises(CommandError, match=rf"Zoe_Adams: Zoe Adams \(#{zoe.pk}\) is already in the school with no "
                                           "consent"):
        call_command("enrol", str(tmp_path), "--class", "7A", "--consent-note", "x", "--inline")
    assert not Consent.objects.exists() and not EnrolmentPhoto.objects.exists()
    assert not Student.objects.filter(name="Cy Cole").exists()

    # Consent recorded on the student's page: then the zip adds the photos, and consent is
    # recorded for the new student only.
    response = client.post(reverse("consent_record", args=[zoe.pk]), {
        "given_by": "Parent", "given_on": "2026-10-01", "note": "new form"})
    assert response.status_code == 302
    response = _post_zip(client, school_class, photo, ["Bea_Baker", "Zoe_Adams"])
    assert response.status_code == 302
    assert EnrolmentPhoto.objects.filter(student=zoe).count() == 1
    assert Consent.objects.get(student=zoe).note == "new form"
    assert Consent.objects.get(student__name="Bea Baker").note == CONSENT_FIELDS["note"]


# 2. Names in zip folders and the enrol command were matched exactly.

def test_folder_names_match_the_roster_on_a_normalised_key_and_bad_ids_are_refused(client, users, photo, tmp_path):
    import unicodedata

    from attendance.roster.consent import record_consent

    zoe = Student.objects.create(name="Zo\u00eb Adams")  # composed, as typed in the web form
    ann1, ann2 = Student.objects.create(name="Ann Lee"), Student.objects.create(name="Ann Lee")
    ada = Student.objects.create(name="Ada Lovelace")
    school_class = make_class(users["teacher"], "7A", [zoe, ann1, ann2, ada])
    for student in (zoe, ann1, ann2, ada):
        record_consent(student, "Parent", datetime.date(2026, 9, 1), "form", users["admin"])
    client.force_login(users["admin"])
    students_before = Student.objects.count()

    # Decomposed "Zoë" (as macOS writes folder names) and full-width letters: the same students.
    nfd = unicodedata.normalize("NFD", "Zo\u00eb_Adams")
    assert nfd != "Zo\u00eb_Adams"
    response = _post_zip(client, school_class, photo, [nfd, "\uff21\uff44\uff41_LOVELACE"])
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Student.objects.count() == students_before
    assert EnrolmentPhoto.objects.filter(student=zoe).count() == 1
    assert EnrolmentPhoto.objects.filter(student=ada).count() == 1

    # Lower case, underscores and extra spacing name both "Ann Lee"s: refused, never a new "ann lee".
    photos_before = EnrolmentPhoto.objects.count()
    response = _post_zip(client, school_class, photo, ["ann__lee "])
    html = response.content.decode()
    assert response.status_code == 400 and f"#{ann1.pk} (in 7A); #{ann2.pk} (in 7A)" in html
    # An id that does not parse, or is not on the roster: refused, never a student "Joe Biden #999...".
    for folder, message in (("Joe_Biden_#99999999999999999999", "does not end with a student id"),
                            ("Joe_Biden_#12x", "does not end with a student id"),
                            ("Joe_Biden_#999999999999999999", "No student #999999999999999999 is on the roster")):
        response = _post_zip(client, school_class, photo, [folder])
        assert response.status_code == 400 and message in response.content.decode(), folder
    assert Student.objects.count() == students_before and EnrolmentPhoto.objects.count() == photos_before
    assert not Student.objects.filter(name__icontains="#").exists()

    # The enrol command: the same matching and refusals.
    (tmp_path / nfd).mkdir()
    # Another photo than the zip's: the same bytes would be left out as already Zoë's.
    (tmp_path / nfd / "1.jpg").write_bytes(photo("identities/Joe_Biden/2.jpg").read_bytes())
    # (In this test's transaction the photo's task, sent on commit, never runs: the command
    # stores the photo and times out waiting, which is all this needs.)
    with pytest.raises(CommandError, match="Timed out"):
        call_command("enrol", str(tmp_path), "--class", "7A", "--consent-note", "x", "--timeout", "0")
    assert Student.objects.count() == students_before
    assert EnrolmentPhoto.objects.filter(student=zoe).count() == 2
    for folder, message in (("ann_lee", rf"2 students of 7A are named ann lee: #{ann1.pk}"),
                            ("Joe_Biden_#99999999999999999999", "does not end with a student id")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "1.jpg").write_bytes(photo("identities/Joe_Biden/1.jpg").read_bytes())
        with pytest.raises(CommandError, match=message):
            call_command("enrol", str(tmp_path), "--class", "7A", "--consent-note", "x", "--inline")
        (tmp_path / folder / "1.jpg").unlink()
        (tmp_path / folder).rmdir()
    assert Student.objects.count() == students_before and EnrolmentPhoto.objects.filter(student=zoe).count() == 2


# 3. ?date= on the take-attendance and register-by-hand pages was not checked.

def test_linked_dates_outside_the_range_or_unreadable_are_a_400_with_a_message(client, users):
    from attendance.models import ClassSession

    school_class = make_class(users["teacher"], "7A")
    client.force_login(users["teacher"])
    for page in ("session_upload", "register_by_hand"):
        url = reverse(page, args=[school_class.pk])
        for date, message in (("9999-12-31", "outside the dates this app accepts (2000-01-01 to 2100-12-31)"),
                              ("0001-01-01", "outside the dates this app accepts"),
                              ("2000-02-30", "is not a date (YYYY-MM-DD)"), ("x", "is not a date (YYYY-MM-DD)")):
            response = client.get(url, {"date": date, "period": "P1"})
            html = response.content.decode()
            assert response.status_code == 400 and message in html, (page, date)
            assert f'value="{date}"' not in html
        assert client.get(url, {"date": "2026-10-01", "period": "P1"}).status_code == 200
        assert client.get(url).status_code == 200
    assert not ClassSession.objects.exists()


# 4. Control and bidi-override characters were stored in names.

NASTY = {"ESC": "Ben\x1b[31m Baker", "BEL": "Ben Baker\x07", "RLO": "Ben \u202eekab", "LRI": "Ben\u2066 Baker",
         "U+FFFE": "Ben\ufffe", "U+FFFF": "Ben\uffff", "U+FDD0": "Ben\ufdd0", "tab": "Ben\tBaker"}


def test_names_with_control_bidi_or_noncharacters_are_refused_on_every_path(client, users, photo, api, tmp_path):
    import unicodedata

    from attendance.models import ClassSession, SchoolClass, TimetablePeriod

    school_class = make_class(users["teacher"], "7A")
    client.force_login(users["admin"])
    for what, name in NASTY.items():
        # The web enrol form.
        response = client.post(reverse("student_enrol", args=[school_class.pk]), {"name": name})
        assert response.status_code == 400 and "which a name cannot hold" in response.content.decode(), what
        # The class form.
        response = client.post(reverse("class_create"), {"name": f"7{name}", "teacher": users["teacher"].pk})
        assert response.status_code == 400 and "which a name cannot hold" in response.content.decode(), what
        # A zip folder.
        response = _post_zip(client, school_class, photo, [name.replace(" ", "_")])
        assert response.status_code == 400 and "which a student&#x27;s name cannot hold" in response.content.decode(), \
            what
        # A timetabled period (the admin's form runs the model's validation).
        period = TimetablePeriod(school_class=school_class, weekday=0, name=f"P1{name}",
                                 starts_at=datetime.time(9), ends_at=datetime.time(10))
        with pytest.raises(Exception, match="which a name cannot hold"):
            period.full_clean()
        # A session's period, typed on the register-by-hand page and sent to the API.
        response = client.post(reverse("register_by_hand", args=[school_class.pk]),
                               {"date": "2026-10-01", "period": f"P1{name}"})
        assert response.status_code == 400 and "which a name cannot hold" in response.content.decode(), what
        response = api("teacher").post(reverse("api:class-sessions", args=[school_class.pk]), {
            "date": "2026-10-01", "period": f"P1{name}",
            "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes(),
                                         content_type="image/jpeg")})
        assert response.status_code == 400 and "which a name cannot hold" in response.json()["period"][0], what
    assert not Student.objects.exists() and not ClassSession.objects.exists()
    assert list(SchoolClass.objects.values_list("name", flat=True)) == ["7A"]
    # The enrol command's folders too.
    (tmp_path / "Ben\x1b_Baker").mkdir()
    (tmp_path / "Ben\x1b_Baker" / "1.jpg").write_bytes(photo("identities/Joe_Biden/1.jpg").read_bytes())
    with pytest.raises(CommandError, match="which a student's name cannot hold"):
        call_command("enrol", str(tmp_path), "--class", "7A", "--consent-note", "x", "--inline")
    assert not Student.objects.exists()

    # A decomposed name (as macOS and some phones send) is stored composed (NFC).
    nfd = unicodedata.normalize("NFD", "Zo\u00eb Adams")
    response = client.post(reverse("student_enrol", args=[school_class.pk]), {"name": nfd})
    assert response.status_code == 302
    assert Student.objects.get().name == "Zo\u00eb Adams"


# 5. A learnt-face crop from class A's photo was visible to class B's teacher.

def test_a_learnt_face_is_seen_only_by_those_who_may_see_its_source_session(client, users, photo):
    from attendance.models import ClassSession

    from .factories import class_photo

    child = Student.objects.create(name="Barack Obama")
    class_a = make_class(users["teacher"], "7A", [child])
    make_class(users["other_teacher"], "8B", [child])  # the child is on both rosters
    session = ClassSession.objects.create(school_class=class_a, date="2026-11-03", period="P1")
    source = class_photo(session, photo("groups/obama_and_biden.jpg"))
    learnt = learnt_template(child, session, source)
    orphan = learnt_template(child)  # its session since deleted: an admin's alone
    crop_url = reverse("template_crop", args=[learnt.pk])
    orphan_url = reverse("template_crop", args=[orphan.pk])

    # The attack: class B's teacher asks for the crop, the student page and the reference face.
    client.force_login(users["other_teacher"])
    assert client.get(crop_url).status_code == 404  # as for no such face (issue 14 G2)
    assert client.get(orphan_url).status_code == 404
    page = client.get(reverse("student_detail", args=[child.pk])).content.decode()
    assert crop_url not in page and orphan_url not in page
    assert client.get(reverse("student_face", args=[child.pk])).status_code == 404
    # Class A's teacher sees the crop from their own session (not the orphan); admins see both.
    client.force_login(users["teacher"])
    response = client.get(crop_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert client.get(orphan_url).status_code == 404
    page = client.get(reverse("student_detail", args=[child.pk])).content.decode()
    assert crop_url in page and orphan_url not in page
    assert client.get(reverse("student_face", args=[child.pk])).status_code == 200
    client.force_login(users["admin"])
    assert client.get(crop_url).status_code == 200 and client.get(orphan_url).status_code == 200
    # Office staff never see faces.
    client.force_login(users["office"])
    assert client.get(crop_url).status_code in (403, 404)
