"""Reading a CSV file people upload (consent in bulk; the register's other imports may use
it too) without trusting it: bounded size and field length, UTF-8 (a byte-order mark is
fine), the header's names compared loosely, and every problem named with its line."""
import csv
import io
from dataclasses import dataclass

#: The largest CSV read, in bytes (a school's 5,000 children at ~100 bytes a line is 0.5 MB).
MAX_CSV_BYTES = 5 * 1024 * 1024
#: The longest field read, in characters (csv's own limit is 128 KiB).
MAX_FIELD_CHARS = 1000


class CsvFileError(Exception):
    """The file cannot be read at all (too large, not UTF-8, a required column missing,
    broken quoting); the message says why, with the line where there is one."""


@dataclass
class CsvRow:
    """One data line: ``line`` its number in the file (the header is line 1) and ``values``
    by the normalised column name (``header_key``)."""

    line: int
    values: dict[str, str]


def header_key(name: str) -> str:
    """A column name as compared: "Student ID " -> "student_id" (case, spaces, hyphens)."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def read_csv(data: bytes, required: list[str], aliases: dict[str, str] | None = None) -> list[CsvRow]:
    """The data lines of a CSV file, each as ``CsvRow``; blank lines are skipped.

    Args:
        data: the file's bytes (UTF-8, with or without a byte-order mark).
        required: the columns (``header_key`` form) the header must have.
        aliases: other names for them ({"school_id": "student_id"}), also in key form.

    Raises:
        CsvFileError: over MAX_CSV_BYTES, not UTF-8 (naming the line), empty, a required
            column missing (naming it), a field over MAX_FIELD_CHARS or broken quoting
            (naming the line).
    """
    if len(data) > MAX_CSV_BYTES:
        raise CsvFileError(f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CsvFileError(f"Line {line} is not UTF-8 text: save the file as CSV UTF-8 and try again.") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    aliases = aliases or {}
    try:
        header = next(reader, None)
        if not header:
            raise CsvFileError(f"The file is empty: the first line must name the columns ({', '.join(required)}).")
        keys = [aliases.get(header_key(name), header_key(name)) for name in header]
        missing = [name for name in required if name not in keys]
        if missing:
            raise CsvFileError(f"Line 1: the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                               f"{'are' if len(missing) > 1 else 'is'} missing (the header has {', '.join(header)}).")
        rows = []
        for values in reader:
            if any(len(v) > MAX_FIELD_CHARS for v in values):
                raise CsvFileError(f"Line {reader.line_num}: a field is longer than {MAX_FIELD_CHARS} characters.")
            if not any(v.strip() for v in values):
                continue
            rows.append(CsvRow(reader.line_num, {k: (values[i] if i < len(values) else "")
                                                 for i, k in enumerate(keys)}))
        return rows
    except csv.Error as exc:
        raise CsvFileError(f"Line {reader.line_num}: {exc}.") from exc
