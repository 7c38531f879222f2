"""A roster compared with the database: what an import would change, written nowhere.

Matching: students by ``Student.school_id`` (= the file's id); classes by
``SchoolClass.school_id`` (OneRoster) or by name (plain CSV); teachers by the user an
earlier import made for them, else by username; terms by the term an earlier import made,
else by name. A student or class without a school id whose name is the file's (exactly
one such student) is taken as the same and given the school id. Rows whose
``dateLastModified`` is older than the version already applied are ignored.
"""
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext, ngettext, pgettext

from attendance.models import ImportedRecord, SchoolClass, Student, Term
from attendance.roles import is_office_staff
from attendance.roster.imports.reading import Refusal
from attendance.roster.imports.source import BULK, STUDENT, TEACHER, Roster
from attendance.text import name_key


@dataclass
class Plan:
    """What importing ``roster`` changes. Objects that exist are model instances; new ones
    are the roster's ``Source*`` records. Pairs name a class and a student by the roster's
    keys (``class_for``/``student_for`` give the instance, None while it is new)."""

    roster: Roster
    refusals: list = field(default_factory=list)
    students_new: list = field(default_factory=list)        # SourcePerson
    students_updated: list = field(default_factory=list)    # (Student, SourcePerson, {field: new value})
    teachers_new: list = field(default_factory=list)        # SourcePerson
    teachers_updated: list = field(default_factory=list)    # (User, SourcePerson, {field: new value})
    teachers_deactivated: list = field(default_factory=list)  # User
    classes_new: list = field(default_factory=list)         # SourceClass
    classes_updated: list = field(default_factory=list)     # (SchoolClass, SourceClass, {field: new value})
    class_teachers: dict = field(default_factory=dict)      # class key -> (main teacher key, [co-teacher keys])
    memberships_added: list = field(default_factory=list)   # (class key, student key)
    memberships_removed: list = field(default_factory=list)  # (SchoolClass, Student)
    terms_new: list = field(default_factory=list)           # SourceTerm
    terms_updated: list = field(default_factory=list)       # (Term, SourceTerm, {field: new value})
    stamps: list = field(default_factory=list)              # (kind, source key, dateLastModified)
    older: int = 0
    notes: list = field(default_factory=list)
    classes: dict = field(default_factory=dict)             # class key -> SchoolClass or None (new)
    students: dict = field(default_factory=dict)            # student key -> Student or None (new)
    teachers: dict = field(default_factory=dict)            # teacher key -> User or None (new)

    @property
    def leaving(self) -> int:
        """Students taken off at least one class roster (they stay in the school)."""
        return len({student.pk for _, student in self.memberships_removed})

    def counts(self) -> dict[str, int]:
        """The preview's figures by name ("students_new": 32, ...)."""
        return {
            "students_new": len(self.students_new), "students_updated": len(self.students_updated),
            "students_leaving": self.leaving, "classes_new": len(self.classes_new),
            "classes_updated": len({c.pk for c, _, _ in self.classes_updated} | {
                self.classes[key].pk for key in self.class_teachers if self.classes.get(key) is not None}),
            "teachers_new": len(self.teachers_new), "teachers_updated": len(self.teachers_updated),
            "teachers_deactivated": len(self.teachers_deactivated),
            "enrolments_added": len(self.memberships_added), "enrolments_removed": len(self.memberships_removed),
            "terms_new": len(self.terms_new), "terms_updated": len(self.terms_updated),
            "refused": len(self.refusals), "older_ignored": self.older,
        }

    @property
    def changes(self) -> int:
        """How many changes the import would write (0: importing changes nothing)."""
        counts = self.counts()
        return sum(v for k, v in counts.items() if k not in ("refused", "older_ignored", "students_leaving"))

    def summary(self) -> list[str]:
        """The preview in lines of words, as the command prints it and the page shows it."""
        c = self.counts()
        lines = [gettext("%(format)s: %(students)s; %(classes)s; %(teachers)s; %(enrolments)s; %(terms)s; "
                         "%(refused)s.") % {"format": self.roster.format_name(), **_summary_parts(c)}]
        lines += self.roster.notes + self.notes
        if self.older:
            lines.append(ngettext("%(count)s row ignored: older than the version already imported.",
                                  "%(count)s rows ignored: older than the version already imported.", self.older)
                         % {"count": self.older})
        lines += [gettext("%(count)s %(reason)s ignored.") % {"count": count, "reason": reason}
                  for reason, count in sorted(self.roster.ignored.items())]
        lines += [gettext("Refused: %(refusal)s") % {"refusal": refusal} for refusal in self.refusals]
        return lines


def _summary_parts(c: dict) -> dict[str, str]:
    """The preview's groups in words, each count with its noun in the right number
    ("1 new student", "2 new classes"): ``Plan.counts()`` to ``{students, classes, teachers,
    enrolments, terms, refused}``."""
    def new(key: str) -> dict:
        return {"count": c[key]}
    students = ngettext("%(count)s new student", "%(count)s new students", c["students_new"]) % new("students_new")
    classes = ngettext("%(count)s new class", "%(count)s new classes", c["classes_new"]) % new("classes_new")
    teachers = ngettext("%(count)s new teacher", "%(count)s new teachers", c["teachers_new"]) % new("teachers_new")
    added = ngettext("%(count)s enrolment added", "%(count)s enrolments added",
                     c["enrolments_added"]) % new("enrolments_added")
    terms = ngettext("%(count)s new term", "%(count)s new terms", c["terms_new"]) % new("terms_new")
    return {
        "students": gettext("%(new)s, %(updated)s updated, %(leaving)s leaving a class") % {
            "new": students, "updated": c["students_updated"], "leaving": c["students_leaving"]},
        "classes": pgettext("roster import: classes", "%(new)s, %(updated)s updated") % {
            "new": classes, "updated": c["classes_updated"]},
        "teachers": gettext("%(new)s, %(updated)s updated, %(deactivated)s deactivated") % {
            "new": teachers, "updated": c["teachers_updated"], "deactivated": c["teachers_deactivated"]},
        "enrolments": gettext("%(added)s, %(ended)s ended") % {"added": added, "ended": c["enrolments_removed"]},
        "terms": pgettext("roster import: terms", "%(new)s, %(updated)s updated") % {
            "new": terms, "updated": c["terms_updated"]},
        "refused": ngettext("%(count)s row refused", "%(count)s rows refused", c["refused"]) % new("refused"),
    }


def plan_import(roster: Roster) -> Plan:
    """Compares ``roster`` with the database and returns the Plan; reads, never writes.
    Rows that cannot be applied (an unknown class or user in an enrolment, a new class
    with no teacher, a class name taken by another class, a user who is office staff,
    a term overlapping another) are added to ``plan.refusals`` with their file and line."""
    plan = Plan(roster, refusals=list(roster.refusals))
    stamps = {(r.kind, r.source_id): r for r in ImportedRecord.objects.all()}
    _drop_older(plan, stamps)
    _match_students(plan)
    _match_teachers(plan, stamps)
    _match_classes(plan)
    _plan_enrolments(plan)
    _plan_terms(plan, stamps)
    refused = {(r.file, r.line) for r in plan.refusals}
    for kind, records in ((ImportedRecord.USERS, roster.people), (ImportedRecord.CLASSES, roster.classes),
                          (ImportedRecord.ENROLLMENTS, roster.enrolments), (ImportedRecord.TERMS, roster.terms)):
        for key, record in records.items():
            known = stamps.get((kind, key))
            if (record.origin.file, record.origin.line) in refused:
                continue
            if record.origin.modified and (known is None or known.last_modified != record.origin.modified):
                plan.stamps.append((kind, key, record.origin.modified))
    plan.refusals.sort(key=lambda r: (r.file, r.line))
    return plan


def _drop_older(plan: Plan, stamps: dict) -> None:
    roster = plan.roster
    for kind, records in ((ImportedRecord.USERS, roster.people), (ImportedRecord.CLASSES, roster.classes),
                          (ImportedRecord.ENROLLMENTS, roster.enrolments), (ImportedRecord.TERMS, roster.terms)):
        for key in list(records):
            known = stamps.get((kind, key))
            modified = records[key].origin.modified
            if known and known.last_modified and modified and modified < known.last_modified:
                del records[key]
                plan.older += 1


def _refuse(plan: Plan, record, reason: str) -> None:
    plan.refusals.append(Refusal(record.origin.file, record.origin.line, reason))


def _match_students(plan: Plan) -> None:
    people = [p for p in plan.roster.people.values() if p.role == STUDENT]
    by_school_id = {s.school_id: s for s in Student.objects.filter(school_id__in=[p.key for p in people])}
    unnumbered: dict[str, list] = {}
    for student in Student.objects.filter(school_id=""):
        unnumbered.setdefault(name_key(student.name), []).append(student)
    adopted: dict[int, str] = {}
    for person in people:
        student = by_school_id.get(person.key)
        changes = {}
        if student is None and person.origin.active:
            namesakes = unnumbered.get(name_key(person.name), [])
            if len(namesakes) == 1 and namesakes[0].pk in adopted:
                _refuse(plan, person, gettext("%(name)s (id %(id)s, no school id) is taken for %(other)s already: "
                                              "give the right one the school id on their page, then import again.")
                        % {"name": repr(person.name), "id": namesakes[0].pk, "other": repr(adopted[namesakes[0].pk])})
                continue
            if len(namesakes) > 1:
                _refuse(plan, person, gettext("several students named %(name)s have no school id (ids %(ids)s): give "
                                              "the right one the school id %(key)s on their page, then import again.")
                        % {"name": repr(person.name), "ids": ", ".join(str(s.pk) for s in namesakes),
                           "key": repr(person.key)})
                continue
            if namesakes:
                student, changes = namesakes[0], {"school_id": person.key}
                adopted[student.pk] = person.key
        plan.students[person.key] = student
        if student is None:
            if person.origin.active:
                plan.students_new.append(person)
            continue
        if person.origin.active and student.name != person.name:
            changes["name"] = person.name
        if changes:
            plan.students_updated.append((student, person, changes))


def _match_teachers(plan: Plan, stamps: dict) -> None:
    users = get_user_model().objects
    for person in (p for p in plan.roster.people.values() if p.role == TEACHER):
        known = stamps.get((ImportedRecord.USERS, person.key))
        user = users.filter(pk=known.object_id).first() if known and known.object_id else None
        user = user or users.filter(username=person.username).first()
        if user is not None and is_office_staff(user):
            _refuse(plan, person, gettext("the user %(username)s is office staff, who never teach a class.")
                    % {"username": repr(user.get_username())})
            continue
        plan.teachers[person.key] = user
        if user is None:
            if person.origin.active:
                plan.teachers_new.append(person)
            continue
        if not person.origin.active:
            if user.is_active and not user.is_staff and not user.is_superuser:
                plan.teachers_deactivated.append(user)
            elif user.is_staff or user.is_superuser:
                plan.notes.append(gettext("%(username)s is a school admin: not deactivated by an import.")
                                  % {"username": user.get_username()})
            continue
        if not user.is_active:
            plan.notes.append(gettext("%(username)s is deactivated in the app: an import never reactivates an "
                                      "account (the Staff page does).") % {"username": user.get_username()})
        if user.is_superuser:  # as on the Staff page: no school admin takes a superuser's account over
            plan.notes.append(gettext("%(username)s is a superuser: their name and e-mail are not changed by an "
                                      "import.") % {"username": user.get_username()})
            continue
        changes = {name: value for name, value in (("first_name", person.given_name), ("last_name", person.family_name),
                                                   ("email", person.email))
                   if value and getattr(user, name) != value}
        if changes:
            plan.teachers_updated.append((user, person, changes))


def _match_classes(plan: Plan) -> None:
    sources = list(plan.roster.classes.values())
    by_school_id = {c.school_id: c for c in SchoolClass.objects.filter(school_id__in=[s.school_id for s in sources
                                                                                       if s.school_id])}
    by_name = {name_key(c.name): c for c in SchoolClass.objects.all()}
    for source in sources:
        school_class = by_school_id.get(source.school_id) if source.school_id else None
        changes = {}
        named = by_name.get(name_key(source.name))
        if school_class is None and named is not None:
            if source.school_id and named.school_id:
                _refuse(plan, source, gettext("the class name %(name)s is taken by another class (school id "
                                              "%(school_id)s).") % {"name": repr(source.name),
                                                                   "school_id": repr(named.school_id)})
                continue
            school_class = named
            if source.school_id:
                changes["school_id"] = source.school_id
        elif school_class is not None and named is not None and named.pk != school_class.pk:
            _refuse(plan, source, gettext("the class name %(name)s is taken by another class.")
                    % {"name": repr(source.name)})
            continue
        plan.classes[source.key] = school_class
        if school_class is None:
            if source.origin.active:
                plan.classes_new.append(source)
            continue
        if source.origin.active and school_class.name != source.name:
            changes["name"] = source.name
        if changes:
            plan.classes_updated.append((school_class, source, changes))


def _class_of(plan: Plan, key: str):
    """(found, SchoolClass or None) for a class key: in the file, else an imported class in the database."""
    if key in plan.classes:
        return True, plan.classes[key]
    if plan.roster.format.startswith("OneRoster"):
        school_class = SchoolClass.objects.filter(school_id=key).first()
        if school_class is not None:
            plan.classes[key] = school_class
            return True, school_class
    return False, None


def _person_of(plan: Plan, key: str, role: str):
    """(found, instance or None) for a student's or teacher's key."""
    table = plan.students if role == STUDENT else plan.teachers
    if key in table:
        return True, table[key]
    if role == STUDENT:
        student = Student.objects.filter(school_id=key).first()
        if student is not None:
            table[key] = student
            return True, student
    else:
        record = ImportedRecord.objects.filter(kind=ImportedRecord.USERS, source_id=key).first()
        user = get_user_model().objects.filter(pk=record.object_id).first() if record and record.object_id else None
        if user is not None:
            table[key] = user
            return True, user
    return False, None


def _plan_enrolments(plan: Plan) -> None:
    """Resolves every enrolment row (refusing unknown classes and people), then plans the
    classes' teachers and the class rosters."""
    roster = plan.roster
    today = timezone.localdate()  # an enrolment is current from its beginDate to its endDate
    wanted_teachers: dict[str, list] = {}
    ended_teachers: dict[str, set] = {}
    student_rows = []
    for enrolment in roster.enrolments.values():
        person = roster.people.get(enrolment.person_key)
        if person is not None and person.role != enrolment.role:
            _refuse(plan, enrolment, gettext("user %(key)s is a %(role)s, not a %(expected)s.")
                    % {"key": repr(enrolment.person_key), "role": person.role, "expected": enrolment.role})
            continue
        if not _class_of(plan, enrolment.class_key)[0]:
            _refuse(plan, enrolment, gettext("unknown class %(key)s: not in classes.csv nor imported before.")
                    % {"key": repr(enrolment.class_key)})
            continue
        if not _person_of(plan, enrolment.person_key, enrolment.role)[0]:
            _refuse(plan, enrolment, gettext("unknown %(role)s %(key)s: not in users.csv nor imported before.")
                    % {"role": enrolment.role, "key": repr(enrolment.person_key)})
            continue
        if enrolment.role == STUDENT:
            student_rows.append(enrolment)
        elif enrolment.current(today) and (person is None or person.origin.active):
            keys = wanted_teachers.setdefault(enrolment.class_key, [])
            keys.insert(0, enrolment.person_key) if enrolment.primary else keys.append(enrolment.person_key)
        else:
            ended_teachers.setdefault(enrolment.class_key, set()).add(enrolment.person_key)
    _plan_class_teachers(plan, wanted_teachers, ended_teachers)
    _plan_memberships(plan, student_rows, today)


def _plan_class_teachers(plan: Plan, wanted_teachers: dict, ended_teachers: dict) -> None:
    """Each class's main teacher and co-teachers: the first ``primary`` teacher enrolment is
    the main teacher, the others co-teachers. A bulk enrollments file gives a class's
    teachers whole; a delta adds to and ends the current ones. A new class with no teacher
    is refused (a class always has one); an existing class left with none keeps its own."""
    bulk = plan.roster.modes.get("enrollments") == BULK
    for key, school_class in list(plan.classes.items()):
        source = plan.roster.classes.get(key)
        wanted = list(dict.fromkeys(wanted_teachers.get(key, [])))
        if school_class is None:
            if wanted:
                plan.class_teachers[key] = (wanted[0], wanted[1:])
                continue
            if source in plan.classes_new:
                plan.classes_new.remove(source)
                _refuse(plan, source, gettext("the new class %(name)s has no teacher in the enrolments.")
                        % {"name": repr(source.name)})
            del plan.classes[key]
            continue
        if not ((bulk and wanted) or key in wanted_teachers or key in ended_teachers):
            continue
        main, co = school_class.teacher_id, set(school_class.co_teachers.values_list("pk", flat=True))
        ended = [plan.teachers.get(k) for k in ended_teachers.get(key, ())]
        keep = [] if bulk else [user for user in get_user_model().objects.filter(pk__in={main, *co})
                                if user not in ended and all(plan.teachers.get(k) != user for k in wanted)]
        target = wanted + keep  # teacher keys (for users in the file), then users
        if not target:
            plan.notes.append(gettext("%(class)s keeps its teacher: the file ends every teacher of the class and "
                                      "gives no other.") % {"class": school_class.name})
            continue
        ids = [getattr(plan.teachers.get(t) if isinstance(t, str) else t, "pk", None) for t in target]
        if None in ids or ids[0] != main or set(ids[1:]) != co:
            plan.class_teachers[key] = (target[0], target[1:])


def _plan_memberships(plan: Plan, student_rows: list, today) -> None:
    """Students added to and taken off class rosters: by their enrolment rows; every
    imported class of a student marked tobedeleted; the whole roster of a class marked
    tobedeleted; and, for a bulk enrollments file, every membership of an imported class
    (one with a school id, or given one now) that the file does not mention."""
    roster = plan.roster
    current = set(SchoolClass.students.through.objects.values_list("schoolclass_id", "student_id"))
    wanted, ended = set(), set()
    for enrolment in student_rows:
        school_class = plan.classes.get(enrolment.class_key, False)
        if school_class is False:
            _refuse(plan, enrolment, gettext("the class %(key)s is refused, so is its roster.")
                    % {"key": repr(enrolment.class_key)})
            continue
        student = plan.students.get(enrolment.person_key)
        person = roster.people.get(enrolment.person_key)
        source_class = roster.classes.get(enrolment.class_key)
        active = (enrolment.current(today) and (person is None or person.origin.active)
                  and (source_class is None or source_class.origin.active))
        pair = (enrolment.class_key, enrolment.person_key)
        exists = school_class is not None and student is not None and (school_class.pk, student.pk) in current
        if active and not exists and pair not in wanted:
            wanted.add(pair)
            plan.memberships_added.append(pair)
        elif not active and exists:
            ended.add((school_class.pk, student.pk))
    gone_students = {s.pk for k, s in plan.students.items()
                     if s and k in roster.people and not roster.people[k].origin.active}
    gone_classes = {c.pk for k, c in plan.classes.items() if c and k in roster.classes
                    and not roster.classes[k].origin.active}
    imported = dict(SchoolClass.objects.exclude(school_id="").values_list("pk", "school_id"))
    imported.update((c.pk, changes["school_id"]) for c, _, changes in plan.classes_updated if "school_id" in changes)
    school_ids = dict(Student.objects.filter(pk__in={s for _, s in current}).values_list("pk", "school_id"))
    school_ids.update((s.pk, changes["school_id"]) for s, _, changes in plan.students_updated if "school_id" in changes)
    bulk = roster.modes.get("enrollments") == BULK
    for class_pk, student_pk in current:
        if class_pk in imported and (student_pk in gone_students or class_pk in gone_classes or (
                bulk and (imported[class_pk], school_ids.get(student_pk, "")) not in roster.mentioned)):
            ended.add((class_pk, student_pk))
    classes = SchoolClass.objects.in_bulk({c for c, _ in ended})
    students = Student.objects.in_bulk({s for _, s in ended})
    plan.memberships_removed = sorted(((classes[c], students[s]) for c, s in ended),
                                      key=lambda pair: (pair[0].name, pair[1].name))


def _plan_terms(plan: Plan, stamps: dict) -> None:
    terms = list(Term.objects.all())
    by_name = {name_key(t.name): t for t in terms}
    taken = {t.pk: (t.starts_on, t.ends_on, str(t)) for t in terms}  # the dates each term will have
    for source in sorted(plan.roster.terms.values(), key=lambda t: t.starts_on):
        if not source.origin.active:
            plan.roster.ignore(gettext("terms marked tobedeleted (left in place: delete them in the admin)"))
            continue
        known = stamps.get((ImportedRecord.TERMS, source.key))
        term = next((t for t in terms if known and str(t.pk) == known.object_id), None) or by_name.get(
            name_key(source.name))
        overlapping = next((label for pk, (starts, ends, label) in taken.items()
                            if (term is None or pk != term.pk) and starts <= source.ends_on and ends >= source.starts_on),
                           None)
        if overlapping:
            _refuse(plan, source, gettext("%(name)s (%(first)s to %(last)s) overlaps %(other)s.")
                    % {"name": source.name, "first": source.starts_on, "last": source.ends_on, "other": overlapping})
            continue
        taken[term.pk if term else f"new {source.key}"] = (source.starts_on, source.ends_on, source.name)
        if term is None:
            plan.terms_new.append(source)
            continue
        changes = {name: value for name, value in (("name", source.name), ("starts_on", source.starts_on),
                                                   ("ends_on", source.ends_on)) if getattr(term, name) != value}
        if changes:
            plan.terms_updated.append((term, source, changes))
