"""Attendance codes (present, late, absent, excused and the school's own) and the manual
register page, through real requests; the class photo is processed with real dlib."""
import csv
import datetime
import io
import re

import pytest
from django.urls import reverse

from attendance.models import AttendanceCode, AttendanceRecord, AuditEntry, ClassPhoto, ClassSession, Student
from attendance.registers.recognition import process_class_photo

from .factories import class_photo
from .world import build_school

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(users, photo):
    """The shared school (tests/world.py) with Joe Biden enrolled, Ada Lovelace and Grace
    Hopper by hand and a processed session: Barack Obama is not enrolled, so the photo
    decides Joe present and Ada and Grace absent and nothing else."""
    return build_school(users, photo, enrolled=["Joe Biden"], by_hand=["Ada Lovelace", "Grace Hopper"], session=True)


def record_of(session, student):
    return AttendanceRecord.objects.get(session=session, student=student)


def register_url(session):
    return reverse("session_register", args=[session.pk])


def register_post(client, session, changes: dict):
    """POST the register page as a browser would: every row as shown, with ``changes``
    ({student: (status, reason)}) applied."""
    page = client.get(register_url(session)).content.decode()
    data = {}
    for name, value in re.findall(r'<input type="hidden" name="(shown_(?:status|reason)_\d+)"(?: value="([^"]*)")?', page):
        data[name] = value
    for name in [n for n in data if n.startswith("shown_status_")]:
        pk = int(name.rsplit("_", 1)[1])
        data[f"status_{pk}"], data[f"reason_{pk}"] = data[name], data[f"shown_reason_{pk}"]
    for student, (status, reason) in changes.items():
        data[f"status_{student.pk}"], data[f"reason_{student.pk}"] = status, reason
    return client.post(register_url(session), data)


def report_rows(client, school_class):
    """The class CSV's rows as [student, each session's cell..., counted present, recorded,
    rate] (the per-code counts and the threshold column left out; tests/test_reports.py
    checks those)."""
    text = client.get(reverse("class_report_csv", args=[school_class.pk])).content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    sessions = [i for i, name in enumerate(header) if name[:4].isdigit()]
    counted = header.index("Counted present")
    keep = [0] + sessions + [counted, counted + 1, counted + 2]
    return [[row[i] for i in keep] for row in rows]


def test_four_codes_are_seeded():
    codes = {c.code: (c.label, c.counts_as, c.needs_reason, c.active) for c in AttendanceCode.objects.all()}
    assert codes == {
        "present": ("Present", "present", False, True), "late": ("Late", "present", False, True),
        "absent": ("Absent", "absent", False, True), "excused": ("Excused", "absent", True, True),
    }
    assert [c.code for c in AttendanceCode.objects.all()] == ["present", "late", "absent", "excused"]


def test_photos_decide_only_present_or_absent(school):
    records = {r.student.name: (r.status, r.source) for r in school["session"].records.select_related("student")}
    assert records == {"Joe Biden": ("present", "photo"), "Ada Lovelace": ("absent", "photo"),
                       "Grace Hopper": ("absent", "photo")}


class TestSchoolCodes:
    def test_renamed_code_shows_its_new_label_everywhere(self, client, users, school):
        client.force_login(users["admin"])
        late = AttendanceCode.objects.get(code="late")
        response = client.post(reverse("admin:attendance_attendancecode_change", args=[late.pk]), {
            "label": "Tardy", "mark": "T", "counts_as": "present", "active": "on", "order": "20"})
        assert response.status_code == 302, response.content.decode()[:2000]
        client.force_login(users["teacher"])
        url = reverse("record_set", args=[school["session"].pk, school["ada"].pk])
        followed = client.post(url, {"status": "late", "reason": "bus"}, follow=True).content.decode()
        assert "Ada Lovelace marked Tardy." in followed
        ada_item = followed[followed.index(">Ada Lovelace</a>"):][:400]
        assert "Tardy" in ada_item and "(bus)" in ada_item
        # Listed with the present (late counts as present).
        assert followed.index(">Ada Lovelace</a>") < followed.index("<h2>Absent")
        report = client.get(reverse("class_report", args=[school["class"].pk])).content.decode()
        assert 'title="Tardy: bus, changed by hand">T<sup>M</sup>' in report and "T tardy" in report
        student = client.get(reverse("student_detail", args=[school["ada"].pk])).content.decode()
        assert ">Tardy</span>" in student and "(bus)" in student
        register = client.get(register_url(school["session"])).content.decode()
        assert '<option value="late" selected>Tardy</option>' in register
        entry = AuditEntry.objects.get(action=AuditEntry.RECORD_CHANGED)
        assert "Ada Lovelace marked Tardy (late): bus in 7A" in entry.summary

    def test_custom_code_counted_present_changes_the_rate(self, client, users, school):
        client.force_login(users["admin"])
        response = client.post(reverse("admin:attendance_attendancecode_add"), {
            "code": "trip", "label": "School trip", "mark": "S", "counts_as": "present", "active": "on",
            "order": "25"})
        assert response.status_code == 302, response.content.decode()[:2000]
        client.force_login(users["teacher"])
        assert report_rows(client, school["class"])[1] == ["Ada Lovelace", "absent", "0", "1", "0%"]
        page = client.get(register_url(school["session"])).content.decode()
        assert '<option value="trip">School trip</option>' in page
        assert register_post(client, school["session"], {school["ada"]: ("trip", "")}).status_code == 302
        assert report_rows(client, school["class"])[1] == ["Ada Lovelace", "trip (manual)", "1", "1", "100%"]
        report = client.get(reverse("class_report", args=[school["class"].pk])).content.decode()
        ada_row = report[report.index(">Ada Lovelace</a>"):].split("</tr>")[0]
        assert "100%" in ada_row  # the summary row
        grid_row = report[report.rindex(">Ada Lovelace</a>"):].split("</tr>")[0]
        assert ">S<sup>M</sup>" in grid_row
        # The school decides it counts as absent after all: the rate follows.
        AttendanceCode.objects.filter(code="trip").update(counts_as="absent")
        assert report_rows(client, school["class"])[1] == ["Ada Lovelace", "trip (manual)", "0", "1", "0%"]

    def test_late_counts_present_and_excused_absent(self, client, users, school):
        client.force_login(users["teacher"])
        register_post(client, school["session"], {school["joe"]: ("late", ""), school["ada"]: ("excused", "Dentist")})
        rows = {row[0]: row[1:] for row in report_rows(client, school["class"])[1:]}
        assert rows["Joe Biden"] == ["late (manual)", "1", "1", "100%"]
        assert rows["Ada Lovelace"] == ["excused (manual): Dentist", "0", "1", "0%"]
        history = list(csv.reader(io.StringIO(client.get(
            reverse("student_report_csv", args=[school["ada"].pk])).content.decode())))
        assert history[1] == ["2026-11-02", "Period 1", "7A", "excused", "manual", "Dentist"]

    def test_inactive_code_is_no_longer_offered(self, client, users, school):
        AttendanceCode.objects.filter(code="late").update(active=False)
        client.force_login(users["teacher"])
        assert 'value="late"' not in client.get(register_url(school["session"])).content.decode()
        url = reverse("record_set", args=[school["session"].pk, school["ada"].pk])
        assert client.post(url, {"status": "late"}).status_code == 400
        assert record_of(school["session"], school["ada"]).status == "absent"

    def test_present_and_absent_stay_what_the_photos_write(self, client, users):
        client.force_login(users["admin"])
        present = AttendanceCode.objects.get(code="present")
        response = client.post(reverse("admin:attendance_attendancecode_change", args=[present.pk]), {
            "label": "In class", "mark": "/", "order": "10"})  # counts_as and active are read-only here
        assert response.status_code == 302
        present.refresh_from_db()
        assert (present.label, present.counts_as, present.active) == ("In class", "present", True)
        present.counts_as = "absent"
        with pytest.raises(Exception, match="must count as present"):
            present.full_clean()
        # Codes are never deleted (records keep them): deactivated instead.
        assert client.get(reverse("admin:attendance_attendancecode_delete", args=[present.pk])).status_code == 403

    def test_adding_and_changing_a_code_in_the_admin_is_written_to_the_audit_log(self, client, users):
        client.force_login(users["admin"])
        response = client.post(reverse("admin:attendance_attendancecode_add"), {
            "code": "trip", "label": "School trip", "mark": "T", "counts_as": "present", "active": "on",
            "order": "50"})
        assert response.status_code == 302
        added = AuditEntry.objects.get()
        trip = AttendanceCode.objects.get(code="trip")
        assert (added.action, added.username, added.object_id) == (AuditEntry.CODE_CHANGED, "admin", str(trip.pk))
        assert added.before is None and added.after["label"] == "School trip" and added.after["counts_as"] == "present"
        response = client.post(reverse("admin:attendance_attendancecode_change", args=[trip.pk]), {
            "label": "Trip", "mark": "T", "counts_as": "absent", "active": "on", "order": "50"})
        assert response.status_code == 302
        changed = AuditEntry.objects.exclude(pk=added.pk).get()
        assert changed.action == AuditEntry.CODE_CHANGED and "Attendance code trip changed" in changed.summary
        assert changed.before == {"label": "School trip", "counts_as": "present"}
        assert changed.after == {"label": "Trip", "counts_as": "absent"}
        # Saving without a change writes nothing.
        client.post(reverse("admin:attendance_attendancecode_change", args=[trip.pk]), {
            "label": "Trip", "mark": "T", "counts_as": "absent", "active": "on", "order": "50"})
        assert AuditEntry.objects.count() == 2

    def test_codes_are_managed_by_school_admins_only(self, client, users):
        for role in ("teacher", "office"):
            client.force_login(users[role])
            assert client.get(reverse("admin:attendance_attendancecode_changelist")).status_code == 302
        client.force_login(users["admin"])
        page = client.get(reverse("admin:attendance_attendancecode_changelist")).content.decode()
        assert "Excused" in page and "Late" in page


class TestReasons:
    def test_excused_without_a_reason_is_refused_and_nothing_saved(self, client, users, school):
        client.force_login(users["teacher"])
        before = list(school["session"].records.order_by("pk").values_list("status", "reason", "source"))
        response = register_post(client, school["session"], {school["ada"]: ("excused", "  "),
                                                             school["grace"]: ("late", "")})
        assert response.status_code == 400
        page = response.content.decode()
        assert "Ada Lovelace: “Excused” needs a reason." in page
        assert "Nothing was saved: 1 row to correct." in page
        # The person's choices are kept on the page to correct.
        assert '<option value="late" selected>Late</option>' in page
        assert list(school["session"].records.order_by("pk").values_list("status", "reason", "source")) == before
        assert not AuditEntry.objects.exists()

    def test_one_click_excused_without_reason_is_refused(self, client, users, school):
        client.force_login(users["teacher"])
        url = reverse("record_set", args=[school["session"].pk, school["ada"].pk])
        response = client.post(url, {"status": "excused"})
        assert response.status_code == 400 and "“Excused” needs a reason. Nothing was saved." in response.content.decode()
        assert record_of(school["session"], school["ada"]).status == "absent"
        assert client.post(url, {"status": "excused", "reason": "Ill"}).status_code == 302
        assert (record_of(school["session"], school["ada"]).status, record_of(school["session"], school["ada"]).reason) \
            == ("excused", "Ill")

    def test_audit_has_status_reason_and_source_before_and_after(self, client, users, school):
        client.force_login(users["teacher"])
        client.post(reverse("record_set", args=[school["session"].pk, school["joe"].pk]), {"status": "absent"})
        entry = AuditEntry.objects.get()
        assert entry.before == {"status": "present", "reason": "", "source": "photo"}
        assert entry.after == {"status": "absent", "reason": "", "source": "manual"}
        assert "Joe Biden marked absent in 7A on 2026-11-02" in entry.summary
        # Changing only the reason is a change too.
        url = reverse("record_set", args=[school["session"].pk, school["joe"].pk])
        client.post(url, {"status": "excused", "reason": "Ill"})
        client.post(url, {"status": "excused", "reason": "Ill, with a note"})
        last = AuditEntry.objects.first()
        assert last.before == {"status": "excused", "reason": "Ill", "source": "manual"}
        assert last.after == {"status": "excused", "reason": "Ill, with a note", "source": "manual"}
        assert AuditEntry.objects.count() == 3


class TestManualRegister:
    def test_prefilled_from_the_photo_results(self, client, users, school):
        client.force_login(users["teacher"])
        response = client.get(register_url(school["session"]))
        assert response.status_code == 200
        page = response.content.decode()
        rows = {name: page[page.index(f">{name}</a>"):].split("</tr>")[0]
                for name in ("Joe Biden", "Ada Lovelace", "Grace Hopper")}
        assert '<option value="present" selected>Present</option>' in rows["Joe Biden"]
        assert "photos: present" in rows["Joe Biden"]
        for name in ("Ada Lovelace", "Grace Hopper"):
            assert '<option value="absent" selected>Absent</option>' in rows[name] and "no usable photo" in rows[name]
        assert "— not taken —" not in page
        # Every active code is offered, in the school's order.
        options = re.findall(r'<option value="(\w+)"', rows["Joe Biden"])
        assert options == ["present", "late", "absent", "excused"]

    def test_saves_many_students_at_once_with_audit_entries(self, client, users, school):
        client.force_login(users["teacher"])
        response = register_post(client, school["session"], {school["ada"]: ("late", "Bus"),
                                                             school["grace"]: ("excused", "Dentist")})
        assert response.status_code == 302 and response["Location"] == reverse(
            "session_detail", args=[school["session"].pk])
        session = school["session"]
        ada, grace, joe = (record_of(session, school[k]) for k in ("ada", "grace", "joe"))
        assert (ada.status, ada.reason, ada.source, ada.machine_status, ada.changed_by) == (
            "late", "Bus", "manual", "absent", users["teacher"])
        assert (grace.status, grace.reason, grace.source, grace.machine_status) == ("excused", "Dentist", "manual",
                                                                                  "absent")
        assert (joe.status, joe.source, joe.changed_by) == ("present", "photo", None)  # unchanged row: untouched
        entries = {e.object_id: e for e in AuditEntry.objects.filter(action=AuditEntry.RECORD_CHANGED)}
        assert set(entries) == {str(ada.pk), str(grace.pk)}
        assert entries[str(grace.pk)].before == {"status": "absent", "reason": "", "source": "photo"}
        assert entries[str(grace.pk)].after == {"status": "excused", "reason": "Dentist", "source": "manual"}
        assert all(e.user == users["teacher"] for e in entries.values())
        page = client.get(response["Location"]).content.decode()
        assert "Register saved: 2 students changed." in page
        assert "Present <span class=\"count\">2</span>" in page and "Absent <span class=\"count\">1</span>" in page
        # Saving again unchanged changes nothing and writes no entry.
        assert register_post(client, session, {}).status_code == 302
        assert AuditEntry.objects.count() == 2

    def test_a_row_the_photos_changed_meanwhile_is_not_overwritten(self, client, users, school):
        """The page sent what it showed: a row the person left alone is not saved over a
        record the photos changed since the page was opened."""
        client.force_login(users["teacher"])
        joe = school["joe"]
        data = {f"status_{joe.pk}": "absent", f"reason_{joe.pk}": "",
                f"shown_status_{joe.pk}": "absent", f"shown_reason_{joe.pk}": ""}
        assert client.post(register_url(school["session"]), data).status_code == 302
        assert (record_of(school["session"], joe).status, record_of(school["session"], joe).source) == ("present",
                                                                                                        "photo")

    def test_teacher_of_another_class_and_office_staff_are_refused(self, client, users, school):
        for role in ("other_teacher", "office"):
            client.force_login(users[role])
            assert client.get(register_url(school["session"])).status_code == 403
            assert register_post(client, school["session"], {}).status_code == 403
            assert client.post(register_url(school["session"]), {
                f"status_{school['ada'].pk}": "late", f"shown_status_{school['ada'].pk}": "absent"}).status_code == 403
        assert record_of(school["session"], school["ada"]).status == "absent"

    def test_student_not_on_the_roster_cannot_be_posted(self, client, users, school):
        stranger = Student.objects.create(name="Stranger")
        client.force_login(users["teacher"])
        response = client.post(register_url(school["session"]), {f"status_{stranger.pk}": "present"})
        assert response.status_code == 302  # unknown rows are not fields of the form: ignored
        assert not AttendanceRecord.objects.filter(student=stranger).exists()


class TestRegisterWithoutPhoto:
    def test_class_page_opens_a_session_without_photo(self, client, users, school):
        client.force_login(users["teacher"])
        class_page = client.get(reverse("class_detail", args=[school["class"].pk])).content.decode()
        assert "Take the register by hand" in class_page
        url = reverse("register_by_hand", args=[school["class"].pk])
        response = client.post(url, {"date": "2026-11-03", "period": "Period 2"})
        session = ClassSession.objects.get(date="2026-11-03", period="Period 2")
        assert response.status_code == 302 and response["Location"] == register_url(session)
        assert not session.photos.exists() and session.created_by == users["teacher"]
        page = client.get(register_url(session)).content.decode()
        assert page.count('<option value="" selected>— not taken —</option>') == 3
        assert "No photo in this session" in page
        # The same date and period opens the same session.
        assert client.post(url, {"date": "2026-11-03", "period": "Period 2 "})["Location"] == register_url(session)
        assert client.post(url, {"date": "", "period": ""}).status_code == 400
        assert client.get(url).status_code == 200

    def test_rows_left_not_taken_get_no_record(self, client, users, school):
        client.force_login(users["teacher"])
        session = ClassSession.objects.create(school_class=school["class"], date=datetime.date(2026, 11, 4),
                                              period="1")
        response = register_post(client, session, {school["joe"]: ("present", ""), school["ada"]: ("absent", "")})
        assert response.status_code == 302
        assert dict(session.records.values_list("student__name", "status")) == {"Joe Biden": "present",
                                                                                 "Ada Lovelace": "absent"}
        assert set(session.records.values_list("source", flat=True)) == {"manual"}
        detail = client.get(reverse("session_detail", args=[session.pk])).content.decode()
        assert "No photos in this session." in detail and "Present <span class=\"count\">1</span>" in detail

    def test_fill_button_only_while_someone_is_not_taken(self, client, users, school):
        client.force_login(users["teacher"])
        session = ClassSession.objects.create(school_class=school["class"], date=datetime.date(2026, 11, 4),
                                              period="1")
        fill = "Set everyone not taken to"
        assert fill in client.get(register_url(session)).content.decode()
        assert register_post(client, session, {school["joe"]: ("present", ""), school["ada"]: ("absent", "")}).status_code == 302
        assert fill in client.get(register_url(session)).content.decode()  # Grace is still not taken
        assert register_post(client, session, {school["grace"]: ("late", "")}).status_code == 302
        assert fill not in client.get(register_url(session)).content.decode()  # everyone is taken

    def test_a_photo_processed_after_a_manual_late_does_not_overwrite_it(self, client, users, school, photo):
        client.force_login(users["teacher"])
        client.post(reverse("register_by_hand", args=[school["class"].pk]), {"date": "2026-11-05", "period": "1"})
        session = ClassSession.objects.get(date="2026-11-05")
        assert register_post(client, session, {school["joe"]: ("late", "Came in at 9:10"),
                                               school["grace"]: ("excused", "Ill")}).status_code == 302
        # The photo comes later, into the same session: it knows Joe (present), not Ada or Grace.
        assert process_class_photo(class_photo(session, photo("groups/obama_and_biden.jpg")).pk) == ClassPhoto.DONE
        joe, ada, grace = (record_of(session, school[k]) for k in ("joe", "ada", "grace"))
        assert (joe.status, joe.reason, joe.source, joe.machine_status) == ("late", "Came in at 9:10", "manual",
                                                                           "present")
        assert (grace.status, grace.reason, grace.source, grace.machine_status) == ("excused", "Ill", "manual",
                                                                                  "absent")
        assert (ada.status, ada.source) == ("absent", "photo")
        assert AuditEntry.objects.filter(action=AuditEntry.RECORD_CHANGED).count() == 2


def test_review_keeps_a_manual_code_that_already_agrees(client, users, school):
    """Obama is on the roster without a photo: marked late by hand, then his face (unknown
    to the machine) is confirmed in review. He counts present either way: still late."""
    obama = Student.objects.create(name="Barack Obama")
    school["class"].students.add(obama)
    client.force_login(users["teacher"])
    session = school["session"]
    client.post(reverse("record_set", args=[session.pk, obama.pk]), {"status": "late", "reason": "Assembly"})
    faces = ClassPhoto.objects.get(session=session).faces.filter(decision="unknown")
    face = max(faces, key=lambda f: f.width)  # Obama's face: the larger unknown one
    assert client.post(reverse("face_review", args=[face.pk]), {"student": obama.pk}).status_code == 302
    record = record_of(session, obama)
    assert (record.status, record.reason, record.source) == ("late", "Assembly", "manual")
