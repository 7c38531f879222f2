"""Web security: production settings, headers, sign-in throttling, passwords, upload limits, CSRF.

Production settings are read once per process, so those tests run ``manage.py`` or a
short script in a subprocess with DEBUG=false; the rest are real requests through
Django's test client.
"""
import io
import json
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from attendance.models import ClassSession, EnrolmentPhoto, SignInFailure, Student

from .conftest import REPO
from .factories import make_class

pytestmark = pytest.mark.django_db

TEMPLATES = REPO / "templates"


def production_env(tmp_path, **extra) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")}
    env.update(DJANGO_SETTINGS_MODULE="attendance.wiring.settings", DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50)[:50],
               ALLOWED_HOSTS="school.example", DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
               STATIC_ROOT=str(tmp_path / "static"))
    env.update(extra)
    return env


def manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def signed_in_as(client):
    return client.session.get("_auth_user_id")


def png_file(name="photo.png", size=(64, 64), noise=False) -> SimpleUploadedFile:
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise else Image.new("RGB", size)
    out = io.BytesIO()
    image.save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def media_files(settings):
    return {os.path.join(d, f) for d, _, files in os.walk(settings.MEDIA_ROOT) for f in files}


# Requests through the whole middleware stack of a process started with production
# settings; prints, per request, the status, headers, cookies and the page's text.
PRODUCTION_REQUESTS = r"""
import json, re, sys
import django
django.setup()
from django.test import Client

client = Client(HTTP_HOST="school.example")
out = {}
def keep(name, response):
    out[name] = {
        "status": response.status_code,
        "headers": dict(response.headers),
        "cookies": {k: {"secure": bool(m["secure"])} for k, m in response.cookies.items()},
        "text": b"".join(response).decode() if response.streaming else response.content.decode(),
    }
keep("http", client.get("/login/"))
keep("http_forwarded", client.get("/login/", HTTP_X_FORWARDED_PROTO="https"))
keep("login", client.get("/login/", secure=True))
keep("missing", client.get("/no-such-page/", secure=True))
keep("health", client.get("/health/"))
keep("bad_host", Client(HTTP_HOST="evil.example").get("/login/", secure=True))
css = re.search(r'href="(/static/[^"]+\.css)"', out["login"]["text"])
if css:
    keep("css", client.get(css.group(1), secure=True))
print(json.dumps(out))
"""


def production_requests(env):
    result = subprocess.run([sys.executable, "-c", PRODUCTION_REQUESTS], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


class TestProductionSettings:
    def test_deploy_check_has_no_warnings(self, tmp_path):
        # `make run`'s defaults (no DEBUG, a generated secret key) plus the site's host name.
        env = production_env(tmp_path, SECRET_KEY_FILE=str(tmp_path / "var" / "secret_key"))
        del env["DEBUG"], env["SECRET_KEY"]
        result = manage(env, "check", "--deploy")
        assert result.returncode == 0, result.stderr
        assert "System check identified no issues" in result.stdout
        assert "WARNING" not in result.stdout + result.stderr

    def test_secret_key_is_generated_once_outside_the_repository_with_mode_600(self, tmp_path):
        env = production_env(tmp_path, SECRET_KEY_FILE=str(tmp_path / "var" / "secret_key"))
        del env["SECRET_KEY"]
        script = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
        keys = [subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                               timeout=120) for _ in range(2)]
        assert keys[0].returncode == 0, keys[0].stderr
        key_file = tmp_path / "var" / "secret_key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert keys[0].stdout.strip() == keys[1].stdout.strip() == key_file.read_text().strip()
        assert len(key_file.read_text().strip()) >= 50

    def test_defaults_are_production_with_this_machines_names(self, tmp_path):
        env = {key: value for key, value in os.environ.items()
               if key not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")}
        env.update(DJANGO_SETTINGS_MODULE="attendance.wiring.settings", SECRET_KEY_FILE=str(tmp_path / "secret_key"))
        result = manage(env, "diffsettings", "--all")
        assert result.returncode == 0, result.stderr
        assert "DEBUG = False" in result.stdout and "SESSION_COOKIE_SECURE = True" in result.stdout
        import socket
        hosts = re.search(r"^ALLOWED_HOSTS = (.*)$", result.stdout, re.M).group(1)
        for name in ("localhost", "127.0.0.1", "[::1]", socket.gethostname()):
            assert repr(name) in hosts

    def test_debug_true_turns_development_on(self, tmp_path):
        result = manage(production_env(tmp_path, DEBUG="true"), "diffsettings", "--all")
        assert result.returncode == 0, result.stderr
        assert "DEBUG = True" in result.stdout and "SESSION_COOKIE_SECURE = False" in result.stdout

    def test_headers_cookies_static_files_and_error_page(self, tmp_path):
        env = production_env(tmp_path)
        collected = manage(env, "collectstatic", "--noinput")
        assert collected.returncode == 0, collected.stderr
        pages = production_requests(env)

        # Plain HTTP goes to HTTPS; no proxy header is trusted unless configured.
        assert pages["http"]["status"] == 301
        assert pages["http"]["headers"]["Location"] == "https://school.example/login/"
        assert pages["http_forwarded"]["status"] == 301
        assert pages["health"]["status"] in (200, 503)  # monitoring may ask over plain HTTP

        login = pages["login"]
        assert login["status"] == 200
        headers = login["headers"]
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "Content-Security-Policy-Report-Only" not in headers
        assert login["cookies"]["csrftoken"]["secure"] is True

        # The site's style, from a hashed file WhiteNoise serves with a long cache.
        assert re.search(r"/static/app\.[0-9a-f]{12}\.css", login["text"])
        assert pages["css"]["status"] == 200 and "max-age=315360000" in pages["css"]["headers"]["Cache-Control"]
        assert "--brand" in pages["css"]["text"]

        missing = pages["missing"]
        assert missing["status"] == 404
        assert "Page not found" in missing["text"] and "app." in missing["text"]
        assert "Traceback" not in missing["text"] and "URLconf" not in missing["text"]
        assert pages["bad_host"]["status"] == 400 and "Request refused" in pages["bad_host"]["text"]

    def test_tls_ended_at_a_proxy(self, tmp_path):
        env = production_env(tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
        assert manage(env, "collectstatic", "--noinput").returncode == 0
        pages = production_requests(env)
        assert pages["http"]["status"] == 301  # the header is missing: not HTTPS
        assert pages["http_forwarded"]["status"] == 200
        assert "Strict-Transport-Security" in pages["http_forwarded"]["headers"]

        no_redirect = production_env(tmp_path, SECURE_SSL_REDIRECT="false")
        assert production_requests(no_redirect)["http"]["status"] == 200


class TestTemplates:
    """The Content-Security-Policy forbids inline code, and every form needs its CSRF token."""

    templates = sorted(TEMPLATES.rglob("*.html"))

    @pytest.mark.parametrize("path", templates, ids=lambda p: str(p.relative_to(TEMPLATES)))
    def test_no_inline_scripts_styles_or_handlers(self, path):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
        assert "<style" not in text and not re.search(r"\sstyle=", text), "inline style"
        assert not re.search(r"\son[a-z]+=", text), "inline event handler"

    @pytest.mark.parametrize("path", templates, ids=lambda p: str(p.relative_to(TEMPLATES)))
    def test_every_post_form_has_a_csrf_token(self, path):
        for form in re.findall(r"<form[^>]*>.*?</form>", path.read_text(), flags=re.S | re.I):
            if re.search(r'method="post"', form, re.I):
                assert "{% csrf_token %}" in form, form[:120]

    def test_the_policy_is_enforced_by_default(self, client, db):
        response = client.get(reverse("login"))
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


class TestCsrf:
    def test_post_without_token_is_refused_with_words(self, users):
        client = Client(enforce_csrf_checks=True)
        client.force_login(users["admin"])
        school_class = make_class(users["teacher"], "7A")
        response = client.post(reverse("student_enrol", args=[school_class.pk]),
                               {"name": "Ada Lovelace", "photos": [png_file()]})
        assert response.status_code == 403
        assert "The form could not be sent" in response.content.decode()
        assert not Student.objects.exists()

    def test_sign_in_needs_the_token_of_the_page(self, users):
        client = Client(enforce_csrf_checks=True)
        assert sign_in(client, "teacher", "pw-teacher-1").status_code == 403
        assert signed_in_as(client) is None
        page = client.get(reverse("login")).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        response = client.post(reverse("login"), {"username": "teacher", "password": "pw-teacher-1",
                                                  "csrfmiddlewaretoken": token})
        assert response.status_code == 302 and signed_in_as(client) == str(users["teacher"].pk)


class TestErrorPages:
    def test_missing_page(self, client, users):
        client.force_login(users["teacher"])
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        page = response.content.decode()
        assert "Page not found" in page and "Class Attendance" in page and "Sign out" in page

    def test_forbidden_page_says_why(self, client, users):
        other = make_class(users["other_teacher"], "8B")
        client.force_login(users["teacher"])
        response = client.get(reverse("class_detail", args=[other.pk]))
        assert response.status_code == 403
        assert "You do not teach this class." in response.content.decode()

    def test_server_error_page_needs_nothing_that_could_fail_again(self, rf):
        from django.views.defaults import server_error

        response = server_error(rf.get("/"))
        assert response.status_code == 500
        page = response.content.decode()
        assert "Something went wrong" in page and 'href="/static/app.css"' in page


class TestSignInThrottling:
    def test_locked_out_after_the_limit_even_with_the_right_password(self, client, users, settings):
        settings.LOGIN_FAILURE_LIMIT = 3
        for attempt in range(2):
            response = sign_in(client, "teacher", f"wrong-{attempt}")
            assert response.status_code == 200 and "didn't match" in response.content.decode()
        response = sign_in(client, "teacher", "wrong-2")
        assert response.status_code == 429
        page = response.content.decode()
        assert "Sign-in paused" in page and "15 minutes" in page and "after 3 failed attempts" in page

        response = sign_in(client, "teacher", "pw-teacher-1")
        assert response.status_code == 429 and "Sign-in paused" in response.content.decode()
        assert signed_in_as(client) is None

    def test_other_users_and_other_addresses_are_unaffected(self, client, users, settings):
        settings.LOGIN_FAILURE_LIMIT = 3
        for attempt in range(3):
            sign_in(client, "teacher", f"wrong-{attempt}")
        assert sign_in(client, "teacher", "pw-teacher-1").status_code == 429

        other_user = Client()
        assert sign_in(other_user, "admin", "pw-admin-1").status_code == 302
        assert signed_in_as(other_user) == str(users["admin"].pk)

        other_address = Client(REMOTE_ADDR="192.0.2.44")
        assert sign_in(other_address, "teacher", "pw-teacher-1").status_code == 302
        assert signed_in_as(other_address) == str(users["teacher"].pk)

    def test_right_password_works_again_after_the_cool_off(self, client, users, settings):
        settings.LOGIN_FAILURE_LIMIT = 2
        for attempt in range(2):
            sign_in(client, "teacher", f"wrong-{attempt}")
        assert sign_in(client, "teacher", "pw-teacher-1").status_code == 429

        def last_failure(ago):  # as if the attempts had been made that long ago
            SignInFailure.objects.update(at=timezone.now() - ago)

        cool_off = timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)
        last_failure(cool_off - timedelta(minutes=1))
        assert sign_in(client, "teacher", "pw-teacher-1").status_code == 429
        last_failure(cool_off + timedelta(seconds=1))
        assert sign_in(client, "teacher", "pw-teacher-1").status_code == 302
        assert signed_in_as(client) == str(users["teacher"].pk)

    def test_admin_sign_in_is_throttled_too(self, client, users, settings):
        settings.LOGIN_FAILURE_LIMIT = 2
        url = reverse("admin:login")
        for attempt in range(2):
            response = client.post(url, {"username": "admin", "password": f"wrong-{attempt}"})
        assert response.status_code == 429
        assert client.post(url, {"username": "admin", "password": "pw-admin-1"}).status_code == 429
        assert signed_in_as(client) is None

    def test_behind_a_proxy_the_forwarded_client_address_counts(self, users, settings):
        settings.LOGIN_FAILURE_LIMIT = 2
        settings.TRUSTED_PROXY_COUNT = 1
        proxy = {"REMOTE_ADDR": "10.0.0.2"}
        attacker = Client(HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)
        for attempt in range(2):
            sign_in(attacker, "teacher", f"wrong-{attempt}")
        # Addresses the client adds in front of the proxy's entry change nothing.
        spoofing = Client(HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.5", **proxy)
        assert sign_in(spoofing, "teacher", "pw-teacher-1").status_code == 429
        colleague = Client(HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
        assert sign_in(colleague, "teacher", "pw-teacher-1").status_code == 302


class TestPasswords:
    @pytest.mark.parametrize("weak, words", [
        ("password1", "This password is too common."),
        ("8419375620", "This password is entirely numeric."),
        ("Xq7#", "This password is too short. It must contain at least 8 characters."),
        ("teacher-1", "The password is too similar to the username."),
    ])
    def test_weak_new_password_is_refused(self, client, users, weak, words):
        client.force_login(users["teacher"])
        response = client.post(reverse("password_change"), {
            "old_password": "pw-teacher-1", "new_password1": weak, "new_password2": weak})
        assert response.status_code == 200
        assert words in response.content.decode()
        users["teacher"].refresh_from_db()
        assert users["teacher"].check_password("pw-teacher-1")

    def test_strong_new_password_is_accepted(self, client, users):
        client.force_login(users["teacher"])
        response = client.post(reverse("password_change"), {
            "old_password": "pw-teacher-1", "new_password1": "correct horse battery staple",
            "new_password2": "correct horse battery staple"})
        assert response.status_code == 302
        users["teacher"].refresh_from_db()
        assert users["teacher"].check_password("correct horse battery staple")

    def test_admin_cannot_create_a_teacher_with_a_weak_password(self, client, db):
        superuser = get_user_model().objects.create_superuser("head", password="a long passphrase 42")
        client.force_login(superuser)
        response = client.post(reverse("admin:auth_user_add"), {
            "username": "newteacher", "usable_password": "true", "password1": "12345678", "password2": "12345678"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "This password is too common." in page and "This password is entirely numeric." in page
        assert not get_user_model().objects.filter(username="newteacher").exists()


class TestUploadLimits:
    @pytest.fixture
    def admin(self, client, users):
        client.force_login(users["admin"])
        return client

    def test_too_many_files_in_one_request(self, admin, school_class, settings):
        settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
        before = media_files(settings)
        response = admin.post(reverse("session_upload", args=[school_class.pk]), {
            "date": "2026-11-03", "period": "1", "photos": [png_file(f"{i}.png") for i in range(4)]})
        assert response.status_code == 400
        page = response.content.decode()
        assert "Too many files in one upload: at most 3 at a time." in page and "Nothing was saved" in page
        assert 'href="/"' in page or reverse("home") in page  # the site's page, not a blank one
        assert not ClassSession.objects.exists() and media_files(settings) == before

    def test_request_over_the_upload_limit_is_refused_unread(self, admin, school_class, settings):
        settings.MAX_UPLOAD_BYTES = 20_000
        before = media_files(settings)
        response = admin.post(reverse("student_enrol", args=[school_class.pk]), {
            "name": "Ada Lovelace", "photos": [png_file("big.png", (100, 100), noise=True)]})
        assert response.status_code == 413
        page = response.content.decode()
        assert "Upload too large" in page and "the limit for one upload is 19.5\xa0KB" in page
        assert not Student.objects.exists() and media_files(settings) == before

    @pytest.mark.parametrize("form", ["enrol", "add_photos", "class_photos"])
    def test_photo_over_the_size_limit_is_named_and_nothing_stored(self, admin, school_class, settings, form):
        settings.MAX_PHOTO_BYTES = 5_000
        student = Student.objects.create(name="Grace Hopper")
        school_class.students.add(student)
        photos = [png_file("small.png"), png_file("huge.png", (100, 100), noise=True)]
        url, data = {
            "enrol": (reverse("student_enrol", args=[school_class.pk]), {"name": "Ada Lovelace"}),
            "add_photos": (reverse("student_detail", args=[student.pk]), {}),
            "class_photos": (reverse("session_upload", args=[school_class.pk]), {"date": "2026-11-03", "period": "1"}),
        }[form]
        before = media_files(settings)
        response = admin.post(url, {**data, "photos": photos})
        assert response.status_code == 400
        refusal = r"huge\.png: [\d.]+\xa0KB is over the limit of 4\.9\xa0KB per photo\."
        assert re.search(refusal, response.content.decode())
        assert media_files(settings) == before
        assert not EnrolmentPhoto.objects.exists() and not ClassSession.objects.exists()
        assert list(Student.objects.values_list("name", flat=True)) == ["Grace Hopper"]

    def test_zip_over_its_limit_is_refused(self, admin, school_class, settings):
        settings.MAX_ZIP_BYTES = 1_000
        before = media_files(settings)
        archive = SimpleUploadedFile("class.zip", os.urandom(2_000), content_type="application/zip")
        response = admin.post(reverse("roster_zip", args=[school_class.pk]), {"archive": archive})
        assert response.status_code == 400
        assert "The zip is 2.0\xa0KB; the limit is 1000\xa0bytes." in response.content.decode()
        assert not Student.objects.exists() and media_files(settings) == before
