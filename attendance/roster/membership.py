"""Class membership: which students are on a class's roster, and who teaches the class.

One function per operation, used by the class page, the API and the commands. Membership
is the ``SchoolClass.students`` row only: removing a child from a class keeps their
records, photos, templates and consent (they belong to the student); a move is a
removal and an addition in one transaction. Every change writes the audit log.
"""
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext, ngettext

from attendance import audit
from attendance.models import AuditEntry, SchoolClass, Student
from attendance.roles import check_teacher


class MembershipError(Exception):
    """A membership change that cannot be made (the message says why); nothing changed."""


def search_students(query: str, exclude_class: SchoolClass | None = None, limit: int = 50) -> QuerySet:
    """Students of the school whose name contains ``query`` (case-insensitive) or whose
    school id is ``query`` exactly, by name; those already on ``exclude_class`` left out.
    At most ``limit`` rows; none for a blank query."""
    query = " ".join(query.split())
    if not query:
        return Student.objects.none()
    found = Student.objects.filter(Q(name__icontains=query) | Q(school_id=query))
    if exclude_class is not None:
        found = found.exclude(classes=exclude_class)
    return found.order_by("name", "pk")[:limit]


def add_students(school_class: SchoolClass, students, user=None) -> list[Student]:
    """Put existing ``students`` on the class's roster. Returns those added (students
    already on it are left as they are and not returned); audit-logged when any is added."""
    with transaction.atomic():
        present = set(school_class.students.values_list("pk", flat=True))
        added = [s for s in dict.fromkeys(students) if s.pk not in present]
        if added:
            school_class.students.add(*added)
            audit.record(user, AuditEntry.MEMBERSHIP_CHANGED, school_class,
                         f"{_names(added)} added to {school_class.name}",
                         before=None, after={"class": school_class.name, "added": [s.pk for s in added]})
    return added


def remove_students(school_class: SchoolClass, students, user=None) -> list[Student]:
    """Take ``students`` off the class's roster: the membership row only (their records,
    sessions, photos, templates and consent stay with them). Returns those removed
    (students not on the roster are ignored); audit-logged when any is removed."""
    with transaction.atomic():
        present = set(school_class.students.values_list("pk", flat=True))
        removed = [s for s in dict.fromkeys(students) if s.pk in present]
        if removed:
            school_class.students.remove(*removed)
            audit.record(user, AuditEntry.MEMBERSHIP_CHANGED, school_class,
                         f"{_names(removed)} removed from {school_class.name}",
                         before={"class": school_class.name, "removed": [s.pk for s in removed]}, after=None)
    return removed


def move_students(from_class: SchoolClass, to_class: SchoolClass, students, user=None) -> list[Student]:
    """Move ``students`` from one class's roster to another's in one transaction (both
    rows change, or neither). Returns the students moved.

    Raises:
        MembershipError: the two classes are the same, or a student is not on
            ``from_class``'s roster; nothing changed.
    """
    students = list(dict.fromkeys(students))
    if from_class.pk == to_class.pk:
        raise MembershipError(gettext("Choose another class to move the students to."))
    with transaction.atomic():
        present = set(from_class.students.values_list("pk", flat=True))
        missing = [s for s in students if s.pk not in present]
        if missing:
            raise MembershipError(ngettext("%(names)s is not on the roster of %(class)s; nothing was moved.",
                                           "%(names)s are not on the roster of %(class)s; nothing was moved.",
                                           len(missing)) % {"names": _names(missing), "class": from_class.name})
        from_class.students.remove(*students)
        to_class.students.add(*students)
        audit.record(user, AuditEntry.MEMBERSHIP_CHANGED, to_class,
                     f"{_names(students)} moved from {from_class.name} to {to_class.name}",
                     before={"class": from_class.name, "students": [s.pk for s in students]},
                     after={"class": to_class.name, "students": [s.pk for s in students]})
    return students


def set_co_teachers(school_class: SchoolClass, teachers, user=None) -> bool:
    """Make ``teachers`` the class's co-teachers (co-teaching, cover: each with the
    teacher's rights on the class). The main teacher is never also a co-teacher. Returns
    True when they changed (audit-logged).

    Raises:
        django.core.exceptions.ValidationError: one of them is office staff
            (``roles.check_teacher``); nothing changed.
    """
    wanted = {t for t in teachers if t.pk != school_class.teacher_id}
    for teacher in wanted:
        check_teacher(teacher)
    with transaction.atomic():
        before = sorted(u.get_username() for u in school_class.co_teachers.all())
        after = sorted(u.get_username() for u in wanted)
        if before == after:
            return False
        school_class.co_teachers.set(wanted)
        audit.record(user, AuditEntry.CLASS_CHANGED, school_class,
                     f"Co-teachers of {school_class.name}: {', '.join(after) or 'none'}",
                     before={"co_teachers": before}, after={"co_teachers": after})
    return True


def _names(students) -> str:
    names = [s.name for s in students]
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
