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
