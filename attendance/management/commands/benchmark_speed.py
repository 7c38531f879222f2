"""python manage.py benchmark_speed BENCH_DIR: seconds per stage, against face_recognition's recipe."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from attendance import speed

ISOLATED = "ATTENDANCE_BENCHMARK_ISOLATED"


class Command(BaseCommand):
    help = ("Time the worker's pipeline stage by stage on a folder made by make_classroom.py, and "
            "face_recognition's usual recipe on the same photos. The last line is one JSON object. "
            "Runs on a throwaway SQLite database and media folder unless --in-this-database.")

    def add_arguments(self, parser):
        parser.add_argument("bench", type=Path)
        parser.add_argument("--no-reference", action="store_true", help="skip face_recognition's recipe")
        parser.add_argument("--workers", default="1,2",
                            help="worker process counts to measure photos per minute with (comma-separated; "
                                 "each processes every class photo 4 times); 0 to skip")
        parser.add_argument("--in-this-database", action="store_true",
                            help="use the configured database (to time its writes); creates and then deletes "
                                 "a temporary class, but its photos meet the school's in duplicate checks meanwhile")

    def handle(self, bench, no_reference, in_this_database, workers, **options):
        if not (bench / "truth.json").is_file():
            raise CommandError(f"{bench} has no truth.json; make one with make_classroom.py.")
        try:
            processes = tuple(int(n) for n in workers.split(",") if int(n) > 0)
        except ValueError:
            raise CommandError(f"--workers takes numbers separated by commas, not {workers!r}.")
        if not in_this_database and not os.environ.get(ISOLATED):
            return self._run_isolated(bench, no_reference, workers)
        try:
            result = speed.run(bench, reference=not no_reference, report=self.stdout.write,
                               worker_processes=processes)
        except (KeyError, ValueError, TypeError) as exc:
            raise CommandError(f"{bench}/truth.json is not a benchmark made by make_classroom.py ({exc}).")
        self.stdout.write(
            f"median per photo: ours {result['seconds_per_photo']:.2f} s, face_recognition "
            f"{result['reference_seconds_per_photo']} s, speedup {result['speedup']}; "
            f"peak memory {result['peak_rss_mb']} MB; enrolment {result['enrolment_photos_per_second']} photos/s; "
            f"1 probe vs 100,000 descriptors {result['gallery_100k_search_ms']} ms; photos per minute by "
            f"worker processes {result['photos_per_minute']}")
        self.stdout.write(json.dumps(result))

    def _run_isolated(self, bench, no_reference, workers):
        # A fresh process on a fresh database: the school's students and photos neither
        # slow the benchmark down nor see its photos.
        with tempfile.TemporaryDirectory(prefix="attendance-benchmark-") as folder:
            env = dict(os.environ, DATABASE_URL=f"sqlite:///{folder}/benchmark.sqlite3",
                       MEDIA_ROOT=f"{folder}/media", **{ISOLATED: "1"})
            manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
            subprocess.run(manage + ["migrate", "--verbosity", "0"], env=env, check=True)
            command = manage + ["benchmark_speed", str(bench), "--workers", workers] + (
                ["--no-reference"] if no_reference else [])
            completed = subprocess.run(command, env=env, capture_output=True, text=True)
        self.stdout.write(completed.stdout.rstrip("\n"))
        if completed.returncode != 0:
            raise CommandError(completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed")
