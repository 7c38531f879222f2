"""Reading an uploaded roster file without trusting it: a zip of CSV files or one CSV.
``read_table`` is the app's one CSV reader (the roster import's files, the consent CSV).

Everything is bounded before it is read: the upload's size, the zip's member count and
unzipped size (sizes in the archive's directory are not trusted: each member is read
with a cap), and every CSV field's length. CSV is decoded as UTF-8 (a byte order mark,
as Excel writes, is dropped); a row holding bytes that are not UTF-8 is refused with its
line, the other rows are read.
"""
import csv
import io
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.utils.translation import gettext, ngettext


class RosterFileError(Exception):
    """The upload as a whole cannot be read (not a zip or CSV, too large, a zip bomb);
    the message says why, in words for the school's admin."""


@dataclass(frozen=True)
class Refusal:
    """One refused row (or file): ``file`` ("users.csv"), ``line`` (1-based line of the
    file where the row starts; 1 for the header), ``reason`` in words."""

    file: str
    line: int
    reason: str

    def __str__(self):
        return gettext("%(file)s line %(line)s: %(reason)s") % {"file": self.file, "line": self.line,
                                                                 "reason": self.reason}


@dataclass(frozen=True)
class Row:
    """One data row of a CSV file: its first line number and its values by column name
    (surrounding spaces removed; a column the row lacks is "")."""

    file: str
    line: int
    values: dict

    def get(self, column: str) -> str:
        """The row's value in ``column`` ("" when the file has no such column)."""
        return self.values.get(column, "")


@dataclass
class Table:
    """A CSV file: its name, its header's columns and its usable rows."""

    file: str
    columns: list = field(default_factory=list)
    rows: list = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    """Bounds on an upload, in bytes unless said: the uploaded file, the zip's members
    (count), all members unzipped together, one CSV field (characters)."""

    upload_bytes: int
    zip_members: int
    unzipped_bytes: int
    field_chars: int

    @classmethod
    def from_settings(cls) -> "Limits":
        """The limits of the settings ``ROSTER_IMPORT_MAX_BYTES``, ``ROSTER_IMPORT_MAX_ZIP_MEMBERS``,
        ``ROSTER_IMPORT_MAX_UNZIPPED_BYTES`` and ``ROSTER_CSV_MAX_FIELD_CHARS``."""
        return cls(settings.ROSTER_IMPORT_MAX_BYTES, settings.ROSTER_IMPORT_MAX_ZIP_MEMBERS,
                   settings.ROSTER_IMPORT_MAX_UNZIPPED_BYTES, settings.ROSTER_CSV_MAX_FIELD_CHARS)


def is_zip(data: bytes) -> bool:
    """True when ``data`` starts as a zip archive does (local file header or an empty archive)."""
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def unzip_csv_files(data: bytes, limits: Limits) -> dict[str, bytes]:
    """The ``*.csv`` members of the zip ``data`` by file name ("users.csv"), whatever folder
    they are in; hidden files and macOS metadata skipped. Nothing is written to disk.

    Raises:
        RosterFileError: not a readable zip; more members than ``limits.zip_members``; the
            members larger together than ``limits.unzipped_bytes`` (counted as read, not
            as the archive claims); two CSV files of one name; a member that cannot be read.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise RosterFileError(gettext("This file is not a readable zip archive.")) from exc
    if len(entries) > limits.zip_members:
        raise RosterFileError(gettext("The zip holds %(count)s files; a roster zip holds at most %(limit)s.")
                              % {"count": len(entries), "limit": limits.zip_members})
    files: dict[str, bytes] = {}
    budget = limits.unzipped_bytes
    for entry in entries:
        path = PurePosixPath(entry.filename.replace("\\", "/"))
        if entry.is_dir() or path.suffix.lower() != ".csv":
            continue
        if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
            continue
        if path.name in files:
            raise RosterFileError(gettext("The zip holds two files named %(name)s.") % {"name": path.name})
        try:
            with archive.open(entry) as member:
                content = member.read(budget + 1)  # never past the budget, whatever the header says
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, OSError, EOFError) as exc:
            raise RosterFileError(gettext("%(file)s cannot be read from the zip (%(problem)s).")
                                  % {"file": entry.filename, "problem": exc}) from exc
        budget -= len(content)
        if budget < 0:
            raise RosterFileError(gettext("The files in the zip are larger than %(limit)s MB once unzipped; nothing "
                                          "was read.") % {"limit": limits.unzipped_bytes // (1024 * 1024)})
        files[path.name] = content
    return files


def _not_utf8(value: str) -> str | None:
    """The first byte that was not UTF-8 (decoded with surrogateescape), as "0xE9", or None."""
    for char in value:
        if "\udc80" <= char <= "\udcff":
            return f"0x{ord(char) - 0xDC00:02X}"
    return None


def read_table(file: str, data: bytes, required: tuple, limits: Limits, refusals: list,
               column_name: Callable[[str], str] = str.strip) -> Table | None:
    """The CSV file ``data`` as a Table, its bad rows appended to ``refusals``.

    An empty file (no header) is an empty table. Column names are ``column_name`` of the
    header's names: by default matched exactly as the OneRoster CSV binding spells them
    (case-sensitive), surrounding spaces ignored; the consent import passes a looser one
    ("Student ID" -> "student_id"). A row
    is refused when it has more fields than the header, holds bytes that are not UTF-8
    (the file was saved in another encoding, e.g. Windows-1252) or a field longer than
    ``limits.field_chars``; blank rows are skipped.

    Returns:
        The table, or None (the file refused at line 1) when a column of ``required`` is
        missing or a column is named twice, or the file cannot be parsed as CSV at all.
    """
    text = data.decode("utf-8-sig", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        refusals.append(Refusal(file, 1, gettext("the header cannot be read as CSV (%(problem)s).") % {"problem": exc}))
        return None
    if header is None or not any(h.strip() for h in header):
        return Table(file)
    columns = [column_name(h) for h in header]
    if bad := next((c for c in columns if _not_utf8(c)), None):
        refusals.append(Refusal(file, 1, gettext("the header is not UTF-8 text (byte %(byte)s); save the file as CSV "
                                                 "UTF-8.") % {"byte": _not_utf8(bad)}))
        return None
    if missing := [c for c in required if c not in columns]:
        names = ", ".join(repr(c) for c in missing)
        refusals.append(Refusal(file, 1, ngettext("the column %(names)s is missing (needed: %(required)s).",
                                                  "the columns %(names)s are missing (needed: %(required)s).",
                                                  len(missing)) % {"names": names, "required": ", ".join(required)}))
        return None
    if twice := sorted({c for c in columns if columns.count(c) > 1 and c}):
        refusals.append(Refusal(file, 1, gettext("the column %(name)s is named twice.") % {"name": repr(twice[0])}))
        return None
    table = Table(file, columns)
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader, None)
        except csv.Error as exc:
            refusals.append(Refusal(file, line, gettext("this row cannot be read as CSV (%(problem)s); the rest of "
                                                        "the file was not read.") % {"problem": exc}))
            break
        if record is None:
            break
        start, line = line, reader.line_num + 1
        if not any(value.strip() for value in record):
            continue
        if len(record) > len(columns):
            refusals.append(Refusal(file, start, gettext("%(count)s values where the header has %(columns)s columns.")
                                    % {"count": len(record), "columns": len(columns)}))
            continue
        if byte := next((_not_utf8(v) for v in record if _not_utf8(v)), None):
            refusals.append(Refusal(file, start, gettext("this row is not UTF-8 text (byte %(byte)s): the file was "
                                                         "saved in another encoding; save it as CSV UTF-8.")
                                    % {"byte": byte}))
            continue
        if any(len(value) > limits.field_chars for value in record):
            refusals.append(Refusal(file, start, gettext("a value is longer than %(limit)s characters.")
                                    % {"limit": limits.field_chars}))
            continue
        table.rows.append(Row(file, start, dict(zip(columns, (v.strip() for v in record)))))
    return table
