"""Web security pieces Django 5.2 does not have built in."""
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat


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


class UploadSizeLimitMiddleware:
    """Refuses a request whose body is over settings.MAX_UPLOAD_BYTES before reading it.

    Django limits the number of files (DATA_UPLOAD_MAX_NUMBER_FILES) and the size of the
    other fields, but not the size of files: without this a huge upload would be written
    to a temporary file in full before the form could refuse it.
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
                return JsonResponse({"detail": f"Upload too large: {filesizeformat(length)}; the limit is "
                                               f"{filesizeformat(settings.MAX_UPLOAD_BYTES)}. Nothing was saved.",
                                     "code": "too_large"}, status=413)
            return render(request, "413.html", {
                "size": filesizeformat(length), "limit": filesizeformat(settings.MAX_UPLOAD_BYTES),
            }, status=413)
        return self.get_response(request)


def client_ip(request) -> str:
    """The client's address for sign-in throttling (django-axes' AXES_CLIENT_IP_CALLABLE).

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
