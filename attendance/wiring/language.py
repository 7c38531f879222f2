"""The page's language (README "Languages").

Django's LocaleMiddleware takes it from the language menu's cookie, else the browser's
Accept-Language. Once someone is signed in, the language they chose in the header's menu
(``LanguagePreference``, on their account) wins, on any device: a teacher who chose Chinese
on a computer gets Chinese on their phone at the next sign-in.
"""
from django.conf import settings
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from attendance.models import LanguagePreference


def offered(code: str | None) -> bool:
    """True when ``code`` is one of settings.LANGUAGES (e.g. "zh-hans"), exactly."""
    return bool(code) and code in dict(settings.LANGUAGES)


def chosen_language(user) -> str | None:
    """The language code the signed-in ``user`` chose in the menu, or None (no choice, not
    signed in, or a code no longer in settings.LANGUAGES). One query."""
    if user is None or not user.is_authenticated:
        return None
    code = LanguagePreference.objects.filter(user=user).values_list("language", flat=True).first()
    return code if offered(code) else None


@require_POST
def set_language(request):
    """The header's language menu (POST ``language``, ``next``; CSRF): Django's set_language
    (the cookie, back to ``next``), and for a signed-in user the choice kept on their account."""
    response = django_set_language(request)
    code = request.POST.get("language")
    if request.user.is_authenticated and offered(code):
        LanguagePreference.objects.update_or_create(user=request.user, defaults={"language": code})
    return response


class UserLanguageMiddleware:
    """Activates the signed-in user's chosen language (after AuthenticationMiddleware, and
    after LocaleMiddleware, whose choice it overrides), and gives the browser the language
    cookie too, so the sign-in page after signing out stays in that language. Also right
    after signing in: the answer to the sign-in form already sets the cookie. A cookie the
    answer sets itself (the language menu's) is left as it is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        was_signed_in = user is not None and user.is_authenticated
        code = chosen_language(user) if was_signed_in else None
        if code:
            translation.activate(code)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        user = getattr(request, "user", None)  # signed in or out by this request
        if not was_signed_in and user is not None and user.is_authenticated:
            code = chosen_language(user)
        if code and user is not None and user.is_authenticated and settings.LANGUAGE_COOKIE_NAME not in response.cookies \
                and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != code:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE)
        return response
