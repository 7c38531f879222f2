"""System checks (``manage.py check``, and on every ``runserver`` / ``migrate``): the face
model files are present and intact before a photo is ever processed."""
from django.conf import settings
from django.core import checks

from faces import model_files
from faces.errors import ModelFileError


@checks.register()
def face_model_files(app_configs=None, **kwargs):
    """An error per model file that is missing or does not match models/checksums.sha256."""
    errors = []
    names = [model_files.LANDMARKS_5_MODEL, model_files.RECOGNITION_MODEL]
    if settings.FACE_LANDMARK_POINTS == 68:
        names.append(model_files.LANDMARKS_68_MODEL)
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
