"""Web security pieces Django 5.2 does not have built in."""
import ipaddress

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import DisallowedHost
from django.http import JsonResponse
from django.http.request import split_domain_port
from django.middleware.security import SecurityMiddleware as DjangoSecurityMiddleware
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

from attendance.wiring.body_gate import anonymous_refusal


class ContentSecurityPolicyMiddleware:
    """Adds settings.CONTENT_SECURITY_POLICY to every response.

    The templates use no inline scripts, styles or event handlers, so the policy can be
    strict. In development (CONTENT_SECURITY_POLICY_REPORT_ONLY) browsers only report
    breaches in their console, and Django's debug pages, which are inline, still work.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy:
            header = ("Content-Security-Policy-Report-Only" if settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
                      else "Content-Security-Policy")
            response.headers.setdefault(header, policy)
        return response


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def is_loopback_http(request) -> bool:
    """True for a plain-HTTP request from this machine to a loopback name (settings.LOOPBACK_HTTP).

    Both must hold: the connection comes from a loopback address (REMOTE_ADDR, which a
    client cannot choose) and the Host header names a loopback address (Django's
    ``split_domain_port``; ``LOOPBACK_NAMES``). A TLS proxy on the same machine passes the
    site's public name as Host, so its requests get the HTTPS rules. Decided once per
    request (``SecurityMiddleware`` asks for the request and again for its response).
    """
    decided = getattr(request, "_loopback_http", None)
    if decided is None:
        decided = request._loopback_http = _loopback_http(request)
    return decided


def _loopback_http(request) -> bool:
    if not settings.LOOPBACK_HTTP or request.is_secure():
        return False
    try:
        if not ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback:
            return False
        domain, _ = split_domain_port(request.get_host())
    except (ValueError, DisallowedHost):
        return False
    return domain in LOOPBACK_NAMES


class SecurityMiddleware(DjangoSecurityMiddleware):
    """Django's SecurityMiddleware, letting plain HTTP on the loopback through (is_loopback_http).

    Such requests are not redirected to HTTPS, and the cookies of their responses are not
    marked Secure (a browser would not send them back over http://127.0.0.1). Every other
    request gets Django's HTTPS redirect, HSTS and the settings' Secure cookies.
    """

    def process_request(self, request):
        if is_loopback_http(request):
            return None
        return super().process_request(request)

    def process_response(self, request, response):
        response = super().process_response(request, response)
        if is_loopback_http(request):
            for morsel in response.cookies.values():
                morsel["secure"] = ""
        return response


class UploadSizeLimitMiddleware:
    """Refuses, before reading it, a body over settings.MAX_UPLOAD_BYTES, or one sent by nobody.

    Django limits the number of files (DATA_UPLOAD_MAX_NUMBER_FILES) and the size of the
    other fields, but not the size of files: without this a huge upload would be written
    to a temporary file in full before the form could refuse it. A request with a body
    (POST, PUT, PATCH, ...) from someone not signed in is refused too, unread: sent to the
    sign-in page (401 from the API), unless it goes to a sign-in page
    (attendance.wiring.body_gate.ANONYMOUS_BODY_PATHS) and is small. ``manage.py serve`` (the
    server of ``make run``) applies the same rule in waitress before the body is even
    received (attendance/wiring/body_gate.py, attendance/wiring/server.py).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_UPLOAD_BYTES:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": gettext("Upload too large: %(size)s; the limit is %(limit)s. Nothing "
                                                       "was saved.") % {
                                         "size": filesizeformat(length),
                                         "limit": filesizeformat(settings.MAX_UPLOAD_BYTES)},
                                     "code": "too_large"}, status=413)
            return render(request, "413.html", {
                "size": filesizeformat(length), "limit": filesizeformat(settings.MAX_UPLOAD_BYTES),
            }, status=413)
        has_body = length > 0 or "HTTP_TRANSFER_ENCODING" in request.META
        if has_body and not request.user.is_authenticated:
            refusal = anonymous_refusal(request.path, length, request.META.get("HTTP_AUTHORIZATION", ""))
            if refusal:
                status, message = refusal
                if status == 302:
                    return redirect_to_login(request.get_full_path())
                if status == 401:
                    response = JsonResponse({"detail": message, "code": "not_authenticated"}, status=401)
                    response["WWW-Authenticate"] = "Token"
                    return response
                return render(request, "400.html", {"reason": message}, status=status)
        return self.get_response(request)


def client_ip(request) -> str:
    """The client's address for sign-in throttling (attendance/wiring/signin.py).

    With TRUSTED_PROXY_COUNT = n > 0, each of the n proxies in front of Django appends the
    address it received the request from to X-Forwarded-For, so the client is the n-th
    entry from the end; entries before it may be made up by the client and are ignored.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return forwarded[-count] if len(forwarded) >= count else remote
