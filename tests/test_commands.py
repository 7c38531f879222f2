"""The command-line tools with --inline: same task functions, no worker."""
import io
import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from attendance.models import AttendanceRecord, SchoolClass
from faces.images import READABLE_FORMATS

from .conftest import CONSENT

# Transactional: the commands queue tasks on commit, as they do outside tests.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enrol_dir(tmp_path, photo):
    for folder, relative in [("Barack_Obama", "identities/Barack_Obama/1.jpg"),
                             ("Joe_Biden", "identities/Joe_Biden/1.jpg"),
                             ("Two_People", "groups/two_people.jpg")]:
        (tmp_path / "enrol" / folder).mkdir(parents=True)
        shutil.copy(photo(relative), tmp_path / "enrol" / folder / "1.jpg")
    return tmp_path / "enrol"


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def enrol_with_two_people_refused(enrol_dir) -> str:
    """``enrol`` of ``enrol_dir``: the photo of two people is refused, so the command fails
    (exit code 1) after reporting every student. Its output."""
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"1 photo\(s\) not used"):
        call_command("enrol", str(enrol_dir), "--class", "7A", "--teacher", "teacher", *CONSENT, "--inline",
                     stdout=out)
    return out.getvalue()


def test_enrol_creates_class_and_reports_each_student(users, enrol_dir):
    output = enrol_with_two_people_refused(enrol_dir)
    assert "Barack Obama: 1 of 1 photos ready" in output
    assert "Two People: 0 of 1 photos ready; not used: This photo shows 2 faces" in output
    assert "2 of 3 students enrolled in 7A." in output
    assert SchoolClass.objects.get(name="7A").students.count() == 3


def test_take_attendance_prints_json_last(users, enrol_dir, photo):
    enrol_with_two_people_refused(enrol_dir)
    output = run("take_attendance", "--class", "7A", "--date", "2026-11-02", "--inline",
                 str(photo("groups/obama_and_biden.jpg")))
    result = json.loads(output.strip().splitlines()[-1])
    assert sorted(result["present"]) == ["Barack Obama", "Joe Biden"]
    assert result["absent"] == ["Two People"]
    assert result["unknown_faces"] == 1  # the third, partly visible face
    assert AttendanceRecord.objects.count() == 3


def test_take_attendance_refuses_unusable_photo_with_reason(users, enrol_dir, tmp_path, capsys):
    enrol_with_two_people_refused(enrol_dir)
    bad = tmp_path / "class.jpg"
    bad.write_text("not a photo")
    with pytest.raises(SystemExit) as exit_info:
        run("take_attendance", "--class", "7A", "--date", "2026-11-02", "--inline", str(bad))
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip() == f"{bad}: This file is not a readable image ({READABLE_FORMATS})."
    assert not AttendanceRecord.objects.exists()


def test_take_attendance_unknown_class_is_an_error(users, photo):
    with pytest.raises(CommandError, match="No class named"):
        run("take_attendance", "--class", "nope", "--date", "2026-11-02", "--inline", str(photo("misc/dogs.jpg")))
