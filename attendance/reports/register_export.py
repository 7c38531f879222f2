"""The register for the school's information system (SIS): one row per student per session
over a date range, as CSV (the reports' downloads) or JSON (the API).

Rows come from the attendance records (a student with no record for a session, i.e. the
register not taken for them, has no row). Ids are the school's own: the student's
``school_id`` and the class's ``school_id`` (the class's name when it has none), so the SIS
can match them; every text cell of the CSV is made safe for a spreadsheet as the reports'
downloads are (``exports.safe_rows``).
"""
import csv

from django.db.models import QuerySet

from attendance.models import AttendanceRecord
from attendance.reports.building import DateRange
from attendance.reports.exports import safe_rows

#: The columns, in order (the CSV's header and the JSON objects' keys).
COLUMNS = ["student_id", "student_name", "class_id", "date", "period", "code", "reason"]


def register_rows(classes: QuerySet, date_range: DateRange) -> list[dict]:
    """The records of ``classes``'s sessions within ``date_range``, ordered by date, period,
    class and student name, each as a dict of ``COLUMNS``: ``student_id`` the student's
    school id ("" when none is recorded), ``student_name``, ``class_id`` the class's school
    id or else its name, ``date`` an ISO date string, ``period`` the session's period,
    ``code`` the attendance code ("present", "late", ...: codes, not labels, unchanged by a
    rename) and ``reason`` ("" when none). One query."""
    records = date_range.filter(AttendanceRecord.objects.filter(session__school_class__in=classes),
                                "session__date")
    records = (records.select_related("student", "session__school_class")
               .order_by("session__date", "session__period", "session__school_class__name", "student__name",
                         "student_id"))
    return [{
        "student_id": record.student.school_id,
        "student_name": record.student.name,
        "class_id": record.session.school_class.school_id or record.session.school_class.name,
        "date": record.session.date.isoformat(),
        "period": record.session.period,
        "code": record.status,
        "reason": record.reason,
    } for record in records]


def write_register_csv(out, rows: list[dict]) -> None:
    """Write ``rows`` (``register_rows``) as CSV to ``out`` (a text file): the header
    ``COLUMNS``, then one line per row, every text cell made safe (no formula)."""
    csv.writer(out).writerows(safe_rows([COLUMNS] + [[row[c] for c in COLUMNS] for row in rows]))
