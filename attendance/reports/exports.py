"""Attendance reports as downloads: the rows of a class report or a student's history as
CSV and XLSX, every text cell safe for a spreadsheet (no formula, no character it cannot
hold).

Headers, sheet names and the words of the "About" sheet are in the language active when
the file is made (the downloading person's); the cells keep the attendance codes
("present", "late": unchanged by a rename or a language), as the register export for the
information system (``register_export``, read back by machines) keeps its English column
names."""
import csv
import datetime
import io
import re

from django.utils import timezone
from django.utils.translation import gettext as _

from attendance.models import AttendanceRecord
from attendance.reports.building import ClassReport, DateRange, StudentReport, threshold


def format_rate(rate: float | None) -> str:
    """A rate (0.0-1.0, None for no records) as the downloads show it: "93%", or ""."""
    return "" if rate is None else f"{rate * 100:.0f}%"


class Percent(float):
    """A rate (0.0-1.0) in a download table: the CSV writes it as ``format_rate`` text
    ("93%"), the XLSX as a number formatted as a percentage, so a spreadsheet can sort and
    average it."""


def _rate_cell(rate: float | None) -> Percent | str:
    """A rate as a table cell: a ``Percent``, or "" for no records."""
    return "" if rate is None else Percent(rate)


def class_table(report: ClassReport) -> list[list]:
    """The class report's rows as the downloads give them (header first): the grid of
    codes, the count of each code, counted present, recorded, rate (a ``Percent``, "" for
    no records) and the threshold flag. Text as stored: the writers pass every row through
    ``_safe_rows``."""
    header = ([_("Student")] + [f"{s.date} {s.period}" for s in report.sessions] + [c.code for c in report.codes]
              + [_("Counted present"), _("Recorded"), _("Rate"), _below_header()])
    rows = [header]
    for row in report.rows:
        rows.append([row.student.name] + [_cell(r) for r in row.statuses] + row.count_list(report.codes)
                    + [row.present, row.recorded, _rate_cell(row.rate), _("yes") if row.below_threshold else ""])
    return rows


def student_records_table(records) -> list[list]:
    """A student's records (``AttendanceRecord`` rows, their session and class loaded) as
    rows, header first: date, period, class, code, source and reason."""
    rows = [[_("Date"), _("Period"), _("Class"), _("Status"), _("Source"), _("Reason")]]
    for r in records:
        rows.append([r.session.date, r.session.period, r.session.school_class.name, r.status, r.source, r.reason])
    return rows


def student_summary_table(report: StudentReport) -> list[list]:
    """A student report's counts per code, then counted present, recorded, rate and the
    threshold flag, as rows (header first); the rate a ``Percent`` ("" for no records)."""
    rows = [[_("Code"), _("Label"), _("Counts as"), _("Records")]]
    rows += [[c.code, c.shown_label, c.counts_as, n] for c, n in report.code_counts()]
    rows += [[_("Counted present"), "", "", report.present], [_("Recorded"), "", "", report.recorded],
             [_("Rate"), "", "", _rate_cell(report.rate)],
             [_below_header(), "", "", _("yes") if report.below_threshold else ""]]
    return rows


def _below_header() -> str:
    """The threshold column's header, "Below 90%" (``building.threshold()``)."""
    return _("Below %(threshold)s%%") % {"threshold": f"{threshold():g}"}


def write_class_csv(out, report: ClassReport) -> None:
    """Write ``class_table(report)`` as CSV to ``out`` (a text file), every cell made safe,
    the rate as text ("93%")."""
    csv.writer(out).writerows(_safe_rows(_rates_as_text(class_table(report))))


def write_student_csv(out, records) -> None:
    """Write ``student_records_table(records)`` as CSV to ``out`` (a text file), every cell made safe."""
    csv.writer(out).writerows(_safe_rows(student_records_table(records)))


def _about(title: str, date_range: DateRange) -> list[list]:
    return [[_("Report"), title], [_("From"), date_range.start or _("(all)")], [_("To"), date_range.end or _("(all)")],
            [_("Threshold"), f"{threshold():g}%"],
            [_("Rate"), _("sessions counted present / sessions recorded (each code counts as present or absent)")],
            [_("Generated"), timezone.localtime().strftime("%Y-%m-%d %H:%M")]]


def class_xlsx(report: ClassReport) -> bytes:
    """The class report as an XLSX file's bytes: sheets "Report" and "About" (in the active language)."""
    return _xlsx([(_("Report"), class_table(report)),
                  (_("About"), _about(_("Class %(name)s") % {"name": report.school_class.name}, report.date_range))],
                 frozen_first_column=True)


def student_xlsx(report: StudentReport) -> bytes:
    """The student report as an XLSX file's bytes: sheets "Summary", "Records" and "About"
    (in the active language)."""
    return _xlsx([(_("Summary"), student_summary_table(report)), (_("Records"), student_records_table(report.records)),
                  (_("About"), _about(report.student.name, report.date_range))])


def _xlsx(sheets, frozen_first_column: bool = False) -> bytes:
    """``sheets`` ((title, rows) pairs) as an XLSX file's bytes; the first sheet's first
    column frozen too with ``frozen_first_column`` (the class report's student names)."""
    from openpyxl import Workbook  # heavy: loaded only when an XLSX is asked for

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in _safe_rows(rows):
            sheet.append([float(v) if isinstance(v, Percent) else v for v in row])
            for column, value in enumerate(row, start=1):
                if isinstance(value, Percent):
                    sheet.cell(row=sheet.max_row, column=column).number_format = "0%"
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
                elif isinstance(cell.value, datetime.date):
                    cell.number_format = "yyyy-mm-dd"
        sheet.freeze_panes = "B2" if frozen_first_column and sheet is workbook.worksheets[0] else "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _rates_as_text(rows) -> list[list]:
    """``rows`` with every ``Percent`` written as ``format_rate`` text, for the CSV."""
    return [[format_rate(v) if isinstance(v, Percent) else v for v in row] for row in rows]


def _cell(record) -> str:
    """A record as the CSV shows it: its code ("present", "late", ...), "absent (manual)",
    "excused (manual): illness", or "" for no record. Codes, not labels: they do not
    change when the school renames a code."""
    if record is None:
        return ""
    return (record.status + (_(" (manual)") if record.source == AttendanceRecord.MANUAL else "")
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


def safe_rows(rows) -> list[list]:
    """``rows`` (lists of cells) with every text cell made safe for a spreadsheet (``_safe``:
    never a formula, no character it cannot hold); numbers and dates as they are. For
    other modules' CSV downloads (``register_export``)."""
    return _safe_rows(rows)


def _safe_rows(rows) -> list[list]:
    """Every text cell of ``rows`` through ``_safe``; other values (numbers, dates) as they are."""
    return [[_safe(v) if isinstance(v, str) else v for v in row] for row in rows]
