"""Issue 16: school-wide students on the rosters of several classes, class membership
(add, remove, move) on the page and through the API, co-teachers, enrolling a child who
already exists, and merging a child enrolled twice. Real photos, real models."""
import datetime
import io
import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from attendance.models import (
    AttendanceRecord, AuditEntry, ClassSession, Consent, DifferentChildren, EnrolmentPhoto, Student,
)
from attendance.registers.recognition import process_class_photo
from attendance.roster import membership, merging
from attendance.roster.enrolment import encode_enrolment_photo

from .conftest import CONSENT, CONSENT_FIELDS
from .factories import enrolment_photo, give_consent, learnt_template, make_class

pytestmark = pytest.mark.django_db


def upload(path):
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")


def enrol_by_form(client, school_class, name, photos=(), school_id="", capture=None):
    """The class page's enrol form, as an admin signed in on ``client``; the photos encoded here."""
    data = {**CONSENT_FIELDS, "name": name, "school_id": school_id, "photos": [upload(p) for p in photos]}
    before = set(EnrolmentPhoto.objects.values_list("pk", flat=True))
    with capture(execute=False):
        response = client.post(reverse("student_enrol", args=[school_class.pk]), data)
    for pk in EnrolmentPhoto.objects.exclude(pk__in=before).values_list("pk", flat=True):
        encode_enrolment_photo(pk)
    return response


def test_same_child_enrolled_in_two_classes_is_one_student_present_in_both_sessions(
        client, users, photo, django_user_model, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    history = make_class(users["teacher"], "History 7")
    maths = make_class(users["other_teacher"], "Maths 7")
    cover = django_user_model.objects.create_user("cover", password="pw-cover-1")
    client.force_login(users["admin"])
    # The maths teacher is off: a cover teacher is made co-teacher on the class form.
    response = client.post(reverse("class_edit", args=[maths.pk]), {
        "name": "Maths 7", "school_id": "MATHS-7", "teacher": users["other_teacher"].pk, "co_teachers": [cover.pk]})
    assert response.status_code == 302
    assert list(maths.co_teachers.all()) == [cover]
    assert AuditEntry.objects.filter(action=AuditEntry.CLASS_CHANGED, object_id=str(maths.pk)).exists()

    assert enrol_by_form(client, history, "Joe Biden", [photo("identities/Joe_Biden/1.jpg")], "S1001",
                         capture).status_code == 302
    joe = Student.objects.get()
    assert joe.school_id == "S1001" and joe.photos.get().status == EnrolmentPhoto.READY
    # Enrolled again, in maths, with a second photo: the same child, not a second student,
    # and the new photo is no look-alike "of someone else".
    response = enrol_by_form(client, maths, "Joe Biden", [photo("identities/Joe_Biden/2.jpg")], "S1001", capture)
    assert response.status_code == 302
    assert "already in the school" in client.get(response["Location"]).content.decode()
    assert Student.objects.count() == 1
    assert set(joe.classes.all()) == {history, maths}
    assert sorted(p.status for p in joe.photos.all()) == ["ready", "ready"]
    enrol_by_form(client, maths, "Barack Obama", [photo("identities/Barack_Obama/1.jpg")], capture=capture)
    assert Student.objects.get(name="Barack Obama").photos.get().status == EnrolmentPhoto.READY

    # Each class's teacher (the cover teacher for maths) takes attendance with the same photo.
    for school_class, teacher in ((history, users["teacher"]), (maths, cover)):
        client.force_login(teacher)
        with capture(execute=False):
            response = client.post(reverse("session_upload", args=[school_class.pk]), {
                "date": "2026-11-03", "period": "Period 1", "photos": upload(photo("groups/obama_and_biden.jpg"))})
        assert response.status_code == 302, response.content.decode()[:500]
        session = ClassSession.objects.get(school_class=school_class)
        assert process_class_photo(session.photos.get().pk) == "done"
    history_session, maths_session = (ClassSession.objects.get(school_class=c) for c in (history, maths))
    assert AttendanceRecord.objects.get(session=history_session, student=joe).status == "present"
    assert AttendanceRecord.objects.get(session=maths_session, student=joe).status == "present"
    assert not AttendanceRecord.objects.filter(session=history_session).exclude(student=joe).exists()
    # The history teacher sees the child, but not the maths session.
    client.force_login(users["teacher"])
    assert client.get(reverse("student_detail", args=[joe.pk])).status_code == 200
    assert client.get(reverse("session_detail", args=[maths_session.pk])).status_code == 403


def test_a_name_alone_finds_the_only_child_of_that_name_and_refuses_two(client, users, photo,
                                                                        django_capture_on_commit_callbacks):
    history = make_class(users["teacher"], "History 7")
    maths = make_class(users["other_teacher"], "Maths 7")
    ada = Student.objects.create(name="Ada Lovelace")
    history.students.add(ada)
    client.force_login(users["admin"])
    enrol_by_form(client, maths, "ada  LOVELACE", capture=django_capture_on_commit_callbacks)
    assert Student.objects.count() == 1 and set(ada.classes.all()) == {history, maths}
    # A second Ada (with her own school id) is a new child; then the name alone is ambiguous.
    enrol_by_form(client, history, "Ada Lovelace", school_id="S2", capture=django_capture_on_commit_callbacks)
    art = make_class(users["teacher"], "Art 7")
    response = enrol_by_form(client, art, "Ada Lovelace", capture=django_capture_on_commit_callbacks)
    html = response.content.decode()
    assert response.status_code == 400 and "2 students of the school (none in Art 7) are named Ada Lovelace" in html
    assert not art.students.exists() and Student.objects.count() == 2
    # A school id of another name is refused, not taken.
    response = enrol_by_form(client, art, "Grace Hopper", school_id="S2", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "School id S2 is Ada Lovelace" in response.content.decode()


def test_admin_adds_removes_and_moves_students_and_records_stay(client, users, photo):
    joe, barack = Student.objects.create(name="Joe Biden", school_id="S1"), Student.objects.create(name="Barack Obama")
    history = make_class(users["teacher"], "History 7", [joe])
    maths = make_class(users["other_teacher"], "Maths 7")
    session = ClassSession.objects.create(school_class=history, date=datetime.date(2026, 11, 2), period="1")
    AttendanceRecord.objects.create(session=session, student=joe, status="present")
    client.force_login(users["admin"])
    # Search by school id and by part of a name; students already on the roster are not offered.
    page = client.get(reverse("class_detail", args=[history.pk]), {"q": "S1"}).content.decode()
    assert "No student of the school outside History 7" in page
    page = client.get(reverse("class_detail", args=[maths.pk]), {"q": "S1"}).content.decode()
    assert f'value="{joe.pk}"' in page and "Barack" not in page
    assert list(membership.search_students("bam", exclude_class=history)) == [barack]
    response = client.post(reverse("class_students_add", args=[maths.pk]), {"students": [joe.pk, barack.pk]})
    assert response.status_code == 302 and set(maths.students.all()) == {joe, barack}
    # Removing needs the confirmation; the record stays with the student.
    url = reverse("class_students_change", args=[history.pk])
    client.post(url, {"students": [joe.pk], "action": "remove"})
    assert joe in history.students.all()
    client.post(url, {"students": [joe.pk], "action": "remove", "confirm": "on"})
    assert joe not in history.students.all() and AttendanceRecord.objects.filter(student=joe).count() == 1
    # Moving: off one roster, onto the other, in one step.
    client.post(reverse("class_students_change", args=[maths.pk]),
                {"students": [barack.pk], "action": "move", "to_class": history.pk})
    assert list(barack.classes.all()) == [history]
    changes = AuditEntry.objects.filter(action=AuditEntry.MEMBERSHIP_CHANGED)
    assert [e.summary for e in changes.order_by("id")] == [
        "Barack Obama, Joe Biden added to Maths 7", "Joe Biden removed from History 7",
        "Barack Obama moved from Maths 7 to History 7"]
    # A teacher of the class views the roster but changes nothing.
    client.force_login(users["teacher"])
    assert client.post(url, {"students": [barack.pk], "action": "remove", "confirm": "on"}).status_code == 403
    assert "Remove from class" not in client.get(reverse("class_detail", args=[history.pk])).content.decode()


def test_membership_api_is_for_school_admins(client, users):
    joe, barack = Student.objects.create(name="Joe Biden"), Student.objects.create(name="Barack Obama")
    history = make_class(users["teacher"], "History 7", [joe])
    maths = make_class(users["other_teacher"], "Maths 7")
    history.co_teachers.add(users["other_teacher"])
    url = reverse("api:class-students", args=[history.pk])
    move = reverse("api:class-students-move", args=[history.pk])
    for role in ("teacher", "other_teacher", "office"):  # the teacher, a co-teacher, office staff
        client.force_login(users[role])
        for method in ("post", "delete"):
            assert getattr(client, method)(url, {"students": [barack.pk]},
                                           content_type="application/json").status_code == 403, role
        assert client.post(move, {"students": [joe.pk], "to_class": maths.pk},
                           content_type="application/json").status_code == 403
    client.force_login(users["teacher"])
    listed = client.get(url).json()["results"]
    assert [(s["name"], s["school_id"]) for s in listed] == [("Joe Biden", "")]
    detail = client.get(reverse("api:class", args=[history.pk])).json()
    assert detail["co_teachers"] == [users["other_teacher"].pk] and detail["school_id"] == ""
    assert set(history.students.all()) == {joe}

    client.force_login(users["admin"])
    response = client.post(url, {"students": [barack.pk, joe.pk]}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"changed": [barack.pk]}
    response = client.delete(url, {"students": [joe.pk]}, content_type="application/json")
    assert response.json() == {"changed": [joe.pk]} and set(history.students.all()) == {barack}
    response = client.post(move, {"students": [joe.pk], "to_class": maths.pk}, content_type="application/json")
    assert response.status_code == 400 and "not on the roster of History 7" in response.json()["detail"]
    response = client.post(move, {"students": [barack.pk], "to_class": maths.pk}, content_type="application/json")
    assert response.status_code == 200 and list(barack.classes.all()) == [maths]
    assert client.post(url, {"students": [10 ** 9]}, content_type="application/json").status_code == 400


def test_office_staff_are_not_offered_as_co_teachers(client, users):
    maths = make_class(users["other_teacher"], "Maths 7")
    client.force_login(users["admin"])
    page = client.get(reverse("class_edit", args=[maths.pk])).content.decode()
    assert f'value="{users["teacher"].pk}"' in page and f'value="{users["office"].pk}"' not in page
    response = client.post(reverse("class_edit", args=[maths.pk]), {
        "name": "Maths 7", "teacher": users["other_teacher"].pk, "co_teachers": [users["office"].pk]})
    assert response.status_code == 400 and not maths.co_teachers.exists()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="office staff"):
        membership.set_co_teachers(maths, [users["office"]], users["admin"])


def _same_child_twice(users, photo):
    """Joe Biden enrolled twice: #1 in History 7 (photo 1), #2 in Maths 7 (photo 2, flagged as
    looking like #1), with consent, a learnt template, and records; both on History 7's
    roster too, with a record each of one session (the second changed last)."""
    history = make_class(users["teacher"], "History 7")
    maths = make_class(users["other_teacher"], "Maths 7")
    first, second = Student.objects.create(name="Joe Biden"), Student.objects.create(name="Joseph Biden")
    history.students.add(first, second)
    maths.students.add(second)
    encode_enrolment_photo(enrolment_photo(first, photo("identities/Joe_Biden/1.jpg")).pk)
    assert encode_enrolment_photo(enrolment_photo(second, photo("identities/Joe_Biden/2.jpg")).pk) == "needs_review"
    both = ClassSession.objects.create(school_class=history, date=datetime.date(2026, 11, 2), period="1")
    AttendanceRecord.objects.create(session=both, student=first, status="absent")
    AttendanceRecord.objects.create(session=both, student=second, status="present")  # changed last
    own = ClassSession.objects.create(school_class=maths, date=datetime.date(2026, 11, 3), period="1")
    AttendanceRecord.objects.create(session=own, student=second, status="late")
    template = learnt_template(second, own)
    return {"history": history, "maths": maths, "first": first, "second": second, "both": both, "own": own,
            "template": template}


def test_merge_keeps_every_record_photo_template_and_class(users, photo):
    school = _same_child_twice(users, photo)
    first, second = school["first"], school["second"]
    summary = merging.merge_students(second, first, users["admin"])
    assert summary["kept"] == first.pk and not Student.objects.filter(pk=second.pk).exists()
    assert set(first.classes.all()) == {school["history"], school["maths"]}
    assert {(r.session_id, r.status) for r in first.attendance_records.all()} == {
        (school["both"].pk, "present"), (school["own"].pk, "late")}
    assert summary["records_dropped"][0]["status"] == "absent"  # the older of the two, in the audit
    assert sorted(p.status for p in first.photos.all()) == ["ready", "ready"]  # the look-alike flag answered
    assert list(first.templates.all()) == [school["template"]]
    assert Consent.objects.filter(student=first).count() == 1 and Consent.objects.count() == 1
    entry = AuditEntry.objects.get(action=AuditEntry.STUDENTS_MERGED)
    assert entry.before["merged"]["name"] == "Joseph Biden" and entry.username == "admin"


def test_possible_duplicates_page_merges_or_sets_apart(client, users, photo):
    school = _same_child_twice(users, photo)
    first, second = school["first"], school["second"]
    obama = Student.objects.create(name="Barack Obama")
    encode_enrolment_photo(enrolment_photo(obama, photo("identities/Barack_Obama/1.jpg")).pk)
    pairs = merging.possible_duplicates()
    assert [(p.first, p.second) for p in pairs] == [(first, second)] and pairs[0].distance < 0.58
    client.force_login(users["admin"])
    page = client.get(reverse("possible_duplicates")).content.decode()
    assert "Joseph Biden" in page and "Same child: merge" in page and "Barack Obama" not in page
    decide = reverse("duplicate_decide")
    client.post(decide, {"first": first.pk, "second": second.pk, "decision": "different"})
    assert DifferentChildren.objects.count() == 1 and merging.possible_duplicates() == []
    DifferentChildren.objects.all().delete()
    response = client.post(decide, {"first": first.pk, "second": second.pk, "decision": "merge"})
    assert response.status_code == 302 and response["Location"] == reverse("student_detail", args=[first.pk])
    assert list(Student.objects.order_by("pk")) == [first, obama]


def test_merge_students_command_and_its_refusals(users, photo):
    school = _same_child_twice(users, photo)
    Student.objects.filter(pk=school["first"].pk).update(school_id="S1")
    Student.objects.filter(pk=school["second"].pk).update(school_id="S2")
    with pytest.raises(CommandError, match="different school ids"):
        call_command("merge_students", str(school["first"].pk), str(school["second"].pk))
    with pytest.raises(CommandError, match="No student with id 999999"):
        call_command("merge_students", str(school["first"].pk), "999999")
    Student.objects.filter(pk=school["second"].pk).update(school_id="")
    out = io.StringIO()
    call_command("merge_students", str(school["second"].pk), str(school["first"].pk), stdout=out)
    assert f"merged into Joe Biden (#{school['first'].pk})" in out.getvalue()
    assert Student.objects.get().school_id == "S1"


def test_students_with_byte_identical_enrolment_photos_are_merged(users, photo):
    """What migration 0015 runs: the same photo enrolled for two students is one child."""
    history, maths = make_class(users["teacher"], "History 7"), make_class(users["other_teacher"], "Maths 7")
    first, second = Student.objects.create(name="Joe Biden"), Student.objects.create(name="Joe Biden")
    other = Student.objects.create(name="Barack Obama")
    history.students.add(first, other)
    maths.students.add(second)
    for student, relative in ((first, "identities/Joe_Biden/1.jpg"), (second, "identities/Joe_Biden/1.jpg"),
                              (other, "identities/Barack_Obama/1.jpg")):
        enrolment_photo(student, photo(relative), status=EnrolmentPhoto.READY)
    session = ClassSession.objects.create(school_class=maths, date=datetime.date(2026, 11, 3), period="1")
    AttendanceRecord.objects.create(session=session, student=second, status="present")
    # Run on the migration's historical models, as migration 0015 does.
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    historical = MigrationExecutor(connection).loader.project_state(
        ("attendance", "0015_merge_identical_enrolments")).apps
    summaries = merging.merge_identical_enrolments(registry=historical)
    assert [(s["kept"], s["merged"], s["identical_photos_dropped"]) for s in summaries] == [(first.pk, second.pk, 1)]
    assert AuditEntry.objects.get(action=AuditEntry.STUDENTS_MERGED).username == ""  # the system
    assert set(Student.objects.all()) == {first, other}
    assert set(first.classes.all()) == {history, maths} and first.photos.count() == 1
    assert first.attendance_records.get().session == session
    assert merging.merge_identical_enrolments() == []  # nothing left to merge


@pytest.mark.django_db(transaction=True)
def test_enrol_command_adds_an_existing_child_and_exits_non_zero_on_a_refused_photo(users, photo, tmp_path):
    folder = tmp_path / "first" / "Joe_Biden"
    folder.mkdir(parents=True)
    shutil.copy(photo("identities/Joe_Biden/1.jpg"), folder / "1.jpg")
    call_command("enrol", str(tmp_path / "first"), "--class", "History 7", "--teacher", "teacher", *CONSENT,
                 "--school-id", "S1001", "--inline", stdout=io.StringIO())
    joe = Student.objects.get()
    assert joe.school_id == "S1001"
    folder = tmp_path / "second" / "Joe_Biden_@S1001"
    folder.mkdir(parents=True)
    shutil.copy(photo("identities/Joe_Biden/2.jpg"), folder / "2.jpg")
    call_command("enrol", str(tmp_path / "second"), "--class", "Maths 7", "--teacher", "other", *CONSENT,
                 "--inline", stdout=io.StringIO())
    assert Student.objects.count() == 1 and sorted(c.name for c in joe.classes.all()) == ["History 7", "Maths 7"]
    assert sorted(p.status for p in joe.photos.all()) == ["ready", "ready"]
    # A photo that cannot be used: reported, and the command fails.
    folder = tmp_path / "third" / "Two_People_@S1002"
    folder.mkdir(parents=True)
    shutil.copy(photo("groups/two_people.jpg"), folder / "1.jpg")
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"1 photo not used"):
        call_command("enrol", str(tmp_path / "third"), "--class", "Maths 7", *CONSENT, "--inline", stdout=out)
    assert "Two People: 0 of 1 photos ready" in out.getvalue()
    assert Student.objects.get(school_id="S1002").name == "Two People"


def test_zip_folder_with_a_school_id_adds_the_existing_child(client, users, photo,
                                                             django_capture_on_commit_callbacks):
    from .factories import zip_of_folders

    joe = Student.objects.create(name="Joe Biden", school_id="S-1001_A")
    give_consent(joe)
    history = make_class(users["teacher"], "History 7", [joe])
    maths = make_class(users["other_teacher"], "Maths 7")
    client.force_login(users["admin"])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("roster_zip", args=[maths.pk]), {
            **CONSENT_FIELDS, "archive": SimpleUploadedFile(
                "c.zip", zip_of_folders(photo, ["Joe_Biden_@S-1001_A", "Ada_Lovelace_@S-2002"]),
                content_type="application/zip")})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(joe.classes.all()) == {history, maths} and joe.photos.count() == 1
    assert Student.objects.get(school_id="S-2002").name == "Ada Lovelace"


def test_school_id_is_read_and_written_through_the_api(client, users):
    ada, grace = Student.objects.create(name="Ada Lovelace"), Student.objects.create(name="Grace Hopper",
                                                                                     school_id="S2")
    make_class(users["teacher"], "History 7", [ada, grace])
    url = reverse("api:student", args=[ada.pk])
    client.force_login(users["teacher"])
    assert client.get(url).json()["school_id"] == ""
    assert client.patch(url, {"school_id": "S1"}, content_type="application/json").status_code == 403
    client.force_login(users["admin"])
    response = client.patch(url, {"school_id": "S1"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["school_id"] == "S1"
    for refused in ("S2", " S3", "S\n3"):
        response = client.patch(url, {"school_id": refused}, content_type="application/json")
        assert response.status_code == 400 and "school_id" in response.json(), refused
    ada.refresh_from_db()
    assert ada.school_id == "S1"
    entry = AuditEntry.objects.get(action=AuditEntry.STUDENT_CHANGED)
    assert entry.before == {"school_id": ""} and entry.after == {"school_id": "S1"}
