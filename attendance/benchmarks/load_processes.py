"""The load benchmark's processes and people: the web server and Celery workers (started
and stopped as subprocesses) and a teacher's browser (signing in and uploading through
the forms)."""
import contextlib
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import date
from pathlib import Path

from django.conf import settings

from attendance.benchmarks.load_setup import LoadError


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
