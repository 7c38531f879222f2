"""python manage.py benchmark_accuracy BENCH_DIR: recall, false presents and review rate."""
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from attendance import accuracy


class Command(BaseCommand):
    help = ("Score the recognition pipeline (and face_recognition's recipes) on a folder made by "
            "make_classroom.py. The last line is one JSON object.")

    def add_arguments(self, parser):
        parser.add_argument("bench", type=Path, nargs="?", help="folder with enrol/, classes/ and truth.json")
        parser.add_argument("--lfw", type=Path, help="folder with LFW's pairs.txt (and the LFW photos, if present)")
        parser.add_argument("--no-reference", action="store_true", help="skip face_recognition's recipes")
        parser.add_argument("--threshold", type=float, help="override FACE_MATCH_THRESHOLD for this run")
        parser.add_argument("--margin", type=float, help="override FACE_MATCH_MARGIN for this run")

    def handle(self, bench, lfw, no_reference, threshold, margin, **options):
        if bench is None and lfw is None:
            raise CommandError("Give a benchmark folder, --lfw DIR, or both.")
        if threshold is not None:
            settings.FACE_MATCH_THRESHOLD = threshold
        if margin is not None:
            settings.FACE_MATCH_MARGIN = margin
        result = {}
        if bench is not None:
            if not (bench / "truth.json").is_file():
                raise CommandError(f"{bench} has no truth.json; make one with make_classroom.py.")
            try:
                result = accuracy.run(bench, reference=not no_reference)
            except (KeyError, ValueError, TypeError) as exc:
                raise CommandError(f"{bench}/truth.json is not a benchmark made by make_classroom.py ({exc}).")
            for item in result["details"]:
                missed = [f"{name} ({item['miss_reasons'].get(name, '?')})" for name in item["missed"]]
                self.stdout.write(
                    f"{item['photo']}: {item['faces']} faces, {item['review']} to review; "
                    f"missed {', '.join(missed) or 'nobody'}; "
                    f"false present {', '.join(item['false_present']) or 'nobody'}")
            self.stdout.write(
                f"ours: recall {result['recall']:.1%} ({result['found']}/{result['present']}; "
                f"{result['recall_enrolled']:.1%} of those enrolled), "
                f"false presents {result['false_presents']}, review rate {result['review_rate']:.1%}; "
                f"enrolment {result['enrolment']}; misses by cause {result['misses']}")
            for name, figures in result.get("reference", {}).items():
                self.stdout.write(f"face_recognition {name}: recall {figures['recall']:.1%}, "
                                  f"false presents {figures['false_presents']}")
        if lfw is not None:
            if not (lfw / "pairs.txt").is_file():
                raise CommandError(f"{lfw} has no pairs.txt.")
            result["lfw"] = accuracy.lfw_verification(lfw)
            self.stdout.write(f"LFW: {result['lfw']}")
        self.stdout.write(json.dumps(result))
