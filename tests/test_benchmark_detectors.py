"""The detector benchmark command on a small real classroom (times are printed, not asserted)."""
import io
import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from attendance.benchmarks.detectors import score
from .conftest import CLASSROOM_TOOL

pytestmark = pytest.mark.benchmark


def test_a_face_counts_as_found_when_a_box_centre_lies_in_its_tile():
    tiles = {"Ann": [100, 100, 50, 50], "Bob": [300, 100, 50, 50]}
    # Ann's tile holds one box's centre, Bob's none; the third box is in no tile.
    boxes = [(110, 110, 140, 140), (190, 100, 260, 150), (0, 0, 10, 10)]
    assert score(boxes, tiles) == (1, 2)
    assert score([], tiles) == (0, 0)


def test_times_and_scores_each_detector(faces_dir, tmp_path):
    subprocess.run([sys.executable, str(CLASSROOM_TOOL), str(faces_dir / "identities"), str(tmp_path),
                    "--roster", "6", "--present", "4", "--strangers", "1", "--snapshots", "1",
                    "--width", "960", "--height", "540", "--seed", "2"], check=True, capture_output=True)
    out = io.StringIO()
    call_command("benchmark_detectors", str(tmp_path), "--runs", "hog/1,mmod/0", "--repeat", "1", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    (photo,) = result["photos"].values()
    assert photo["size"] == [960, 540] and photo["faces"] == 5
    for key in ("hog/1", "mmod/0"):
        assert photo[key]["seconds"] > 0 and 0 <= photo[key]["found"] <= 5
        assert result["summary"][key]["recall"] == photo[key]["found"] / 5
    # Faces of this small canvas (tiles of about 100 px) are found by HOG upsampled once.
    assert photo["hog/1"]["found"] >= 4 and photo["hog/1"]["false"] == 0
    assert result["peak_rss_mb"] > 50
    with pytest.raises(CommandError, match="Unknown detector"):
        call_command("benchmark_detectors", str(tmp_path), "--runs", "cnn/0")
