"""The speed benchmark command on a small real classroom (figures are printed, not asserted)."""
import io
import json
import subprocess
import sys

import pytest
from django.core.management import call_command

from attendance.models import ClassPhoto, EnrolmentPhoto, SchoolClass
from .conftest import CLASSROOM_TOOL

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.benchmark]


def test_prints_stage_times_and_cleans_up(faces_dir, tmp_path, settings):
    subprocess.run([sys.executable, str(CLASSROOM_TOOL), str(faces_dir / "identities"), str(tmp_path),
                    "--roster", "6", "--present", "4", "--strangers", "1", "--snapshots", "1",
                    "--width", "960", "--height", "540", "--seed", "2"], check=True, capture_output=True)
    out = io.StringIO()
    call_command("benchmark_speed", str(tmp_path), stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    stages = result["median_seconds"]
    assert stages["total"] >= stages["detection"] + stages["descriptors"] > 0
    assert result["reference_seconds_per_photo"] > 0
    assert result["speedup"] == pytest.approx(result["reference_seconds_per_photo"] / result["seconds_per_photo"], rel=0.01)
    assert 0 < result["recall"] <= 1 and result["peak_rss_mb"] > 50
    assert result["enrolment_photos_per_second"] > 0 and result["gallery_100k_search_ms"] > 0
    # Per photo, the configured detector's passes and both detectors' detection recall,
    # and the same photos processed with the "hog" detector in the same run.
    assert result["detector"] == "hog-coarse-to-fine" and result["baseline"]["detector"] == "hog"
    assert 0 < result["baseline"]["recall"] <= 1 and result["baseline"]["seconds_per_photo"] > 0
    (photo,) = result["per_photo"]
    passes = photo["new"]["passes"]
    assert passes and all(p["scale"] > 0 and p["seconds"] > 0 for p in passes)
    assert sum(p["new"] for p in passes) == photo["new"]["faces"] >= photo["new"]["found"] >= 4
    assert photo["new"]["truth"] == photo["old"]["truth"] == 5 and photo["old"]["found"] >= 4
    assert "x" in out.getvalue() and "truth faces" in out.getvalue()
    # Every copy was processed (the run raises otherwise) by 1 and by 2 worker processes.
    assert set(result["photos_per_minute"]) == {"1", "2"}
    assert all(rate > 0 for rate in result["photos_per_minute"].values())
    # The temporary class, its students and photos are gone again.
    assert not SchoolClass.objects.exists() and not EnrolmentPhoto.objects.exists()
    assert not ClassPhoto.objects.exists()


def test_tuned_and_held_back_sets_side_by_side(faces_dir, tmp_path):
    folders = []
    for seed in (2, 3):
        folder = tmp_path / f"seed-{seed}"
        subprocess.run([sys.executable, str(CLASSROOM_TOOL), str(faces_dir / "identities"), str(folder),
                        "--roster", "4", "--present", "3", "--strangers", "1", "--snapshots", "1",
                        "--width", "640", "--height", "360", "--seed", str(seed)], check=True, capture_output=True)
        folders.append(folder)
    out = io.StringIO()
    call_command("benchmark_speed", str(folders[0]), "--held-back", str(folders[1]), "--workers", "0",
                 "--no-reference", stdout=out)
    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["tuned"] == [str(folders[0])] and summary["held_back"] == [str(folders[1])]
    assert set(summary["results"]) == {str(f) for f in folders}
    rows = [line for line in lines if line.startswith(f"| {tmp_path}")]
    assert rows[0].startswith(f"| {folders[0]} |") and rows[1].startswith(f"| {folders[1]} (held back) |")
