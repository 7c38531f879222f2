"""The accuracy benchmark command, on a small real classroom and a small LFW layout."""
import io
import json
import shutil
import subprocess
import sys

import pytest
from django.core.management import call_command

from .conftest import CLASSROOM_TOOL

pytestmark = pytest.mark.benchmark


@pytest.fixture(scope="module")
def small_classroom(faces_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("small_classroom")
    subprocess.run([sys.executable, str(CLASSROOM_TOOL), str(faces_dir / "identities"), str(out),
                    "--roster", "8", "--present", "6", "--strangers", "2", "--snapshots", "1",
                    "--width", "1280", "--height", "720", "--seed", "3"], check=True, capture_output=True)
    return out


def run(*args) -> tuple[list[str], dict]:
    out = io.StringIO()
    call_command("benchmark_accuracy", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    return lines, json.loads(lines[-1])


def test_scores_our_pipeline_and_the_reference_recipes(small_classroom):
    pytest.importorskip("face_recognition")
    lines, result = run(str(small_classroom))
    truth = json.loads((small_classroom / "truth.json").read_text())
    (snapshot,) = truth["snapshots"].values()
    assert result["present"] == len(snapshot["present"]) == 6
    assert result["recall"] == pytest.approx(result["found"] / 6, abs=1e-4)
    assert result["recall"] >= 5 / 6 and result["false_presents"] == 0
    assert result["recall_enrolled"] >= result["recall"]
    assert 0 <= result["review_rate"] <= 1 and result["faces"] >= 6
    assert set(result["reference"]) == {"first_match_0.6", "nearest_0.6"}
    assert all(0 <= r["recall"] <= 1 for r in result["reference"].values())
    assert any(line.startswith("ours: recall") for line in lines)
    # Every miss has a cause.
    assert sum(result["misses"].values()) == result["present"] - result["found"]


def test_threshold_override_changes_the_outcome(small_classroom):
    _, strict = run(str(small_classroom), "--no-reference", "--threshold", "0.2")
    assert strict["recall"] == 0.0 and strict["settings"]["threshold"] == 0.2
    # At 0.2 no face is near enough to its own student: every face found is "too far".
    assert strict["misses"]["too_far"] >= 5
    assert strict["misses"]["too_far"] + strict["misses"]["no_face_found"] == strict["present"]


def test_lfw_pairs_on_photos_in_lfw_layout(tmp_path, faces_dir):
    for name, number, source in [("Barack_Obama", 1, "Barack_Obama/1.jpg"), ("Barack_Obama", 2, "Barack_Obama/2.jpg"),
                                 ("Joe_Biden", 1, "Joe_Biden/1.jpg")]:
        (tmp_path / name).mkdir(exist_ok=True)
        shutil.copy(faces_dir / "identities" / source, tmp_path / name / f"{name}_{number:04d}.jpg")
    (tmp_path / "pairs.txt").write_text(
        "1\t1\nBarack_Obama\t1\t2\nBarack_Obama\t1\tJoe_Biden\t1\nNobody_Here\t1\t2\n")
    _, result = run("--lfw", str(tmp_path))
    assert result["lfw"] == {"pairs_evaluated": 2, "pairs_skipped": 1, "accuracy": 1.0}


def test_a_term_of_sessions_with_learning_and_a_simulated_teacher(faces_dir, tmp_path):
    """Issue 13's benchmark on a small term: 3 sessions of one class, photos never shown twice."""
    subprocess.run([sys.executable, str(CLASSROOM_TOOL), str(faces_dir / "identities"), str(tmp_path),
                    "--roster", "8", "--present", "6", "--strangers", "2", "--snapshots", "3", "--distinct",
                    "--width", "1280", "--height", "720", "--seed", "5"], check=True, capture_output=True)
    lines, result = run(str(tmp_path), "--term", "--setting", "TEMPLATE_MAX_PER_STUDENT=3")
    assert [line.split(" (")[0] for line in lines if line.startswith("session ")] == [
        "session 1", "session 2", "session 3"]
    assert result["photos"] == 3 and len(result["sessions"]) == 3
    assert result["settings"]["TEMPLATE_MAX_PER_STUDENT"] == 3  # the override reached the throwaway run
    for row in result["sessions"]:
        assert row["present"] == 6 and 0 <= row["found"] <= 6 and row["teacher_actions"] >= 0
        assert row["recall"] == pytest.approx(row["found"] / 6, abs=1e-4)
        # Every miss has its cause in words.
        assert len(row["missed"]) == 6 - row["found"] and all(row["missed"].values())
    # The teacher's corrected registers teach the gallery, never from the wrong person.
    assert result["templates_learnt"] > 0 and result["templates_wrong"] == 0
    assert result["sessions"][-1]["gallery_templates"] <= 8 * 3
    assert result["recall_session_1"] == result["sessions"][0]["recall"]
