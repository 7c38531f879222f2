"""Issue 14, part C: each test does one attack of the issue (defects 2-7) on every path the
same mistake could take, and asserts the safe outcome."""
import csv
import datetime
import io
import json

import pytest
from django.urls import reverse

from attendance.models import AttendanceRecord, ClassPhoto, ClassSession, DetectedFace, Student

from .test_api import api  # noqa: F401  (the API tests' token client)
from .test_api import school as api_school  # noqa: F401
from .test_reports import school, values, xlsx  # noqa: F401  (the reports' fixture and helpers)

pytestmark = pytest.mark.django_db


# Defect 4: one control character broke the class export.

def test_control_characters_do_not_break_any_export(client, users, school):
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


# Defect 7: deeply nested JSON to the API gave a 500 HTML page.

BAD_JSON = {
    "nested arrays": "[" * 20_000 + "]" * 20_000,
    "nested objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "nested in a field": '{"status": ' + "[" * 20_000 + "]" * 20_000 + "}",
    "invalid": '{"status": "absent",',
    "not UTF-8": b'{"status": "\xff\xfe"}',
    "a list": '["absent"]',
    "a string": '"absent"',
    "a number": "1e999999",
    "null": "null",
    "NaN": '{"status": NaN}',
    "wrong field types": '{"status": ["absent"], "reason": {"x": 1}}',
    "empty": "",
}


@pytest.fixture
def processed_face(api_school, photo):
    """A face of a real class photo of 7A, found by the real models."""
    from attendance.recognition import process_class_photo

    from .factories import class_photo

    session = ClassSession.objects.create(school_class=api_school["class"], date=datetime.date(2026, 11, 2),
                                          period="Period 1")
    stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
    process_class_photo(stored.pk)
    return DetectedFace.objects.filter(photo=stored).first()


def test_bad_json_of_any_shape_is_a_json_400_and_huge_json_a_413(api, api_school, processed_face):
    session = processed_face.photo.session
    record_url = reverse("api:record", args=[session.pk, api_school["ada"].pk])
    decision_url = reverse("api:face-decision", args=[processed_face.pk])
    client = api("teacher")
    before = (list(AttendanceRecord.objects.values()), list(DetectedFace.objects.values("pk", "decision")))
    for url, method in ((record_url, client.patch), (decision_url, client.post)):  # the API's JSON bodies
        for shape, body in BAD_JSON.items():
            response = method(url, body, content_type="application/json")
            assert response.status_code == 400, (url, shape, response.status_code)
            assert response["Content-Type"] == "application/json", (url, shape)
            assert response.json(), (url, shape)  # a message: "detail", or one per field
        huge = json.dumps({"status": "absent", "reason": "x" * (200 * 1024)})
        response = method(url, huge, content_type="application/json")
        assert response.status_code == 413 and "bytes" in response.json()["detail"], url
    messages = {shape: client.patch(record_url, body, content_type="application/json").json()
                for shape, body in BAD_JSON.items()}
    assert "nested too deeply" in messages["nested arrays"]["detail"]
    assert "nested too deeply" in messages["nested in a field"]["detail"]
    assert "not valid JSON" in messages["invalid"]["detail"] and "not UTF-8" in messages["not UTF-8"]["detail"]
    assert "must be a JSON object" in messages["a list"]["detail"]
    assert "not a JSON number" in messages["NaN"]["detail"] and "status" in messages["wrong field types"]
    after = (list(AttendanceRecord.objects.values()), list(DetectedFace.objects.values("pk", "decision")))
    assert after == before  # nothing stored or changed
    # The upload takes form data only: JSON of any shape is a JSON 415.
    response = client.post(reverse("api:class-sessions", args=[api_school["class"].pk]), BAD_JSON["nested arrays"],
                           content_type="application/json")
    assert response.status_code == 415 and response["Content-Type"] == "application/json"
