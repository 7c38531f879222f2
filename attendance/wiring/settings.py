"""Django settings. Every value that differs between installs comes from the environment.

Defaults run out of the box on one machine: SQLite in ./db.sqlite3, photos in ./media,
Redis at REDIS_URL (``make run`` starts an embedded one when REDIS_URL is unset).
"""
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from attendance.wiring.env import secret_key_from_file, this_machines_names, env_bool, env_choice, env_days, env_float, env_int, env_list, env_percent, env_str, photo_storage

BASE_DIR = Path(__file__).resolve().parents[2]  # the checkout: attendance/wiring/settings.py

# Production by default: `make run` is safe to leave running in a school as it comes.
# DEBUG=true (`make dev`) turns on Django's debug pages and auto-reload for development.
DEBUG = env_bool("DEBUG", False)
# SECRET_KEY from the environment, else generated once into SECRET_KEY_FILE (default
# var/secret_key, mode 600, outside the repository) and reused by every process.
SECRET_KEY = env_str("SECRET_KEY") or secret_key_from_file(
    Path(env_str("SECRET_KEY_FILE", str(BASE_DIR / "var" / "secret_key"))))
# The names this site answers to. Default: this machine's own names (localhost,
# 127.0.0.1, [::1], its host name and fully qualified name); behind a proxy, set the
# site's public name(s), e.g. ALLOWED_HOSTS=attendance.school.example.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") if "ALLOWED_HOSTS" in os.environ else this_machines_names()
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must not be empty: the site's host names, comma-separated (e.g. attendance.school.example)")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "attendance",
]

MIDDLEWARE = [
    # Django's, except that plain HTTP on this machine's loopback is served as it is
    # (LOOPBACK_HTTP, the quick start on http://127.0.0.1:8000).
    "attendance.wiring.middleware.SecurityMiddleware",
    "attendance.wiring.middleware.ContentSecurityPolicyMiddleware",
    # Static files (CSS, JS, the admin's) in production too; never photos (see MEDIA_ROOT).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the browser's (Accept-Language) or the language menu's cookie ...
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # ... or, once signed in, the one the user chose (attendance/wiring/language.py).
    "attendance.wiring.language.UserLanguageMiddleware",
    # Before CSRF, which is the first to read the body: a too large upload, or any body
    # from someone not signed in (but to sign in), is refused unread.
    "attendance.wiring.middleware.UploadSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a refused sign-in into its page (429); gives signed-in browsers their
    # known-device cookie (attendance/wiring/signin.py).
    "attendance.wiring.signin.SignInThrottleMiddleware",
    # A one-time password from the Staff page must be changed before anything else.
    "attendance.wiring.signin.RequirePasswordChangeMiddleware",
]

ROOT_URLCONF = "attendance.wiring.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "attendance.wiring.context_processors.role",
                "attendance.wiring.context_processors.languages",
            ],
        },
    },
]

WSGI_APPLICATION = "attendance.wiring.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and the web process write to the same file; wait for each other's
    # locks instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Take the write lock when a transaction starts: a deferred transaction that later
    # needs to write fails at once with "database is locked" instead of waiting.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # Tests run the worker in another process, so the test database must be a file.
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_SQLITE_PATH", str(BASE_DIR / "var" / "test.sqlite3"))}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ---- Sign-in throttling (attendance/wiring/signin.py, README "Sign-in policy") ----
# A successful sign-in marks the browser as a known device of that user (a signed cookie
# kept KNOWN_DEVICE_DAYS). After LOGIN_FAILURE_LIMIT wrong passwords within
# LOGIN_COOLOFF_MINUTES for one (username, address, device), that triple is refused
# (HTTP 429) even with the right password; after LOGIN_USERNAME_FAILURE_LIMIT for one
# username from anywhere, only the user's known devices may sign in until the failures
# age. So a pupil guessing on the school's shared address never locks out the teacher's
# own browser. Wrong old passwords on /password/ count per user (LOGIN_FAILURE_LIMIT).
# Admins unlock early under Admin -> Sign-in failures (delete the rows).
AUTHENTICATION_BACKENDS = [
    "attendance.wiring.signin.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_USERNAME_FAILURE_LIMIT = env_int("LOGIN_USERNAME_FAILURE_LIMIT", 20, minimum=1)
LOGIN_COOLOFF_MINUTES = env_float("LOGIN_COOLOFF_MINUTES", 15, more_than=0)
KNOWN_DEVICE_DAYS = env_int("KNOWN_DEVICE_DAYS", 365, minimum=1)
# Behind reverse proxies, the client's address is the one the nearest of them reports
# (X-Forwarded-For), not theirs: TRUSTED_PROXY_COUNT is how many there are in front of
# Django (0: use the connection's address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# ---- REST API (/api/v1/, attendance/api/) ----
# A token (admin -> Tokens, or `manage.py drf_create_token USERNAME`) in the header
# "Authorization: Token <key>"; or the signed-in session (with its CSRF token) for the
# browsable API. Token first, so a request without credentials gets 401, not 403.
# Permissions are the web pages' (attendance/api/permissions.py asks access.py).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication",
                                       "rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The browsable API's pages have inline scripts, which the production
    # Content-Security-Policy forbids: JSON only there.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "attendance.api.exceptions.handler",
    # Bad JSON of any shape (invalid, nested too deeply, not an object) is a JSON 400, a
    # body over API_MAX_JSON_BYTES a JSON 413 (attendance/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["attendance.api.parsers.SafeJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "attendance.api.pagination.Pages", "PAGE_SIZE": env_int("API_PAGE_SIZE", 100, 1),
}
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 1000, minimum=1)  # every list in pages: api/pagination.py says why
# The largest JSON body the API reads, in bytes: its bodies are a few fields (a status and
# reason, a face's answer), so 64 KiB is ample and bounds the parsed objects' memory.
API_MAX_JSON_BYTES = 64 * 1024
# The OpenAPI 3 schema at /api/schema/ and Swagger UI at /api/docs/, for signed-in users
# (token or session); Swagger UI's files come from drf-spectacular-sidecar, no CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "Class Attendance API",
    "DESCRIPTION": "Classes, students, sessions, class photo upload and attendance records, with the same "
                   "permissions as the web pages. Authenticate with the header `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AttendanceStatusEnum": "attendance.models.AttendanceRecord.STATUS_CHOICES",
        "AttendanceSourceEnum": "attendance.models.AttendanceRecord.SOURCE_CHOICES",
        "ClassPhotoStatusEnum": "attendance.models.ClassPhoto.STATUS_CHOICES",
        "EnrolmentPhotoStatusEnum": "attendance.models.EnrolmentPhoto.STATUS_CHOICES",
    },
}

# ---- Languages (README "Languages") ----
# The page's language follows the browser (Accept-Language) unless the user chose one in
# the header's menu (kept on their account, so it follows them to another device).
# English is British English (its dates "2 Dec 2026"); a browser asking for any English
# gets it. Chinese is Simplified Chinese. Catalogues: locale/<locale>/LC_MESSAGES/*.po,
# compiled to .mo by `manage.py compile_translations` (`make` does it before running).
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
# The school's local time zone: session dates are local dates in this zone.
TIME_ZONE = env_str("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `manage.py collectstatic` copies them here (`make run` does when DEBUG is false);
# WhiteNoise serves them; in production under hashed names that browsers cache for good.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Development: served from the source folders as they change; production: from STATIC_ROOT.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG

# Photos of children: stored with generated names and served only through views that
# check permissions (read with the storage's .open()), never from a public URL. By
# default files under MEDIA_ROOT; with S3_BUCKET set, private objects in that bucket of an
# S3-compatible store, shared by web and worker hosts (attendance/wiring/env.py photo_storage,
# docs/deployment.md).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": photo_storage(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# After the view checked permission, let the web server send the photo's upright JPEG
# rendition from MEDIA_ROOT: "x-accel-redirect" (nginx: an `internal` location at
# PHOTO_SENDFILE_PREFIX aliased to MEDIA_ROOT) or "x-sendfile" (Apache mod_xsendfile,
# lighttpd). Empty (the default): Django sends the bytes itself. Local files only.
PHOTO_SENDFILE = env_choice("PHOTO_SENDFILE", "", ("", "x-accel-redirect", "x-sendfile"))
PHOTO_SENDFILE_PREFIX = env_str("PHOTO_SENDFILE_PREFIX", "/protected-media/")
if PHOTO_SENDFILE and STORAGES["default"]["BACKEND"] != "django.core.files.storage.FileSystemStorage":
    raise ImproperlyConfigured("PHOTO_SENDFILE works with photos under MEDIA_ROOT only, not with S3_BUCKET: "
                               "unset one of them.")
if not (PHOTO_SENDFILE_PREFIX.startswith("/") and PHOTO_SENDFILE_PREFIX.endswith("/")):
    raise ImproperlyConfigured(f"PHOTO_SENDFILE_PREFIX must start and end with '/', not {PHOTO_SENDFILE_PREFIX!r}")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Reports: students whose attendance rate is below this percentage are highlighted.
ATTENDANCE_THRESHOLD_PERCENT = env_percent("ATTENDANCE_THRESHOLD_PERCENT", 90)

# E-mail (set-password links from the Staff page): sent only when EMAIL_HOST is set;
# otherwise the admin passes the link on. EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS and DEFAULT_FROM_EMAIL as Django names them.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "attendance@localhost")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Uploads: the largest single photo, and the largest zip of enrolment photos, in bytes
# (form errors naming the file, HTTP 400).
MAX_PHOTO_BYTES = env_int("MAX_PHOTO_BYTES", 25 * 1024 * 1024)
MAX_ZIP_BYTES = env_int("MAX_ZIP_BYTES", 200 * 1024 * 1024)
# The largest request body (all the files of one upload together): a larger one is
# refused before it is read (HTTP 413, attendance/wiring/middleware.py).
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", max(256 * 1024 * 1024, MAX_ZIP_BYTES + 1024 * 1024))
# The most files in one request; more is refused (HTTP 400, "Too many files", 400.html).
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("MAX_UPLOAD_FILES", 50)
# Form fields other than files, in bytes; larger files go to a temporary file, not memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Roster imports (attendance/roster/imports): the uploaded OneRoster zip or CSV, kept under
# MEDIA_ROOT/imports between the preview and the import; a zip's members (count) and their
# size once unzipped (zip bombs); one CSV value's length in characters. A school of 2,000
# children in 12 classes each exports about 3 MB of CSV.
ROSTER_IMPORT_MAX_BYTES = env_int("ROSTER_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1)
ROSTER_IMPORT_MAX_ZIP_MEMBERS = env_int("ROSTER_IMPORT_MAX_ZIP_MEMBERS", 50, minimum=1)
ROSTER_IMPORT_MAX_UNZIPPED_BYTES = env_int("ROSTER_IMPORT_MAX_UNZIPPED_BYTES", 200 * 1024 * 1024, minimum=1)
ROSTER_CSV_MAX_FIELD_CHARS = env_int("ROSTER_CSV_MAX_FIELD_CHARS", 10_000, minimum=1)

# ---- Web security ----
# Every environment: no sniffing of types, no framing, no referrer to other sites, a
# strict Content-Security-Policy (attendance/wiring/middleware.py; no inline scripts or styles
# anywhere in the templates). In development the policy is only reported (browser console).
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
)
CONTENT_SECURITY_POLICY_REPORT_ONLY = DEBUG
SESSION_COOKIE_HTTPONLY = True
# Production (DEBUG=false, the default): HTTPS only. Cookies are sent over HTTPS only,
# plain HTTP is redirected to HTTPS, and browsers are told (HSTS) to use HTTPS for a year.
# One exception, LOOPBACK_HTTP (default true): a request over plain HTTP *from* this
# machine's loopback address *to* a loopback name (127.0.0.1, localhost, [::1]) is served
# in plain HTTP with cookies that are not marked Secure, so the quick start works on
# http://127.0.0.1:8000; such traffic never leaves the machine. Any other host name, or
# a client on the network, gets the HTTPS rules. LOOPBACK_HTTP=false: HTTPS everywhere.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
LOOPBACK_HTTP = env_bool("LOOPBACK_HTTP", True)
# Django's check for its SecurityMiddleware looks for its class by name; ours takes its
# place and attendance/wiring/checks.py runs the checks of its settings instead.
SILENCED_SYSTEM_CHECKS = ["security.W001"]
# Where TLS ends at a reverse proxy, set SECURE_PROXY_SSL_HEADER to the header it sets to
# "https" on HTTPS requests (e.g. X-Forwarded-Proto; the proxy must overwrite it), so
# Django knows those requests are secure. SECURE_SSL_REDIRECT=false leaves redirecting to
# the proxy.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Monitoring may ask the app itself over plain HTTP (its answer holds no secrets).
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Origins allowed to POST forms besides the site itself, e.g. https://attendance.school.example
# when a proxy changes the Host header.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# ---- Celery (broker: Redis) ----
# Unset: the embedded Redis of a running `make run` (it writes its address to
# var/redis.url), so the command-line tools reach the same worker; else the default port.
EMBEDDED_REDIS_URL_FILE = BASE_DIR / "var" / "redis.url"


def _embedded_redis_url() -> str:
    try:
        url = EMBEDDED_REDIS_URL_FILE.read_text().strip()
    except OSError:
        return ""
    socket_path = url.removeprefix("redis+socket://")
    return url if Path(socket_path).exists() else ""


REDIS_URL = env_str("REDIS_URL") or _embedded_redis_url() or "redis://127.0.0.1:6379/0"
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "attendance")
# Run inside the caller (no worker) only where explicitly asked, e.g. scripted demos.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# A photo is acknowledged only after it was processed, and re-queued if the worker
# process dies, so a killed worker does not lose a class photo.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Seconds. A 12000 x 9000 photo with many faces takes well under a minute on 2 cores.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
# Redis re-delivers an unacknowledged task (its worker was killed) after this many
# seconds; twice the hard time limit, so a slow photo is never run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# Photos still waiting this long (seconds) are sent to the worker again: their upload
# committed while the broker was unreachable (attendance/wiring/job_queue.py). Sending one
# twice is harmless (a photo is claimed once).
PENDING_RESEND_SECONDS = env_int("PENDING_RESEND_SECONDS", 120)
# Days after processing (done or failed) when a class photo, its faces and their
# descriptors are deleted (attendance/registers/retention.py); the attendance records stay.
# 0 keeps them for ever. Negative values are refused.
CLASS_PHOTO_RETENTION_DAYS = env_days("CLASS_PHOTO_RETENTION_DAYS", 30)
# Celery beat (run inside the worker by `make run`; run exactly one beat per
# deployment): re-send photos whose task was lost, every minute; delete the class
# photos past their retention every 6 hours (beat's schedule file remembers the last
# run, so a machine switched off at night catches up when it starts).
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-photos": {"task": "attendance.tasks.requeue_stalled_task", "schedule": 60.0},
    "delete-expired-class-photos": {"task": "attendance.tasks.delete_expired_class_photos_task",
                                    "schedule": timedelta(hours=6)},
}

# ---- Face engine ----
# HOG upsampling: 1 finds faces down to about 40 px (back rows); 0 only from ~80 px.
FACE_DETECTION_UPSAMPLE = env_int("FACE_DETECTION_UPSAMPLE", 1)
# When at least a quarter of the faces found are narrower than this (pixels; HOG's floor
# at one upsampling is about 40), detection runs again with one more upsampling to find
# the faces below its reach (small faces, large classes). On the --scale 0.35 0.55
# benchmark (faces of 19-46 px) this found 322 faces instead of 254 and raised recall
# from 0.70 to 0.87; on 1920 x 1080 photos with 60-100 px faces it does not trigger.
FACE_DETECTION_SMALL_FACE_PX = env_int("FACE_DETECTION_SMALL_FACE_PX", 56)
# Photos whose longer side exceeds this are scaled down for detection only (pixels).
FACE_DETECTION_MAX_SIDE = env_int("FACE_DETECTION_MAX_SIDE", 2400)
# Threads one worker process uses for one photo's face detection and descriptors. dlib
# and numpy release the GIL, so a 1920 x 1080 photo's detection takes 0.57 s instead of
# 0.89 s on 2 cores (README "Speed"). Default: the machine's cores, at most 4.
FACE_ENGINE_THREADS = env_int("FACE_ENGINE_THREADS", min(4, os.cpu_count() or 1))
# "numpy" (default) runs dlib's ResNet weights with numpy's BLAS, 4.5 ms per face; "dlib"
# uses dlib's own code, 75-97 ms per face in the dlib-bin wheel (no BLAS). Same
# descriptors within 5.1e-7 (faces/embedders/descriptor_net.py).
FACE_DESCRIPTOR_ENGINE = env_str("FACE_DESCRIPTOR_ENGINE", "numpy")
if FACE_DESCRIPTOR_ENGINE not in ("numpy", "dlib"):
    raise ImproperlyConfigured(f"FACE_DESCRIPTOR_ENGINE must be numpy or dlib, not {FACE_DESCRIPTOR_ENGINE!r}")
# The face detector backend (faces/detectors/: its DETECTORS). "hog-coarse-to-fine" (default,
# issue 17): dlib's HOG in passes from a 1440 px copy to finer scales only while faces crowd
# towards the last pass's floor, at most to the resolution set above (README "Speed"); "hog"
# always detects at that finest resolution; "mmod" is dlib's CNN detector run with ONNX
# Runtime (faces 80 px and up at FACE_DETECTION_UPSAMPLE=0, 40 px at 1; slower than HOG).
FACE_DETECTOR = env_str("FACE_DETECTOR", "hog-coarse-to-fine")
# 5 (default; public domain) or 68 (iBUG 300-W licence: not for commercial use).
FACE_LANDMARK_POINTS = env_int("FACE_LANDMARK_POINTS", 5)
# Largest descriptor distance accepted as the same student. dlib's own is 0.6; see
# README "Accuracy" for the benchmark behind this default.
FACE_MATCH_THRESHOLD = env_float("FACE_MATCH_THRESHOLD", 0.58)
# Smallest gap between the chosen student and the next nearest; closer calls go to review ("Looks like X, not sure"). 0
# by default: on the benchmarks of README "Accuracy" a margin of 0.03 lost 0.4-3.1 points of recall on every set and,
# with the mutual-best rule and the tightening below, removed no false present on the term benchmark.
FACE_MATCH_MARGIN = env_float("FACE_MATCH_MARGIN", 0.0)
# Mutual best compares a face with the other faces whose nearest student is the same (false) or with every face of the
# session (true). Strict lost presents on every benchmark set (2 of 90 on the acceptance set of issue 2: a student's
# face loses them to a face clearly another student's) for one false present fewer in 30 term photos (README Accuracy).
FACE_MATCH_STRICT_MUTUAL_BEST = env_bool("FACE_MATCH_STRICT_MUTUAL_BEST", False)
# How much nearer to a student a face in a photo added later must be than the face an earlier photo matched to them, to
# take the student over ("clearly better evidence"); otherwise the earlier decision stands (register.match_session).
FACE_MATCH_CHANGE_MARGIN = env_float("FACE_MATCH_CHANGE_MARGIN", 0.03)
# Distance taken off a student's threshold per doubling of 1 + their learnt templates
# (faces.matching.tightened_threshold): more templates give a stranger more chances to fall near one. 0.03 (0.58 with
# none, 0.532 with 2, 0.49 with 7) halved false presents on the term benchmark (README "Accuracy") at the same recall;
# 0 keeps one threshold.
FACE_MATCH_THRESHOLD_TIGHTENING = env_float("FACE_MATCH_THRESHOLD_TIGHTENING", 0.03)
# A face narrower than this fraction of the median face width of its photo is not judged
# (background faces, posters): it goes to review as "too small". 0: no such rule.
FACE_MIN_RELATIVE_WIDTH = env_float("FACE_MIN_RELATIVE_WIDTH", 0.0)
# Faces narrower than FACE_SMALL_PROBE_PX (0: off) are matched only when the next student is FACE_SMALL_MATCH_MARGIN
# further, else they go to review, "too small to recognise for sure" (README "Small faces": the benchmark behind both).
FACE_SMALL_PROBE_PX = env_int("FACE_SMALL_PROBE_PX", 48)
FACE_SMALL_MATCH_MARGIN = env_float("FACE_SMALL_MATCH_MARGIN", 0.04)

# ---- Learnt templates (attendance/roster/learning.py) ----
# Faces of a confirmed register become extra templates of their students (with consent).
# At most this many per student (enrolment photos are never evicted, nor counted here).
TEMPLATE_MAX_PER_STUDENT = env_int("TEMPLATE_MAX_PER_STUDENT", 10)
# A face this close to one of the student's enrolment photos or templates adds nothing.
TEMPLATE_MIN_NOVELTY = env_float("TEMPLATE_MIN_NOVELTY", 0.1)
# Faces narrower than this (pixels in the class photo) are not learnt: their descriptors
# are less reliable (README "Accuracy": most false presents and reviews are small faces).
TEMPLATE_MIN_FACE_PX = env_int("TEMPLATE_MIN_FACE_PX", 40)
# Longer side of the face crop kept with a template (pixels): enough to recognise the
# child on the student page, far less than the class photo.
TEMPLATE_CROP_PX = env_int("TEMPLATE_CROP_PX", 128)
# Also learn strong machine matches of sessions nobody confirmed (issue 13's simulation:
# they are the easy faces, so this changed nothing there). Off by default.
TEMPLATE_LEARN_STRONG_MATCHES = env_bool("TEMPLATE_LEARN_STRONG_MATCHES", False)
TEMPLATE_STRONG_MATCH_DISTANCE = env_float("TEMPLATE_STRONG_MATCH_DISTANCE", 0.45)
TEMPLATE_STRONG_MATCH_MARGIN = env_float("TEMPLATE_STRONG_MATCH_MARGIN", 0.1)
# Drift: the student page suggests a new enrolment photo when the median distance of the
# student's last DRIFT_RECENT_MATCHES matched faces (at least DRIFT_MIN_MATCHES) to their
# enrolment photos is above DRIFT_ALERT_FRACTION of the threshold.
DRIFT_RECENT_MATCHES = env_int("DRIFT_RECENT_MATCHES", 10)
DRIFT_MIN_MATCHES = env_int("DRIFT_MIN_MATCHES", 5)
DRIFT_ALERT_FRACTION = env_float("DRIFT_ALERT_FRACTION", 0.85)
# An enrolment photo with several faces is accepted when the largest has this many
# times the area of the next (see faces/enrolment.py for the measurement).
ENROLMENT_DOMINANT_FACE_RATIO = env_float("ENROLMENT_DOMINANT_FACE_RATIO", 1.5)
# The enrolment quality gate (faces/quality.py has the measurements behind these).
ENROLMENT_MIN_FACE_PX = env_int("ENROLMENT_MIN_FACE_PX", 50)
ENROLMENT_MIN_SHARPNESS = env_float("ENROLMENT_MIN_SHARPNESS", 8.0)
ENROLMENT_MAX_YAW = env_float("ENROLMENT_MAX_YAW", 0.4)
ENROLMENT_MAX_ROLL_DEGREES = env_float("ENROLMENT_MAX_ROLL_DEGREES", 30.0)
# An enrolment face closer than this to another enrolled student is flagged for an admin
# (a photo mix-up or the same child enrolled twice). Stricter than the match threshold
# on purpose: among the 997 enrolable photos of ../shared/faces/identities, 0.38 % of
# pairs of different people are within 0.58 (a new student in a school of 1,000 would
# nearly always be flagged), but only 0.010 % within 0.45, which still catches 58 % of
# pairs of photos of the same person and every re-used photo (distance ~0).
ENROLMENT_DUPLICATE_THRESHOLD = env_float("ENROLMENT_DUPLICATE_THRESHOLD", 0.45)
# Faces in class photos narrower than this (pixels) are too small to judge: they go to
# the teacher's review instead of being guessed.
FACE_MIN_PROBE_PX = env_int("FACE_MIN_PROBE_PX", 24)
# Largest photo accepted, in megapixels (checked from the header, before decoding).
MAX_PHOTO_MEGAPIXELS = env_int("MAX_PHOTO_MEGAPIXELS", 120, minimum=1)
# Most memory one photo's decoding may take, in MB (MiB): pixels x bytes per pixel of
# the mode it decodes into, checked from the header (faces.images.decoded_bytes). See
# README "Memory".
MAX_DECODED_MEGABYTES = env_int("MAX_DECODED_MEGABYTES", 256, minimum=1)
# Photos larger than this many megapixels are reduced while decoded: the worker, the
# renditions and the crops work on at most this (faces.images.DEFAULT_MAX_WORKING_PIXELS).
PHOTO_WORKING_MEGAPIXELS = env_int("PHOTO_WORKING_MEGAPIXELS", 24, minimum=1)

# LOG_FORMAT=json: one JSON object per line, with each photo's fields (photo, session,
# faces, matched, seconds per stage) for a log collector; plain text otherwise.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"forbidden_without_traceback": {"()": "attendance.wiring.log_filters.ForbiddenWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "loggers": {
        "attendance": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
        # Server errors, refused requests (django.security: bad hosts, CSRF, too many
        # files) in production too.
        "django": {"handlers": ["console"], "level": "WARNING"},
        # A refused request (403) as one line, not a traceback (log_filters); still
        # passed up to "django"'s handler.
        "django.request": {"filters": ["forbidden_without_traceback"]},
    },
}
