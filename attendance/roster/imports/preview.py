"""The first step of every roster import (web page and command): the uploaded bytes read
as a roster and compared with the database, writing nothing."""
from django.utils.translation import gettext

from attendance.roster.imports import reading
from attendance.roster.imports.oneroster import read_oneroster
from attendance.roster.imports.plain_csv import read_plain_csv
from attendance.roster.imports.planning import Plan, plan_import
from attendance.roster.imports.source import Roster


def read_roster(name: str, data: bytes, limits: reading.Limits | None = None) -> Roster:
    """The roster in ``data``: a OneRoster zip when it is a zip (by content), else a plain
    CSV named ``name``. ``limits`` default to the settings (``reading.Limits.from_settings``).

    Raises:
        reading.RosterFileError: larger than ``limits.upload_bytes``, or a zip that cannot
            be read, breaks the zip limits or holds no CSV file.
    """
    limits = limits or reading.Limits.from_settings()
    if len(data) > limits.upload_bytes:
        raise reading.RosterFileError(gettext("The file is larger than %(limit)s MB, the limit for a roster file.")
                                      % {"limit": limits.upload_bytes // (1024 * 1024)})
    if reading.is_zip(data):
        files = reading.unzip_csv_files(data, limits)
        if not files:
            raise reading.RosterFileError(gettext("The zip holds no CSV files: a OneRoster zip holds manifest.csv, "
                                                  "users.csv, classes.csv, enrollments.csv... (a spreadsheet must be "
                                                  "saved as CSV UTF-8)."))
        return read_oneroster(files, limits)
    return read_plain_csv(name or "roster.csv", data, limits)


def preview_import(name: str, data: bytes, limits: reading.Limits | None = None) -> Plan:
    """``read_roster`` then ``planning.plan_import``: what importing the file would change
    (``Plan.summary`` in words). Writes nothing. Raises as ``read_roster``."""
    return plan_import(read_roster(name, data, limits))
