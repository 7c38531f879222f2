"""The plain roster CSV, for schools without OneRoster: one row per student and class.

Header ``student_id, name, class, teacher[, teacher_email]``: the student's school id and
name, the class's name and its teacher's username (the account is made when it does not
exist, with ``teacher_email``). It adds and updates; it never takes a child off a class
(that is done on the class page), so every file is read as a delta.
"""
from django.utils.translation import gettext

from attendance.roster.imports import reading
from attendance.roster.imports.source import (
    DELTA,
    MAX_CLASS_NAME,
    MAX_STUDENT_NAME,
    STUDENT,
    TEACHER,
    BadValue,
    Origin,
    Roster,
    SourceClass,
    SourceEnrolment,
    SourcePerson,
    check_name,
    check_school_id,
    check_username,
)
from attendance.text import name_key

REQUIRED = ("student_id", "name", "class", "teacher")


def read_plain_csv(file: str, data: bytes, limits: reading.Limits) -> Roster:
    """The roster of a plain CSV file named ``file``. Never raises for a bad row: each is a
    ``Refusal`` in ``roster.refusals``; a student id given twice with two names, or a class
    given two teachers, refuses the later row."""
    roster = Roster("plain CSV", modes={"users": DELTA, "classes": DELTA, "enrollments": DELTA})
    table = reading.read_table(file, data, REQUIRED, limits, roster.refusals)
    for row in table.rows if table else []:
        try:
            _read_row(roster, row)
        except BadValue as exc:
            roster.refusals.append(reading.Refusal(row.file, row.line, str(exc)))
    return roster


def _read_row(roster: Roster, row: reading.Row) -> None:
    origin = Origin(row.file, row.line)
    student_id = check_school_id(row.get("student_id"), "student_id")
    name = check_name(row.get("name"), "name", MAX_STUDENT_NAME)
    class_name = check_name(row.get("class"), "class", MAX_CLASS_NAME)
    username = check_username(row.get("teacher"))
    known = roster.people.get(student_id)
    if known and name_key(known.name) != name_key(name):
        raise BadValue(gettext("student_id %(id)s is %(name)s on line %(line)s, not %(given)s.") % {
            "id": repr(student_id), "name": repr(known.name), "line": known.origin.line, "given": repr(name)})
    class_key = name_key(class_name)
    teacher_key = f"teacher:{username}"
    known_class = roster.classes.get(class_key)
    if known_class:
        teacher = next(e for e in roster.enrolments.values() if e.class_key == class_key and e.role == TEACHER)
        if teacher.person_key != teacher_key:
            raise BadValue(gettext("class %(class)s has the teacher %(teacher)s on line %(line)s, not %(given)s.")
                           % {"class": repr(class_name), "teacher": repr(teacher.person_key[8:]),
                              "line": known_class.origin.line, "given": repr(username)})
    roster.people.setdefault(student_id, SourcePerson(student_id, STUDENT, name, origin))
    roster.people.setdefault(teacher_key, SourcePerson(teacher_key, TEACHER, username, origin, username,
                                                       row.get("teacher_email")))
    if not known_class:
        roster.classes[class_key] = SourceClass(class_key, class_name, origin)
        roster.enrolments[f"{class_key}/{teacher_key}"] = SourceEnrolment(
            f"{class_key}/{teacher_key}", class_key, teacher_key, TEACHER, origin, primary=True)
    roster.enrolments.setdefault(f"{class_key}/{student_id}", SourceEnrolment(
        f"{class_key}/{student_id}", class_key, student_id, STUDENT, origin))
