"""Writing a roster import's Plan: all of it in one transaction, every change in the audit log."""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext, ngettext

from attendance import audit
from attendance.models import AuditEntry, ImportedRecord, SchoolClass, Student, Term
from attendance.roster import membership
from attendance.roster.students import change_student
from attendance.roster.imports.planning import Plan
from attendance.wiring.signin import revoke_api_tokens

IMPORTED = AuditEntry.IMPORTED


class _Log:
    """The import's audit entries, written together at the end (one INSERT per batch)."""

    def __init__(self, user, actor: str):
        self.user, self.actor, self.entries = user, actor, []

    def __call__(self, obj, summary: str, before: dict | None = None, after: dict | None = None) -> None:
        self.entries.append(audit.unsaved(self.user, IMPORTED, obj, summary, before, after, self.actor))

    def write(self) -> None:
        AuditEntry.objects.bulk_create(self.entries, batch_size=500)


class ImportRefused(Exception):
    """The plan has refused rows and the import was not told to skip them; nothing was written."""


def apply_plan(plan: Plan, user=None, skip_bad_rows: bool = False, source: str = "", actor: str = "") -> dict:
    """Writes ``plan`` in one transaction (all or nothing) and returns its counts
    (``Plan.counts``). Each student, class, teacher and term change writes an AuditEntry
    (action ``imported``; a student's name or school id changes through
    ``students.change_student``, rosters and co-teachers through ``membership``, each
    writing its own entries), and one more for the import as a whole
    naming ``source`` (the file's name) with the counts. Nobody is deleted: a student
    leaving a class comes off its roster only (records, photos and consent stay); a
    teacher marked tobedeleted is deactivated.

    Args:
        user: the school admin importing (None from the command line, then ``actor``).
        skip_bad_rows: import the good rows when some are refused; otherwise a plan with
            refused rows raises ImportRefused and nothing is written.
    """
    if plan.refusals and not skip_bad_rows:
        count = len(plan.refusals)
        raise ImportRefused(ngettext("%(count)d row is refused: correct it, or import the good rows and skip the "
                                     "refused ones.",
                                     "%(count)d rows are refused: correct them, or import the good rows and skip the "
                                     "refused ones.", count) % {"count": count})
    log = _Log(user, actor)
    try:
        return _apply(plan, log, source)
    except (ValidationError, IntegrityError) as exc:  # planning checks first; a change made meanwhile
        raise ImportRefused(gettext("The import stopped, nothing was written: %(problem)s Preview the file again.")
                            % {"problem": "; ".join(getattr(exc, "messages", [])) or exc}) from exc


def _apply(plan: Plan, log: "_Log", source: str) -> dict:
    with transaction.atomic():
        students = _students(plan, log)
        teachers = _teachers(plan, log)
        classes = _classes(plan, teachers, log)
        _memberships(plan, classes, students, log)
        _terms(plan, log)
        for kind, key, modified in plan.stamps:
            ImportedRecord.objects.update_or_create(kind=kind, source_id=key, defaults={"last_modified": modified})
        known = dict(ImportedRecord.objects.filter(kind=ImportedRecord.USERS).values_list("source_id", "object_id"))
        for key, teacher in teachers.items():
            if known.get(key) != str(teacher.pk):  # the user each teacher of the file became
                ImportedRecord.objects.update_or_create(kind=ImportedRecord.USERS, source_id=key,
                                                        defaults={"object_id": str(teacher.pk)})
        counts = plan.counts()
        log(SchoolClass, f"Roster imported from {source or 'a file'} ({plan.roster.format}): {plan.changes} changes, "
                         f"{counts['refused']} rows refused", after=counts)
        log.write()
    return counts


def _students(plan, log) -> dict:
    found = {key: student for key, student in plan.students.items() if student is not None}
    new = [Student(name=person.name, school_id=person.key) for person in plan.students_new]
    for student in new:
        student.clean_fields()  # their school ids are unique: planning matched them
    for student in Student.objects.bulk_create(new, batch_size=500):
        found[student.school_id] = student
        log(student, f"{student.name} ({student.school_id}) added by a roster import",
            after={"name": student.name, "school_id": student.school_id})
    for student, person, changes in plan.students_updated:
        change_student(student, log.user, **changes)  # audit-logged there (student_changed)
    return found


def _teachers(plan, log) -> dict:
    found = {key: teacher for key, teacher in plan.teachers.items() if teacher is not None}
    for person in plan.teachers_new:
        teacher = get_user_model()(username=person.username, email=person.email, first_name=person.given_name[:150],
                                   last_name=person.family_name[:150])
        teacher.set_unusable_password()  # the Staff page sends a set-password link
        teacher.save()
        found[person.key] = teacher
        log(teacher, f"Teacher {teacher.username} added by a roster import",
            after={"username": teacher.username, "email": teacher.email})
    for teacher, person, changes in plan.teachers_updated:
        before = {name: getattr(teacher, name) for name in changes}
        for name, value in changes.items():
            setattr(teacher, name, value)
        teacher.save(update_fields=list(changes))
        log(teacher, f"Teacher {teacher.username} updated by a roster import",
            before=before, after=changes)
    for teacher in plan.teachers_deactivated:
        teacher.is_active = False
        teacher.save(update_fields=["is_active"])
        revoke_api_tokens(teacher)  # as the Staff page's deactivation: a reactivation revives no old token
        log(teacher, f"Teacher {teacher.username} deactivated by a roster import "
            "(tobedeleted)", before={"is_active": True}, after={"is_active": False})
    return found


def _user(teachers, teacher):
    return teachers[teacher] if isinstance(teacher, str) else teacher


def _classes(plan, teachers, log) -> dict:
    found = {key: school_class for key, school_class in plan.classes.items() if school_class is not None}
    for source in plan.classes_new:
        main, co = plan.class_teachers[source.key]
        school_class = SchoolClass(name=source.name, school_id=source.school_id, teacher=_user(teachers, main))
        school_class.full_clean()
        school_class.save()
        found[source.key] = school_class
        log(school_class, f"Class {school_class.name} added by a roster import",
            after={"name": school_class.name, "school_id": school_class.school_id,
                   "teacher": school_class.teacher.get_username()})
        membership.set_co_teachers(school_class, [_user(teachers, t) for t in co], log.user)
    for school_class, source, changes in plan.classes_updated:
        before = {name: getattr(school_class, name) for name in changes}
        for name, value in changes.items():
            setattr(school_class, name, value)
        school_class.full_clean()
        school_class.save(update_fields=list(changes))
        log(school_class, f"Class {school_class.name} updated by a roster import",
            before=before, after=changes)
    new = {source.key for source in plan.classes_new}
    for key, (main, co) in plan.class_teachers.items():
        if key in new:
            continue
        school_class = found[key]
        teacher = _user(teachers, main)
        if teacher.pk != school_class.teacher_id:
            before = school_class.teacher.get_username()
            school_class.teacher = teacher
            school_class.save(update_fields=["teacher"])
            log(school_class, f"{teacher.get_username()} teaches {school_class.name} (a roster import)",
                before={"teacher": before}, after={"teacher": teacher.get_username()})
        membership.set_co_teachers(school_class, [_user(teachers, t) for t in co], log.user)
    return found


def _memberships(plan, classes, students, log) -> None:
    """Class rosters through ``membership`` (one audit entry per class and change)."""
    added: dict = {}
    for class_key, student_key in plan.memberships_added:
        added.setdefault(class_key, []).append(students[student_key])
    removed: dict = {}
    for school_class, student in plan.memberships_removed:
        removed.setdefault(school_class, []).append(student)
    for school_class, leaving in removed.items():
        membership.remove_students(school_class, leaving, log.user)
    for class_key, joining in added.items():
        membership.add_students(classes[class_key], joining, log.user)


def _terms(plan, log) -> None:
    for source in plan.terms_new:
        term = Term(name=source.name, starts_on=source.starts_on, ends_on=source.ends_on)
        term.full_clean()
        term.save()
        ImportedRecord.objects.update_or_create(kind=ImportedRecord.TERMS, source_id=source.key,
                                                defaults={"object_id": str(term.pk)})
        log(term, f"Term {term} added by a roster import",
            after={"name": term.name, "starts_on": str(term.starts_on), "ends_on": str(term.ends_on)})
    for term, source, changes in plan.terms_updated:
        before = {name: str(getattr(term, name)) for name in changes}
        for name, value in changes.items():
            setattr(term, name, value)
        term.full_clean()
        term.save()
        log(term, f"Term {term} updated by a roster import", before=before,
            after={name: str(value) for name, value in changes.items()})
