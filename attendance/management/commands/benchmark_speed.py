"""python manage.py benchmark_speed BENCH_DIR [BENCH_DIR ...] [--held-back BENCH_DIR ...]:
seconds per stage, against face_recognition's recipe and the "hog" detector."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attendance.benchmarks import speed

from ._isolated import is_isolated, run_isolated


def table(results: dict[str, dict], held_back: set[str]) -> list[str]:
    """Markdown rows, one per benchmark folder: ours, the recipe, speedup, CPU seconds (all
    threads) of ours, the recipe and the 'hog' detector's pipeline, recall new and old,
    detection seconds new and old, and the faces of each detection pass (per photo)."""
    lines = ["| set | photos | ours s | recipe s | speedup | CPU s ours / recipe / hog | recall | recall hog "
             "| detection s | detection s hog | passes (scale: faces) |", "|" + " --- |" * 11]
    for name, r in results.items():
        base, passes = r.get("baseline") or {}, []
        for photo in r.get("per_photo", []):
            passes.append(" ".join(f"{p['scale']:.2f}:{p['faces']}" for p in photo["new"].get("passes", [])))
        lines.append(f"| {name}{' (held back)' if name in held_back else ''} | {r['photos']} "
                     f"| {r['seconds_per_photo']:.3f} | {r['reference_seconds_per_photo']} | {r['speedup']} "
                     f"| {r.get('cpu_seconds_per_photo')} / {r.get('reference_cpu_seconds_per_photo')} / "
                     f"{base.get('cpu_seconds_per_photo')} "
                     f"| {r['recall']} | {base.get('recall')} | {r['median_seconds']['detection']:.3f} "
                     f"| {base.get('detection_seconds')} | {' / '.join(passes)} |")
    return lines


class Command(BaseCommand):
    help = ("Time the worker's pipeline stage by stage on folders made by make_classroom.py, "
            "face_recognition's usual recipe and the 'hog' detector (always at the finest scale) on the "
            "same photos. With one folder the last line is its JSON object; with several (or "
            "--held-back), a table and then one JSON object of every folder's. Runs on a throwaway "
            "SQLite database and media folder unless --in-this-database.")

    def add_arguments(self, parser):
        parser.add_argument("bench", type=Path, nargs="+", help="benchmark folders (the tuned ones)")
        parser.add_argument("--held-back", type=Path, nargs="*", default=[],
                            help="benchmark folders never looked at while tuning, reported as such")
        parser.add_argument("--no-reference", action="store_true", help="skip face_recognition's recipe")
        parser.add_argument("--no-baseline", action="store_true",
                            help="skip processing each photo again with the 'hog' detector")
        parser.add_argument("--workers", default="1,2",
                            help="worker process counts to measure photos per minute with (comma-separated; "
                                 "each processes every class photo 4 times); 0 to skip")
        parser.add_argument("--in-this-database", action="store_true",
                            help="use the configured database (to time its writes); creates and then deletes "
                                 "a temporary class, but its photos meet the school's in duplicate checks meanwhile")

    def handle(self, bench, held_back, no_reference, no_baseline, in_this_database, workers, **options):
        folders = list(bench) + list(held_back)
        for folder in folders:
            if not (folder / "truth.json").is_file():
                raise CommandError(f"{folder} has no truth.json; make one with make_classroom.py.")
        try:
            processes = tuple(int(n) for n in workers.split(",") if int(n) > 0)
        except ValueError:
            raise CommandError(f"--workers takes numbers separated by commas, not {workers!r}.")
        arguments = (["--workers", workers] + (["--no-reference"] if no_reference else [])
                   + (["--no-baseline"] if no_baseline else []))
        if not in_this_database and not is_isolated():
            if len(folders) == 1:
                return run_isolated(self, ["benchmark_speed", str(folders[0]), *arguments])
            return self._table_of_isolated_runs(bench, held_back, arguments)
        results = {}
        for folder in folders:
            if len(folders) > 1:
                self.stdout.write(f"== {folder}{' (held back)' if folder in held_back else ''}")
            try:
                result = speed.run(folder, reference=not no_reference, report=self.stdout.write,
                                   worker_processes=processes, baseline=not no_baseline)
            except (KeyError, ValueError, TypeError) as exc:
                raise CommandError(f"{folder}/truth.json is not a benchmark made by make_classroom.py ({exc}).")
            self.stdout.write(
                f"median per photo: ours {result['seconds_per_photo']:.2f} s, face_recognition "
                f"{result['reference_seconds_per_photo']} s, speedup {result['speedup']}; recall "
                f"{result['recall']} ({(result['baseline'] or {}).get('recall')} with the 'hog' detector); "
                f"peak memory {result['peak_rss_mb']} MB; enrolment {result['enrolment_photos_per_second']} "
                f"photos/s; 1 probe vs 100,000 descriptors {result['gallery_100k_search_ms']} ms; photos per "
                f"minute by worker processes {result['photos_per_minute']}")
            results[str(folder)] = result
        if len(folders) == 1:
            self.stdout.write(json.dumps(result))
        else:
            self._summary(bench, held_back, results)

    def _table_of_isolated_runs(self, bench, held_back, arguments):
        """Each folder in a fresh process of its own (so each peak memory is its own), then the table."""
        results = {}
        for folder in list(bench) + list(held_back):
            self.stdout.write(f"== {folder}{' (held back)' if folder in held_back else ''}")
            capture = _Capture(self.stdout)
            run_isolated(capture, ["benchmark_speed", str(folder), *arguments])
            results[str(folder)] = json.loads("".join(capture.written).strip().splitlines()[-1])
        self._summary(bench, held_back, results)

    def _summary(self, bench, held_back, results):
        for line in table(results, {str(folder) for folder in held_back}):
            self.stdout.write(line)
        self.stdout.write(json.dumps({"tuned": [str(f) for f in bench], "held_back": [str(f) for f in held_back],
                                      "results": results}))


class _Capture:
    """Stands for the command in ``run_isolated``: passes its output on and keeps it."""

    def __init__(self, out):
        self.stdout, self.out, self.written = self, out, []

    def write(self, text: str) -> None:
        self.out.write(text)
        self.written.append(text)
