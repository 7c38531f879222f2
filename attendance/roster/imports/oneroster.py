"""A OneRoster 1.1 or 1.2 CSV zip (1EdTech OneRoster CSV binding) as a ``source.Roster``.

Files read: ``manifest.csv`` (``oneroster.version``; ``file.<name>`` = bulk, delta or
absent), ``users.csv`` (students and teachers), ``roles.csv`` (1.2: users' roles),
``classes.csv``, ``enrollments.csv`` and ``academicSessions.csv`` (sessions of type
``term``). ``orgs.csv`` and ``courses.csv`` hold nothing the app keeps and are not read.

1.1 and 1.2 differ where it matters here in the users' role: 1.1 has a ``role`` column
in users.csv, 1.2 moved roles to roles.csv (``userSourcedId``, ``roleType``, ``role``);
a users.csv with ``role`` (or ``roles``) is read as 1.1 does, whatever the manifest says,
and the roster's notes say which was used. Every row may carry ``status`` (``active`` or
``tobedeleted``) and ``dateLastModified``; in a bulk file both are usually blank.
"""
from django.utils.translation import gettext

from attendance.roster.imports import reading
from attendance.roster.imports.source import (
    ABSENT,
    BULK,
    DELTA,
    MAX_CLASS_NAME,
    MAX_STUDENT_NAME,
    MAX_TERM_NAME,
    STUDENT,
    TEACHER,
    BadValue,
    Origin,
    Roster,
    SourceClass,
    SourceEnrolment,
    SourcePerson,
    SourceTerm,
    check_name,
    check_school_id,
    check_username,
    parse_date,
    parse_timestamp,
)
from attendance.text import name_key

#: The files whose manifest mode the import honours, as ``Roster.modes`` keys.
MANAGED_FILES = ("users", "classes", "enrollments", "academicSessions")
REQUIRED = {
    "manifest": ("propertyName", "value"),
    "users": ("sourcedId", "givenName", "familyName"),
    "roles": ("userSourcedId", "role"),
    "classes": ("sourcedId", "title"),
    "enrollments": ("sourcedId", "classSourcedId", "userSourcedId", "role"),
    "academicSessions": ("sourcedId", "title", "type", "startDate", "endDate"),
}
#: OneRoster roles the app keeps: students, and teachers (class teachers and co-teachers).
KEPT_ROLES = {STUDENT, TEACHER}


def _origin(row: reading.Row) -> Origin:
    """The row's Origin; raises BadValue for a status other than active/tobedeleted or a bad dateLastModified."""
    status = row.get("status").lower()
    if status not in ("", "active", "tobedeleted"):
        raise BadValue(gettext("status %(value)s is neither active nor tobedeleted.")
                       % {"value": repr(row.get("status"))})
    return Origin(row.file, row.line, status != "tobedeleted", parse_timestamp(row.get("dateLastModified")))


def _rows(roster: Roster, table: reading.Table | None, parse) -> None:
    """``parse(row)`` for every row of ``table``, refusing rows that raise BadValue and
    later rows repeating a sourcedId (the first is kept)."""
    if table is None:
        return
    first_line: dict[str, int] = {}
    for row in table.rows:
        key = row.get("sourcedId")
        if key and key in first_line:
            roster.refusals.append(reading.Refusal(row.file, row.line, gettext(
                "sourcedId %(key)s is already on line %(line)s.") % {"key": repr(key), "line": first_line[key]}))
            continue
        if not key and "sourcedId" in table.columns:
            roster.refusals.append(reading.Refusal(row.file, row.line, gettext("sourcedId is empty.")))
            continue
        first_line[key] = row.line
        try:
            parse(row)
        except BadValue as exc:
            roster.refusals.append(reading.Refusal(row.file, row.line, str(exc)))


def _manifest(roster: Roster, files: dict, limits) -> str:
    """Reads manifest.csv into ``roster.modes``; returns its oneroster.version ("" when none)."""
    table = reading.read_table("manifest.csv", files["manifest.csv"], REQUIRED["manifest"], limits, roster.refusals)
    version = ""
    for row in table.rows if table else []:
        name, value = row.get("propertyName"), row.get("value")
        if name == "oneroster.version":
            version = value
        elif name.startswith("file.") and name[5:] in MANAGED_FILES:
            if value.lower() not in (BULK, DELTA, ABSENT):
                roster.refusals.append(reading.Refusal(row.file, row.line, gettext(
                    "%(name)s is %(value)s: it must be bulk, delta or absent.") % {"name": name, "value": repr(value)}))
                continue
            roster.modes[name[5:]] = value.lower()
    return version


def _roles_by_user(roster: Roster, files: dict, limits) -> dict[str, str]:
    """1.2's roles.csv: each user's role (the ``primary`` one, else the first listed)."""
    table = reading.read_table("roles.csv", files["roles.csv"], REQUIRED["roles"], limits, roster.refusals)
    roles: dict[str, str] = {}
    for row in table.rows if table else []:
        if row.get("status").lower() == "tobedeleted":
            continue
        user = row.get("userSourcedId")
        if user not in roles or row.get("roleType").lower() == "primary":
            roles[user] = row.get("role")
    return roles


def read_oneroster(files: dict[str, bytes], limits: reading.Limits) -> Roster:
    """The roster of the OneRoster CSV files ``files`` (file name -> bytes, from
    ``reading.unzip_csv_files``). Never raises for a bad row or file: each is a
    ``Refusal`` in ``roster.refusals`` (a file missing a required column is refused
    whole, at line 1). Without manifest.csv every file present is read as bulk."""
    roster = Roster("OneRoster")
    version = _manifest(roster, files, limits) if "manifest.csv" in files else ""
    if "manifest.csv" not in files:
        roster.notes.append(gettext("No manifest.csv: every file present is read as bulk."))
    for name in MANAGED_FILES:
        mode = roster.modes.get(name, BULK if f"{name}.csv" in files and "manifest.csv" not in files else ABSENT)
        if mode != ABSENT and f"{name}.csv" not in files:
            roster.refusals.append(reading.Refusal("manifest.csv", 1, gettext(
                "file.%(name)s is %(mode)s but %(name)s.csv is not in the zip.") % {"name": name, "mode": mode}))
            mode = ABSENT
        elif mode == ABSENT and f"{name}.csv" in files:
            roster.notes.append(gettext("%(name)s.csv is not read: the manifest says file.%(name)s is absent.")
                                % {"name": name})
        roster.modes[name] = mode

    def table(name):
        if roster.modes[name] == ABSENT:
            return None
        return reading.read_table(f"{name}.csv", files[f"{name}.csv"], REQUIRED[name], limits, roster.refusals)

    users = table("users")
    if users is not None and ("role" in users.columns or "roles" in users.columns):
        column = "role" if "role" in users.columns else "roles"
        roster.format = "OneRoster 1.1" if version in ("", "1.0", "1.1") else f"OneRoster {version}"
        roster.notes.append(gettext("Users' roles read from the users.csv column %(column)s (as OneRoster 1.1).")
                            % {"column": repr(column)})
        role_of = lambda row: row.get(column).split(",")[0].strip().lower()  # noqa: E731 (a list: its first)
    elif users is not None:
        if "roles.csv" not in files:
            roster.refusals.append(reading.Refusal("users.csv", 1, gettext(
                "users.csv has no 'role' column and the zip has no roles.csv (OneRoster 1.2), so no user's role is "
                "known.")))
            users = None
        roles = _roles_by_user(roster, files, limits) if users is not None else {}
        roster.format = f"OneRoster {version or '1.2'}"
        roster.notes.append(gettext("Users' roles read from roles.csv (as OneRoster 1.2)."))
        role_of = lambda row: roles.get(row.get("sourcedId"), "").lower()  # noqa: E731
    else:
        roster.format = f"OneRoster {version}".strip()

    def person(row):
        origin = _origin(row)
        role = role_of(row)
        if role not in KEPT_ROLES:
            roster.ignore(gettext("users of role %(role)s") % {"role": role or gettext("(none)")})
            return
        key = check_school_id(row.get("sourcedId"), "sourcedId")
        given, family = row.get("givenName"), row.get("familyName")
        name = check_name(" ".join(part for part in (given, family) if part), "name (givenName familyName)",
                          MAX_STUDENT_NAME)
        username = ""
        if role == TEACHER:
            username = check_username(row.get("username") or row.get("email") or key)
            if other := next((p for p in roster.people.values() if p.username == username), None):
                raise BadValue(gettext("the username %(username)s is already the teacher %(key)s's (line %(line)s).")
                               % {"username": repr(username), "key": repr(other.key), "line": other.origin.line})
            if row.get("enabledUser").lower() == "false":
                origin.active = False
        roster.people[key] = SourcePerson(key, role, name, origin, username, row.get("email"), given, family)

    def school_class(row):
        key = check_school_id(row.get("sourcedId"), "sourcedId")
        title = check_name(row.get("title"), "title", MAX_CLASS_NAME)
        if other := next((c for c in roster.classes.values() if name_key(c.name) == name_key(title)), None):
            raise BadValue(gettext("the title %(title)s is already class %(key)s's (line %(line)s): each class of "
                                   "the app has a name of its own.")
                           % {"title": repr(title), "key": repr(other.key), "line": other.origin.line})
        roster.classes[key] = SourceClass(key, title, _origin(row), key)

    def enrolment(row):
        roster.mentioned.add((row.get("classSourcedId"), row.get("userSourcedId")))
        origin = _origin(row)
        role = row.get("role").lower()
        if role not in KEPT_ROLES:
            roster.ignore(gettext("enrolments of role %(role)s") % {"role": role or gettext("(none)")})
            return
        begins, ends = (parse_date(row.get(column), column) if row.get(column) else None
                        for column in ("beginDate", "endDate"))
        if begins and ends and ends < begins:
            raise BadValue(gettext("endDate %(ends)s is before beginDate %(begins)s.")
                           % {"ends": ends, "begins": begins})
        if not row.get("classSourcedId") or not row.get("userSourcedId"):
            raise BadValue(gettext("classSourcedId and userSourcedId must both be given."))
        roster.enrolments[row.get("sourcedId")] = SourceEnrolment(
            row.get("sourcedId"), row.get("classSourcedId"), row.get("userSourcedId"), role, origin,
            row.get("primary").lower() == "true", begins, ends)

    def term(row):
        origin = _origin(row)
        if row.get("type").lower() != "term":
            roster.ignore(gettext("academic sessions of type %(type)s")
                          % {"type": row.get("type") or gettext("(none)")})
            return
        starts, ends = parse_date(row.get("startDate"), "startDate"), parse_date(row.get("endDate"), "endDate")
        if ends < starts:
            raise BadValue(gettext("endDate %(ends)s is before startDate %(starts)s.")
                           % {"ends": ends, "starts": starts})
        key = row.get("sourcedId")
        roster.terms[key] = SourceTerm(key, check_name(row.get("title"), "title", MAX_TERM_NAME), starts, ends, origin)

    _rows(roster, users, person)
    _rows(roster, table("classes"), school_class)
    _rows(roster, table("enrollments"), enrolment)
    _rows(roster, table("academicSessions"), term)
    return roster
