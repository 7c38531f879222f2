"""Issue 14, defect 10 and "Safe defaults": `make run` serves with waitress (manage.py serve),
with production settings by default, and survives the attacks on the development server.

A real waitress process is started on a free port with the production defaults (no DEBUG,
a generated secret key, this machine's names as hosts, its own SQLite database); the tests
talk to it over real sockets.
"""
import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from .conftest import REPO

CHANNEL_TIMEOUT = 3  # seconds; SERVER_CHANNEL_TIMEOUT of the server under test
THREADS = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``manage.py serve`` on 127.0.0.1 with `make run`'s defaults; yields (port, process)."""
    folder = tmp_path_factory.mktemp("production")
    env = {key: value for key, value in os.environ.items()
           if key not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_SETTINGS_MODULE="attendance.wiring.settings", SECRET_KEY_FILE=str(folder / "secret_key"),
               DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", STATIC_ROOT=str(folder / "static"),
               SERVER_CHANNEL_TIMEOUT=str(CHANNEL_TIMEOUT), SERVER_THREADS=str(THREADS),
               DJANGO_SUPERUSER_PASSWORD="a long passphrase 42")
    for command in (["migrate", "--verbosity", "0"], ["collectstatic", "--noinput", "--verbosity", "0"],
                    ["createsuperuser", "--noinput", "--username", "head", "--email", "head@school.example"]):
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    port = free_port()
    log = open(folder / "server.log", "w")
    process = subprocess.Popen([sys.executable, "manage.py", "serve", "--listen", f"127.0.0.1:{port}"], cwd=REPO,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, (folder / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
    yield port, process, folder / "server.log"
    process.terminate()
    process.wait(timeout=20)
    log.close()


def get(port, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read().decode(errors="replace")
    connection.close()
    return response, body


def raw_request(port, head: str, timeout=10) -> bytes:
    """Send only a request's start line and headers (no body); return what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(head.encode())
        answer = b""
        started = time.monotonic()
        try:
            while time.monotonic() - started < timeout:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pass
        return answer


def endless_chunked_body(port, head: str) -> bytes:
    """Send ``head`` (start line and headers) with Transfer-Encoding: chunked, then twice
    ANONYMOUS_BODY_BYTES of chunks and no last chunk; return what the server answers."""
    from attendance.wiring.body_gate import ANONYMOUS_BODY_BYTES

    chunk = b"%x\r\n%s\r\n" % (8192, b"a" * 8192)
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode() + b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(2 * ANONYMOUS_BODY_BYTES // 8192):
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection once over the cap
        try:
            while data := conn.recv(65536):
                answer += data
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


def threads_of(process) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))


def sign_in(port) -> str:
    """Sign in as the admin over HTTP like a browser; returns the Cookie header to send."""
    response, page = get(port, "/login/")
    cookies = {m.group(1): m.group(2) for m in re.finditer(r"(csrftoken|sessionid)=([^;]+)",
                                                            response.getheader("Set-Cookie", ""))}
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = f"csrfmiddlewaretoken={token}&username=head&password=a+long+passphrase+42"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/login/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookies['csrftoken']}",
        "Referer": f"http://127.0.0.1:{port}/login/"})
    response = connection.getresponse()
    response.read()
    assert response.status == 302, response.status
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie")).group(1)
    connection.close()
    return f"sessionid={session}; csrftoken={cookies['csrftoken']}"


class TestProductionServer:
    def test_waitress_serves_the_quick_start_in_plain_http_on_the_loopback(self, server):
        port, process, log = server
        response, page = get(port, "/login/")
        assert response.status == 200 and response.getheader("Server") == "attendance"
        assert "Content-Security-Policy" in dict(response.getheaders())  # enforced: DEBUG is off
        # Not marked Secure on http://127.0.0.1 (the browser would not send it back); no HSTS.
        assert "csrftoken=" in response.getheader("Set-Cookie") and "Secure" not in response.getheader("Set-Cookie")
        assert response.getheader("Strict-Transport-Security") is None
        assert "Serving on http://127.0.0.1" in log.read_text() and "channel_timeout=3" in log.read_text()

    def test_unknown_urls_get_the_apps_own_404_page(self, server):
        response, page = get(server[0], "/no-such-page/")
        assert response.status == 404
        assert "Page not found" in page and "Class Attendance" in page
        assert "URLconf" not in page and "Traceback" not in page and "DEBUG" not in page

    def test_another_host_name_is_refused(self, server):
        response, page = get(server[0], "/login/", headers={"Host": "evil.example"})
        assert response.status == 400

    def test_idle_and_half_open_connections_are_closed_and_hold_no_threads(self, server):
        port, process, _ = server
        idle = []
        for n in range(150):
            conn = socket.create_connection(("127.0.0.1", port), timeout=CHANNEL_TIMEOUT + 15)
            if n % 2:  # half a request: headers that never end
                conn.sendall(b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            idle.append(conn)
        try:
            # Connections are not threads: waitress keeps its few threads.
            assert threads_of(process) <= THREADS + 4
            response, _ = get(port, "/login/")
            assert response.status == 200
            started = time.monotonic()
            for conn in idle:
                assert conn.recv(1024) == b""  # closed by the server
            assert time.monotonic() - started < CHANNEL_TIMEOUT + 15
        finally:
            for conn in idle:
                conn.close()
        response, _ = get(port, "/login/")
        assert response.status == 200

    def test_an_anonymous_upload_is_refused_before_its_body_is_sent(self, server):
        port = server[0]
        started = time.monotonic()
        answer = raw_request(port, "POST /classes/1/enrol/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 200000000\r\n\r\n")
        # Sent to the sign-in page, as Django would, but at once, and the connection closed.
        assert answer.startswith(b"HTTP/1.1 302 Found"), answer[:200]
        assert b"Location: /login/?next=/classes/1/enrol/" in answer  # django's redirect_to_login
        assert b"Sign in first" in answer and b"Connection: close" in answer
        assert time.monotonic() - started < 5  # answered without waiting for the 200 MB
        # Chunked, or with a made-up session cookie: the same.
        for head in ("POST /classes/1/enrol/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                     "PUT /sessions/1/register/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid=madeup\r\n"
                     "Content-Length: 100000000\r\n\r\n"):
            assert raw_request(port, head).startswith(b"HTTP/1.1 302 Found"), head
        # The API, without a token or with a made-up one: 401, as the API answers.
        for head in ("POST /api/v1/classes/1/sessions/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                     "POST /api/v1/classes/1/sessions/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token madeup\r\n"
                     "Content-Length: 100000000\r\n\r\n"):
            answer = raw_request(port, head)
            assert answer.startswith(b"HTTP/1.1 401 Unauthorized"), head
            assert b"www-authenticate: token" in answer.lower(), head  # (waitress writes "Www-Authenticate")

    def test_the_sign_in_page_takes_only_a_small_body_from_anyone(self, server):
        answer = raw_request(server[0], "POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Content-Length: 100000000\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]

    def test_a_chunked_body_to_the_sign_in_pages_is_cut_off_at_64_KB(self, server):
        """Issue 14 follow-up: a chunked body (no Content-Length) was read in full, up to 250 MB."""
        port = server[0]
        for path in ("/login/", "/logout/", "/admin/login/", "/admin/logout/"):
            answer = endless_chunked_body(port, f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                "Content-Type: application/x-www-form-urlencoded\r\n")
            assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:200])
            assert b"64 KB" in answer, answer
        # A signed-in user's chunked body to a sign-in page: the same cap (no database look-up).
        cookie = sign_in(port)
        answer = endless_chunked_body(port, f"POST /logout/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n")
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        # A small chunked sign-in form is still read and answered (403: it has no CSRF token).
        answer = raw_request(port, "POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                                   "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n"
                                   "b\r\nusername=ab\r\n0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]

    def test_a_locked_database_does_not_stall_the_server(self, server):
        """Issue 14 follow-up: the session look-up runs in waitress's network thread; with the
        SQLite file locked it waited settings' 20 s busy timeout, every connection with it."""
        import sqlite3

        from attendance.wiring.body_gate import LOOKUP_TIMEOUT_MS

        port, process, log = server
        cookie = sign_in(port)  # before the lock: Django needs the database to sign in
        # A made-up session key of the right shape (a shorter one is refused without a look-up).
        head = ("POST /classes/1/enrol/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid=" + "m" * 32 + "\r\n"
                "Content-Length: 100000000\r\n\r\n")
        signed_in_head = (f"POST /classes/1/enrol/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                          "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000\r\n\r\n")
        assert raw_request(port, signed_in_head, timeout=1.5) == b""  # looked up in the database, let through
        locker = sqlite3.connect(log.parent / "db.sqlite3", isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")  # no reader gets in: as a long write would
            started = time.monotonic()
            answer = raw_request(port, head)
            # Answered within the look-up's bound (not 20 s): 503, the body unread.
            assert answer.startswith(b"HTTP/1.1 503"), answer[:300]
            assert b"Retry-After: 5" in answer and b"nothing was read" in answer
            assert time.monotonic() - started < 10 * LOOKUP_TIMEOUT_MS / 1000
            # A signed-in user's session, remembered since its last look-up: no database needed.
            assert raw_request(port, signed_in_head, timeout=1.5) == b""  # waiting for its body, as it should
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert raw_request(port, head).startswith(b"HTTP/1.1 302 Found")

    def test_a_signed_in_users_upload_is_received_and_a_too_large_one_refused_unread(self, server):
        port = server[0]
        cookie = sign_in(port)
        head = (f"POST /classes/1/enrol/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000\r\n\r\n")
        # The server waits for the body it is owed (then, unsent, closes the connection idle).
        assert raw_request(port, head, timeout=1.5) == b""
        from django.conf import settings

        too_large = (f"POST /classes/1/enrol/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                     f"Content-Length: {settings.MAX_UPLOAD_BYTES + 1}\r\n\r\n")
        assert raw_request(port, too_large).startswith(b"HTTP/1.1 413")


@pytest.mark.django_db
class TestAnonymousBodiesUnderAnyServer:
    """The same rule in Django's middleware (runserver, `make dev`, another WSGI server)."""

    def test_refused_unread(self, client, users):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from attendance.models import Student

        from .factories import make_class

        school_class = make_class(users["teacher"], "7A")
        photo = SimpleUploadedFile("face.jpg", b"x" * 1000, content_type="image/jpeg")
        response = client.post(f"/classes/{school_class.pk}/enrol/", {"name": "Ada", "photos": [photo]})
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next=/classes/{school_class.pk}/enrol/"
        assert not Student.objects.exists()
        api = client.post("/api/v1/classes/", data=b"{}", content_type="application/json")
        assert api.status_code == 401 and api.json()["code"] == "not_authenticated"
        assert api["WWW-Authenticate"] == "Token"

    def test_sign_in_and_api_tokens_still_work(self, client, users):
        from rest_framework.authtoken.models import Token

        assert client.post("/login/", {"username": "teacher", "password": "pw-teacher-1"}).status_code == 302
        token = Token.objects.create(user=users["admin"])
        response = Client(HTTP_AUTHORIZATION=f"Token {token.key}").post(
            "/api/v1/classes/", data=b"{}", content_type="application/json")
        assert response.status_code == 405  # through to the API, which has no POST there: not 403


def _runapp_env(folder) -> dict:
    """`make run`'s environment with a database, static and media folder of the test's own;
    no REDIS_URL, so runapp starts its embedded Redis (var/redis.db), as in the quick start."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DJANGO_SETTINGS_MODULE",
                          "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="attendance.wiring.settings", SECRET_KEY_FILE=str(folder / "secret_key"),
               DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", STATIC_ROOT=str(folder / "static"),
               MEDIA_ROOT=str(folder / "media"), CELERY_QUEUE=f"runapp-test-{os.getpid()}")
    return env


def _wait_for(path: Path, text: str, process, seconds=180) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        log = path.read_text()
        if text in log:
            return log
        assert process.poll() is None, log
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in {path.read_text()}")


def _child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


class TestRunapp:
    """`make run` (manage.py runapp) in real processes: one copy per checkout, and a web
    server that stops stops the whole command with a non-zero status."""

    @pytest.mark.worker  # runapp starts its embedded Redis and a Celery worker
    def test_a_second_copy_refuses_and_the_first_survives_then_a_dead_server_is_a_failure(self, tmp_path):
        import redis

        from django.conf import settings

        env = _runapp_env(tmp_path)
        port, other_port = free_port(), free_port()
        log_path = tmp_path / "first.log"
        with open(log_path, "w") as log:
            first = subprocess.Popen([sys.executable, "manage.py", "runapp", "--addrport", f"127.0.0.1:{port}",
                                      "--concurrency", "1"], cwd=REPO, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            text = _wait_for(log_path, "Open http://", first)
            # "Open" is printed once the server listens.
            assert get(port, "/login/")[0].status == 200, text
            redis_url = settings.EMBEDDED_REDIS_URL_FILE.read_text()
            # A second copy, on another port: refused before it starts or touches anything.
            second = subprocess.run([sys.executable, "manage.py", "runapp", "--addrport", f"127.0.0.1:{other_port}"],
                                    cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                                    stdin=subprocess.DEVNULL)
            assert second.returncode != 0
            assert "already running from this folder" in second.stderr, second.stderr
            assert "Embedded Redis" not in second.stdout
            # The first's Redis, its address file and its site are untouched.
            assert settings.EMBEDDED_REDIS_URL_FILE.read_text() == redis_url
            assert redis.Redis(unix_socket_path=redis_url.removeprefix("redis+socket://")).ping()
            assert get(port, "/login/")[0].status == 200
            assert first.poll() is None
            # The web server dies (killed, out of memory): runapp says so and exits 1.
            server = [pid for pid in _child_pids(first.pid)
                      if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes()]
            assert len(server) == 1
            os.kill(server[0], 9)
            assert first.wait(timeout=90) == 1
            assert "The web server stopped" in log_path.read_text()
            assert not settings.EMBEDDED_REDIS_URL_FILE.exists()  # the embedded Redis stopped, tidily
            assert not Path(redis_url.removeprefix("redis+socket://")).parent.exists()  # its temporary folder too
        finally:
            if first.poll() is None:
                first.terminate()
                first.wait(timeout=60)

    def test_the_embedded_redis_removes_its_temporary_folder_when_it_stops(self, settings, tmp_path):
        from attendance.management.commands.runapp import start_embedded_redis, stop_embedded_redis

        settings.BASE_DIR = tmp_path
        server = start_embedded_redis()
        folder = Path(server.redis_dir)
        assert server.ping() and (folder / "redis.socket").exists()
        server.set("kept", "yes")
        stop_embedded_redis(server)
        assert not folder.exists()
        assert (tmp_path / "var" / "redis.db").exists()  # the data is kept, in var/

    def test_an_address_in_use_is_refused_before_anything_starts(self, tmp_path):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            done = subprocess.run([sys.executable, "manage.py", "runapp", "--addrport", f"127.0.0.1:{port}"],
                                  cwd=REPO, env=_runapp_env(tmp_path), capture_output=True, text=True, timeout=120,
                                  stdin=subprocess.DEVNULL)
        assert done.returncode != 0
        assert f"Cannot serve on 127.0.0.1:{port}" in done.stderr, done.stderr
        assert "Embedded Redis" not in done.stdout and "Open http://" not in done.stdout
        assert not (tmp_path / "db.sqlite3").exists()  # nothing started, not even migrations


def test_make_clean_keeps_the_secret_key(tmp_path):
    """`make clean` deleted var/ with var/secret_key, which the README says to keep."""
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / "var" / "celery").mkdir(parents=True)
    for name in ("secret_key", "redis.db", "redis.url", "celerybeat-schedule", "celery/x"):
        (tmp_path / "var" / name).write_text("x")
    (tmp_path / "db.sqlite3").write_text("data")
    done = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["secret_key"]
    assert (tmp_path / "var" / "secret_key").read_text() == "x"
    assert not (tmp_path / ".venv").exists() and (tmp_path / "db.sqlite3").exists()


@pytest.mark.parametrize("name, value, words", [
    ("LOGIN_FAILURE_LIMIT", "0", "must be at least 1, not 0"),
    ("LOGIN_COOLOFF_MINUTES", "0", "must be more than 0, not 0.0"),
    ("MAX_PHOTO_MEGAPIXELS", "-3", "must be at least 1, not -3"),
    ("KNOWN_DEVICE_DAYS", "soon", "must be a whole number, not 'soon'"),
])
def test_settings_refuse_a_limit_out_of_range_at_start(name, value, words):
    """The settings' limits are read by env.py with their minimum (``minimum=``, ``more_than=``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run([sys.executable, "-c", "import attendance.wiring.settings"], cwd=REPO,
                            env={**env, name: value}, capture_output=True, text=True)
    assert result.returncode != 0 and f"ImproperlyConfigured: {name} {words}" in result.stderr, result.stderr


@pytest.mark.parametrize("host, remote, loopback", [
    ("127.0.0.1:8000", "127.0.0.1", True), ("[::1]:8000", "::1", True), ("LOCALHOST:8000", "127.0.0.1", True),
    ("testserver", "127.0.0.1", False),  # a proxy on this machine passing the site's name: HTTPS rules
    ("127.0.0.1:8000", "192.0.2.7", False),  # a client on the network naming the loopback
])
def test_plain_http_is_let_through_only_from_and_to_the_loopback(settings, host, remote, loopback):
    """middleware.is_loopback_http (Django's split_domain_port for the Host), decided once per request."""
    from django.test import RequestFactory

    from attendance.wiring.middleware import is_loopback_http

    settings.LOOPBACK_HTTP = True
    settings.ALLOWED_HOSTS = ["127.0.0.1", "[::1]", "localhost", "testserver"]
    request = RequestFactory().get("/", HTTP_HOST=host, REMOTE_ADDR=remote)
    assert is_loopback_http(request) is loopback
    request.META["HTTP_HOST"] = "testserver"  # asked again for the response: the request's answer
    assert is_loopback_http(request) is loopback
