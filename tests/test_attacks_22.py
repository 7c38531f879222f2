"""Attacks on what landed with issues 17 and 18 (branch attack22): the photo store down
for every upload kind, the language menu, the API's pages, the MMOD detector on odd and
large photos, translated strings with users' names."""
import os

import numpy as np

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


def test_mmod_scores_in_bands_of_rows_are_the_whole_tensors(photo):
    """FACE_DETECTOR=mmod on a 24 MP photo at upsample 1 peaked at 2.36 GB (the whole
    tiled pyramid through ONNX Runtime at once); it is now scored in bands of rows, which
    must give the very scores of one run."""
    import numpy as np
    from PIL import Image

    from faces import model_files
    from faces.detectors import mmod_onnx
    from faces.detectors.mmod_pyramid import pyramid_up, tiled_pyramid

    net = model_files.mmod_net()
    image = pyramid_up(np.asarray(Image.open(photo("misc/obama-480p.jpg")).convert("RGB")))
    tensor, _ = tiled_pyramid(image, net.means, net.padding, net.outer_padding)
    scorer = net.onnx_scorer()
    whole = scorer.scores(tensor, threads=2, band_pixels=tensor.shape[1] * tensor.shape[2])
    bands = mmod_onnx.row_bands(scorer._geometry, tensor.shape[1], 400_000 // tensor.shape[2])
    assert len(bands) > 3
    kept = [top // 8 + keep_from for (top, _), (keep_from, _) in bands]  # each band's first kept row
    assert kept == sorted(set(kept)) and kept[0] == 0
    banded = scorer.scores(tensor, threads=2, band_pixels=400_000)
    assert banded.shape == whole.shape and np.abs(banded - whole).max() < 1e-5
    assert (whole > 0).sum() >= 1  # the face is found


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 10000, 3), (10000, 1, 3), (3, 5000, 3), (5000, 40, 3)])
def test_mmod_on_photos_of_odd_shapes_finds_nothing_and_does_not_fail(shape):
    from faces.detectors.mmod import MmodDetector

    image = np.full(shape, 128, np.uint8)
    assert MmodDetector(upsample=1, max_side=2400, threads=2).detect(image) == []


CHINESE_NAME = "王小明 100% {0} %(name)s"


def test_report_csvs_open_in_excel_with_chinese_names_and_the_register_export_stays_plain(client, users, photo):
    """Excel reads a CSV without a byte order mark in the computer's code page: the class
    and student report CSVs (for people) start with one; the register export (for the
    information system) does not. Names with % and {} come out as typed, in a Chinese page too."""
    from .world import build_school

    school = build_school(users, photo, by_hand=(CHINESE_NAME,), session=True)
    student = Student.objects.get(name=CHINESE_NAME)
    client.force_login(users["admin"])
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    for name, pk in (("class_report_csv", school["class"].pk), ("student_report_csv", student.pk)):
        data = client.get(reverse(name, args=[pk])).content
        assert data.startswith(b"\xef\xbb\xbf")
        text = data.decode("utf-8-sig")
        assert text.count("\ufeff") == 0 and ("学生" in text or "日期" in text)  # header in Chinese
        if name == "class_report_csv":
            assert f"{CHINESE_NAME},absent" in text
    export = client.get(reverse("registers_export_csv")).content
    assert export.startswith(b"student_id,") and CHINESE_NAME.encode() in export
    page = client.get(reverse("student_detail", args=[student.pk])).content.decode()
    assert CHINESE_NAME in page


@pytest.mark.parametrize("apply, page, kind", [("roster_import_apply", "roster_import", "roster"),
                                               ("consent_import_apply", "consent_import", "consent"),
                                               ("photos_import_apply", "photos_import", "photos")])
def test_an_import_with_the_store_down_since_its_preview_says_so_and_writes_nothing(
        store_down, client, users, apply, page, kind):  # noqa: F811
    client.force_login(users["admin"])
    session = client.session
    session[f"pending_import:{kind}"] = {"name": "imports/0123456789abcdef", "filename": "f", "token": "t"}
    session.save()  # as the preview left it, the store up then
    response = client.post(reverse(apply), {"upload": "t", "skip_bad_rows": "on"}, follow=True)
    assert response.redirect_chain == [(reverse(page), 302)]
    assert "The photo store is not reachable just now, so nothing was saved" in response.content.decode()
    assert not Student.objects.exists() and not Consent.objects.exists() and not EnrolmentPhoto.objects.exists()
    assert not os.listdir(store_down)


def test_an_api_page_that_does_not_exist_is_404_naming_the_pages_there_are(client, users, school):
    from rest_framework.authtoken.models import Token

    auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=users['teacher']).key}"}
    url = reverse("api:class-students", args=[school["class"].pk])
    for query in ({"page": 4, "page_size": 1}, {"page": 0}, {"page": "last2"}, {"page": "-1", "page_size": "2"}):
        response = client.get(url, query, **auth)
        assert response.status_code == 404, query
        size = 2 if query.get("page_size") == "2" else (1 if "page_size" in query else 100)
        pages = {1: 3, 2: 2, 100: 1}[size]
        assert response.json()["detail"] == (
            f"There is no page {query['page']} of this list: it has {pages} {'page' if pages == 1 else 'pages'} of {size} "
            "rows at most "
            f"(?page=1 to ?page={pages}).")
    chinese = client.get(url, {"page": 9}, HTTP_ACCEPT_LANGUAGE="zh-hans", **auth)
    assert chinese.status_code == 404 and chinese.json()["detail"].startswith("此列表没有第 9 页：共 1 页")
    # page_size 0, negative, huge or not a number: the default or the most; every row on one page only
    for size in ("0", "-3", "abc", "99999999999999999999"):
        assert client.get(url, {"page_size": size}, **auth).json()["count"] == 3
    seen = [client.get(url, {"page": n, "page_size": 1}, **auth).json()["results"][0]["id"] for n in (1, 2, 3)]
    assert sorted(seen) == sorted(s.pk for s in school["class"].students.all())


@pytest.mark.parametrize("via_api", [False, True])
def test_confirming_a_register_with_the_store_down_confirms_it_and_learns_later(
        client, users, photo, settings, monkeypatch, via_api):
    """Confirming needs no photo, only learning its faces reads and writes crops: with the
    store down it was a 500 and the register stayed unconfirmed. Now it is confirmed,
    nothing is learnt, and confirming again once the store is back learns the faces."""
    from rest_framework.authtoken.models import Token

    from attendance.models import ClassSession, LearntTemplate
    from attendance.wiring.env import photo_storage

    from .test_store_down import closed_port
    from .world import build_school

    school = build_school(users, photo, session=True)
    session = school["session"]
    local = settings.STORAGES
    for name, value in {"S3_BUCKET": "attendance-photos", "S3_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
                        "S3_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": photo_storage()}
    if via_api:
        token = Token.objects.create(user=users["teacher"]).key
        response = client.post(reverse("api:session-confirm", args=[session.pk]), HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200
    else:
        client.force_login(users["teacher"])
        response = client.post(reverse("session_confirm", args=[session.pk]), follow=True)
        assert response.status_code == 200 and "Register confirmed." in response.content.decode()
    assert ClassSession.objects.get(pk=session.pk).confirmed_by == users["teacher"]
    assert not LearntTemplate.objects.exists()
    settings.STORAGES = local  # the store answers again
    client.force_login(users["teacher"])
    client.post(reverse("session_confirm", args=[session.pk]))
    assert LearntTemplate.objects.filter(source_session=session).count() == 2
    assert all(t.crop.storage.exists(t.crop.name) for t in LearntTemplate.objects.all())


@pytest.mark.parametrize("language, words", [
    ("en-gb", "The photo store is not reachable just now, so nothing was deleted and the consent stays recorded."),
    ("zh-hans", "照片存储暂时无法连接，因此未删除任何内容，同意记录仍然保留。")])
def test_withdrawing_consent_with_the_store_down_deletes_nothing(client, users, photo, settings, monkeypatch,
                                                                 django_capture_on_commit_callbacks, language, words):
    """The rows went and the photo files' deletion (after commit) failed: a child's photos
    left in the store without rows, and a 500. Now nothing is deleted until the store answers."""
    from attendance.wiring.env import photo_storage

    from .test_store_down import closed_port
    from .world import build_school

    joe = build_school(users, photo)["joe"]
    for name, value in {"S3_BUCKET": "attendance-photos", "S3_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
                        "S3_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": photo_storage()}
    client.force_login(users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("consent_withdraw", args=[joe.pk]), {"confirm": "on"},
                               HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302
    assert Consent.objects.filter(student=joe).exists() and EnrolmentPhoto.objects.filter(student=joe).count() == 1
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    assert words in client.get(reverse("student_detail", args=[joe.pk]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
