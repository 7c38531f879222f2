"""The load benchmark: teachers uploading class photos at once through the web views,
processed by real Celery worker processes, then the same with one worker killed half way.

``run`` works in a process whose settings already point at a throwaway database, media
folder and Redis queue (``manage.py benchmark_load`` sets them up with
``load_setup.throwaway_database`` and ``load_setup.private_broker``, and removes them
afterwards). It starts the web server (``manage.py runserver``, as ``runapp`` does) and the
Celery workers as subprocesses of this one (``load_processes``), signs each teacher in
through the login form in a thread of its own, uploads through the upload form and reads
the outcome from the database (``load_rounds``)."""
import contextlib
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from django.conf import settings

from attendance.models import AttendanceRecord, SchoolClass, Student
from attendance.benchmarks.load_setup import LoadError, make_classrooms, set_up_school, wait_for_enrolment
from attendance.benchmarks.load_processes import WebServer, Workers
from attendance.benchmarks.load_rounds import run_round


#: The days of the two rounds (any dates: the database is thrown away).
ROUND_DAYS = (date(2030, 3, 4), date(2030, 3, 5))


def run(shared: Path, teachers: int = 5, photos_per_teacher: int = 4, photos_per_session: int = 2,
        workers: int = 2, kill: bool = True, pool: str = "solo", seed: int = 1, roster: int = 30,
        size: tuple[int, int] = (1920, 1080), timeout: float = 900, report=print, folder: Path | None = None,
        keep_logs: Path | None = None, victim: str = "plain") -> dict:
    """Set up the school, start the server and workers, run the rounds; returns the figures.

    Round 1: every teacher uploads at once, all workers running. Round 2 (``kill``): the
    same photos again as new sessions, and one worker process SIGKILLed when half are
    done. Times are in seconds from the first upload's start. Must run on a throwaway
    database (it creates accounts ``teacher1``...). ``shared`` holds ``faces/identities``
    and ``tools/make_classroom.py``.

    Raises:
        LoadError: a process did not start, a page refused, enrolment did not finish.
        subprocess.CalledProcessError: make_classroom.py failed.
    """
    if SchoolClass.objects.exists() or Student.objects.exists():
        raise LoadError("benchmark_load needs an empty database (it runs on a throwaway one)")
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="attendance-load-")))
        started = time.monotonic()
        folders = make_classrooms(shared / "tools" / "make_classroom.py", shared / "faces" / "identities",
                                  folder / "classrooms", teachers, photos_per_teacher, seed, roster, size)
        report(f"made {teachers} classrooms of {photos_per_teacher} photos in {time.monotonic() - started:.1f} s")
        pool_of_workers = Workers(folder, workers, pool, victim)
        server = WebServer(folder)
        if keep_logs:
            stack.callback(_copy_logs, folder, keep_logs)
        stack.callback(pool_of_workers.stop)
        stack.callback(server.stop)
        pool_of_workers.start()
        server.start()
        report(f"started {server.url} and {workers} worker processes ({pool})")
        started = time.monotonic()
        people = set_up_school(folders)
        enrolment = wait_for_enrolment(timeout)
        report(f"enrolled {Student.objects.count()} students in {time.monotonic() - started:.1f} s: {dict(enrolment)}")
        result = {"teachers": teachers, "photos_per_teacher": photos_per_teacher,
                  "photos_per_session": photos_per_session, "workers": workers, "pool": pool, "victim": victim,
                  "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                  "photo_size": f"{size[0]}x{size[1]}", "rosters": [t.roster_size for t in people],
                  "enrolment": dict(enrolment), "cores": os.cpu_count(), "rounds": []}
        for number, with_kill in enumerate([False, True] if kill else [False]):
            report(f"round {number + 1}: {teachers} teachers upload {photos_per_teacher} photos each at once"
                   + (", one worker process killed half way" if with_kill else ""))
            figures = run_round(server, pool_of_workers, people, ROUND_DAYS[number], photos_per_session,
                                with_kill, timeout, report)
            figures["round"] = "one worker killed" if with_kill else "all workers"
            result["rounds"].append(figures)
        if len(result["rounds"]) == 2:
            result["rounds"][1]["same_records_as_round_1"] = _same_records(people, *ROUND_DAYS)
    return result


def _copy_logs(folder: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.log"):
        (target / path.name).write_bytes(path.read_bytes())


def _same_records(teachers, first: date, second: date) -> bool:
    """Whether the second round's records equal the first's (the same photos were uploaded)."""
    def records(day):
        return sorted(AttendanceRecord.objects.filter(
            session__date=day, session__school_class_id__in=[t.class_id for t in teachers]
        ).values_list("session__school_class_id", "session__period", "student_id", "status"))
    return records(first) == records(second)


FIGURES = [
    ("photos uploaded / done / failed / unfinished", lambda r: f"{r['uploaded']} / {r['done']} / {r['failed']} / "
                                                              f"{r['unfinished']}"),
    ("upload seconds (first upload start to last response)", lambda r: f"{r['upload_seconds']:.2f}"),
    ("seconds until the last photo was done", lambda r: f"{r['seconds_to_last_done']}"),
    ("photos per minute", lambda r: f"{r.get('photos_per_minute')}"),
    ("seconds per photo in a worker: median (min-max)",
     lambda r: (f"{r['worker_seconds_per_photo']['median']} ({r['worker_seconds_per_photo']['min']}-"
                f"{r['worker_seconds_per_photo']['max']})" if r.get("worker_seconds_per_photo") else "-")),
    ("records / expected (roster x sessions)", lambda r: f"{r['records']} / {r['records_expected']}"),
    ("records doubled / missing", lambda r: f"{r['records_doubled']} / {r['records_missing']}"),
    ("records equal a fresh recount", lambda r: "yes" if r["records_recount_equal"] else "NO"),
    ("photos started again / completed twice", lambda r: f"{r['reprocessed_photos']} / {r['photos_completed_twice']}"),
    ("recall (present marked present)", lambda r: f"{r['recall']}"),
    ("records equal round 1's (same photos)", lambda r: {True: "yes", False: "NO"}.get(r.get("same_records_as_round_1"),
                                                                                       "-")),
    ("killed at (s after first upload)", lambda r: f"{r['killed']['at_seconds']}" if "killed" in r else "-"),
    ("its photo finished by", lambda r: r.get("killed", {}).get("finished_by", "-")),
    ("its photo: copy sent by beat / started again / done (s after kill)",
     lambda r: (" / ".join(str(r["killed"].get(key)) for key in ("requeued_by_beat_after_kill_seconds",
                                                                 "restarted_after_kill_seconds",
                                                                 "done_after_kill_seconds"))
                if "killed" in r else "-")),
    ("CPU used in the round, in cores: benchmark / other users",
     lambda r: f"{r.get('cpu_cores_ours')} / {r.get('cpu_cores_others')}"),
]


def figure_table(result: dict) -> str:
    """The rounds side by side, as a Markdown table."""
    rounds = result["rounds"]
    lines = ["| figure | " + " | ".join(r["round"] for r in rounds) + " |",
             "| --- | " + " | ".join("---" for _ in rounds) + " |"]
    lines += [f"| {name} | " + " | ".join(show(r) for r in rounds) + " |" for name, show in FIGURES]
    return "\n".join(lines)


def succeeded(result: dict) -> bool:
    """Every photo of every round done and every session's records exactly one per student."""
    return bool(result["rounds"]) and all(
        r["done"] == r["photos"] == r["uploaded"] and r["records_exact"] and r["records_recount_equal"]
        for r in result["rounds"])
