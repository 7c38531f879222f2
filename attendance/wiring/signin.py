"""Sign-in and password-change throttling that a pupil on the school's network cannot use to lock a teacher out.

The policy (README, "Sign-in policy"):

* **Known devices.** A successful sign-in gives the browser a signed "known device"
  cookie (KNOWN_DEVICE_COOKIE, a random device id and the users who signed in with it,
  kept KNOWN_DEVICE_DAYS). Wrong passwords are counted per (username, address, device),
  the device being that id when the cookie lists the user, else "unknown".
* **Per address and device.** After LOGIN_FAILURE_LIMIT wrong passwords within
  LOGIN_COOLOFF_MINUTES for one (username, address, device), that triple is refused
  (HTTP 429), even with the right password, until the oldest of them is that old. Someone
  else's wrong guesses from the school's shared address fall on the "unknown device" of
  that address, never on the teacher's known device, so they cannot lock the teacher out
  of a known browser; every unknown browser at that address (the teacher's new one too)
  is paused with them.
* **Per username.** After LOGIN_USERNAME_FAILURE_LIMIT wrong passwords for one username
  within LOGIN_COOLOFF_MINUTES from anywhere (guesses spread over many addresses),
  sign-in as that user is paused for every *unknown* device (429, even with the right
  password); the user's known devices still sign in. Nothing is locked for good: the
  pause ends as the failures age.
* **Password change** (/password/): wrong old passwords count per user, whatever the
  address; after LOGIN_FAILURE_LIMIT within LOGIN_COOLOFF_MINUTES the form is refused
  (429) even with the right one.

Failures are rows of SignInFailure; rows older than LOGIN_COOLOFF_MINUTES are deleted
whenever a failure is recorded. An admin unlocks early by deleting rows (Admin -> Sign-in
failures). Wired into Django by SignInThrottleBackend (first in
AUTHENTICATION_BACKENDS: refuses before the password is checked), the
user_login_failed / user_logged_in signals (counting, and the cookie) and
SignInThrottleMiddleware (the 429 page, setting the cookie).
"""
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.utils import timezone

from attendance.models import PasswordChangeRequired, SignInFailure
from attendance.wiring.middleware import client_ip

KNOWN_DEVICE_COOKIE = "known_device"
_SALT = "attendance.signin.known-device"
SIGN_IN, PASSWORD_CHANGE = "sign_in", "password"


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in (or password change) is refused now: ``scope`` is "device", "account" or "password"."""

    scope: str
    limit: int
    minutes: int


def _window():
    return timezone.now() - timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)


def _minutes() -> int:
    return max(1, math.ceil(settings.LOGIN_COOLOFF_MINUTES))


def _device_cookie(request) -> dict:
    """The request's known-device cookie as {"id": str, "users": [int]}, or {} when absent or forged."""
    value = request.COOKIES.get(KNOWN_DEVICE_COOKIE)
    if not value:
        return {}
    try:
        data = signing.loads(value, salt=_SALT, max_age=timedelta(days=settings.KNOWN_DEVICE_DAYS))
    except signing.BadSignature:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("users"), list):
        return {}
    return data


def known_device(request, username: str) -> str:
    """The device id of the request's known-device cookie if it lists ``username``'s user, else "".

    Decided once per request and username (a sign-in asks it up to four times: the
    refusal check, the failure counted, the failure forgotten, the known device cleared)."""
    decided = getattr(request, "_known_devices", None)
    if decided is None:
        decided = request._known_devices = {}
    if username not in decided:
        decided[username] = _known_device(request, username)
    return decided[username]


def _known_device(request, username: str) -> str:
    data = _device_cookie(request)
    if not data or not username:
        return ""
    User = get_user_model()
    user_id = User.objects.filter(**{User.USERNAME_FIELD: username}).values_list("pk", flat=True).first()
    return data["id"] if user_id is not None and user_id in data["users"] else ""


def sign_in_refusal(request, username: str) -> Refusal | None:
    """Why signing in as ``username`` from this request is refused now, or None (see the module's policy)."""
    if not username:
        return None
    recent = SignInFailure.objects.filter(kind=SIGN_IN, username=username, at__gte=_window())
    device = known_device(request, username)
    if recent.filter(address=client_ip(request), device=device).count() >= settings.LOGIN_FAILURE_LIMIT:
        return Refusal("device", settings.LOGIN_FAILURE_LIMIT, _minutes())
    if not device and recent.count() >= settings.LOGIN_USERNAME_FAILURE_LIMIT:
        return Refusal("account", settings.LOGIN_USERNAME_FAILURE_LIMIT, _minutes())
    return None


def password_change_refusal(user) -> Refusal | None:
    """Why ``user``'s password change form is refused now (too many wrong old passwords), or None."""
    recent = SignInFailure.objects.filter(kind=PASSWORD_CHANGE, username=user.get_username(), at__gte=_window())
    if recent.count() >= settings.LOGIN_FAILURE_LIMIT:
        return Refusal("password", settings.LOGIN_FAILURE_LIMIT, _minutes())
    return None


def record_failure(request, kind: str, username: str):
    """Count a wrong password for ``username`` from this request; delete failures older than the window.

    Returns the new SignInFailure.
    """
    SignInFailure.objects.filter(at__lt=_window()).delete()
    return SignInFailure.objects.create(kind=kind, username=username[:150], address=client_ip(request)[:64],
                                 device=known_device(request, username) if kind == SIGN_IN else "")


def clear_failures(request, kind: str, username: str) -> None:
    """Forget the failures that a success from this request answers: for a sign-in, those of
    its (username, address, device); for a password change, the user's."""
    failures = SignInFailure.objects.filter(kind=kind, username=username)
    if kind == SIGN_IN:
        failures = failures.filter(address=client_ip(request), device=known_device(request, username))
    failures.delete()


def refused_response(request, refusal: Refusal):
    """The "Sign-in paused" page, HTTP 429."""
    return render(request, "registration/locked_out.html", {"refusal": refusal}, status=429)


class SignInThrottleBackend:
    """First authentication backend: refuses (PermissionDenied) a sign-in that sign_in_refusal refuses.

    Django's authenticate() then stops without checking the password and sends
    user_login_failed; SignInThrottleMiddleware turns the refusal into the 429 page.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        username = username or kwargs.get(get_user_model().USERNAME_FIELD) or ""
        refusal = sign_in_refusal(request, username)
        if refusal:
            request.signin_refusal = refusal
            raise PermissionDenied
        if username:
            # Counted as a failure before the password is checked, and forgotten on
            # success: guesses sent in parallel cannot all slip under the limit while
            # their passwords are being hashed.
            request.signin_pending = record_failure(request, SIGN_IN, username)
        return None

    # No get_user: it signs nobody in, so sessions name ModelBackend (and Django's test
    # client's force_login picks the first backend that has get_user).


class RequirePasswordChangeMiddleware:
    """Sends a user signed in with a one-time password (``PasswordChangeRequired``, issued
    on the Staff page) to /password/ from every page until they choose their own; signing
    out, the password page and static files stay open. The API answers such a session 403
    (JSON) until then; a one-time password revoked the user's tokens (a token's requests
    are signed in by the API's own authentication, after this middleware, so never stopped here).

    One query per request of a signed-in user."""

    #: URL names the user may open before changing the password (the language menu and
    #: the scripts' translations included).
    ALLOWED = ("password_change", "logout", "set_language", "javascript_catalog")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not request.path.startswith("/static/")
                and PasswordChangeRequired.objects.filter(user=user).exists()):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": "Choose your own password at /password/ first: you signed in with a "
                                               "one-time password."}, status=403)
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in self.ALLOWED:
                return redirect("password_change")
        return self.get_response(request)


class SignInThrottleMiddleware:
    """Answers a refused sign-in with the 429 page; gives a signed-in browser its known-device cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        refusal = getattr(request, "signin_refusal", None)
        if refusal:
            return refused_response(request, refusal)
        user_id = getattr(request, "signin_known_user", None)
        if user_id is not None:
            data = _device_cookie(request) or {"id": secrets.token_urlsafe(16), "users": []}
            if user_id not in data["users"]:
                data["users"] = [*data["users"], user_id][-20:]
            response.set_cookie(KNOWN_DEVICE_COOKIE, signing.dumps(data, salt=_SALT),
                                max_age=settings.KNOWN_DEVICE_DAYS * 24 * 3600, httponly=True,
                                secure=settings.SESSION_COOKIE_SECURE, samesite="Lax")
        return response


@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs):
    if request is None or getattr(request, "signin_refusal", None):
        return  # a refused attempt is not evaluated, so not counted
    username = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or ""
    if username:
        if getattr(request, "signin_pending", None) is None:
            record_failure(request, SIGN_IN, username)
        # The failure that reaches a limit is answered with the 429 page already.
        request.signin_refusal = sign_in_refusal(request, username)


@receiver(user_logged_in)
def _remember_device(sender, request, user, **kwargs):
    if request is None:
        return
    pending = getattr(request, "signin_pending", None)
    if pending is not None:
        pending.delete()
    if known_device(request, user.get_username()):
        # The user's own typos on their own browser; failures from an unknown device on
        # the same address may be someone else's and keep counting.
        clear_failures(request, SIGN_IN, user.get_username())
    request.signin_known_user = user.pk


def revoke_api_tokens(user) -> int:
    """Delete ``user``'s API tokens (they must make a new one); returns how many were deleted."""
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(user=user).delete()[0]


def _password_in_database(user) -> str | None:
    return type(user).objects.filter(pk=user.pk).values_list("password", flat=True).first()


def _check_password_change(sender, instance, raw=False, update_fields=None, **kwargs):
    """pre_save of the user model: note whether the stored password hash is about to change
    (no query for a save that does not write the password, e.g. sign-in's last_login)."""
    if raw or instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    instance._password_changing = _password_in_database(instance) not in (None, instance.password)


def _revoke_after_password_change(sender, instance, created=False, raw=False, **kwargs):
    """post_save of the user model: a changed password revokes the user's API tokens, by any path
    (the /password/ page, the admin, ``manage.py changepassword``, code calling set_password)."""
    if getattr(instance, "_password_changing", False):
        instance._password_changing = False
        revoke_api_tokens(instance)
        # A one-time password is changed: the user chose their own (issue_one_time_password
        # makes the row again after saving the one it issues).
        PasswordChangeRequired.objects.filter(user=instance).delete()


def connect_signals():
    """Connect the password-change receivers to the user model (AppConfig.ready)."""
    from django.db.models.signals import post_save, pre_save

    User = get_user_model()
    pre_save.connect(_check_password_change, sender=User, dispatch_uid="attendance.wiring.signin.pre_save")
    post_save.connect(_revoke_after_password_change, sender=User, dispatch_uid="attendance.wiring.signin.post_save")
