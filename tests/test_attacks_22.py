"""Attacks on what landed with issues 17 and 18 (branch attack22): the photo store down
for every upload kind, the language menu, the API's pages, the MMOD detector on odd and
large photos, translated strings with users' names."""
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.models import Consent, EnrolmentPhoto, Student

from .factories import give_consent
from .test_store_down import store_down  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _zip_of(photo) -> bytes:
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(photo("identities/Barack_Obama/1.jpg"), "S-1.jpg")
    return archive.getvalue()


@pytest.mark.parametrize("page, field, name, data", [
    ("roster_import", "roster", "r.csv", lambda photo: b"student_id,name,class\nS-9,Ada Lovelace,7A\n"),
    ("consent_import", "file", "c.csv", lambda photo: b"student_id,given_by,given_on,note\nS-1,Mum,2026-09-01,f\n"),
    ("photos_import", "file", "p.zip", _zip_of),
])
def test_an_import_preview_with_the_store_down_is_503_in_words_and_keeps_nothing(
        store_down, client, users, photo, page, field, name, data):  # noqa: F811
    student = Student.objects.create(name="Barack Obama", school_id="S-1")
    if page == "photos_import":
        give_consent(student)
    client.force_login(users["admin"])
    response = client.post(reverse(page), {field: SimpleUploadedFile(name, data(photo))})
    page_text = response.content.decode()
    assert response.status_code == 503
    assert "The photo store is not reachable just now, so nothing was saved" in page_text
    assert "127.0.0.1" not in page_text and 'name="upload"' not in page_text  # no Import button of a preview
    assert not [key for key in client.session.keys() if key.startswith("pending_import:")]
    assert not os.listdir(store_down) and not EnrolmentPhoto.objects.exists()
    assert Student.objects.count() == 1 and Consent.objects.count() == (1 if page == "photos_import" else 0)
