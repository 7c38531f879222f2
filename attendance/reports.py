"""Attendance reports: a class's students x sessions table and a student's history."""
import csv
from dataclasses import dataclass, field

from . import codes
from .models import AttendanceRecord, ClassSession, SchoolClass, Student


@dataclass
class StudentRow:
    student: Student
    statuses: list = field(default_factory=list)  # one AttendanceRecord or None per session
    present: int = 0
    recorded: int = 0

    @property
    def rate(self) -> float | None:
        """Fraction of recorded sessions the student counts as present (each code's
        ``counts_as``: late counts present, excused absent), or None with no records."""
        return self.present / self.recorded if self.recorded else None


def class_report(school_class: SchoolClass) -> tuple[list[ClassSession], list[StudentRow]]:
    """Sessions (oldest first) and one row per rostered student with each session's status."""
    sessions = list(school_class.sessions.order_by("date", "period", "id"))
    records = {
        (r.session_id, r.student_id): r
        for r in codes.attach(AttendanceRecord.objects.filter(session__school_class=school_class))
    }
    rows = []
    for student in school_class.students.order_by("name", "id"):
        row = StudentRow(student)
        for session in sessions:
            record = records.get((session.pk, student.pk))
            row.statuses.append(record)
            if record:
                row.recorded += 1
                row.present += record.code.counts_present
        rows.append(row)
    return sessions, rows


def student_history(student: Student, classes) -> list[AttendanceRecord]:
    """The student's records in the given classes, newest first."""
    return codes.attach(list(
        AttendanceRecord.objects.filter(student=student, session__school_class__in=classes)
        .select_related("session__school_class")
        .order_by("-session__date", "session__period")
    ))


def format_rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.0f}%"


def write_class_csv(out, school_class: SchoolClass) -> None:
    sessions, rows = class_report(school_class)
    writer = csv.writer(out)
    writer.writerow(["Student"] + [f"{s.date} {s.period}" for s in sessions] + ["Present", "Recorded", "Rate"])
    for row in rows:
        writer.writerow(
            [_safe(row.student.name)] + [_cell(r) for r in row.statuses] + [row.present, row.recorded, format_rate(row.rate)]
        )


def _cell(record) -> str:
    """A record as the CSV shows it: its code ("present", "late", ...), "absent (manual)",
    "excused (manual): illness", or "" for no record. Codes, not labels: they do not
    change when the school renames a code."""
    if record is None:
        return ""
    return (record.status + (" (manual)" if record.source == AttendanceRecord.MANUAL else "")
            + (f": {record.reason}" if record.reason else ""))


def write_student_csv(out, student: Student, records) -> None:
    writer = csv.writer(out)
    writer.writerow(["Date", "Period", "Class", "Status", "Source", "Reason"])
    for r in records:
        writer.writerow([r.session.date, _safe(r.session.period), _safe(r.session.school_class.name), r.status, r.source,
                         _safe(r.reason)])


def _safe(text: str) -> str:
    # A name starting with = + - @ would run as a formula when the CSV is opened in a
    # spreadsheet (CSV injection); a leading apostrophe keeps it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
