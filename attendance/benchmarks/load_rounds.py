"""One round of the load benchmark: every teacher uploads at once, one worker may be killed
half way, and the round is checked from the database and the workers' logs."""
import os
import re
import statistics
import threading
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path

from django.db import transaction
from django.db.models import Count

from attendance.models import AttendanceRecord, ClassPhoto, ClassSession, DetectedFace
from attendance.roster.zip_enrolment import folder_to_name
from attendance.registers.register import rematch_session
from attendance.benchmarks.load_processes import Browser, WebServer, Workers
from attendance.benchmarks.load_setup import LoadError, Teacher


#: Seconds between two looks at the database while photos are processed.
POLL_SECONDS = 0.1


def sessions_of(teacher: Teacher, per_session: int) -> list[tuple[str, list[Path]]]:
    """The teacher's photos grouped into sessions of ``per_session`` photos: Period 1, Period 2..."""
    return [(f"Period {number + 1}", teacher.photos[start:start + per_session])
            for number, start in enumerate(range(0, len(teacher.photos), per_session))]


def _teacher(server_url, teacher, day, per_session, barrier, uploads, errors) -> None:
    try:
        browser = Browser(server_url)
        browser.log_in(teacher.username, teacher.password)
        token = browser.upload_form_token(teacher.class_id)
        barrier.wait()
        for period, photos in sessions_of(teacher, per_session):
            started = time.time()
            browser.upload(teacher.class_id, token, day, period, photos)
            uploads.append((started, time.time()))
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(f"{teacher.username}: {exc}")
        barrier.abort()


def run_round(server: WebServer, workers: Workers, teachers: list[Teacher], day: date, per_session: int,
              kill: bool, timeout: float, report=print) -> dict:
    """All teachers sign in, then upload their photos at the same moment (each in a thread,
    sessions one after the other); waits until every photo is finished or ``timeout``
    seconds have passed. With ``kill``, SIGKILLs a worker process (see ``Workers``) when
    half the photos are done, while it is processing a photo. Returns the figures of
    ``check_round`` plus upload and processing seconds (from the first upload's start).

    Raises:
        LoadError: a teacher could not sign in or upload.
    """
    barrier = threading.Barrier(len(teachers) + 1)
    uploads, errors = [], []
    threads = [threading.Thread(target=_teacher, args=(server.url, t, day, per_session, barrier, uploads, errors))
               for t in teachers]
    for thread in threads:
        thread.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    cpu = CpuMeter([os.getpid(), server.process.pid], workers)
    expected = sum(len(t.photos) for t in teachers)
    class_ids = [t.class_id for t in teachers]
    photos = ClassPhoto.objects.filter(session__date=day, session__school_class_id__in=class_ids)
    killed, half_at = None, None
    deadline = time.monotonic() + timeout
    while True:
        if errors:
            break
        rows = list(photos.values("pk", "status", "claimed_by"))
        finished = sum(row["status"] in (ClassPhoto.DONE, ClassPhoto.FAILED) for row in rows)
        if kill and killed is None and finished * 2 >= expected:
            half_at = half_at or time.time()
            victim = next((row for row in rows if row["status"] == ClassPhoto.PROCESSING
                           and workers.may_kill(_pid(row["claimed_by"]))), None)
            if victim is not None or finished == expected or time.time() - half_at > 30:
                pid = _pid(victim["claimed_by"]) if victim else workers.idle_victim()
                cpu.sample()  # the killed process's CPU seconds so far stay counted as ours
                workers.kill(pid)
                killed = {"pid": pid, "photo": victim["pk"] if victim else None, "at": time.time()}
                time.sleep(0.5)
                killed["left_running"] = workers.survivors(pid)
                report(f"  killed worker process {pid} (SIGKILL) with {finished} of {expected} photos done, "
                       + (f"while it processed photo {victim['pk']}" if victim else "while it held no photo"))
        if len(rows) == expected and finished == expected and (killed or not kill):
            break
        if time.monotonic() > deadline:
            report(f"  timed out after {timeout:.0f} s: {finished} of {expected} photos finished")
            break
        time.sleep(POLL_SECONDS)
    cpu.sample()
    for thread in threads:
        thread.join()
    if errors:
        raise LoadError("; ".join(errors))

    started = min(start for start, _ in uploads)
    result = check_round(teachers, day, per_session)
    processed = [p for p in photos.values_list("processed_at", flat=True) if p is not None]
    result.update(
        teachers=len(teachers), photos=expected,
        upload_seconds=round(max(end for _, end in uploads) - started, 2),
        seconds_to_last_done=round(max(p.timestamp() for p in processed) - started, 2) if processed else None,
    )
    if result["seconds_to_last_done"] and result["done"]:
        result["photos_per_minute"] = round(60 * result["done"] / result["seconds_to_last_done"], 1)
    logs = workers.log_text()
    worker_seconds = photo_seconds(logs, set(photos.values_list("pk", flat=True)))
    result["worker_seconds_per_photo"] = _spread([s for runs in worker_seconds.values() for s in runs])
    result["photos_completed_twice"] = sum(len(runs) > 1 for runs in worker_seconds.values())
    if killed:
        result["killed"] = _recovery(killed, started, logs)
    result.update(cpu.cores())
    return result


class CpuMeter:
    """CPU used during a round, in cores (CPU seconds / wall seconds): by the benchmark's
    processes (this one, the web server, the workers and their pool and beat processes)
    and by everything else on the machine (other users). Linux only (reads /proc); else
    the figures are None."""

    def __init__(self, pids: list[int], workers: Workers):
        self.fixed, self.workers = pids, workers
        self.started, self.busy = time.monotonic(), _busy_seconds()
        self.first, self.last = {}, {}
        self.sample()
        self.first = dict(self.last)

    def sample(self) -> None:
        """Read the CPU seconds of every process of ours now (call before killing one)."""
        for pid in self.fixed + self.workers.pids():
            seconds = _process_seconds(pid)
            if seconds is not None:
                self.last[pid] = seconds

    def cores(self) -> dict:
        """``{"cpu_cores_ours": ..., "cpu_cores_others": ...}`` since the meter started."""
        busy, wall = _busy_seconds(), time.monotonic() - self.started
        if busy is None or self.busy is None or wall <= 0:
            return {"cpu_cores_ours": None, "cpu_cores_others": None}
        ours = sum(seconds - self.first.get(pid, 0.0) for pid, seconds in self.last.items())
        return {"cpu_cores_ours": round(ours / wall, 2),
                "cpu_cores_others": round(max(0.0, busy - self.busy - ours) / wall, 2)}


def _busy_seconds() -> float | None:
    """CPU seconds all cores of the machine spent busy since boot (/proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _process_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def photo_seconds(logs: str, photo_ids: set[int]) -> dict[int, list[float]]:
    """Seconds each photo's processing took in a worker (from start to records written),
    per completed run, read from the workers' logs ("class photo N of session S: ... X s")."""
    runs = {}
    for pk, seconds in re.findall(r"^\S+ \S+ INFO attendance.registers.recognition class photo (\d+) of session \d+: "
                                  r".*, ([\d.]+) s$", logs, re.MULTILINE):
        if int(pk) in photo_ids:
            runs.setdefault(int(pk), []).append(float(seconds))
    return runs


def _spread(values: list[float]) -> dict | None:
    """Median, smallest and largest of ``values``, rounded."""
    if not values:
        return None
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def _pid(claimed_by: str) -> int:
    pid = claimed_by.rpartition(":")[2]
    return int(pid) if pid.isdigit() else -1


def _recovery(killed: dict, started: float, logs: str) -> dict:
    """How the photo the killed process held came back: when (seconds after the kill) and by what.

    ``requeued_by_beat_after_kill_seconds``: when the beat's ``requeue_stalled_task`` sent a
    copy of its task (from the workers' logs). ``message_returned_at_once``: the worker's
    main process saw its pool process die (WorkerLostError) and, with reject_on_worker_lost,
    put the message back on the queue (at its back: kombu's Redis transport pushes a
    rejected message where new ones go). ``finished_by``: which of the two ran to the end
    (the task that finished the photo was received before the kill: the original message).
    """
    out = {"pid": killed["pid"], "photo": killed["photo"], "at_seconds": round(killed["at"] - started, 2),
           "left_running": killed["left_running"]}
    if killed["photo"] is None:
        return out
    photo = ClassPhoto.objects.get(pk=killed["photo"])
    out.update(photo_status=photo.status, attempts=photo.attempts)
    if photo.started_at:
        out["restarted_after_kill_seconds"] = round(photo.started_at.timestamp() - killed["at"], 2)
    if photo.processed_at:
        out["done_after_kill_seconds"] = round(photo.processed_at.timestamp() - killed["at"], 2)
    requeues = []
    for stamp, ids in re.findall(r"^(\S+ \S+) WARNING attendance.registers.recognition re-queued \d+ stalled class photos: "
                                 r"\[([\d, ]*)\]", logs, re.MULTILINE):
        if killed["photo"] in {int(pk) for pk in ids.replace(",", " ").split()}:
            requeues.append(_log_time(stamp) - killed["at"])
    after = [seconds for seconds in requeues if seconds > -1]
    out["requeued_by_beat_after_kill_seconds"] = round(min(after), 2) if after else None
    out["message_returned_at_once"] = "WorkerLostError" in logs
    task = _task_that_finished(logs, killed["photo"])
    if task is not None:
        out["finished_by"] = ("the original message, returned by the broker" if task < killed["at"]
                              else "the copy sent by the beat's re-queue")
    return out


def _log_time(stamp: str) -> float:
    """Seconds since the epoch of a log time stamp ("2026-11-30 03:39:16,265", local time)."""
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _task_that_finished(logs: str, photo_id: int) -> float | None:
    """When the task that finished ``photo_id`` was first received (seconds since the epoch),
    read from Celery's log lines: a process logs the photo, then its task's success."""
    received, last_photo = {}, {}
    pattern = re.compile(r"^\[(\S+ \S+): INFO/([^\]]+)\] (.*)$")
    for line in logs.splitlines():
        found = pattern.match(line)
        if not found:
            continue
        stamp, process, message = found.groups()
        task = re.match(r"Task attendance\.tasks\.process_class_photo_task\[([\w-]+)\] (received|succeeded)", message)
        photo = re.match(r"class photo (\d+) of session", message)
        if photo:
            last_photo[process] = int(photo.group(1))
        elif task and task.group(2) == "received":
            received.setdefault(task.group(1), _log_time(stamp))
        elif task and last_photo.pop(process, None) == photo_id:
            return received.get(task.group(1))
    return None


def check_round(teachers: list[Teacher], day: date, per_session: int) -> dict:
    """What the round left in the database: photos by status, records against rosters.

    ``records_exact`` is true when every session has exactly one record per student of its
    roster (none missing, none doubled, none of another class); ``records_recount_equal``
    when matching every session again from its stored faces gives the same records (no
    photo's faces were lost to a concurrent photo of the same session).
    """
    class_ids = [t.class_id for t in teachers]
    sessions = list(ClassSession.objects.filter(date=day, school_class_id__in=class_ids))
    photos = ClassPhoto.objects.filter(session__in=sessions)
    statuses = Counter(photos.values_list("status", flat=True))
    records = AttendanceRecord.objects.filter(session__in=sessions)
    doubled = records.values("session", "student").annotate(n=Count("pk")).filter(n__gt=1).count()
    missing = wrong = 0
    for session in sessions:
        roster = set(session.school_class.students.values_list("pk", flat=True))
        recorded = set(session.records.values_list("student_id", flat=True))
        missing += len(roster - recorded)
        wrong += len(recorded - roster)
    expected_records = sum(session.school_class.students.count() for session in sessions)
    truly, marked, found = _presence(teachers, sessions, per_session)
    return {
        "sessions": len(sessions),
        "uploaded": photos.count(),
        "done": statuses.get(ClassPhoto.DONE, 0),
        "failed": statuses.get(ClassPhoto.FAILED, 0),
        "unfinished": statuses.get(ClassPhoto.PENDING, 0) + statuses.get(ClassPhoto.PROCESSING, 0),
        "records": records.count(),
        "records_expected": expected_records,
        "records_doubled": doubled,
        "records_missing": missing,
        "records_of_other_classes": wrong,
        "records_exact": records.count() == expected_records and not (doubled or missing or wrong),
        "records_recount_equal": _recount_equal(sessions),
        "reprocessed_photos": photos.filter(attempts__gt=1).count(),
        "faces": DetectedFace.objects.filter(photo__session__in=sessions).count(),
        "recall": round(found / truly, 4) if truly else None,
        "marked_present": marked,
    }


def _presence(teachers, sessions, per_session) -> tuple[int, int, int]:
    """(students truly present, marked present, marked and truly present) over the sessions."""
    by_class = {t.class_id: t for t in teachers}
    truly = marked = found = 0
    for session in sessions:
        teacher = by_class[session.school_class_id]
        photos = dict(sessions_of(teacher, per_session))[session.period]
        present = {folder_to_name(name) for photo in photos for name in teacher.present[photo]}
        names = set(session.records.filter(status=AttendanceRecord.PRESENT).values_list("student__name", flat=True))
        truly, marked, found = truly + len(present), marked + len(names), found + len(present & names)
    return truly, marked, found


def _recount_equal(sessions) -> bool:
    def statuses():
        return sorted(AttendanceRecord.objects.filter(session__in=sessions).values_list("session", "student", "status"))

    with transaction.atomic():
        before = statuses()
        for session in sessions:
            rematch_session(session)
        after = statuses()
        transaction.set_rollback(True)
    return before == after
