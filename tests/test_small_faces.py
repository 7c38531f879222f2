"""Small faces (issue 17): a small-face classroom made by make_classroom.py, the width
figures of ``benchmark_accuracy`` and the rule sending small faces not near enough to
their student to review, in words."""
import datetime
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from django.core.management import call_command

from attendance.models import ClassSession, DetectedFace
from attendance.registers.recognition import process_class_photo
from faces import find_faces
from faces.images import load_rgb
from faces.matching import MATCHED, SMALL_UNSURE, UNSURE, decide_faces

from .conftest import CLASSROOM_TOOL
from .factories import class_photo, enrolled_students, make_class


@pytest.fixture(scope="module")
def small_faces_classroom(faces_dir, tmp_path_factory):
    """8 enrolled, one 720 x 405 photo of 6 present and 1 stranger, tiles of 0.35-0.55 of a
    grid cell: faces of about 26-46 px, as in the README's small-face classrooms."""
    out = tmp_path_factory.mktemp("small_faces")
    subprocess.run([sys.executable, str(CLASSROOM_TOOL), str(faces_dir / "identities"), str(out),
                    "--roster", "8", "--present", "6", "--strangers", "1", "--snapshots", "1",
                    "--scale", "0.35", "0.55", "--width", "720", "--height", "405", "--seed", "4"], check=True, capture_output=True)
    return out


def benchmark(*args) -> tuple[list[str], dict]:
    out = io.StringIO()
    call_command("benchmark_accuracy", *args, "--no-reference", stdout=out)
    lines = out.getvalue().strip().splitlines()
    return lines, json.loads(lines[-1])


@pytest.mark.benchmark
def test_benchmark_reports_recall_false_presents_and_review_by_face_width(small_faces_classroom):
    lines, result = benchmark(str(small_faces_classroom))
    bands = result["by_width"]
    assert sum(b["present"] for b in bands.values()) == result["present"] == 6
    assert sum(b["found"] for b in bands.values()) == result["found"]
    assert sum(b["false_presents"] for b in bands.values()) == result["false_presents"]
    assert sum(b["review"] for b in bands.values()) == result["review_faces"]
    # A small-face classroom: at least 5 of the 6 present students' faces are under 48 px wide.
    assert sum(bands[name]["present"] for name in ("under 32 px", "32-39 px", "40-47 px")) >= 5
    assert any(line.startswith("by face width: under 32 px") for line in lines)
    assert result["settings"]["small_probe_px"] == 48 and result["settings"]["small_margin"] == 0.04


@pytest.mark.benchmark
def test_small_face_rule_sends_far_small_faces_to_review_instead_of_matching_them(small_faces_classroom):
    _, before = benchmark(str(small_faces_classroom), "--setting", "FACE_SMALL_PROBE_PX=0")
    # No face has the next student 10 further (descriptors are about 1 long).
    _, after = benchmark(str(small_faces_classroom), "--setting", "FACE_SMALL_PROBE_PX=48",
                         "--setting", "FACE_SMALL_MATCH_MARGIN=10")
    small = ("under 32 px", "32-39 px", "40-47 px")
    assert sum(before["by_width"][name]["found"] for name in small) >= 4
    # Faces under 48 px are sent to review rather than matched; wider ones are untouched.
    assert all(after["by_width"][name]["found"] == 0 for name in small)
    assert after["by_width"]["48 px and over"] == before["by_width"]["48 px and over"]
    assert after["found"] == before["by_width"]["48 px and over"]["found"] and after["false_presents"] == 0
    assert after["review_faces"] >= before["review_faces"] + sum(before["by_width"][name]["found"] for name in small)
    assert after["settings"]["small_probe_px"] == 48 and after["settings"]["small_margin"] == 10


@pytest.mark.engine
def test_decide_faces_holds_back_only_small_faces_beyond_the_small_threshold(photo):
    """Real descriptors: Obama and Biden in one photo against their enrolment photos."""
    def describe(relative):
        return find_faces(load_rgb(photo(relative).read_bytes()), upsample=1)

    gallery = np.array([describe(f"identities/{name}/1.jpg")[0].descriptor for name in ("Barack_Obama", "Joe_Biden")])
    faces = describe("groups/obama_and_biden.jpg")
    probes = np.array([f.descriptor for f in faces])
    widths = [f.box.width for f in faces]
    plain = decide_faces(probes, widths, gallery, ["Obama", "Biden"], threshold=0.6)
    matched = [i for i, m in enumerate(plain) if m.decision == MATCHED]
    assert {plain[i].label for i in matched} == {"Obama", "Biden"}
    # The nearer face keeps its student under a threshold between the two distances; the
    # farther goes to review with its student and the reason. Faces wider than the rule's
    # width are untouched.
    near, far = sorted(matched, key=lambda i: plain[i].distance)
    between = (plain[near].distance + plain[far].distance) / 2
    ruled = decide_faces(probes, widths, gallery, ["Obama", "Biden"], threshold=0.6,
                         small_width=max(widths) + 1, small_threshold=between)
    assert ruled[near] == plain[near]
    assert (ruled[far].decision, ruled[far].label, ruled[far].reason) == (UNSURE, plain[far].label, SMALL_UNSURE)
    narrow = decide_faces(probes, widths, gallery, ["Obama", "Biden"], threshold=0.6,
                          small_width=min(widths), small_threshold=0.0)
    assert narrow == plain
    # A small face also needs the next student further than the small margin.
    gap = plain[near].runner_up_distance - plain[near].distance
    close = decide_faces(probes, widths, gallery, ["Obama", "Biden"], threshold=0.6,
                         small_width=max(widths) + 1, small_margin=gap + 0.01)
    assert (close[near].decision, close[near].label, close[near].reason) == (UNSURE, plain[near].label, SMALL_UNSURE)
    assert decide_faces(probes, widths, gallery, ["Obama", "Biden"], threshold=0.6,
                        small_width=max(widths) + 1, small_margin=gap - 0.01)[near] == plain[near]


@pytest.fixture
def obama_biden_class(users, photo):
    students = enrolled_students(photo)
    school_class = make_class(users["teacher"], students=students.values())
    session = ClassSession.objects.create(school_class=school_class, date=datetime.date(2026, 11, 2), period="1")
    return session, students


def test_small_faces_not_near_enough_go_to_review_in_words(obama_biden_class, photo, settings):
    settings.FACE_SMALL_PROBE_PX = 10_000  # every face counts as small
    settings.FACE_SMALL_MATCH_MARGIN = 10.0  # no face is that clearly nearest
    session, students = obama_biden_class
    stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
    process_class_photo(stored.pk)
    faces = [f for f in stored.faces.all() if f.decision != DetectedFace.UNKNOWN]  # a bystander is unknown
    assert {f.student.name for f in faces} == {"Barack Obama", "Joe Biden"}
    for face in faces:
        assert face.decision == DetectedFace.UNSURE
        assert face.reason == f"Too small to recognise for sure ({face.width} pixels wide): ask the teacher."
    assert set(session.records.values_list("status", flat=True)) == {"absent"}
