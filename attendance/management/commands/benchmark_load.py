"""python manage.py benchmark_load: teachers uploading at once through the web, real workers, one killed."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from attendance.benchmarks import load, load_processes, load_setup

ISOLATED = "ATTENDANCE_LOAD_ISOLATED"


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


class Command(BaseCommand):
    help = ("Teachers sign in and upload class photos at the same moment through the web server; real Celery "
            "workers process them. Prints the seconds until the last photo is done and checks every photo is "
            "done and every session has exactly one record per student; then the same with one worker process "
            "SIGKILLed half way. Always runs on a throwaway database, media folder and Redis queue (an "
            "embedded Redis unless REDIS_URL is set). The last line is one JSON object.")

    def add_arguments(self, parser):
        parser.add_argument("--teachers", type=int, default=5)
        parser.add_argument("--photos-per-teacher", type=int, default=4)
        parser.add_argument("--photos-per-session", type=int, default=2,
                            help="photos uploaded together as one session (one form post); default 2, so 4 photos "
                                 "are 2 sessions (Period 1 and 2) of 2 photos")
        parser.add_argument("--workers", type=int, default=2, help="worker processes")
        parser.add_argument("--pool", choices=("solo", "prefork"), default="solo",
                            help="solo: separate `celery worker --pool solo` processes, the first with --beat, the "
                                 "last killed; prefork: one `celery worker --concurrency N --beat` as runapp starts "
                                 "it, one of its pool processes killed")
        parser.add_argument("--victim", choices=load_processes.VICTIMS, default="plain",
                            help="which worker is killed: plain, one without beat (default); with --pool solo also "
                                 "beat, the main process of the one running beat (its beat process lives on), or "
                                 "beat-group, that worker with its beat process (then no beat is left: see README)")
        parser.add_argument("--kill-one", dest="kill_one", action="store_true", default=True,
                            help="also run a second round with one worker process SIGKILLed half way (default)")
        parser.add_argument("--no-kill", dest="kill_one", action="store_false", help="only the first round")
        parser.add_argument("--seed", type=int, default=1, help="make_classroom.py seed of the first class")
        parser.add_argument("--roster", type=int, default=30, help="roster of the first class (then +2 each, to +8)")
        parser.add_argument("--size", type=_size, default=(1920, 1080), help="class photo size, WIDTHxHEIGHT")
        parser.add_argument("--timeout", type=float, default=900,
                            help="seconds to wait for a round's photos (a killed worker's message returns from Redis "
                                 "only after its visibility timeout, 720 s by default)")
        parser.add_argument("--keep-logs", type=Path, help="copy the web server's and workers' logs to this folder")
        parser.add_argument("--shared", type=Path, default=Path(os.environ.get("SHARED_DIR",
                                                                              settings.BASE_DIR.parent / "shared")),
                            help="folder with faces/identities and tools/make_classroom.py (default ../shared)")

    def handle(self, **options):
        shared = options["shared"].resolve()
        if not (shared / "faces" / "identities").is_dir() or not (shared / "tools" / "make_classroom.py").is_file():
            raise CommandError(f"{shared} has no faces/identities or tools/make_classroom.py (see --shared).")
        if options["teachers"] < 1 or options["photos_per_teacher"] < 1 or options["photos_per_session"] < 1:
            raise CommandError("--teachers, --photos-per-teacher and --photos-per-session must be at least 1.")
        if options["workers"] < (2 if options["kill_one"] else 1):
            raise CommandError("--kill-one needs at least 2 --workers (one is killed, one must remain).")
        if options["victim"] != "plain" and options["pool"] != "solo":
            raise CommandError(f"--victim {options['victim']} needs --pool solo (a prefork worker is one process "
                               "with its beat).")
        if not os.environ.get(ISOLATED):
            return self._run_isolated(shared, options)
        try:
            result = load.run(shared, teachers=options["teachers"], photos_per_teacher=options["photos_per_teacher"],
                              photos_per_session=options["photos_per_session"], workers=options["workers"],
                              kill=options["kill_one"], pool=options["pool"], seed=options["seed"],
                              roster=options["roster"], size=options["size"], timeout=options["timeout"],
                              report=self.stdout.write, folder=Path(os.environ["ATTENDANCE_LOAD_FOLDER"]),
                              keep_logs=options["keep_logs"], victim=options["victim"])
        except load_setup.LoadError as exc:
            raise CommandError(str(exc))
        except subprocess.CalledProcessError as exc:
            raise CommandError(f"make_classroom.py failed: {exc.stderr.strip()}")
        self.stdout.write(load.figure_table(result))
        for figures in result["rounds"]:
            if "killed" in figures:
                self.stdout.write(f"killed: {json.dumps(figures['killed'])}")
        self.stdout.write(json.dumps(result))
        if not load.succeeded(result):
            raise CommandError("not every photo was done with exactly one record per student (see above)")

    def _run_isolated(self, shared, options):
        # A fresh process on a throwaway database, media folder and Redis queue: the
        # school's data and queue are never touched, and the workers see only this run.
        with tempfile.TemporaryDirectory(prefix="attendance-load-") as folder:
            folder = Path(folder)
            database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{settings.DATABASES['default']['NAME']}"
            with load_setup.throwaway_database(database_url, folder) as db_url, \
                    load_setup.private_broker(os.environ.get("REDIS_URL"), folder) as (redis_url, queue):
                env = dict(os.environ, DATABASE_URL=db_url, MEDIA_ROOT=str(folder / "media"), REDIS_URL=redis_url,
                           CELERY_QUEUE=queue, ATTENDANCE_LOAD_FOLDER=str(folder), **{ISOLATED: "1"})
                manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
                subprocess.run(manage + ["migrate", "--verbosity", "0"], env=env, check=True, cwd=settings.BASE_DIR)
                command = manage + ["benchmark_load"] + _arguments(shared, options)
                with open(folder / "stderr.log", "w+") as errors:
                    child = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE,
                                             stderr=errors, text=True)
                    for line in child.stdout:
                        self.stdout.write(line.rstrip("\n"))
                    child.wait()
                    errors.seek(0)
                    error = errors.read().strip()
        if child.returncode != 0:
            raise CommandError(error.splitlines()[-1] if error else "failed")


def _arguments(shared, options) -> list[str]:
    return ["--teachers", str(options["teachers"]), "--photos-per-teacher", str(options["photos_per_teacher"]),
            "--photos-per-session", str(options["photos_per_session"]), "--workers", str(options["workers"]),
            "--pool", options["pool"], "--victim", options["victim"],
            "--kill-one" if options["kill_one"] else "--no-kill",
            "--seed", str(options["seed"]), "--roster", str(options["roster"]),
            "--size", "x".join(map(str, options["size"])), "--timeout", str(options["timeout"]),
            "--shared", str(shared)] + (
        ["--keep-logs", str(options["keep_logs"].resolve())] if options["keep_logs"] else [])
