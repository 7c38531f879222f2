"""The load benchmark, small: 2 teachers upload 2 photos each at once through a real web
server to 2 real Celery workers, then again with one worker SIGKILLed half way."""
import io
import json

import pytest
from django.core.management import call_command

from .conftest import CLASSROOM_TOOL

pytestmark = pytest.mark.worker


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
