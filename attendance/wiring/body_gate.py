"""Who may send a request body: refusing uploads from people not signed in, before reading them.

Only signed-in users (a session) and API clients (a valid token) may send a body (POST,
PUT, PATCH, ...), except to the sign-in pages, which take small bodies from anyone. The
rule is applied twice: in waitress as soon as a request's headers have arrived
(``manage.py serve``, attendance/wiring/server.py), so the body of a refused request is never
received, and in Django (attendance.wiring.middleware.UploadSizeLimitMiddleware) for any other
server.
"""
import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.http.cookie import parse_cookie

logger = logging.getLogger(__name__)

#: Pages that take a body from someone not signed in: the sign-in and sign-out forms, and
#: the language menu (shown on the sign-in page too).
ANONYMOUS_BODY_PATHS = frozenset({"/login/", "/logout/", "/admin/login/", "/admin/logout/", "/language/"})
#: The form of a set-password link from the Staff page (Django's password-reset view posts
#: to /set-password/<user id, base64>/set-password/): small bodies from anyone, like sign-in.
ANONYMOUS_SET_PASSWORD = re.compile(r"^/set-password/[0-9A-Za-z_-]{1,40}/set-password/$")
#: The largest body, in bytes, they take from someone not signed in (a sign-in form is
#: well under 1 KB: username, password, CSRF token, "next").
ANONYMOUS_BODY_BYTES = 64 * 1024
#: The start of the 413 refusing a larger one (a declared length here, a chunked body in
#: ``server.GatedParser``), each adding how much of it was read.
SIGN_IN_FORM_TOO_LARGE = f"A sign-in form is never larger than {ANONYMOUS_BODY_BYTES // 1024} KB;"

#: Milliseconds the database may take to answer the look-up of a session or token made in
#: waitress's network thread (refusal_for_headers): that thread serves every connection,
#: so it must never wait the 20 s a locked SQLite file may take. Past it: 503, unread.
LOOKUP_TIMEOUT_MS = 500
#: A session or token found valid is remembered this many seconds (at most
#: REMEMBERED_MAX of them), so a signed-in user's requests need no look-up at all.
REMEMBER_SECONDS = 60
REMEMBERED_MAX = 2048
BUSY = "The server is busy (its database did not answer in time); nothing was read. Try again in a moment."

SIGN_IN_FIRST = "Sign in first: only signed-in users may send data here. Nothing was read."
API_CREDENTIALS = ("Authentication credentials were not provided: send the header 'Authorization: Token <key>'. "
                   "Nothing was read.")


def takes_anonymous_body(path: str) -> bool:
    """True for the pages that take a small body from someone not signed in: sign-in,
    sign-out and the language menu (ANONYMOUS_BODY_PATHS) and a set-password link's form (ANONYMOUS_SET_PASSWORD)."""
    return path in ANONYMOUS_BODY_PATHS or bool(ANONYMOUS_SET_PASSWORD.match(path))


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
    if takes_anonymous_body(path):
        if length > ANONYMOUS_BODY_BYTES:
            return 413, f"{SIGN_IN_FORM_TOO_LARGE} nothing was read."
        return None
    if path.startswith("/api/"):
        return None if valid_token(authorization) else (401, API_CREDENTIALS)
    return 302, SIGN_IN_FIRST


_remembered: OrderedDict[str, float] = OrderedDict()  # digest of "kind:key" -> monotonic expiry
_remembered_lock = threading.Lock()


def _digest(kind: str, key: str) -> str:
    return hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()


def _is_remembered(kind: str, key: str) -> bool:
    digest = _digest(kind, key)
    with _remembered_lock:
        expiry = _remembered.get(digest)
        if expiry is None:
            return False
        if expiry < time.monotonic():
            del _remembered[digest]
            return False
        return True


def _remember(kind: str, key: str) -> None:
    with _remembered_lock:
        digest = _digest(kind, key)
        _remembered[digest] = time.monotonic() + REMEMBER_SECONDS
        _remembered.move_to_end(digest)
        while len(_remembered) > REMEMBERED_MAX:
            _remembered.popitem(last=False)


def valid_token(authorization: str) -> bool:
    """True when ``authorization`` is "Token <key>" for an existing token of an active user.

    A token found valid is remembered REMEMBER_SECONDS. Raises django.db.DatabaseError
    when the database does not answer.
    """
    from rest_framework.authtoken.models import Token

    key = _token_key(authorization)
    if not key:
        return False
    if _is_remembered("token", key):
        return True
    valid = Token.objects.filter(key=key, user__is_active=True).exists()
    if valid:
        _remember("token", key)
    return valid


def _token_key(authorization: str) -> str:
    """The key of an "Authorization: Token <key>" header, else ""."""
    parts = authorization.split()
    return parts[1] if len(parts) == 2 and parts[0].lower() == "token" else ""


def signed_in(cookie_header: str) -> bool:
    """True when the Cookie header holds a session cookie of a signed-in, active user.

    A session found signed in is remembered REMEMBER_SECONDS (so a sign-out or a
    deactivation is seen here within that time; Django checks every request itself).
    Raises django.db.DatabaseError when the database does not answer.
    """
    from importlib import import_module

    from django.contrib.auth import get_user_model

    key = parse_cookie(cookie_header).get(settings.SESSION_COOKIE_NAME)
    if not key:
        return False
    if _is_remembered("session", key):
        return True
    user_id = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).get("_auth_user_id")
    valid = bool(user_id) and get_user_model().objects.filter(pk=user_id, is_active=True).exists()
    if valid:
        _remember("session", key)
    return valid


def _bound_lookup_time() -> None:
    """Make this thread's database connection give up after LOOKUP_TIMEOUT_MS (SQLite's busy
    timeout, PostgreSQL's statement and lock timeouts) instead of settings' 20 s."""
    from django.db import connection

    connection.ensure_connection()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout = {int(LOOKUP_TIMEOUT_MS)}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"SET statement_timeout = {int(LOOKUP_TIMEOUT_MS)}")
            cursor.execute(f"SET lock_timeout = {int(LOOKUP_TIMEOUT_MS)}")


def body_cap(path: str) -> int | None:
    """The most bytes of body ``path`` takes from anyone, or None for no cap below MAX_UPLOAD_BYTES.

    The sign-in pages (ANONYMOUS_BODY_PATHS) take ANONYMOUS_BODY_BYTES. A body with a
    Content-Length is refused from its headers (refusal_for_headers); a chunked body
    (Transfer-Encoding: chunked, no length) is counted as it arrives and refused with 413
    once over the cap (attendance.wiring.server.GatedParser), so it is never read in full.
    """
    return ANONYMOUS_BODY_BYTES if takes_anonymous_body(path) else None


def refusal_for_headers(method: str, path: str, headers: dict) -> tuple[int, str] | None:
    """anonymous_refusal for a request known only by its start line and headers.

    ``headers`` maps WSGI-style names (``CONTENT_LENGTH``, ``COOKIE``, ``AUTHORIZATION``,
    ``TRANSFER_ENCODING``) to values, as waitress's parser holds them. Runs in waitress's
    network thread, which serves every connection, so it is kept cheap and bounded: no
    database at all for the sign-in pages or a session/token remembered valid; else one
    look-up on a connection of the calling thread limited to LOOKUP_TIMEOUT_MS, closed
    again. A database that does not answer in time gives (503, BUSY): the body unread.
    """
    from django.db import DatabaseError, connections

    try:
        length = int(headers.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0 and "TRANSFER_ENCODING" not in headers:
        return None
    if takes_anonymous_body(path):
        # From anyone, signed in or not (a sign-in form is small): a declared length is
        # checked here, a chunked body's bytes as they arrive (body_cap).
        return anonymous_refusal(path, length)
    cookie, authorization = headers.get("COOKIE", ""), headers.get("AUTHORIZATION", "")
    session = parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME)
    token = _token_key(authorization) if path.startswith("/api/") else ""
    if not session and not token:
        return anonymous_refusal(path, length, authorization)  # nothing to look up
    if (session and _is_remembered("session", session)) or (token and _is_remembered("token", token)):
        return None
    try:
        _bound_lookup_time()
        if signed_in(cookie):
            return None
        return anonymous_refusal(path, length, authorization)
    except DatabaseError as exc:
        logger.warning("Body gate: the database did not answer within %s ms (%s); answered 503.",
                       LOOKUP_TIMEOUT_MS, exc)
        return 503, BUSY
    finally:
        connections.close_all()
