"""System checks (``manage.py check``, and on every ``runserver`` / ``serve`` / ``migrate``):
the face model files are present and intact before a photo is ever processed, and every
stored descriptor was made by the model the settings give."""
import os

from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connection
from django.test.utils import override_settings

from attendance.engine import model_id
from attendance.roster.reencode import stale_descriptor_counts
from faces import model_files
from faces.detectors import DETECTORS
from faces.errors import ModelFileError


@checks.register()
def face_model_files(app_configs=None, **kwargs):
    """An error per model file that is missing or does not match models/checksums.sha256."""
    errors = []
    names = [model_files.LANDMARKS_5_MODEL, model_files.RECOGNITION_MODEL]
    if settings.FACE_LANDMARK_POINTS == 68:
        names.append(model_files.LANDMARKS_68_MODEL)
    if settings.FACE_DETECTOR == "mmod":
        names.append(model_files.MMOD_MODEL)
    for name in names:
        try:
            model_files.verified_path(name)
        except ModelFileError as exc:
            errors.append(checks.Error(
                str(exc), id="attendance.E001",
                hint="Reinstall the face models: make venv (pip install -r requirements.txt), "
                     "or point FACE_MODELS_DIR at a folder holding the files listed in models/checksums.sha256.",
            ))
    return errors


#: Id of the error ``stored_descriptors_of_current_model`` reports. ``migrate`` and ``reencode``
#: silence it (``SkipStaleDescriptorCheck``): they are how the database is made right.
STALE_DESCRIPTORS = "attendance.E002"
UNKNOWN_DETECTOR = "attendance.E003"


@checks.register()
def face_detector_setting(app_configs=None, **kwargs):
    """An error when ``FACE_DETECTOR`` names no backend of ``faces.detectors.DETECTORS``
    (a typo would otherwise fail every photo in the worker)."""
    if settings.FACE_DETECTOR in DETECTORS:
        return []
    return [checks.Error(f"FACE_DETECTOR is {settings.FACE_DETECTOR!r}, which is not a face detector.",
                         id=UNKNOWN_DETECTOR, hint=f"Use one of: {', '.join(sorted(DETECTORS))}.")]


@checks.register()
def stored_descriptors_of_current_model(app_configs=None, **kwargs):
    """An error while any stored descriptor (enrolment photo, class-photo face, learnt
    template) was made by another model than ``engine.model_id()`` of the settings (a new
    ``FACE_LANDMARK_POINTS``, another model): those are never compared, so the gallery would
    be silently empty for the students concerned until ``manage.py reencode`` ran.

    Says nothing when the database cannot be read (not migrated yet: ``migrate`` says so),
    and does not create a SQLite file that does not exist yet (a command refused for
    another reason, e.g. ``runapp`` on a busy address, leaves no database behind).
    """
    if _sqlite_file_missing():
        return []
    try:
        stale = stale_descriptor_counts()
    except DatabaseError:
        return []
    if not any(stale.values()):
        return []
    counts = ", ".join(f"{n} {what}" for what, n in stale.items() if n)
    return [checks.Error(
        f"Stored face descriptors were made by another model than the settings give ({model_id()}): {counts}. "
        "They are never compared with new ones, so recognition would miss these students.",
        id=STALE_DESCRIPTORS,
        hint="Run `python manage.py reencode` to describe them again with the current model (or restore the "
             "previous FACE_LANDMARK_POINTS).",
    )]


def _sqlite_file_missing() -> bool:
    """True when the default database is a SQLite file that does not exist yet (opening a
    connection would create it)."""
    name = str(connection.settings_dict.get("NAME") or "")
    return (connection.vendor == "sqlite" and name != ":memory:" and not name.startswith("file:")
            and not os.path.exists(name))


class SkipStaleDescriptorCheck:
    """A management command mixin: its system checks run without ``STALE_DESCRIPTORS``
    (the commands that make the database right: ``migrate``, ``reencode``)."""

    def check(self, *args, **kwargs):
        with override_settings(SILENCED_SYSTEM_CHECKS=[*settings.SILENCED_SYSTEM_CHECKS, STALE_DESCRIPTORS]):
            return super().check(*args, **kwargs)


#: Our SecurityMiddleware (Django's, with the loopback exception of settings.LOOPBACK_HTTP).
OUR_SECURITY_MIDDLEWARE = "attendance.wiring.middleware.SecurityMiddleware"
DJANGO_SECURITY_MIDDLEWARE = "django.middleware.security.SecurityMiddleware"


@checks.register(checks.Tags.security, deploy=True)
def security_middleware_settings(app_configs=None, **kwargs):
    """Django's deploy checks of the security middleware's settings, for our subclass of it.

    Django looks for its own class by name (security.W001, silenced in settings because
    attendance.wiring.middleware.SecurityMiddleware takes its place); this runs the checks that
    depend on it (HSTS, HTTPS redirect, referrer and opener policies, ...) as if Django's
    were installed, so ``check --deploy`` still reports those settings. Without either
    middleware it reports Django's W001 itself.
    """
    from django.core.checks.security import base
    from django.test import override_settings

    if OUR_SECURITY_MIDDLEWARE not in settings.MIDDLEWARE:
        if DJANGO_SECURITY_MIDDLEWARE in settings.MIDDLEWARE:
            return []
        return [base.W001]
    middleware = [DJANGO_SECURITY_MIDDLEWARE if name == OUR_SECURITY_MIDDLEWARE else name
                  for name in settings.MIDDLEWARE]
    found = []
    with override_settings(MIDDLEWARE=middleware):
        for check in (base.check_sts, base.check_sts_include_subdomains, base.check_sts_preload,
                      base.check_content_type_nosniff, base.check_ssl_redirect, base.check_referrer_policy,
                      base.check_cross_origin_opener_policy):
            found.extend(check(app_configs))
    return found
