"""Issue 18: a refused enrolment form (one student, or a zip) says plainly that the chosen
photos must be chosen again (a browser never gives them back), naming them, and shows each
error with its own field (under its label), not before the next field as ``as_p`` did."""
import io
import zipfile
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.models import EnrolmentPhoto, Student

from .conftest import CONSENT_FIELDS

pytestmark = pytest.mark.django_db


class FieldBlocks(HTMLParser):
    """The text and input names of each ``<div class="field ...">`` of a page, in order."""

    def __init__(self):
        super().__init__()
        self.blocks, self.depth = [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div":
            if self.depth:
                self.depth += 1
            elif "field" in (attrs.get("class") or "").split():
                self.blocks.append({"names": [], "text": "", "errors": ""})
                self.depth = 1
        elif self.depth and tag in ("input", "select", "textarea") and attrs.get("name"):
            self.blocks[-1]["names"].append(attrs["name"])
        if self.depth and tag == "ul" and "errorlist" in (attrs.get("class") or ""):
            self.blocks[-1]["in_errors"] = True

    def handle_endtag(self, tag):
        if self.depth and tag == "ul":
            self.blocks[-1]["in_errors"] = False
        if self.depth and tag == "div":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.blocks[-1]["text"] += data
            if self.blocks[-1].get("in_errors"):
                self.blocks[-1]["errors"] += data


def field_errors(page: str, form_action: str) -> dict[str, str]:
    """Each field's error text, by input name, within the form posting to ``form_action``."""
    start = page.index(f'action="{form_action}"')
    parser = FieldBlocks()
    parser.feed(page[start:page.index("</form>", start)])
    return {name: block["errors"].strip() for block in parser.blocks for name in block["names"]}


def photo_upload(photo, relative, name):
    return SimpleUploadedFile(name, photo(relative).read_bytes(), content_type="image/jpeg")


def test_single_form_refused_for_consent_names_the_photos_and_puts_each_error_with_its_field(
        client, users, school_class, photo):
    client.force_login(users["admin"])
    action = reverse("student_enrol", args=[school_class.pk])
    response = client.post(action, {
        "name": "Barack Obama", "given_by": "", "given_on": "", "note": "Office file",
        "photos": [photo_upload(photo, "identities/Barack_Obama/1.jpg", "obama-1.jpg"),
                   photo_upload(photo, "identities/Barack_Obama/2.jpg", "obama-2.jpg")]})
    assert response.status_code == 400
    page = response.content.decode()
    assert ("Choose the photos again: a refused form does not keep the files chosen "
            "(you had chosen obama-1.jpg, obama-2.jpg).") in page
    errors = field_errors(page, action)
    # The consent errors are with the consent fields, under their own labels.
    assert errors["given_by"].startswith("Needed with photos")
    assert errors["given_on"].startswith("Needed with photos")
    # Not with the field above them (the photos), nor with the one below (the note, filled in).
    assert errors["photos"] == "" and errors["note"] == "" and errors["name"] == ""
    assert not Student.objects.filter(name="Barack Obama").exists() and not EnrolmentPhoto.objects.exists()


def test_single_form_without_photos_refused_asks_for_no_photos(client, users, school_class):
    client.force_login(users["admin"])
    action = reverse("student_enrol", args=[school_class.pk])
    response = client.post(action, {"name": "Ada\u200bLovelace"})  # an invisible character: refused
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the photos again" not in page
    assert field_errors(page, action)["name"]
    # The page as first shown: no notice, no error.
    page = client.get(reverse("class_detail", args=[school_class.pk])).content.decode()
    assert "choose-again" not in page and not any(field_errors(page, action).values())


def test_zip_form_refused_for_consent_names_the_zip_and_places_the_error_with_the_tick_box(
        client, users, school_class, photo):
    client.force_login(users["admin"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Barack_Obama/1.jpg", photo("identities/Barack_Obama/1.jpg").read_bytes())
    action = reverse("roster_zip", args=[school_class.pk])
    fields = {key: value for key, value in CONSENT_FIELDS.items() if key != "consent_on_file"}
    response = client.post(action, {**fields, "archive": SimpleUploadedFile("class-7a.zip", buffer.getvalue())})
    assert response.status_code == 400
    page = response.content.decode()
    assert ("Choose the zip again: a refused form does not keep the file chosen "
            "(you had chosen class-7a.zip).") in page
    errors = field_errors(page, action)
    assert "confirm it is on file for every student in the zip" in errors["consent_on_file"]
    assert errors["archive"] == "" and errors["given_by"] == ""
    assert not EnrolmentPhoto.objects.exists()


def test_many_photos_are_named_up_to_five_and_the_rest_counted(client, users, school_class, photo):
    client.force_login(users["admin"])
    photos = [photo_upload(photo, "identities/Barack_Obama/1.jpg", f"shot-{n}.jpg") for n in range(1, 8)]
    response = client.post(reverse("student_enrol", args=[school_class.pk]), {"name": "Barack Obama", "photos": photos})
    assert response.status_code == 400
    assert ("(you had chosen shot-1.jpg, shot-2.jpg, shot-3.jpg, shot-4.jpg, shot-5.jpg and 2 more).") in \
        response.content.decode()
