"""The register export for the school's information system (issue 16): one row per student
per session over a date range, CSV on the reports side and CSV or JSON from the API."""
import csv
import datetime
import io

import pytest
from django.urls import reverse

from attendance.models import AttendanceRecord, ClassSession, Student
from attendance.reports.building import DateRange
from attendance.reports.register_export import COLUMNS, register_rows

from .factories import make_class

pytestmark = pytest.mark.django_db


@pytest.fixture
def registers(users):
    """Ada (school id S-1) in 7A (class id C-7A) and 8B (no class id), Bo (no school id) in 7A;
    sessions on 3 and 4 November and one on 1 December, out of the range asked for."""
    ada = Student.objects.create(name="Ada Lovelace", school_id="S-1")
    bo = Student.objects.create(name="Bo Diddley")
    seven = make_class(users["teacher"], "7A", students=[ada, bo])
    seven.school_id = "C-7A"
    seven.save()
    eight = make_class(users["other_teacher"], "8B", students=[ada])

    def record(school_class, date, period, student, status, reason="", source=AttendanceRecord.PHOTO):
        session, _ = ClassSession.objects.get_or_create(school_class=school_class, date=date, period=period)
        AttendanceRecord.objects.create(session=session, student=student, status=status, reason=reason,
                                        source=source)

    record(seven, "2026-11-03", "1", ada, "present")
    record(seven, "2026-11-03", "1", bo, "excused", "=HYPERLINK(\"http://x\")", AttendanceRecord.MANUAL)
    record(eight, "2026-11-03", "2", ada, "late", "Bus")
    record(seven, "2026-11-04", "1", ada, "absent")
    record(seven, "2026-12-01", "1", ada, "present")
    return {"ada": ada, "bo": bo}


RANGE = {"from": "2026-11-01", "to": "2026-11-30"}


def _csv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_rows_one_per_student_per_session_in_the_range(registers):
    from attendance.models import SchoolClass

    rows = register_rows(SchoolClass.objects.all(), DateRange(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)))
    assert [(r["student_id"], r["class_id"], r["date"], r["period"], r["code"]) for r in rows] == [
        ("S-1", "C-7A", "2026-11-03", "1", "present"),
        ("", "C-7A", "2026-11-03", "1", "excused"),
        ("S-1", "8B", "2026-11-03", "2", "late"),
        ("S-1", "C-7A", "2026-11-04", "1", "absent"),
    ]


def test_csv_download_for_admin_and_office_cells_made_safe(client, users, registers):
    for role in ("admin", "office"):
        client.force_login(users[role])
        response = client.get(reverse("registers_export_csv"), RANGE)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert "2026-11-01-to-2026-11-30" in response["Content-Disposition"]
        rows = _csv(response.content)
        assert list(rows[0]) == COLUMNS and len(rows) == 4
        bo = next(r for r in rows if r["student_name"] == "Bo Diddley")
        assert bo["reason"] == "'=HYPERLINK(\"http://x\")"  # never a formula in a spreadsheet
        assert next(r for r in rows if r["code"] == "late")["reason"] == "Bus"
    page = client.get(reverse("registers_export"), RANGE).content.decode()
    assert reverse("registers_export_csv") + "?from=2026-11-01&amp;to=2026-11-30" in page


def test_teachers_may_not_export_the_school(client, users, registers):
    client.force_login(users["teacher"])
    assert client.get(reverse("registers_export")).status_code == 403
    assert client.get(reverse("registers_export_csv"), RANGE).status_code == 403
    assert client.get(reverse("api:exports-registers"), RANGE).status_code == 403


def test_wrong_range_is_refused(client, users, registers):
    client.force_login(users["admin"])
    assert client.get(reverse("registers_export_csv"), {"from": "2026-11-30", "to": "2026-11-01"}).status_code == 400
    response = client.get(reverse("api:exports-registers"), {"from": "yesterday"})
    assert response.status_code == 400 and "from" in response.json()


def test_api_json_and_csv_by_accept(client, users, registers):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=users["office"])
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    as_json = client.get(reverse("api:exports-registers"), RANGE, **auth)
    assert as_json.status_code == 200 and as_json["Content-Type"] == "application/json"
    assert as_json.json()["results"][0] == {"student_id": "S-1", "student_name": "Ada Lovelace", "class_id": "C-7A",
                                 "date": "2026-11-03", "period": "1", "code": "present", "reason": ""}
    as_csv = client.get(reverse("api:exports-registers"), RANGE, HTTP_ACCEPT="text/csv", **auth)
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    assert [dict(r) for r in _csv(as_csv.content)] == [{k: str(v) if k != "reason" or not v.startswith("=")
                                                        else "'" + v for k, v in r.items()} for r in as_json.json()["results"]]
    every_date = client.get(reverse("api:exports-registers"), {"from": "2026-11-01"}, **auth).json()["results"]
    assert len(every_date) == 5
    assert client.get(reverse("api:exports-registers"), RANGE).status_code == 401
