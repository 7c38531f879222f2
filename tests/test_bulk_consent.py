"""Consent to face recognition in bulk from a CSV (issue 16): a preview with every line's
outcome and reason that records nothing, then an all-or-nothing import (or the good lines
with the refused ones skipped on purpose), by the web page and ``manage.py import_consent``."""
import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from attendance.models import AuditEntry, Consent, Student
from attendance.roster import bulk_consent

from .factories import give_consent

pytestmark = pytest.mark.django_db

HEADER = "student_id,given_by,given_on,note\n"
GOOD = ("S-1,Grace Hopper (mother),2026-09-01,Office file 2026/27 form 1\n"
        "S-2,Alan Turing (father),2026-09-02,Office file 2026/27 form 2\n")
BAD = ("S-3,Ada (mother),2026-09-03,form 3\n"          # already recorded: left as it is
       "S-404,Nobody,2026-09-01,form 4\n"              # unknown id
       "S-4,Someone,2026-02-30,form 5\n"               # bad date
       "S-5,,2026-09-01,form 6\n"                      # no given_by
       "S-1,Grace Hopper (mother),2026-09-01,again\n")  # the same student twice


@pytest.fixture
def pupils():
    students = {sid: Student.objects.create(name=f"Pupil {sid}", school_id=sid) for sid in ("S-1", "S-2", "S-3",
                                                                                              "S-4", "S-5")}
    give_consent(students["S-3"])
    return students


def _csv(text: str, bom=True) -> bytes:
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def test_preview_gives_every_line_its_outcome_and_writes_nothing(pupils):
    plan = bulk_consent.plan_consent_import(_csv(HEADER + GOOD + BAD), "forms.csv")
    assert [(line.line, line.outcome) for line in plan.lines] == [
        (2, "new"), (3, "new"), (4, "already recorded"), (5, "refused"), (6, "refused"), (7, "refused"),
        (8, "refused")]
    reasons = {line.line: line.reason for line in plan.lines}
    assert "unknown student id 'S-404'" in reasons[5] and reasons[6].startswith("bad date")
    assert reasons[7] == "no given by" and reasons[8] == "student S-1 is also on line 2"
    assert plan.summary() == "2 new, 1 already recorded, 4 refused"
    assert Consent.objects.count() == 1 and not AuditEntry.objects.exists()


def test_import_is_all_or_nothing_unless_refused_lines_are_skipped_and_idempotent(pupils, users):
    data = _csv(HEADER + GOOD + BAD)
    with pytest.raises(bulk_consent.ImportRefused, match="4 line"):
        bulk_consent.apply_consent_import(data, users["admin"], "forms.csv")
    assert Consent.objects.count() == 1
    result = bulk_consent.apply_consent_import(data, users["admin"], "forms.csv", skip_bad_rows=True)
    assert {s.school_id for s in result.recorded} == {"S-1", "S-2"} and len(result.skipped) == 4
    consent = Consent.objects.get(student=pupils["S-1"])
    assert (consent.given_by, consent.given_on, consent.note, consent.recorded_by) == (
        "Grace Hopper (mother)", datetime.date(2026, 9, 1), "Office file 2026/27 form 1", users["admin"])
    assert AuditEntry.objects.filter(action=AuditEntry.CONSENT_RECORDED).count() == 2
    assert AuditEntry.objects.filter(action=AuditEntry.IMPORTED).count() == 1
    before = list(Consent.objects.order_by("pk").values())
    again = bulk_consent.apply_consent_import(_csv(HEADER + GOOD), users["admin"], "forms.csv")
    assert again.recorded == [] and again.already == 2
    assert list(Consent.objects.order_by("pk").values()) == before


@pytest.mark.parametrize("data, message", [
    ("student_id,given_by,note\nS-1,Grace,form\n".encode(), "Line 1: the column 'given_on' is missing"),
    ("student_id,given_by,given_on,note,ID\n".encode(), "Line 1: the column 'student_id' is named twice"),
    (b"", "empty"),
])
def test_unreadable_files_are_refused_naming_the_problem(pupils, data, message):
    with pytest.raises(bulk_consent.ConsentFileError, match=message):
        bulk_consent.plan_consent_import(data)


def test_a_line_in_another_encoding_is_refused_the_others_are_read(pupils):
    """The roster import's reader: a line saved in Windows-1252 is refused with its number,
    not the whole file."""
    data = (HEADER + "S-1,Zoë,2026-09-01,form\n").encode("cp1252") + "S-2,Zoë,2026-09-01,form\n".encode()
    plan = bulk_consent.plan_consent_import(data)
    assert [(line.line, line.outcome) for line in plan.lines] == [(2, "refused"), (3, "new")]
    assert "not UTF-8 text (byte 0xEB)" in plan.lines[0].reason


def test_header_names_are_compared_loosely(pupils):
    plan = bulk_consent.plan_consent_import(_csv("Student ID,Given by,Given on,Where kept\nS-1,G,2026-09-01,f\n",
                                                 bom=False))
    assert [line.outcome for line in plan.lines] == ["new"]


def test_web_preview_then_import(client, users, pupils):
    client.force_login(users["admin"])
    upload = SimpleUploadedFile("forms.csv", _csv(HEADER + GOOD + BAD), content_type="text/csv")
    preview = client.post(reverse("consent_import"), {"file": upload})
    page = preview.content.decode()
    assert preview.status_code == 200 and "2 new, 1 already recorded, 4 refused" in page
    assert "unknown student id &#x27;S-404&#x27;" in page and Consent.objects.count() == 1
    refused = client.post(reverse("consent_import_apply"), {}, follow=True)
    assert "nothing was recorded" in refused.content.decode() and Consent.objects.count() == 1
    client.post(reverse("consent_import_apply"), {"skip_bad_rows": "on"})  # the file was kept for a second try
    assert set(Consent.objects.values_list("student__school_id", flat=True)) == {"S-1", "S-2", "S-3"}
    gone = client.post(reverse("consent_import_apply"), {"skip_bad_rows": "on"}, follow=True)
    assert "upload it again" in gone.content.decode()


def test_teachers_and_office_staff_cannot_import_consent(client, users, pupils):
    for role in ("teacher", "office"):
        client.force_login(users[role])
        upload = SimpleUploadedFile("forms.csv", _csv(HEADER + GOOD), content_type="text/csv")
        assert client.post(reverse("consent_import"), {"file": upload}).status_code == 403
        assert client.post(reverse("consent_import_apply"), {}).status_code == 403
    assert Consent.objects.count() == 1


def test_command_dry_run_and_skip_bad_rows(pupils, tmp_path, capsys):
    path = tmp_path / "forms.csv"
    path.write_bytes(_csv(HEADER + GOOD + BAD))
    with pytest.raises(CommandError, match="4 line"):
        call_command("import_consent", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "forms.csv:5: S-404: refused (unknown student id 'S-404')" in out and "Dry run" in out
    assert Consent.objects.count() == 1
    with pytest.raises(CommandError, match="refused"):
        call_command("import_consent", str(path))
    assert Consent.objects.count() == 1
    with pytest.raises(CommandError, match="skipped"):
        call_command("import_consent", str(path), "--skip-bad-rows")
    assert Consent.objects.count() == 3
    path.write_bytes(_csv(HEADER + GOOD))
    call_command("import_consent", str(path))
    assert "0 new, 2 already recorded, 0 refused" in capsys.readouterr().out
