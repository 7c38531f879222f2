"""Issue 18: every list of the REST API comes in pages ({"count", "next", "previous",
"results"}, ?page= and ?page_size=), and the OpenAPI schema says so."""
import datetime
import json

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from attendance.models import AttendanceRecord, ClassSession

pytestmark = pytest.mark.django_db

PAGE_KEYS = {"count", "next", "previous", "results"}


@pytest.fixture
def token_client(client, users):
    """``token_client(role)``: the test client sending that user's token (no session)."""
    def as_role(role):
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.get_or_create(user=users[role])[0].key}"
        return client
    return as_role


def every_page(client, url, **params):
    """The pages of ``url`` followed by their ``next`` links, from the first."""
    pages = [client.get(url, params).json()]
    while pages[-1]["next"]:
        assert len(pages) < 50, "the next links do not end"
        pages.append(client.get(pages[-1]["next"]).json())
    return pages


@pytest.fixture
def seven_sessions(school, users):
    """7A with seven sessions, Joe Biden present at each (one record each)."""
    sessions = []
    for day in range(1, 8):
        session = ClassSession.objects.create(school_class=school["class"], date=datetime.date(2026, 11, day),
                                              period="Period 1", created_by=users["teacher"])
        AttendanceRecord.objects.create(session=session, student=school["joe"], status=AttendanceRecord.PRESENT)
        sessions.append(session)
    return sessions


def test_sessions_come_in_pages_with_next_previous_and_count(token_client, school, seven_sessions):
    client = token_client("teacher")
    url = reverse("api:class-sessions", args=[school["class"].pk])
    pages = every_page(client, url, page_size=3)
    assert [len(p["results"]) for p in pages] == [3, 3, 1]
    assert {p["count"] for p in pages} == {7}
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    assert pages[0]["next"].endswith(f"{url}?page=2&page_size=3")
    assert pages[2]["previous"].endswith(f"{url}?page=2&page_size=3")
    # Every session once, newest first, across the pages.
    listed = [s["id"] for p in pages for s in p["results"]]
    assert listed == [s.pk for s in reversed(seven_sessions)]
    # Past the last page: 404, not an empty page.
    assert client.get(url, {"page": 4, "page_size": 3}).status_code == 404


def test_page_size_setting_and_the_largest_page_a_client_may_ask_for(token_client, school, seven_sessions, settings):
    client = token_client("teacher")
    url = reverse("api:class-sessions", args=[school["class"].pk])
    assert len(client.get(url).json()["results"]) == 7  # default 100 a page
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}
    first = client.get(url).json()
    assert (first["count"], len(first["results"])) == (7, 2) and first["next"].endswith("?page=2")
    settings.API_MAX_PAGE_SIZE = 5
    assert len(client.get(url, {"page_size": 50}).json()["results"]) == 5


def test_every_list_endpoint_is_paginated(token_client, school, seven_sessions):
    """Classes, a roster, a class's sessions, a register, a session's faces and the JSON
    register export: each a page; the CSV export stays one whole file."""
    session = seven_sessions[0]
    teacher = token_client("teacher")
    for url in (reverse("api:classes"), reverse("api:class-students", args=[school["class"].pk]),
                reverse("api:class-sessions", args=[school["class"].pk]),
                reverse("api:session-records", args=[session.pk]), reverse("api:session-faces", args=[session.pk])):
        body = teacher.get(url).json()
        assert set(body) == PAGE_KEYS, url
    # The roster of 7A (three students) and the register, page by page.
    roster_url = reverse("api:class-students", args=[school["class"].pk])
    roster = every_page(teacher, roster_url, page_size=2)
    assert [len(p["results"]) for p in roster] == [2, 1]
    assert sorted(s["name"] for p in roster for s in p["results"]) == sorted(
        school["class"].students.values_list("name", flat=True))
    register = every_page(teacher, reverse("api:session-records", args=[session.pk]), page_size=1)
    assert len(register) == school["class"].students.count() == register[0]["count"]

    admin = token_client("admin")
    export = reverse("api:exports-registers")
    dates = {"from": "2026-11-01", "to": "2026-11-30"}
    rows = every_page(admin, export, page_size=4, **dates)
    assert [len(p["results"]) for p in rows] == [4, 3] and rows[0]["count"] == 7
    assert [r["date"] for p in rows for r in p["results"]] == [f"2026-11-0{d}" for d in range(1, 8)]
    as_csv = admin.get(export, {**dates, "page_size": 4}, HTTP_ACCEPT="text/csv")
    assert as_csv.status_code == 200 and len(as_csv.content.decode().strip().splitlines()) == 1 + 7


def test_faces_of_a_real_photo_come_in_pages(token_client, school, photo):
    from attendance.registers.recognition import process_class_photo

    from .factories import class_photo

    session = ClassSession.objects.create(school_class=school["class"], date=datetime.date(2026, 11, 2),
                                          period="Period 1")
    stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
    process_class_photo(stored.pk)
    pages = every_page(token_client("teacher"), reverse("api:session-faces", args=[session.pk]), page_size=2)
    assert [len(p["results"]) for p in pages] == [2, 1] and pages[0]["count"] == 3
    assert sorted(f["id"] for p in pages for f in p["results"]) == sorted(stored.faces.values_list("pk", flat=True))


def test_schema_documents_the_pages(token_client, school):
    response = token_client("teacher").get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = json.loads(response.content)
    lists = ["/api/v1/classes/", "/api/v1/classes/{class_id}/students/", "/api/v1/classes/{class_id}/sessions/",
             "/api/v1/sessions/{session_id}/records/", "/api/v1/sessions/{session_id}/faces/",
             "/api/v1/exports/registers/"]
    for path in lists:
        operation = schema["paths"][path]["get"]
        assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}, path
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(page["properties"]) == PAGE_KEYS and page["properties"]["results"]["type"] == "array", path
    # Single objects are not wrapped.
    single = schema["paths"]["/api/v1/sessions/{session_id}/"]["get"]
    assert "page" not in {p["name"] for p in single.get("parameters", [])}
