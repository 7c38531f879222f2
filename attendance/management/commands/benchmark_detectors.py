"""python manage.py benchmark_detectors BENCH_DIR: seconds and faces found per face detector."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attendance.benchmarks import detectors


class Command(BaseCommand):
    help = ("Time each face detector (HOG, the MMOD CNN in numpy, optionally dlib's own MMOD) on the class "
            "photos of a folder made by make_classroom.py and count the truth faces each finds. The last "
            "line is one JSON object.")

    def add_arguments(self, parser):
        parser.add_argument("bench", type=Path)
        parser.add_argument("--runs", default="hog/1,hog/2,mmod/0,mmod/1",
                            help="detector/upsample pairs, comma-separated; detectors: "
                                 f"{', '.join(detectors.DETECTORS)} (dlib-mmod takes 30-150 s per 1080p photo)")
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--repeat", type=int, default=3, help="runs per photo, the best kept (dlib-mmod: 1)")

    def handle(self, bench, runs, threads, repeat, **options):
        if not (bench / "truth.json").is_file():
            raise CommandError(f"{bench} has no truth.json; make one with make_classroom.py.")
        try:
            pairs = [(name, int(up)) for name, up in (item.split("/") for item in runs.split(","))]
        except ValueError:
            raise CommandError(f"--runs takes detector/upsample pairs such as mmod/0, not {runs!r}.")
        unknown = sorted({name for name, _ in pairs} - set(detectors.DETECTORS))
        if unknown:
            raise CommandError(f"Unknown detector {unknown[0]!r}; use {', '.join(detectors.DETECTORS)}.")
        result = detectors.run(bench, pairs, threads=threads, repeat=max(1, repeat), report=self.stdout.write)
        for key, figures in result["summary"].items():
            self.stdout.write(f"{key}: median {figures['median_seconds']} s per photo, recall "
                              f"{figures['recall']:.1%}, {figures['false']} false boxes")
        self.stdout.write(f"peak memory of this process: {result['peak_rss_mb']} MB")
        self.stdout.write(json.dumps(result))
