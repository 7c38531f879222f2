"""Settings of the test suite: the production defaults (DEBUG off), plus what tests need.

Django's test client asks for "testserver"; static files come from the source folders
(no collectstatic before a test run); the test client's plain HTTP is not redirected.
"""
from attendance.wiring.settings import *  # noqa: F401,F403
from attendance.wiring.settings import ALLOWED_HOSTS, STORAGES

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
SECURE_SSL_REDIRECT = False
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True
