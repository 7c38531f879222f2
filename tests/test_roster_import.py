"""Roster import (issue 16): a realistic OneRoster zip written by tests/oneroster.py, a
plain CSV, the bounds on what is read, the web preview and the ``import_roster`` command."""
import io
import zipfile
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from attendance.models import AuditEntry, SchoolClass, Student, Term
from attendance.roster.imports import reading
from attendance.roster.imports.applying import ImportRefused, apply_plan
from attendance.roster.imports.preview import preview_import, read_roster

from .oneroster import ENROLLMENTS, USERS_11, csv_bytes, oneroster_zip, school_files, student_name, with_bad_rows

pytestmark = pytest.mark.django_db


def bad_school_zip() -> bytes:
    files, raw = with_bad_rows(school_files())
    return oneroster_zip(files, raw=raw, bom=("enrollments.csv",))


def import_zip(data: bytes, skip_bad_rows=False, user=None):
    plan = preview_import("roster.zip", data)
    apply_plan(plan, user, skip_bad_rows=skip_bad_rows, source="roster.zip", actor="test")
    return plan


def roster_of(class_title: str) -> set[str]:
    return set(SchoolClass.objects.get(name=class_title).students.values_list("school_id", flat=True))


def test_the_preview_refuses_each_bad_row_with_file_line_and_reason_and_writes_nothing():
    plan = preview_import("roster.zip", bad_school_zip())
    refused = {(r.file, r.line): r.reason for r in plan.refusals}
    enrolment_lines = 1 + len(school_files()["enrollments.csv"][1])
    assert "already on line 9" in refused[("users.csv", 45)]  # s05 again (duplicate id)
    assert "not UTF-8" in refused[("users.csv", 46)] and "0xEB" in refused[("users.csv", 46)]  # ë in Windows-1252
    assert "unknown class 'c-history'" in refused[("enrollments.csv", enrolment_lines + 1)]
    assert "beginDate '2026-02-30' is not a date" in refused[("enrollments.csv", enrolment_lines + 2)]
    assert "'endDate' is missing" in refused[("academicSessions.csv", 1)]
    assert len(plan.refusals) == 5
    counts = plan.counts()
    # The byte order mark of enrollments.csv is no problem: its header is read.
    assert (counts["students_new"], counts["classes_new"], counts["teachers_new"]) == (40, 3, 2)
    assert counts["enrolments_added"] == 20 + 30 + 20  # not s02's to English: tobedeleted
    assert plan.roster.format == "OneRoster 1.1" and plan.roster.ignored["users of role guardian"] == 1
    assert "40 new students, 0 updated, 0 leaving a class" in plan.summary()[0]
    assert Student.objects.count() == SchoolClass.objects.count() == AuditEntry.objects.count() == 0


def test_refused_rows_stop_the_import_unless_skipped_and_a_second_import_changes_nothing():
    with pytest.raises(ImportRefused):
        import_zip(bad_school_zip())
    assert Student.objects.count() == 0
    import_zip(bad_school_zip(), skip_bad_rows=True)
    assert Student.objects.count() == 40
    assert Student.objects.get(school_id="s05").name == "Ella Okafor"  # the first row of a duplicate id
    assert roster_of("Maths 7") == {f"s{n:02}" for n in range(1, 21)}
    assert roster_of("English 7") == {f"s{n:02}" for n in range(11, 41)}
    assert "s02" not in roster_of("English 7")
    assert Student.objects.get(school_id="s11").classes.count() == 3  # one child, three classes
    science = SchoolClass.objects.get(name="Science 7")
    assert science.school_id == "c-science" and science.teacher.username == "sam.patel@school.example"
    assert [u.username for u in science.co_teachers.all()] == ["jlee"]
    jlee = science.co_teachers.get()
    assert (jlee.first_name, jlee.email, jlee.has_usable_password()) == ("Jo", "jo.lee@school.example", False)
    assert AuditEntry.objects.filter(action=AuditEntry.IMPORTED, summary__startswith="Roster imported").count() == 1
    s01 = Student.objects.get(school_id="s01")
    assert AuditEntry.objects.filter(object_type="student", object_id=str(s01.pk)).get().summary == (
        "Ada Okafor (s01) added by a roster import")
    maths = SchoolClass.objects.get(name="Maths 7")
    added = AuditEntry.objects.get(action=AuditEntry.MEMBERSHIP_CHANGED, object_id=str(maths.pk))
    assert s01.pk in added.after["added"] and len(added.after["added"]) == 20
    audited = AuditEntry.objects.count()

    again = preview_import("roster.zip", bad_school_zip())
    assert again.changes == 0
    assert "0 new students, 0 updated, 0 leaving a class; 0 new classes, 0 updated" in again.summary()[0]
    apply_plan(again, None, skip_bad_rows=True)
    assert AuditEntry.objects.count() == audited + 1  # the import itself, nothing else


def delta_zip(users=(), enrolments=(), stamp="2026-10-01T08:00:00Z") -> bytes:
    return oneroster_zip({"users.csv": (USERS_11, [dict(r, status=r.get("status", "active"), dateLastModified=stamp)
                                                   for r in users]),
                          "enrollments.csv": (ENROLLMENTS, [dict(r, status=r.get("status", "active"),
                                                                 dateLastModified=stamp) for r in enrolments])},
                         modes={"users": "delta", "enrollments": "delta"})


def test_a_delta_import_applies_changes_and_ignores_rows_older_than_applied(users):
    import_zip(oneroster_zip(school_files()))
    assert Term.objects.count() == 2
    student = Student.objects.get(school_id="s03")
    data = delta_zip(
        users=[dict(sourcedId="s39", role="student", givenName="Sami", familyName="Silva-Jones"),
               dict(sourcedId="t2", role="teacher", givenName="Sam", familyName="Patel",
                    email="sam.patel@school.example", status="tobedeleted")],
        enrolments=[dict(sourcedId="e-s03-maths", classSourcedId="c-maths", userSourcedId="s03", role="student",
                         status="tobedeleted"),
                    dict(sourcedId="e-s40-maths", classSourcedId="c-maths", userSourcedId="s40", role="student")])
    plan = preview_import("delta.zip", data)
    assert not plan.refusals
    counts = plan.counts()
    assert (counts["students_updated"], counts["students_leaving"], counts["enrolments_added"],
            counts["teachers_deactivated"]) == (1, 1, 1, 1)
    apply_plan(plan, users["admin"])
    assert "s03" not in roster_of("Maths 7") and "s40" in roster_of("Maths 7")
    assert Student.objects.filter(pk=student.pk).exists()  # off the class, still in the school
    assert Student.objects.get(school_id="s39").name == "Sami Silva-Jones"
    assert not SchoolClass.objects.get(name="English 7").teacher.is_active
    assert AuditEntry.objects.get(user=users["admin"], action=AuditEntry.MEMBERSHIP_CHANGED,
                                  summary__contains="removed from Maths 7").before["removed"] == [student.pk]

    older = delta_zip(enrolments=[dict(sourcedId="e-s03-maths", classSourcedId="c-maths", userSourcedId="s03",
                                       role="student")], stamp="2026-09-15T08:00:00Z")
    plan = preview_import("older.zip", older)
    assert plan.older == 1 and plan.changes == 0
    newer = delta_zip(enrolments=[dict(sourcedId="e-s03-maths", classSourcedId="c-maths", userSourcedId="s03",
                                       role="student")], stamp="2026-11-01T08:00:00Z")
    import_zip(newer)
    assert "s03" in roster_of("Maths 7")


def test_a_bulk_enrollments_file_ends_the_memberships_it_does_not_mention():
    import_zip(oneroster_zip(school_files()))
    files = school_files()
    columns, rows = files["enrollments.csv"]
    files["enrollments.csv"] = (columns, [r for r in rows if r["sourcedId"] != "e-s20-maths"])
    plan = preview_import("roster.zip", oneroster_zip(files))
    assert [(c.name, s.school_id) for c, s in plan.memberships_removed] == [("Maths 7", "s20")]
    apply_plan(plan)
    assert "s20" not in roster_of("Maths 7") and Student.objects.filter(school_id="s20").exists()


def test_oneroster_12_reads_roles_from_roles_csv():
    plan = preview_import("roster.zip", oneroster_zip(school_files("1.2"), version="1.2"))
    assert plan.roster.format == "OneRoster 1.2" and not plan.refusals
    assert any("roles.csv" in note for note in plan.roster.notes)
    apply_plan(plan)
    assert Student.objects.count() == 40 and roster_of("Maths 7") == {f"s{n:02}" for n in range(1, 21)}


def test_students_and_classes_made_by_hand_are_matched_by_name(users):
    by_hand = SchoolClass.objects.create(name="Maths 7", teacher=users["teacher"])
    ada = Student.objects.create(name="Ada Okafor")
    visitor = Student.objects.create(name="Zed Visitor")
    by_hand.students.add(ada, visitor)
    plan = import_zip(oneroster_zip(school_files()))
    ada.refresh_from_db()
    by_hand.refresh_from_db()
    assert ada.school_id == "s01" and by_hand.school_id == "c-maths"
    assert Student.objects.count() == 41 and plan.counts()["students_new"] == 39
    # The class is the SIS's now: its bulk enrollments are its whole roster.
    assert [s.name for _, s in plan.memberships_removed] == ["Zed Visitor"]
    assert roster_of("Maths 7") == {f"s{n:02}" for n in range(1, 21)}
    assert by_hand.teacher.username == "jlee"
    assert preview_import("roster.zip", oneroster_zip(school_files())).changes == 0


def test_a_delta_enrolment_changes_a_class_teacher():
    import_zip(oneroster_zip(school_files()))
    plan = preview_import("delta.zip", delta_zip(enrolments=[
        dict(sourcedId="e-t1-english", classSourcedId="c-english", userSourcedId="t1", role="teacher",
             primary="true")]))
    assert plan.counts()["classes_updated"] == 1
    apply_plan(plan)
    english = SchoolClass.objects.get(name="English 7")
    assert english.teacher.username == "jlee"
    assert [u.username for u in english.co_teachers.all()] == ["sam.patel@school.example"]
    import_zip(delta_zip(enrolments=[dict(sourcedId="e-t1-english", classSourcedId="c-english", userSourcedId="t1",
                                          role="teacher", status="tobedeleted")], stamp="2026-10-02T08:00:00Z"))
    english.refresh_from_db()
    assert english.teacher.username == "sam.patel@school.example" and not english.co_teachers.exists()


PLAIN = ("student_id,name,class,teacher,teacher_email\r\n"
         "A001,Ada Lovelace,7A,jlee,jo.lee@school.example\r\n"
         "A002,Alan Turing,7A,jlee,\r\n"
         "A001,Ada Lovelace,Maths set 1,mrahman,m.rahman@school.example\r\n"
         "A002,Grace Hopper,Maths set 1,mrahman,\r\n"
         "A003,Katherine Johnson,7A,somebody_else,\r\n"
         "A004,Zoe\u0308 Martin,7A,jlee,\r\n")  # a decomposed "Zoë", as macOS writes it


def test_a_plain_csv_adds_students_classes_and_teachers_and_refuses_conflicts():
    plan = preview_import("roster.csv", PLAIN.encode())
    assert plan.roster.format == "plain CSV"
    assert [(r.line, r.reason[:30]) for r in plan.refusals] == [(5, "student_id 'A002' is 'Alan Tur"),
                                                                 (6, "class '7A' has the teacher 'jl")]
    apply_plan(plan, skip_bad_rows=True)
    assert set(SchoolClass.objects.values_list("name", "teacher__username")) == {("7A", "jlee"),
                                                                                ("Maths set 1", "mrahman")}
    assert set(Student.objects.get(school_id="A001").classes.values_list("name", flat=True)) == {"7A", "Maths set 1"}
    assert Student.objects.get(school_id="A004").name == "Zo\u00eb Martin"
    assert preview_import("roster.csv", PLAIN.encode()).changes == 0


def test_bounds_zip_members_unzipped_size_upload_size_and_field_length():
    limits = reading.Limits(upload_bytes=1024 * 1024, zip_members=5, unzipped_bytes=100_000, field_chars=50)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for n in range(6):
            archive.writestr(f"f{n}.csv", "a\r\n")
    with pytest.raises(reading.RosterFileError, match="holds 6 files"):
        read_roster("x.zip", many.getvalue(), limits)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.csv", b"sourcedId\r\n" + b"0" * 5_000_000)
    assert len(bomb.getvalue()) < 20_000
    with pytest.raises(reading.RosterFileError, match="once unzipped"):
        read_roster("bomb.zip", bomb.getvalue(), limits)
    with pytest.raises(reading.RosterFileError, match="larger than 1 MB"):
        read_roster("big.csv", b"x" * (1024 * 1024 + 1), limits)
    roster = read_roster("roster.csv", f"student_id,name,class,teacher\r\nA1,{'x' * 51},7A,t\r\n".encode(), limits)
    assert [str(r) for r in roster.refusals] == ["roster.csv line 2: a value is longer than 50 characters."]
    assert read_roster("empty.csv", b"", limits).refusals == []  # an empty file is no error


def kept_upload(client):
    """The stored name of the roster file the admin's session keeps, or None."""
    entry = client.session.get("pending_import:roster")
    return entry["name"] if entry and default_storage.exists(entry["name"]) else None


def upload_roster(client, data: bytes, name: str):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(reverse("roster_import"), {"roster": upload})


def test_the_web_preview_writes_nothing_and_import_applies_and_deletes_the_upload(client, users):
    client.force_login(users["admin"])
    page = upload_roster(client, bad_school_zip(), "roster.zip")
    assert page.status_code == 200
    html = page.content.decode()
    assert "40" in html and "5 rows refused" in html and "unknown class" in html
    stored = kept_upload(client)
    assert stored and Student.objects.count() == 0 and AuditEntry.objects.count() == 0
    refused = client.post(reverse("roster_import_apply"), {})
    assert refused.status_code == 400 and "5 rows are refused" in refused.content.decode()
    assert Student.objects.count() == 0 and kept_upload(client) == stored
    assert client.post(reverse("roster_import_apply"), {"skip_bad_rows": "on"}).status_code == 302
    assert Student.objects.count() == 40
    assert AuditEntry.objects.filter(user=users["admin"], summary__startswith="Roster imported").exists()
    assert kept_upload(client) is None and not default_storage.exists(stored)
    again = client.post(reverse("roster_import_apply"), {"skip_bad_rows": "on"})
    assert again.status_code == 302 and again["Location"] == reverse("roster_import")


def test_the_preview_names_the_uploaded_file_and_cancel_deletes_it(client, users):
    client.force_login(users["admin"])
    html = upload_roster(client, PLAIN.encode(), "Year 7 roster.csv").content.decode()
    assert "Year 7 roster.csv" in html and "2 rows refused" in html
    stored = kept_upload(client)
    assert client.post(reverse("roster_import_apply"), {"cancel": "on"}).status_code == 302
    assert kept_upload(client) is None and not default_storage.exists(stored)
    assert Student.objects.count() == 0


def test_a_zip_without_csv_files_is_refused_on_the_upload_page(client, users):
    client.force_login(users["admin"])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    response = upload_roster(client, archive.getvalue(), "roster.xlsx")
    assert response.status_code == 400 and "holds no CSV files" in response.content.decode()
    assert kept_upload(client) is None


@pytest.mark.parametrize("role", ["teacher", "office"])
def test_teachers_and_office_staff_cannot_import(client, users, role):
    client.force_login(users[role])
    assert client.get(reverse("roster_import")).status_code == 403
    assert upload_roster(client, PLAIN.encode(), "r.csv").status_code == 403
    assert client.post(reverse("roster_import_apply"), {"skip_bad_rows": "on"}).status_code == 403
    assert Student.objects.count() == 0 and kept_upload(client) is None


def test_the_command_prints_the_preview_and_imports(tmp_path):
    path = tmp_path / "roster.zip"
    path.write_bytes(bad_school_zip())
    out = StringIO()
    call_command("import_roster", str(path), "--dry-run", stdout=out)
    assert "40 new students" in out.getvalue() and "enrollments.csv line" in out.getvalue()
    assert Student.objects.count() == 0
    with pytest.raises(CommandError, match="5 rows are refused"):
        call_command("import_roster", str(path), stdout=StringIO())
    assert Student.objects.count() == 0
    out = StringIO()
    call_command("import_roster", str(path), "--skip-bad-rows", stdout=out)
    assert Student.objects.count() == 40 and "5 refused rows skipped" in out.getvalue()
    given, family = student_name(40)
    assert Student.objects.get(school_id="s40").name == f"{given} {family}"
    csv_path = tmp_path / "users.csv"
    csv_path.write_bytes(csv_bytes(["a"], []))
    out = StringIO()
    with pytest.raises(CommandError, match="1 row is refused"):
        call_command("import_roster", str(csv_path), stdout=out)
    assert "users.csv line 1: the columns 'student_id', 'name', 'class', 'teacher' are missing" in out.getvalue()


def test_rows_the_app_cannot_hold_twice_are_refused_before_anything_is_written():
    """Two classes of one title, two teachers of one username, overlapping terms, and a
    class only an unknown teacher teaches: each later row refused, naming the first."""
    files = school_files()
    columns, classes = files["classes.csv"]
    files["classes.csv"] = (columns, classes + [dict(sourcedId="c-maths-2", title="MATHS 7")])
    columns, people = files["users.csv"]
    files["users.csv"] = (columns, people + [dict(sourcedId="t3", role="teacher", username="jlee", givenName="Jo",
                                                  familyName="Leigh")])
    columns, sessions = files["academicSessions.csv"]
    files["academicSessions.csv"] = (columns, sessions + [dict(sourcedId="term3", title="Summer term", type="term",
                                                               startDate="2027-03-30", endDate="2027-07-20")])
    plan = preview_import("roster.zip", oneroster_zip(files))
    reasons = sorted(str(r) for r in plan.refusals)
    assert reasons == [
        "academicSessions.csv line 5: Summer term (2027-03-30 to 2027-07-20) overlaps Spring term 2027.",
        "classes.csv line 5: the title 'MATHS 7' is already class 'c-maths''s (line 2): each class of the app has "
        "a name of its own.",
        "users.csv line 45: the username 'jlee' is already the teacher 't1''s (line 2)."]
    apply_plan(plan, skip_bad_rows=True)
    assert Term.objects.count() == 2 and SchoolClass.objects.count() == 3


def test_hostile_csv_is_refused_row_by_row_never_raised():
    limits = reading.Limits(upload_bytes=10 * 1024 * 1024, zip_members=5, unzipped_bytes=10 * 1024 * 1024,
                            field_chars=100)
    jpeg = read_roster("photo.csv", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4, limits)
    assert [r.line for r in jpeg.refusals] == [1] and "not UTF-8" in jpeg.refusals[0].reason
    huge = read_roster("r.csv", b"student_id,name,class,teacher\r\nA1,\"" + b"x" * 200_000 + b"\",7A,t\r\n"
                       + b"A2,Alan Turing,7A,t\r\n", limits)
    assert [(r.line, "cannot be read as CSV" in r.reason) for r in huge.refusals] == [(2, True)]
    shifted = read_roster("r.csv", b"student_id,name,class,teacher\r\nA1,Ada,7A,t,extra\r\nA2,Alan Turing,7A,t\r\n",
                          limits)
    assert [str(r) for r in shifted.refusals] == ["r.csv line 2: 5 values where the header has 4 columns."]
    assert list(shifted.people) == ["A2", "teacher:t"]
    injected = read_roster("r.csv", "student_id,name,class,teacher\r\nA1,Ada\u202eecalevol,7A,t\r\n".encode(), limits)
    assert "U+202E" in injected.refusals[0].reason


def test_a_class_marked_tobedeleted_loses_its_roster_but_keeps_its_registers():
    import_zip(oneroster_zip(school_files()))
    science = SchoolClass.objects.get(name="Science 7")
    session = science.sessions.create(date="2026-11-03", period="1")
    columns = school_files()["classes.csv"][0]
    plan = preview_import("delta.zip", oneroster_zip(
        {"classes.csv": (columns, [dict(sourcedId="c-science", status="tobedeleted", title="Science 7",
                                        dateLastModified="2026-10-05T00:00:00Z")])}, modes={"classes": "delta"}))
    assert plan.counts()["enrolments_removed"] == 20 and plan.counts()["students_leaving"] == 20
    apply_plan(plan)
    assert not science.students.exists() and SchoolClass.objects.filter(pk=science.pk).exists()
    assert science.sessions.get() == session and Student.objects.count() == 40


def test_the_preview_counts_in_words_of_the_right_number_in_english_and_chinese():
    """"1 new students, 1 new classes" was the walk's finding: one of each is singular."""
    # The second line has no teacher: refused.
    one = "student_id,name,class,teacher\r\nA001,Ada Lovelace,7A,jlee\r\nA002,Alan Turing,7B,\r\n".encode()
    with translation.override("en-gb"):
        english = preview_import("roster.csv", one).summary()[0]
    with translation.override("zh-hans"):
        chinese = preview_import("roster.csv", one).summary()[0]
    assert english == ("plain CSV: 1 new student, 0 updated, 0 leaving a class; 1 new class, 0 updated; "
                       "1 new teacher, 0 updated, 0 deactivated; 1 enrolment added, 0 ended; 0 new terms, 0 updated; "
                       "1 row refused.")
    assert chinese.startswith("普通 CSV：新学生 1 名，更新 0 名，离开班级 0 名；新班级 1 个，更新 0 个；新教师 1 名，")
    assert "新增选课关系 1 条，结束 0 条；新学期 0 个，更新 0 个" in chinese
    assert chinese.endswith("；拒绝 1 行。")
