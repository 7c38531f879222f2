"""Consent to face recognition in bulk, from a CSV of the school's signed forms: one line per
student (``student_id``: the school id, ``given_by``, ``given_on``: YYYY-MM-DD, ``note``:
where the signed form is kept).

Two steps, used by the web page and ``manage.py import_consent``: ``plan_consent_import``
reads the file and says what each line would do (a preview that writes nothing), then
``apply_consent_import`` records the consents, each by ``consent.record_consent`` (the
rules and audit entry of the student page), in one transaction. A line is refused with its
reason (unknown student id, bad date, missing field, the same student twice); while any is
refused nothing is recorded unless the refused lines are skipped on purpose. A student whose
consent is already recorded is left as it is (changed only on their page), so importing the
same file twice records nothing the second time. The file is read by the roster import's
reader (``imports.reading.read_table``): a line that is not UTF-8 is refused with its
number, the other lines are read.
"""
import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext, ngettext

from attendance import audit
from attendance.dates import parse_school_date
from attendance.models import AuditEntry, Consent, Student
from attendance.roster.consent import record_consent
from attendance.roster.imports.reading import Limits, read_table
from attendance.text import validate_single_line_text

COLUMNS = ["student_id", "given_by", "given_on", "note"]
#: Other header names accepted for the columns (``header_key`` form).
ALIASES = {"school_id": "student_id", "id": "student_id", "date": "given_on", "where": "note",
           "where_kept": "note", "form_kept": "note"}
#: The Consent fields' lengths (models.roster.Consent).
MAX_GIVEN_BY, MAX_NOTE = 150, 300
#: The largest consent CSV read, in bytes (a school's 5,000 children at ~100 bytes a line is 0.5 MB).
MAX_CSV_BYTES = 5 * 1024 * 1024
#: The longest field read, in characters (the longest Consent field is 300).
MAX_FIELD_CHARS = 1000
#: ``read_table``'s bounds for a consent CSV (one file, never a zip).
LIMITS = Limits(upload_bytes=MAX_CSV_BYTES, zip_members=1, unzipped_bytes=MAX_CSV_BYTES, field_chars=MAX_FIELD_CHARS)

NEW, ALREADY, REFUSED = "new", "already recorded", "refused"


@dataclass
class ConsentLine:
    """What one line of the file does: ``outcome`` NEW, ALREADY or REFUSED (``reason`` says why)."""

    line: int
    student_id: str
    outcome: str
    reason: str = ""
    student: Student | None = None
    consent: dict = field(default_factory=dict)


@dataclass
class ConsentPlan:
    """The preview of a file: every line's outcome, in file order."""

    filename: str
    lines: list[ConsentLine]

    def of(self, outcome: str) -> list[ConsentLine]:
        return [line for line in self.lines if line.outcome == outcome]

    def summary(self) -> str:
        """"3 new, 1 already recorded, 2 refused"."""
        return gettext("%(new)d new, %(already)d already recorded, %(refused)d refused") % {
            "new": len(self.of(NEW)), "already": len(self.of(ALREADY)), "refused": len(self.of(REFUSED))}


class ConsentFileError(Exception):
    """The file cannot be read at all (too large, empty, a required column missing or named
    twice, a header that cannot be read); the message says why, with the line (1) where
    there is one."""


def header_key(name: str) -> str:
    """A column name as compared, aliases resolved: "Student ID " -> "student_id",
    "Where kept" -> "note" (case, spaces, hyphens ignored; ``ALIASES``)."""
    key = "_".join(name.strip().lower().replace("-", " ").split())
    return ALIASES.get(key, key)


class ImportRefused(Exception):
    """An import with refused lines and no leave to skip them: nothing was recorded."""


def plan_consent_import(data: bytes, filename: str = "consent.csv") -> ConsentPlan:
    """Read a consent CSV and say what each line would do; writes nothing.

    A line the reader refuses (not UTF-8, a field over ``MAX_FIELD_CHARS``, more values
    than the header has columns, broken quoting: the rest of the file is then not read) is
    a REFUSED line with the reader's reason.

    Raises:
        ConsentFileError: the file cannot be read at all (over ``MAX_CSV_BYTES``, empty, a
            required column missing or named twice); no line is judged.
    """
    rows, unreadable = _read(data, filename)
    wanted = {row.values["student_id"].strip() for row in rows}
    students = {s.school_id: s for s in Student.objects.filter(school_id__in=wanted - {""})}
    recorded = set(Consent.objects.filter(student__in=students.values()).values_list("student_id", flat=True))
    seen: dict[str, int] = {}
    lines = [ConsentLine(refusal.line, "", REFUSED, refusal.reason) for refusal in unreadable]
    for row in rows:
        school_id = row.values["student_id"].strip()
        line = ConsentLine(row.line, school_id, REFUSED)
        lines.append(line)
        line.reason = _problem(row.values, school_id, students, seen)
        if line.reason:
            continue
        seen[school_id] = row.line
        line.student = students[school_id]
        line.consent = {"given_by": " ".join(row.values["given_by"].split()),
                        "given_on": datetime.date.fromisoformat(row.values["given_on"].strip()),
                        "note": " ".join(row.values["note"].split())}
        if line.student.pk in recorded:
            line.outcome, line.reason = ALREADY, gettext("consent is already recorded (change it on the student's "
                                                         "page)")
        else:
            line.outcome = NEW
    return ConsentPlan(filename, sorted(lines, key=lambda line: line.line))


def _read(data: bytes, filename: str) -> tuple[list, list]:
    """The readable rows and the reader's refused lines (``reading.Row``, ``reading.Refusal``)."""
    if len(data) > MAX_CSV_BYTES:
        raise ConsentFileError(gettext("The file is larger than %(limit)s MB.")
                               % {"limit": MAX_CSV_BYTES // (1024 * 1024)})
    refusals = []
    table = read_table(filename, data, tuple(COLUMNS), LIMITS, refusals, column_name=header_key)
    if table is None:
        raise ConsentFileError(gettext("Line 1: %(reason)s") % {"reason": refusals[0].reason})
    if not table.columns:
        raise ConsentFileError(gettext("The file is empty: the first line must name the columns (%(columns)s).")
                               % {"columns": ", ".join(COLUMNS)})
    return table.rows, refusals


def _problem(values: dict, school_id: str, students: dict, seen: dict) -> str:
    """Why a line is refused, or ""."""
    if not school_id:
        return gettext("no student id")
    if school_id not in students:
        return gettext("unknown student id %(id)s") % {"id": repr(school_id)}
    if school_id in seen:
        return gettext("student %(id)s is also on line %(line)s") % {"id": school_id, "line": seen[school_id]}
    try:
        parse_school_date(values["given_on"].strip())
    except ValueError as exc:
        return gettext("bad date: %(problem)s") % {"problem": exc}
    for key, label, longest in (("given_by", gettext("given by"), MAX_GIVEN_BY),
                                ("note", gettext("where the form is kept"), MAX_NOTE)):
        value = " ".join(values[key].split())
        if not value:
            return gettext("no %(field)s") % {"field": label}
        if len(value) > longest:
            return gettext("%(field)s is longer than %(limit)s characters") % {"field": label, "limit": longest}
        try:
            validate_single_line_text(value)
        except ValidationError as exc:
            return f"{label}: {' '.join(exc.messages)}"
    return ""


@dataclass
class ConsentImportResult:
    recorded: list[Student]
    already: int
    skipped: list[ConsentLine]


@transaction.atomic
def apply_consent_import(data: bytes, user, filename: str = "consent.csv",
                         skip_bad_rows: bool = False) -> ConsentImportResult:
    """Read the file again (``plan_consent_import``: the database may have changed since the
    preview) and record the consent of every NEW line in one transaction, with an audit
    entry each (``consent.record_consent``) and one for the import.

    Raises:
        ConsentFileError: as ``plan_consent_import``; nothing recorded.
        ImportRefused: a line is refused and ``skip_bad_rows`` is False; nothing recorded
            (the message counts them).
    """
    plan = plan_consent_import(data, filename)
    refused = plan.of(REFUSED)
    if refused and not skip_bad_rows:
        raise ImportRefused(ngettext("%(count)s line of %(file)s is refused (line %(line)s, %(reason)s); nothing was "
                                     "recorded. Correct it, or skip the refused line.",
                                     "%(count)s lines of %(file)s are refused (first: line %(line)s, %(reason)s); "
                                     "nothing was recorded. Correct them, or skip the refused lines.", len(refused))
                            % {"count": len(refused), "file": filename, "line": refused[0].line,
                               "reason": refused[0].reason})
    recorded = []
    for line in plan.of(NEW):
        record_consent(line.student, user=user, **line.consent)
        recorded.append(line.student)
    audit.record(user, AuditEntry.IMPORTED, Consent, f"Consent imported from {filename}: {plan.summary()}",
                 after={"file": filename, "recorded": [s.school_id for s in recorded],
                        "refused": [{"line": r.line, "reason": r.reason} for r in refused]})
    return ConsentImportResult(recorded, len(plan.of(ALREADY)), refused)
