"""Attendance reports: a class's students x sessions table with counts per code and rate,
a student's history and counts, for a date range; CSV and XLSX downloads of each."""
import csv
import datetime
import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from attendance.registers import codes
from attendance.models import AttendanceCode, AttendanceRecord, SchoolClass, Student, Term


@dataclass
class DateRange:
    """The dates a report covers, both ends included; None leaves that end open."""

    start: datetime.date | None = None
    end: datetime.date | None = None
    label: str = ""

    def filter(self, queryset, field_name: str):
        if self.start:
            queryset = queryset.filter(**{f"{field_name}__gte": self.start})
        if self.end:
            queryset = queryset.filter(**{f"{field_name}__lte": self.end})
        return queryset

    def describe(self) -> str:
        if self.start and self.end:
            text = f"{self.start} to {self.end}"
        elif self.start:
            text = f"from {self.start}"
        elif self.end:
            text = f"up to {self.end}"
        else:
            text = "all dates"
        return f"{self.label} ({text})" if self.label else text

    def slug(self) -> str:
        """For file names: "2026-09-01-to-2026-12-18", "" for all dates."""
        if not (self.start or self.end):
            return ""
        return f"{self.start or 'start'}-to-{self.end or 'end'}"


def default_range() -> DateRange:
    """The current term (the term holding today, in the school's time zone) when terms are
    entered, else every date."""
    today = timezone.localdate()
    term = Term.objects.filter(starts_on__lte=today, ends_on__gte=today).order_by("starts_on").first()
    if term:
        return DateRange(term.starts_on, term.ends_on, term.name)
    return DateRange()


def threshold() -> float:
    """ATTENDANCE_THRESHOLD_PERCENT: a rate below it is highlighted."""
    return settings.ATTENDANCE_THRESHOLD_PERCENT


def below_threshold(rate: float | None) -> bool:
    return rate is not None and rate * 100 < threshold()


@dataclass
class StudentRow:
    student: Student
    statuses: list = field(default_factory=list)  # one AttendanceRecord or None per session
    counts: dict = field(default_factory=dict)  # code -> number of records with it
    code_counts: list = field(default_factory=list)  # counts in the order of the report's codes
    present: int = 0
    recorded: int = 0

    @property
    def rate(self) -> float | None:
        """Fraction of recorded sessions the student counts as present (each code's
        ``counts_as``: late counts present, excused absent), or None with no records."""
        return self.present / self.recorded if self.recorded else None

    @property
    def below_threshold(self) -> bool:
        return below_threshold(self.rate)

    def count_list(self, report_codes) -> list[int]:
        return [self.counts.get(c.code, 0) for c in report_codes]


def report_codes(records) -> list[AttendanceCode]:
    """The codes a report counts: every active code, and any other a record uses (so the
    counts add up to the records after a code is retired), in the school's order."""
    known = codes.all_codes()
    used = {r.status for r in records if r is not None}
    listed = [c for c in known.values() if c.active or c.code in used]
    return listed + [codes.lookup(known, status) for status in sorted(used - set(known))]


@dataclass
class ClassReport:
    school_class: SchoolClass
    date_range: DateRange
    sessions: list
    rows: list
    codes: list

    def rate_by_date(self) -> list[dict]:
        """Per session date (oldest first): records, counted present and rate (0-100 or None)."""
        by_date = {}
        for index, session in enumerate(self.sessions):
            day = by_date.setdefault(session.date, {"date": session.date, "present": 0, "recorded": 0})
            for row in self.rows:
                record = row.statuses[index]
                if record is not None:
                    day["recorded"] += 1
                    day["present"] += record.code.counts_present
        days = list(by_date.values())
        for day in days:
            day["rate"] = round(100 * day["present"] / day["recorded"], 1) if day["recorded"] else None
        return days

    def chart_data(self) -> dict:
        days = self.rate_by_date()
        return {"labels": [d["date"].isoformat() for d in days], "rates": [d["rate"] for d in days],
                "threshold": threshold()}


def class_report(school_class: SchoolClass, date_range: DateRange | None = None) -> ClassReport:
    """Sessions of the range (oldest first) and one row per rostered student with each
    session's status, the counts per code and the rate."""
    date_range = date_range or DateRange()
    sessions = list(date_range.filter(school_class.sessions.all(), "date").order_by("date", "period", "id"))
    known = codes.all_codes()
    records = {
        (r.session_id, r.student_id): r
        for r in codes.attach(AttendanceRecord.objects.filter(session__in=[s.pk for s in sessions]), known)
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
                row.counts[record.status] = row.counts.get(record.status, 0) + 1
        rows.append(row)
    listed = report_codes(records.values())
    for row in rows:
        row.code_counts = row.count_list(listed)
    return ClassReport(school_class, date_range, sessions, rows, listed)


def student_history(student: Student, classes, date_range: DateRange | None = None) -> list[AttendanceRecord]:
    """The student's records in the given classes (and date range), newest first."""
    records = AttendanceRecord.objects.filter(student=student, session__school_class__in=classes)
    if date_range:
        records = date_range.filter(records, "session__date")
    return codes.attach(list(records.select_related("session__school_class").order_by("-session__date", "session__period")))


@dataclass
class StudentReport:
    student: Student
    date_range: DateRange
    records: list
    codes: list
    counts: dict
    present: int
    recorded: int

    @property
    def rate(self) -> float | None:
        return self.present / self.recorded if self.recorded else None

    @property
    def below_threshold(self) -> bool:
        return below_threshold(self.rate)

    def code_counts(self) -> list[tuple]:
        """(code, count) for each code of the report, in the school's order."""
        return [(c, self.counts.get(c.code, 0)) for c in self.codes]

    def chart_data(self) -> dict:
        return {"labels": [c.label for c in self.codes], "counts": [self.counts.get(c.code, 0) for c in self.codes],
                "counts_as": [c.counts_as for c in self.codes]}


def student_report(student: Student, classes, date_range: DateRange | None = None) -> StudentReport:
    date_range = date_range or DateRange()
    records = student_history(student, classes, date_range)
    counts = {}
    for r in records:
        counts[r.status] = counts.get(r.status, 0) + 1
    return StudentReport(student, date_range, records, report_codes(records), counts,
                         sum(r.code.counts_present for r in records), len(records))


def format_rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.0f}%"


def class_table(report: ClassReport) -> list[list]:
    """The class report's rows as the downloads give them (header first): the grid of
    codes, the count of each code, counted present, recorded, rate and the threshold flag.
    Text as stored: the writers pass every row through ``_safe_rows``."""
    header = (["Student"] + [f"{s.date} {s.period}" for s in report.sessions] + [c.code for c in report.codes]
              + ["Counted present", "Recorded", "Rate", f"Below {threshold():g}%"])
    rows = [header]
    for row in report.rows:
        rows.append([row.student.name] + [_cell(r) for r in row.statuses] + row.count_list(report.codes)
                    + [row.present, row.recorded, format_rate(row.rate), "yes" if row.below_threshold else ""])
    return rows


def student_records_table(records) -> list[list]:
    rows = [["Date", "Period", "Class", "Status", "Source", "Reason"]]
    for r in records:
        rows.append([r.session.date, r.session.period, r.session.school_class.name, r.status, r.source, r.reason])
    return rows


def student_summary_table(report: StudentReport) -> list[list]:
    rows = [["Code", "Label", "Counts as", "Records"]]
    rows += [[c.code, c.label, c.counts_as, n] for c, n in report.code_counts()]
    rows += [["Counted present", "", "", report.present], ["Recorded", "", "", report.recorded],
             ["Rate", "", "", format_rate(report.rate)],
             [f"Below {threshold():g}%", "", "", "yes" if report.below_threshold else ""]]
    return rows


def write_class_csv(out, report: ClassReport) -> None:
    csv.writer(out).writerows(_safe_rows(class_table(report)))


def write_student_csv(out, records) -> None:
    csv.writer(out).writerows(_safe_rows(student_records_table(records)))


def _about(title: str, date_range: DateRange) -> list[list]:
    return [["Report", title], ["From", date_range.start or "(all)"], ["To", date_range.end or "(all)"],
            ["Threshold", f"{threshold():g}%"],
            ["Rate", "sessions counted present / sessions recorded (each code counts as present or absent)"],
            ["Generated", timezone.localtime().strftime("%Y-%m-%d %H:%M")]]


def class_xlsx(report: ClassReport) -> bytes:
    return _xlsx([("Report", class_table(report)),
                  ("About", _about(f"Class {report.school_class.name}", report.date_range))])


def student_xlsx(report: StudentReport) -> bytes:
    return _xlsx([("Summary", student_summary_table(report)), ("Records", student_records_table(report.records)),
                  ("About", _about(report.student.name, report.date_range))])


def _xlsx(sheets) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in _safe_rows(rows):
            sheet.append(row)
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
                elif isinstance(cell.value, datetime.date):
                    cell.number_format = "yyyy-mm-dd"
        sheet.freeze_panes = "B2" if title == "Report" else "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _cell(record) -> str:
    """A record as the CSV shows it: its code ("present", "late", ...), "absent (manual)",
    "excused (manual): illness", or "" for no record. Codes, not labels: they do not
    change when the school renames a code."""
    if record is None:
        return ""
    return (record.status + (" (manual)" if record.source == AttendanceRecord.MANUAL else "")
            + (f": {record.reason}" if record.reason else ""))


# Characters a spreadsheet cannot hold: the C0 controls but tab, line feed and carriage
# return (what openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE refuses, as XML 1.0 does), and the
# XML non-characters U+FFFE, U+FFFF and lone surrogates. A vertical tab (what Word pastes for a
# line break) and a form feed become a line break; the others are dropped.
_LINE_BREAKS = re.compile(r"[\v\f]")
_UNHOLDABLE = re.compile(r"[\x00-\x08\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# A cell starting with one of these runs as a formula when a CSV is opened in a spreadsheet
# (CSV injection; OWASP's list: = + - @ tab carriage return).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    """Text as a spreadsheet holds and shows it, never a formula (CSV and XLSX alike): the
    characters no spreadsheet can hold replaced or dropped (see ``_UNHOLDABLE``), then a
    leading apostrophe when the text starts like a formula, even after spaces."""
    text = _UNHOLDABLE.sub("", _LINE_BREAKS.sub("\n", text))
    return "'" + text if text.lstrip(" ")[:1] in _FORMULA_STARTS else text


def _safe_rows(rows) -> list[list]:
    """Every text cell of ``rows`` through ``_safe``; other values (numbers, dates) as they are."""
    return [[_safe(v) if isinstance(v, str) else v for v in row] for row in rows]
