"""python manage.py benchmark_speed BENCH_DIR: seconds per stage, against face_recognition's recipe."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attendance.benchmarks import speed

from ._isolated import is_isolated, run_isolated


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
        if not in_this_database and not is_isolated():
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
        run_isolated(self, ["benchmark_speed", str(bench), "--workers", workers]
                     + (["--no-reference"] if no_reference else []))
