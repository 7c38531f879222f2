"""The load benchmark, small: 2 teachers upload 2 photos each at once through a real web
server to 2 real Celery workers, then again with one worker SIGKILLed half way."""
import io
import json

import pytest
from django.core.management import call_command

from .conftest import CLASSROOM_TOOL


@pytest.mark.worker
@pytest.mark.benchmark
def test_every_photo_done_and_every_record_once_also_with_a_worker_killed(faces_dir):
    if not CLASSROOM_TOOL.is_file():
        pytest.skip(f"make_classroom.py not found at {CLASSROOM_TOOL}")
    out = io.StringIO()
    call_command("benchmark_load", "--teachers", "2", "--photos-per-teacher", "2", "--workers", "2",
                 "--roster", "8", "--size", "960x540", "--timeout", "300", "--shared", str(faces_dir.parent),
                 stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert [r["round"] for r in result["rounds"]] == ["all workers", "one worker killed"]
    for figures in result["rounds"]:
        assert figures["uploaded"] == figures["done"] == figures["photos"] == 4
        assert figures["failed"] == figures["unfinished"] == 0
        # One session per teacher (2 photos each), one record per student of its roster.
        assert figures["sessions"] == 2 and figures["records"] == figures["records_expected"] == sum(result["rosters"])
        assert figures["records_doubled"] == figures["records_missing"] == figures["records_of_other_classes"] == 0
        assert figures["records_exact"] and figures["records_recount_equal"]
        assert figures["seconds_to_last_done"] > 0 and figures["photos_per_minute"] > 0
    first, killed = result["rounds"]
    assert first["reprocessed_photos"] == 0 and "killed" not in first
    # The killed worker was in the middle of a photo: it was processed again, once, and
    # the round ended with the same records as the first (the same photos).
    assert killed["killed"]["photo"] is not None
    assert killed["killed"]["photo_status"] == "done" and killed["killed"]["attempts"] == 2
    assert killed["reprocessed_photos"] == 1
    assert killed["same_records_as_round_1"]
    assert killed["faces"] == first["faces"]
    assert "| records doubled / missing | 0 / 0 | 0 / 0 |" in out.getvalue()


def test_reads_which_message_finished_a_killed_photo_from_the_worker_logs():
    from attendance.benchmarks.load_rounds import _log_time, _task_that_finished, photo_seconds

    logs = "\n".join([
        "[2026-11-30 03:39:16,265: INFO/MainProcess] Task attendance.tasks.process_class_photo_task[aaa] received",
        "[2026-11-30 03:39:17,579: ERROR/MainProcess] Process 'ForkPoolWorker-2' pid:21689 exited with 'signal 9'",
        "[2026-11-30 03:40:03,467: INFO/MainProcess] Task attendance.tasks.process_class_photo_task[aaa] received",
        "[2026-11-30 03:40:09,947: INFO/MainProcess] Task attendance.tasks.process_class_photo_task[bbb] received",
        "[2026-11-30 03:40:09,969: INFO/ForkPoolWorker-3] Task attendance.tasks.process_class_photo_task[bbb] "
        "succeeded in 0.01s: 'processing'",
        "2026-11-30 03:40:10,288 INFO attendance.registers.recognition class photo 31 of session 16: 30 faces, 19 matched, "
        "6.74 s",
        "[2026-11-30 03:40:10,288: INFO/ForkPoolWorker-4] class photo 31 of session 16: 30 faces, 19 matched, 6.74 s",
        "[2026-11-30 03:40:10,289: INFO/ForkPoolWorker-4] Task attendance.tasks.process_class_photo_task[aaa] "
        "succeeded in 6.81s: 'done'",
    ])
    # The task that finished photo 31 is the one first received before the kill.
    assert _task_that_finished(logs, 31) == _log_time("2026-11-30 03:39:16,265")
    assert _task_that_finished(logs, 32) is None
    # Each completed run counted once (the plain-format line, not Celery's copy of it).
    assert photo_seconds(logs, {31}) == {31: [6.74]}
