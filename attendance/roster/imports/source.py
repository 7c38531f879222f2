"""What a roster file says, whatever its format: people, classes, enrolments and terms,
each with the file and line it came from. ``oneroster`` and ``plain_csv`` build a
``Roster``; ``planning`` compares it with the database.

Also the checks every format shares (names, ids, usernames, dates), each raising
``BadValue`` with the reason in words.
"""
import datetime
import unicodedata
from dataclasses import dataclass, field

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from attendance.dates import in_range, out_of_range_message
from attendance.text import forbidden_character

STUDENT, TEACHER = "student", "teacher"
#: How a file of the import is read (OneRoster manifest ``file.<name>``): ``bulk`` (the
#: whole truth: what is not in it has ended), ``delta`` (changes only) or ``absent``.
BULK, DELTA, ABSENT = "bulk", "delta", "absent"

#: Longest values the models hold: Student.name, SchoolClass.name, Term.name, the school ids.
MAX_STUDENT_NAME, MAX_CLASS_NAME, MAX_TERM_NAME, MAX_SCHOOL_ID = 150, 100, 100, 64


class BadValue(ValueError):
    """A value of a row the app cannot take; the message says why."""


@dataclass
class Origin:
    """Where a row came from, and what it says of itself: ``active`` False for OneRoster
    ``status=tobedeleted``; ``modified`` its ``dateLastModified`` (aware datetime) or None."""

    file: str
    line: int
    active: bool = True
    modified: datetime.datetime | None = None


@dataclass
class SourcePerson:
    """A student or a teacher. ``key`` is the file's id for them (OneRoster sourcedId; the
    plain CSV's student id or teacher username). Students are matched by ``school_id``
    (= key); teachers by ``username``."""

    key: str
    role: str
    name: str
    origin: Origin
    username: str = ""
    email: str = ""
    given_name: str = ""
    family_name: str = ""


@dataclass
class SourceClass:
    """A class: ``key`` the file's id for it; ``school_id`` its SIS id (blank for the plain
    CSV, whose classes are matched by name)."""

    key: str
    name: str
    origin: Origin
    school_id: str = ""


@dataclass
class SourceEnrolment:
    """A person on a class: ``role`` STUDENT (on the roster) or TEACHER (``primary``: the
    class's main teacher). ``class_key``/``person_key`` are the file's ids."""

    key: str
    class_key: str
    person_key: str
    role: str
    origin: Origin
    primary: bool = False
    begins_on: datetime.date | None = None
    ends_on: datetime.date | None = None

    def current(self, today: datetime.date) -> bool:
        """False when ``tobedeleted``, when it ended before ``today`` or begins after it."""
        return (self.origin.active and (self.ends_on is None or self.ends_on >= today)
                and (self.begins_on is None or self.begins_on <= today))


@dataclass
class SourceTerm:
    """A term (OneRoster academicSessions of type ``term``), dates inclusive."""

    key: str
    name: str
    starts_on: datetime.date
    ends_on: datetime.date
    origin: Origin


@dataclass
class Roster:
    """Everything a roster file says, with its refused rows (``reading.Refusal``).

    ``modes`` says for "users", "classes", "enrollments" and "academicSessions" whether
    the file is BULK, DELTA or ABSENT; ``notes`` says in words how the file was read
    (format version, where roles came from); ``ignored`` counts rows the app has no use
    for, by reason ("users of role guardian": 3).
    """

    format: str
    modes: dict = field(default_factory=dict)
    people: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)
    enrolments: dict = field(default_factory=dict)
    terms: dict = field(default_factory=dict)
    refusals: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    ignored: dict = field(default_factory=dict)
    #: (class key, person key) of every enrolment row, refused ones too: a bulk
    #: enrollments file ends only the memberships it does not mention at all.
    mentioned: set = field(default_factory=set)

    def ignore(self, reason: str) -> None:
        """Counts one row the app has no use for under ``reason``."""
        self.ignored[reason] = self.ignored.get(reason, 0) + 1

    def format_name(self) -> str:
        """``format`` in the reader's language ("plain CSV"; "OneRoster 1.1" is a name)."""
        return gettext("plain CSV") if self.format == "plain CSV" else self.format


def check_name(value: str, what: str, longest: int) -> str:
    """``value`` as a name (student, class, term) in Unicode NFC, as ``NameField`` stores it
    (so a decomposed "Zoë" imported twice is the same name): not empty, at most ``longest``
    characters, no character ``text.forbidden_character`` refuses. Raises BadValue."""
    value = unicodedata.normalize("NFC", value)
    if not value:
        raise BadValue(gettext("the %(column)s is empty.") % {"column": what})
    if len(value) > longest:
        raise BadValue(gettext("the %(column)s is longer than %(limit)s characters.")
                       % {"column": what, "limit": longest})
    if found := forbidden_character(value):
        raise BadValue(gettext("the %(column)s %(value)s contains %(character)s, which a name cannot hold.")
                       % {"column": what, "value": repr(value), "character": found})
    return value


def check_school_id(value: str, what: str = "id") -> str:
    """``value`` as a school id (Student/SchoolClass.school_id): 1 to MAX_SCHOOL_ID
    characters, single-line text. Raises BadValue."""
    return check_name(value, what, MAX_SCHOOL_ID)


def check_username(value: str) -> str:
    """``value`` as a Django username (letters, digits and @ . + - _, at most 150). Raises BadValue."""
    try:
        UnicodeUsernameValidator()(value)
    except ValidationError:
        raise BadValue(gettext("%(value)s cannot be a username (letters, digits and @ . + - _ only).")
                       % {"value": repr(value)})
    if not value or len(value) > 150:
        raise BadValue(gettext("%(value)s cannot be a username (1 to 150 characters).") % {"value": repr(value)})
    return value


def parse_date(value: str, column: str) -> datetime.date:
    """A YYYY-MM-DD date in the app's range (``dates.py``). Raises BadValue naming ``column``."""
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise BadValue(gettext("%(column)s %(value)s is not a date (YYYY-MM-DD).")
                       % {"column": column, "value": repr(value)})
    if not in_range(day):
        raise BadValue(f"{column}: {out_of_range_message(day)}")
    return day


def parse_timestamp(value: str, column: str = "dateLastModified") -> datetime.datetime | None:
    """An ISO 8601 date and time ("2026-09-01T08:30:00.000Z"; a plain date is midnight),
    UTC when no offset is given; None for "". Raises BadValue naming ``column``."""
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise BadValue(gettext("%(column)s %(value)s is not a date and time (ISO 8601, e.g. 2026-09-01T08:30:00Z).")
                       % {"column": column, "value": repr(value)})
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    if not in_range(moment.date()):
        raise BadValue(f"{column}: {out_of_range_message(moment.date())}")
    return moment
