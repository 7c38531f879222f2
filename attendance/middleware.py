"""Web security pieces Django 5.2 does not have built in."""
from django.conf import settings


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
