"""The school's attendance codes (``AttendanceCode``): looking them up for records,
pages and rates, in one query per page."""
from attendance.models import AttendanceCode


#: The codes migration 0006 seeds: (code, label, mark, counts_as, needs_reason, order).
SEEDED = [
    ("present", "Present", "✓", AttendanceCode.PRESENT, False, 10),
    ("late", "Late", "L", AttendanceCode.PRESENT, False, 20),
    ("absent", "Absent", "✗", AttendanceCode.ABSENT, False, 30),
    ("excused", "Excused", "E", AttendanceCode.ABSENT, True, 40),
]


def all_codes() -> dict[str, AttendanceCode]:
    """Every code, active or not, by its ``code``, in the school's order. Present and
    absent, which the photos write, are always there (unsaved stand-ins should their rows
    be missing, as in a test database emptied after the migrations)."""
    codes = {c.code: c for c in AttendanceCode.objects.all()}
    for code, label, mark, counts_as, needs_reason, order in SEEDED:
        if code in (AttendanceCode.PRESENT, AttendanceCode.ABSENT) and code not in codes:
            codes[code] = AttendanceCode(code=code, label=label, mark=mark, counts_as=counts_as, order=order)
    return dict(sorted(codes.items(), key=lambda item: (item[1].order, item[0])))


def active_codes() -> list[AttendanceCode]:
    return [c for c in all_codes().values() if c.active]


def lookup(codes: dict[str, AttendanceCode], status: str) -> AttendanceCode:
    """The code a record's status names; a stand-in for a code missing from the table
    (present counts as present, anything else as absent), so a page never breaks."""
    code = codes.get(status)
    if code is None:
        counts = AttendanceCode.PRESENT if status == AttendanceCode.PRESENT else AttendanceCode.ABSENT
        code = AttendanceCode(code=status, label=status.capitalize(), mark=status[:1].upper(), counts_as=counts)
    return code


def attach(records, codes: dict[str, AttendanceCode] | None = None):
    """Set ``record.code`` (an ``AttendanceCode``) on each record; returns the records."""
    codes = all_codes() if codes is None else codes
    for record in records:
        if record is not None:
            record.code = lookup(codes, record.status)
    return records


def counts_present(status: str, codes: dict[str, AttendanceCode] | None = None) -> bool:
    """Whether a record with this status counts as present in rates."""
    return lookup(all_codes() if codes is None else codes, status).counts_present
