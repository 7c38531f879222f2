"""Reports (issue 8): counts per code, rate, threshold, date range, charts, CSV and XLSX
downloads. Records are made with the ORM (no photos)."""
import csv
import datetime
import io
import json
import re

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from openpyxl import load_workbook

from attendance.registers import codes
from attendance.wiring.env import env_percent
from attendance.models import AttendanceCode, AttendanceRecord, ClassSession, Student, Term

from .world import build_school

pytestmark = pytest.mark.django_db

DATES = [datetime.date(2026, 10, 1), datetime.date(2026, 10, 2), datetime.date(2026, 10, 5), datetime.date(2026, 11, 10)]


@pytest.fixture
def school(users):
    """The shared school (tests/world.py) with a roster of its own and four sessions of
    records: 7A of ``teacher``: Ann always there (once late), Ben at 50 % (absent, excused),
    Cat on a school trip (the school's own code, counts present) once, Dan never recorded.
    Reports need these rates, which no photo gives, so no one is enrolled."""
    for code, label, mark, counts_as, needs_reason, order in codes.SEEDED:
        AttendanceCode.objects.get_or_create(code=code, defaults={
            "label": label, "mark": mark, "counts_as": counts_as, "needs_reason": needs_reason, "order": order})
    AttendanceCode.objects.create(code="trip", label="School trip", mark="T", counts_as=AttendanceCode.PRESENT, order=50)
    world = build_school(users, None, enrolled=(), by_hand=("Ann Archer", "Ben Baker", "Cat Cole", "Dan Dale"))
    school_class, ann, ben, cat, dan = (world[key] for key in ("class", "ann", "ben", "cat", "dan"))
    sessions = [ClassSession.objects.create(school_class=school_class, date=d, period="P1") for d in DATES]
    marks = {ann: ["present", "late", "present", "present"], ben: ["present", "absent", "excused", "present"],
             cat: [None, None, None, "trip"]}
    for student, statuses in marks.items():
        for session, status in zip(sessions, statuses):
            if status:
                AttendanceRecord.objects.create(session=session, student=student, status=status,
                                                reason="ill" if status == "excused" else "")
    return {"class": school_class, "ann": ann, "ben": ben, "cat": cat, "dan": dan, "sessions": sessions}


def page(client, name, pk, query=""):
    response = client.get(reverse(name, args=[pk]) + query)
    assert response.status_code == 200
    return response


def row_of(html: str, name: str) -> str:
    """The summary table's <tr> of a student."""
    summary = html[html.index('id="summary"'):html.index('id="rate-over-time"')]
    return re.search(r"<tr[^>]*>\s*<th scope=\"row\"><a [^>]*>" + re.escape(name) + r"</a>.*?</tr>", summary, re.S).group(0)


def json_script(html: str, element_id: str):
    return json.loads(re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def xlsx(response):
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.content))


def values(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_class_report_counts_each_code_rate_and_highlights_below_threshold(client, users, school):
    client.force_login(users["teacher"])
    response = page(client, "class_report", school["class"].pk)
    report = response.context["report"]
    rows = {row.student.name: row for row in report.rows}
    assert [c.code for c in report.codes] == ["present", "late", "absent", "excused", "trip"]
    assert rows["Ann Archer"].code_counts == [3, 1, 0, 0, 0] and rows["Ann Archer"].rate == 1
    assert rows["Ben Baker"].code_counts == [2, 0, 1, 1, 0] and rows["Ben Baker"].rate == 0.5
    assert rows["Cat Cole"].code_counts == [0, 0, 0, 0, 1] and rows["Cat Cole"].rate == 1
    assert rows["Dan Dale"].rate is None and not rows["Dan Dale"].below_threshold
    html = response.content.decode()
    ben = row_of(html, "Ben Baker")
    assert 'class="below-threshold"' in ben and "below 90%" in ben and "50%" in ben  # a word, not colour only
    assert ('<td class="count" data-label="Present">2</td><td class="count" data-label="Late">0</td>'
            '<td class="count" data-label="Absent">1</td><td class="count" data-label="Excused">1</td>'
            '<td class="count" data-label="School trip">0</td>') in ben
    for name in ("Ann Archer", "Cat Cole", "Dan Dale"):
        assert "below-threshold" not in row_of(html, name)
    assert "School trip" in html
    # The session grid is still there.
    assert 'id="grid"' in html and html.count('title="Excused: ill"') == 1


def test_threshold_is_a_setting(client, users, school, settings):
    settings.ATTENDANCE_THRESHOLD_PERCENT = 40
    client.force_login(users["teacher"])
    html = page(client, "class_report", school["class"].pk).content.decode()
    assert "below-threshold" not in row_of(html, "Ben Baker") and "below 40%" in html
    rows = list(csv.reader(io.StringIO(page(client, "class_report_csv", school["class"].pk).content.decode("utf-8-sig"))))
    assert rows[0][-1] == "Below 40%" and all(row[-1] == "" for row in rows[1:])


def test_threshold_must_be_a_percentage(monkeypatch):
    monkeypatch.setenv("ATTENDANCE_THRESHOLD_PERCENT", "120")
    with pytest.raises(ImproperlyConfigured):
        env_percent("ATTENDANCE_THRESHOLD_PERCENT", 90)
    monkeypatch.setenv("ATTENDANCE_THRESHOLD_PERCENT", "85.5")
    assert env_percent("ATTENDANCE_THRESHOLD_PERCENT", 90) == 85.5


def test_date_range_filters_sessions_counts_and_downloads(client, users, school):
    client.force_login(users["office"])
    query = "?from=2026-10-01&to=2026-10-02"
    response = page(client, "class_report", school["class"].pk, query)
    report = response.context["report"]
    assert [s.date for s in report.sessions] == DATES[:2]
    rows = {row.student.name: row for row in report.rows}
    assert rows["Ann Archer"].code_counts == [1, 1, 0, 0, 0] and rows["Ann Archer"].rate == 1
    assert rows["Ben Baker"].code_counts == [1, 0, 1, 0, 0] and rows["Ben Baker"].rate == 0.5
    assert rows["Cat Cole"].recorded == 0
    html = response.content.decode()
    assert 'value="2026-10-01"' in html and 'value="2026-10-02"' in html
    # The downloads offered carry the page's range.
    assert reverse("class_report_xlsx", args=[school["class"].pk]) + "?from=2026-10-01&amp;to=2026-10-02" in html
    download = page(client, "class_report_csv", school["class"].pk, query)
    assert 'filename="attendance-7a-2026-10-01-to-2026-10-02.csv"' in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["Student", "2026-10-01 P1", "2026-10-02 P1", "present", "late", "absent", "excused", "trip",
                       "Counted present", "Recorded", "Rate", "Below 90%"]
    assert rows[1:] == [["Ann Archer", "present", "late", "1", "1", "0", "0", "0", "2", "2", "100%", ""],
                        ["Ben Baker", "present", "absent", "1", "0", "1", "0", "0", "1", "2", "50%", "yes"],
                        ["Cat Cole", "", "", "0", "0", "0", "0", "0", "0", "0", "", ""],
                        ["Dan Dale", "", "", "0", "0", "0", "0", "0", "0", "0", "", ""]]
    # An open end: from 5 October on.
    later = page(client, "class_report", school["class"].pk, "?from=2026-10-05&to=").context["report"]
    assert [s.date for s in later.sessions] == DATES[2:]
    # The student's report and CSV too.
    student = page(client, "student_report", school["ben"].pk, query).context["report"]
    assert student.counts == {"present": 1, "absent": 1} and student.rate == 0.5 and student.below_threshold
    rows = list(csv.reader(io.StringIO(page(client, "student_report_csv", school["ben"].pk, query).content.decode("utf-8-sig"))))
    assert rows == [["Date", "Period", "Class", "Status", "Source", "Reason"],
                    ["2026-10-02", "P1", "7A", "absent", "photo", ""], ["2026-10-01", "P1", "7A", "present", "photo", ""]]


def test_a_wrong_range_is_explained_and_the_default_shown(client, users, school):
    client.force_login(users["teacher"])
    response = client.get(reverse("class_report", args=[school["class"].pk]) + "?from=2026-10-05&to=2026-10-01")
    assert response.status_code == 400 and "must not be after" in response.content.decode()
    assert len(response.context["report"].sessions) == 4
    wrong = client.get(reverse("class_report", args=[school["class"].pk]) + "?from=soon")
    assert wrong.status_code == 400 and "Enter a valid date" in wrong.content.decode()


def test_the_default_range_is_the_current_term(client, users, school):
    Term.objects.create(name="Autumn 1", starts_on=datetime.date(2026, 9, 1), ends_on=datetime.date(2026, 10, 2))
    Term.objects.create(name="Autumn 2", starts_on=datetime.date(2026, 10, 5), ends_on=datetime.date(2026, 12, 18))
    client.force_login(users["teacher"])
    with time_machine.travel(datetime.datetime(2026, 11, 12, 12, 0, tzinfo=datetime.timezone.utc), tick=False):
        response = page(client, "class_report", school["class"].pk)
        download = page(client, "class_report_csv", school["class"].pk)
    assert [s.date for s in response.context["report"].sessions] == DATES[2:]
    html = response.content.decode()
    assert 'value="2026-10-05"' in html and 'value="2026-12-18"' in html and "Autumn 2" in html
    assert list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))[0][1:3] == ["2026-10-05 P1", "2026-11-10 P1"]
    # Outside every term: all dates.
    with time_machine.travel(datetime.datetime(2027, 1, 2, 12, 0, tzinfo=datetime.timezone.utc), tick=False):
        client.force_login(users["teacher"])  # the session cookie has expired by then
        assert len(page(client, "class_report", school["class"].pk).context["report"].sessions) == 4


def test_class_xlsx_has_the_rows_of_the_page(client, users, school):
    client.force_login(users["admin"])
    response = page(client, "class_report_xlsx", school["class"].pk, "?from=2026-10-01&to=2026-11-30")
    assert 'filename="attendance-7a-2026-10-01-to-2026-11-30.xlsx"' in response["Content-Disposition"]
    book = xlsx(response)
    assert book.sheetnames == ["Report", "About"]
    rows = values(book["Report"])
    assert rows[0] == ["Student", "2026-10-01 P1", "2026-10-02 P1", "2026-10-05 P1", "2026-11-10 P1", "present", "late",
                       "absent", "excused", "trip", "Counted present", "Recorded", "Rate", "Below 90%"]
    assert rows[2] == ["Ben Baker", "present", "absent", "excused: ill", "present", 2, 0, 1, 1, 0, 2, 4, 0.5, "yes"]
    assert rows[3][0] == "Cat Cole" and rows[3][5:] == [0, 0, 0, 0, 1, 1, 1, 1, None]
    # Rates are numbers shown as percentages, so a spreadsheet can sort and average them.
    rate = book["Report"]["M3"]
    assert rate.data_type == "n" and rate.value == 0.5 and "%" in rate.number_format
    assert book["Report"]["M5"].value is None  # Dan: no records, no rate
    about = dict((row[0], row[1]) for row in values(book["About"]))
    assert about["Report"] == "Class 7A" and about["Threshold"] == "90%"
    assert about["From"].date() == datetime.date(2026, 10, 1)


def test_student_report_page_xlsx_and_chart(client, users, school):
    client.force_login(users["office"])
    response = page(client, "student_report", school["ben"].pk)
    html = response.content.decode()
    assert "50%" in html and "below 90%" in html and "below-threshold" in html
    assert reverse("session_detail", args=[school["sessions"][0].pk]) not in html  # office staff: no session pages
    assert json_script(html, "mix-chart-data") == {
        "labels": ["Present", "Late", "Absent", "Excused", "School trip"], "counts": [2, 0, 1, 1, 0],
        "counts_as": ["present", "present", "absent", "absent", "present"]}
    book = xlsx(page(client, "student_report_xlsx", school["ben"].pk))
    assert book.sheetnames == ["Summary", "Records", "About"]
    summary = values(book["Summary"])
    assert summary[0] == ["Code", "Label", "Counts as", "Records"]
    assert summary[1:6] == [["present", "Present", "present", 2], ["late", "Late", "present", 0],
                            ["absent", "Absent", "absent", 1], ["excused", "Excused", "absent", 1],
                            ["trip", "School trip", "present", 0]]
    assert summary[6:] == [["Counted present", None, None, 2], ["Recorded", None, None, 4], ["Rate", None, None, 0.5],
                           ["Below 90%", None, None, "yes"]]
    rate = book["Summary"]["D9"]
    assert rate.data_type == "n" and "%" in rate.number_format
    records = values(book["Records"])
    assert records[0] == ["Date", "Period", "Class", "Status", "Source", "Reason"]
    assert records[1][0].date() == datetime.date(2026, 11, 10) and records[2][3:] == ["excused", "photo", "ill"]
    # The teacher reaches it from the student's page, and it links the sessions.
    client.force_login(users["teacher"])
    assert reverse("student_report", args=[school["ben"].pk]) in page(client, "student_detail", school["ben"].pk).content.decode()
    own = page(client, "student_report", school["ben"].pk).content.decode()
    assert reverse("session_detail", args=[school["sessions"][0].pk]) in own


def test_class_chart_data_and_its_table(client, users, school):
    client.force_login(users["teacher"])
    html = page(client, "class_report", school["class"].pk).content.decode()
    # Per date: Ann and Ben (10-01: 2/2), Ann late + Ben absent (1/2), Ann + Ben excused (1/2), all three (3/3).
    assert json_script(html, "rate-chart-data") == {
        "labels": ["2026-10-01", "2026-10-02", "2026-10-05", "2026-11-10"], "rates": [100.0, 50.0, 50.0, 100.0],
        "threshold": 90}
    table = html[html.index("Rate by date"):]
    assert "<tr><td>2026-10-02</td><td>1</td><td>2</td><td>50%</td></tr>" in table
    assert "<tr><td>2026-11-10</td><td>3</td><td>3</td><td>100%</td></tr>" in table
    assert 'id="rate-chart"' in html and 'role="img"' in html


def test_formulas_are_neutralised_in_csv_and_xlsx(client, users, school):
    evil = Student.objects.create(name='=HYPERLINK("http://x","y")')
    school["class"].students.add(evil)
    AttendanceRecord.objects.create(session=school["sessions"][1], student=evil, status="excused", reason="+SUM(1)")
    ClassSession.objects.filter(pk=school["sessions"][1].pk).update(period="@P2")
    client.force_login(users["teacher"])
    text = page(client, "class_report_csv", school["class"].pk).content.decode()
    assert list(csv.reader(io.StringIO(text)))[1][0] == "'=HYPERLINK(\"http://x\",\"y\")"
    for name, pk in (("class_report_xlsx", school["class"].pk), ("student_report_xlsx", evil.pk)):
        book = xlsx(page(client, name, pk))
        cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"], name
        texts = [c.value for c in cells if isinstance(c.value, str)]
        assert not [t for t in texts if t[:1] in ("=", "+", "-", "@")], name
    assert "'=HYPERLINK(\"http://x\",\"y\")" in texts and "'+SUM(1)" in texts and "'@P2" in texts
    student_csv = page(client, "student_report_csv", evil.pk).content.decode()
    assert "'+SUM(1)" in student_csv and "'@P2" in student_csv


def test_charts_use_the_vendored_library_and_no_inline_script(client, users, school):
    for path in ("vendor/chart.umd.min.js", "vendor/chart.js-LICENSE.md", "vendor/README.md", "reports.js"):
        assert finders.find(path), path
    with open(finders.find("vendor/chart.umd.min.js"), encoding="utf-8") as f:
        head = f.read(200)
    assert "Chart.js v4." in head
    client.force_login(users["teacher"])
    for name, pk in (("class_report", school["class"].pk), ("student_report", school["ben"].pk)):
        html = page(client, name, pk).content.decode()
        assert "/static/vendor/chart.umd.min.js" in html and "/static/reports.js" in html
        # Nothing from another site (a CDN); not "cdn" anywhere: a random token may hold it.
        for url in re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]*)"', html):
            assert url.startswith("/") and not url.startswith("//"), url
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, tag


def test_empty_range_says_so(client, users, school):
    client.force_login(users["teacher"])
    html = page(client, "class_report", school["class"].pk, "?from=2027-01-01").content.decode()
    assert "No sessions recorded for this class in this date range." in html and "chart.umd" not in html
    html = page(client, "student_report", school["dan"].pk).content.decode()
    assert "No attendance recorded for Dan Dale" in html
