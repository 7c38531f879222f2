"""python manage.py benchmark_speed BENCH_DIR: seconds per stage, against face_recognition's recipe."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attendance import speed


class Command(BaseCommand):
    help = ("Time the worker's pipeline stage by stage on a folder made by make_classroom.py, and "
            "face_recognition's usual recipe on the same photos. The last line is one JSON object.")

    def add_arguments(self, parser):
        parser.add_argument("bench", type=Path)
        parser.add_argument("--no-reference", action="store_true", help="skip face_recognition's recipe")

    def handle(self, bench, no_reference, **options):
        if not (bench / "truth.json").is_file():
            raise CommandError(f"{bench} has no truth.json; make one with make_classroom.py.")
        result = speed.run(bench, reference=not no_reference, report=self.stdout.write)
        self.stdout.write(
            f"median per photo: ours {result['seconds_per_photo']:.2f} s, face_recognition "
            f"{result['reference_seconds_per_photo']} s, speedup {result['speedup']}; "
            f"peak memory {result['peak_rss_mb']} MB; enrolment {result['enrolment_photos_per_second']} photos/s; "
            f"1 probe vs 100,000 descriptors {result['gallery_100k_search_ms']} ms")
        self.stdout.write(json.dumps(result))
