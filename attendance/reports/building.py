"""Attendance reports, built: a class's students x sessions table with counts per code and rate,
a student's history and counts, for a date range (``reports.exports`` writes them as CSV
and XLSX)."""
import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

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
        """The range in words, in the active language: "Autumn term (2026-09-01 to 2026-12-18)"."""
        if self.start and self.end:
            text = gettext("%(start)s to %(end)s") % {"start": self.start, "end": self.end}
        elif self.start:
            text = gettext("from %(start)s") % {"start": self.start}
        elif self.end:
            text = gettext("up to %(end)s") % {"end": self.end}
        else:
            text = gettext("all dates")
        return gettext("%(term)s (%(dates)s)") % {"term": self.label, "dates": text} if self.label else text

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
    labelled_counts: list = field(default_factory=list)  # (AttendanceCode, count) pairs, in the same order
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
        row.labelled_counts = list(zip(listed, row.code_counts))
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
