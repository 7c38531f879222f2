"""The one school the tests run in, built from real photos and real descriptors.

``build_school`` builds it (``conftest.school`` for a test; rolled back afterwards, as any
test's rows). By default:

* the ``users`` fixture's people: a school admin, ``teacher``, ``other_teacher`` (who
  teaches another class) and ``office`` staff;
* class 7A of ``teacher``: Joe Biden and Barack Obama enrolled from one real photo each
  (``identities/<name>/1.jpg`` of ../shared/faces, encoded in this process: real dlib
  descriptors, from the session's descriptor cache, ``tests/descriptor_cache.py``) and
  Ada Lovelace on the roster without consent or photo (registered by hand);
* class 8B of ``other_teacher``, empty.

A test file needing a variant (fewer students enrolled, a processed session) asks
``build_school`` for it in its own ``school`` fixture, whose docstring says why.
"""
import datetime

from attendance.roster.enrolment import encode_enrolment_photo
from attendance.models import ClassPhoto, ClassSession, Student
from attendance.registers.recognition import process_class_photo

from .factories import class_photo, enrolment_photo, make_class

#: Photo under ../shared/faces of each student the world can enrol, and their key in the world.
PHOTOS = {"Joe Biden": "identities/Joe_Biden/1.jpg", "Barack Obama": "identities/Barack_Obama/1.jpg"}


def key_of(name: str) -> str:
    """A student's key in the world: their first name in lower case ("Joe Biden": "joe")."""
    return name.split()[0].lower()


#: The processed session of ``build_school(session=True)``: Monday 2 November 2026, "Period 1",
#: a class photo of Barack Obama and Joe Biden (and a third, smaller face).
SESSION_DATE = datetime.date(2026, 11, 2)
SESSION_PERIOD = "Period 1"
SESSION_PHOTO = "groups/obama_and_biden.jpg"


def build_school(users: dict, photo, enrolled=("Joe Biden", "Barack Obama"), by_hand=("Ada Lovelace",),
                 session: bool = False) -> dict:
    """Build the school of the module's docstring.

    Args:
        users: the ``users`` fixture (``admin``, ``teacher``, ``other_teacher``, ``office``).
        photo: the ``photo`` fixture (path of a photo under ../shared/faces); None for a
            school without photos (no ``enrolled``, no ``session``), which then needs no
            ../shared.
        enrolled: names (keys of ``PHOTOS``) of 7A's students enrolled from their photo, in
            this order (their ids follow it), before ``by_hand``.
        by_hand: names of 7A's students without consent or photo, any names.
        session: also a session of 7A (``SESSION_DATE``, ``SESSION_PERIOD``) whose class
            photo ``SESSION_PHOTO`` was processed in this process (the worker's function).

    Returns:
        ``{"class": 7A, "other": 8B, "student": 7A's first student, and each student by
        its ``key_of`` key}``, plus ``"session"`` and its processed ClassPhoto ``"photo"``
        with ``session``.

    Raises:
        AssertionError: the class photo did not process (the school would not be the one described).
    """
    world = {}
    for name in enrolled:
        world[key_of(name)] = Student.objects.create(name=name)
        encode_enrolment_photo(enrolment_photo(world[key_of(name)], photo(PHOTOS[name])).pk)
    for name in by_hand:
        world[key_of(name)] = Student.objects.create(name=name)
    students = [world[key_of(name)] for name in (*enrolled, *by_hand)]
    world["student"] = students[0] if students else None
    world["class"] = make_class(users["teacher"], "7A", students)
    world["other"] = make_class(users["other_teacher"], "8B")
    if session:
        world["session"] = ClassSession.objects.create(school_class=world["class"], date=SESSION_DATE,
                                                       period=SESSION_PERIOD)
        world["photo"] = class_photo(world["session"], photo(SESSION_PHOTO))
        assert process_class_photo(world["photo"].pk) == ClassPhoto.DONE
        world["photo"].refresh_from_db()
    return world
