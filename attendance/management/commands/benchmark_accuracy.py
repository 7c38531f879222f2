"""python manage.py benchmark_accuracy BENCH_DIR: recall, false presents and review rate;
with --term, a term of sessions with learning and a simulated teacher (issue 13)."""
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from attendance.benchmarks import accuracy, term

from ._isolated import is_isolated, run_isolated


class Command(BaseCommand):
    help = ("Score the recognition pipeline (and face_recognition's recipes) on a folder made by "
            "make_classroom.py. The last line is one JSON object.")

    def add_arguments(self, parser):
        parser.add_argument("bench", type=Path, nargs="?", help="folder with enrol/, classes/ and truth.json")
        parser.add_argument("--lfw", type=Path, help="folder with LFW's pairs.txt (and the LFW photos, if present)")
        parser.add_argument("--no-reference", action="store_true", help="skip face_recognition's recipes")
        parser.add_argument("--threshold", type=float, help="override FACE_MATCH_THRESHOLD for this run")
        parser.add_argument("--margin", type=float, help="override FACE_MATCH_MARGIN for this run")
        parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                            help="override any setting for this run, e.g. TEMPLATE_MAX_PER_STUDENT=5 (repeatable)")
        parser.add_argument("--term", action="store_true",
                            help="run the class photos (make_classroom.py --snapshots N --distinct) as N consecutive "
                                 "sessions of one class, learning from each register a simulated teacher corrects "
                                 "from truth.json and confirms; on a throwaway database")

    def handle(self, bench, lfw, no_reference, threshold, margin, setting, term, **options):
        if bench is None and lfw is None:
            raise CommandError("Give a benchmark folder, --lfw DIR, or both.")
        overrides = dict(parse_setting(item) for item in setting)
        if threshold is not None:
            overrides["FACE_MATCH_THRESHOLD"] = threshold
        if margin is not None:
            overrides["FACE_MATCH_MARGIN"] = margin
        if term:
            if bench is None or not (bench / "truth.json").is_file():
                raise CommandError("--term needs a benchmark folder with truth.json (make_classroom.py --distinct).")
            if not is_isolated():
                return run_isolated(self, ["benchmark_accuracy", str(bench), "--term"]
                                    + [f"--setting={name}={value}" for name, value in overrides.items()])
        # For this run only: the process's settings are as they were afterwards.
        with override_settings(**overrides):
            self._run(bench, lfw, no_reference, term)

    def _run(self, bench, lfw, no_reference, term):
        if term:
            return self._term(bench)
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
            self.stdout.write("by face width: " + "; ".join(
                f"{band} {figures['recall']:.1%} ({figures['found']}/{figures['present']}), "
                f"{figures['false_presents']} false present, {figures['review']} to review"
                if figures["recall"] is not None else
                f"{band} no present student, {figures['false_presents']} false present, {figures['review']} to review"
                for band, figures in result["by_width"].items()))
            for name, figures in result.get("reference", {}).items():
                self.stdout.write(f"face_recognition {name}: recall {figures['recall']:.1%}, "
                                  f"false presents {figures['false_presents']}")
        if lfw is not None:
            if not (lfw / "pairs.txt").is_file():
                raise CommandError(f"{lfw} has no pairs.txt.")
            result["lfw"] = accuracy.lfw_verification(lfw)
            self.stdout.write(f"LFW: {result['lfw']}")
        self.stdout.write(json.dumps(result))

    def _term(self, bench):
        try:
            result = term.run(bench, report=self.stdout.write)
        except (KeyError, ValueError, TypeError) as exc:
            raise CommandError(f"{bench}/truth.json is not a benchmark made by make_classroom.py ({exc}).")
        result["settings"] = {name: getattr(settings, name) for name in TERM_SETTINGS}
        self.stdout.write(
            f"term: machine recall by session {', '.join(f'{r:.1%}' for r in result['recall_by_session'])}; "
            f"false presents {result['false_presents_per_photo']} per photo; teacher actions "
            f"{result['teacher_actions_per_photo']} per photo; templates learnt {result['templates_learnt']}, "
            f"from the wrong person {result['templates_wrong']}")
        self.stdout.write(json.dumps(result))


#: The settings a term's result reports.
TERM_SETTINGS = ["FACE_MATCH_THRESHOLD", "FACE_MATCH_MARGIN", "FACE_MATCH_THRESHOLD_TIGHTENING", "FACE_MIN_PROBE_PX",
                 "FACE_MIN_RELATIVE_WIDTH", "TEMPLATE_MAX_PER_STUDENT", "TEMPLATE_MIN_NOVELTY",
                 "TEMPLATE_MIN_FACE_PX", "TEMPLATE_LEARN_STRONG_MATCHES"]


def parse_setting(item: str) -> tuple:
    """``NAME=VALUE`` as ``(NAME, value)`` cast to the type of the setting's current value.

    Raises:
        CommandError: not NAME=VALUE, an unknown setting, or a value of the wrong type.
    """
    name, sep, value = item.partition("=")
    if not sep or not name.isupper() or not hasattr(settings, name):
        raise CommandError(f"--setting takes NAME=VALUE with an existing setting's name, not {item!r}.")
    current = getattr(settings, name)
    if isinstance(current, bool):
        return name, value.strip().lower() in ("1", "true", "yes", "on")
    try:
        return name, type(current)(value)
    except (TypeError, ValueError):
        raise CommandError(f"--setting {name}: {value!r} is not a {type(current).__name__}.")
