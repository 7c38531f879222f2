"""Who may send a request body: refusing uploads from people not signed in, before reading them.

Only signed-in users (a session) and API clients (a valid token) may send a body (POST,
PUT, PATCH, ...), except to the sign-in pages, which take small bodies from anyone. The
rule is applied twice: in waitress as soon as a request's headers have arrived
(``manage.py serve``, attendance/server.py), so the body of a refused request is never
received, and in Django (attendance.middleware.UploadSizeLimitMiddleware) for any other
server.
"""
from django.conf import settings
from django.http.cookie import parse_cookie

#: Pages that take a body from someone not signed in: the sign-in and sign-out forms.
ANONYMOUS_BODY_PATHS = frozenset({"/login/", "/logout/", "/admin/login/", "/admin/logout/"})
#: The largest body, in bytes, they take from someone not signed in (a sign-in form is
#: well under 1 KB: username, password, CSRF token, "next").
ANONYMOUS_BODY_BYTES = 64 * 1024

SIGN_IN_FIRST = "Sign in first: only signed-in users may send data here. Nothing was read."
API_CREDENTIALS = ("Authentication credentials were not provided: send the header 'Authorization: Token <key>'. "
                   "Nothing was read.")


def anonymous_refusal(path: str, length: int, authorization: str = "") -> tuple[int, str] | None:
    """Why a body of ``length`` bytes to ``path`` from someone with no session is refused, or None.

    ``authorization`` is the request's Authorization header: an API token that exists for
    an active user may send a body to the API (the API then checks it again).

    Returns:
        None when the body may be read, else (HTTP status, message): 413 for a body over
        ANONYMOUS_BODY_BYTES to a sign-in page; 401 for the API (no valid token, as the API
        answers requests without credentials); 302 elsewhere (to the sign-in page, as for
        any page that needs a signed-in user).
    """
    if path in ANONYMOUS_BODY_PATHS:
        if length > ANONYMOUS_BODY_BYTES:
            return 413, f"A sign-in form is never larger than {ANONYMOUS_BODY_BYTES // 1024} KB; nothing was read."
        return None
    if path.startswith("/api/"):
        return None if valid_token(authorization) else (401, API_CREDENTIALS)
    return 302, SIGN_IN_FIRST


def valid_token(authorization: str) -> bool:
    """True when ``authorization`` is "Token <key>" for an existing token of an active user."""
    from rest_framework.authtoken.models import Token

    parts = authorization.split()
    if len(parts) != 2 or parts[0].lower() != "token":
        return False
    return Token.objects.filter(key=parts[1], user__is_active=True).exists()


def signed_in(cookie_header: str) -> bool:
    """True when the Cookie header holds a session cookie of a signed-in, active user."""
    from importlib import import_module

    from django.contrib.auth import get_user_model

    key = parse_cookie(cookie_header).get(settings.SESSION_COOKIE_NAME)
    if not key:
        return False
    user_id = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).get("_auth_user_id")
    return bool(user_id) and get_user_model().objects.filter(pk=user_id, is_active=True).exists()


def body_cap(path: str) -> int | None:
    """The most bytes of body ``path`` takes from anyone, or None for no cap below MAX_UPLOAD_BYTES.

    The sign-in pages (ANONYMOUS_BODY_PATHS) take ANONYMOUS_BODY_BYTES. A body with a
    Content-Length is refused from its headers (refusal_for_headers); a chunked body
    (Transfer-Encoding: chunked, no length) is counted as it arrives and refused with 413
    once over the cap (attendance.server.GatedParser), so it is never read in full.
    """
    return ANONYMOUS_BODY_BYTES if path in ANONYMOUS_BODY_PATHS else None


def refusal_for_headers(method: str, path: str, headers: dict) -> tuple[int, str] | None:
    """anonymous_refusal for a request known only by its start line and headers.

    ``headers`` maps WSGI-style names (``CONTENT_LENGTH``, ``COOKIE``, ``AUTHORIZATION``,
    ``TRANSFER_ENCODING``) to values, as waitress's parser holds them. Opens a database
    connection of the calling thread and closes it again.
    """
    from django.db import connections

    try:
        length = int(headers.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0 and "TRANSFER_ENCODING" not in headers:
        return None
    if path in ANONYMOUS_BODY_PATHS:
        # From anyone, signed in or not (a sign-in form is small): a declared length is
        # checked here, a chunked body's bytes as they arrive (body_cap).
        return anonymous_refusal(path, length)
    try:
        if signed_in(headers.get("COOKIE", "")):
            return None
        return anonymous_refusal(path, length, headers.get("AUTHORIZATION", ""))
    finally:
        connections.close_all()
