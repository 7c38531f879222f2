"""Issue 14, part C: each test does one attack of the issue (defects 2-7) on every path the
same mistake could take, and asserts the safe outcome."""
import csv
import io

import pytest
from django.urls import reverse

from attendance.models import AttendanceRecord, ClassSession, Student

from .test_reports import school, values, xlsx  # noqa: F401  (the reports' fixture and helpers)

pytestmark = pytest.mark.django_db


# Defect 4: one control character broke the class export.

def test_control_characters_do_not_break_any_export(client, users, school):  # noqa: F811
    """A vertical tab in a reason (Word's line break), ESC and BEL in a name, NUL in a class
    name and period, and a tab-led formula: every CSV and XLSX download is a 200 with the
    text cleaned (vertical tab -> line break, the others dropped), never a formula."""
    ben = school["ben"]
    ben.name = "Ben\x1b[31m Baker\x07"
    ben.save()
    record = AttendanceRecord.objects.get(student=ben, status="excused")
    record.reason = "ill\x0bsent home\x0cby nurse\x00"
    record.save()
    ClassSession.objects.filter(pk=school["sessions"][0].pk).update(period="P1\x1f")
    school["class"].name = "7A\x08"
    school["class"].save()
    tab_led = Student.objects.create(name="\t=1+1")
    school["class"].students.add(tab_led)
    client.force_login(users["teacher"])
    downloads = [("class_report_xlsx", school["class"].pk), ("student_report_xlsx", ben.pk),
                 ("class_report_csv", school["class"].pk), ("student_report_csv", ben.pk),
                 ("student_report_xlsx", tab_led.pk)]
    texts = []
    for name, pk in downloads:
        response = client.get(reverse(name, args=[pk]))
        assert response.status_code == 200, name
        if name.endswith("xlsx"):
            texts += [v for sheet in xlsx(response) for row in values(sheet) for v in row if isinstance(v, str)]
        else:
            texts += [v for row in csv.reader(io.StringIO(response.content.decode())) for v in row]
    for text in texts:
        assert not any(ord(c) < 32 and c not in "\t\n\r" for c in text), repr(text)
        assert text[:1] not in ("=", "+", "-", "@", "\t", "\r"), repr(text)
    assert "Ben[31m Baker" in texts and "ill\nsent home\nby nurse" in texts and "Class 7A" in texts
    assert "excused: ill\nsent home\nby nurse" in texts and "2026-10-01 P1" in texts and "'\t=1+1" in texts
