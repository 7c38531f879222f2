"""Template variables every page needs, asked of ``attendance.access`` (templates never
test the user's flags themselves)."""
from django.conf import settings

from attendance import access


def role(request) -> dict:
    """``role``: "admin", "teacher" or "office" (see access.py), for what a page offers;
    ``can_manage_school``: the user is a school admin (``access.is_school_admin``: new
    classes, the admin site). None and False before sign-in."""
    # Error pages can be rendered before the authentication middleware ran (a bad Host).
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"role": None, "can_manage_school": False}
    user_role = access.role(user)
    return {"role": user_role, "can_manage_school": user_role == "admin"}


def languages(request) -> dict:
    """``language_menu``: the header's languages as (code, name in itself) pairs, from
    settings.LANGUAGES as written there ("English", "简体中文"), never translated (Django's
    get_available_languages would show "英语" to a Chinese reader looking for English)."""
    return {"language_menu": settings.LANGUAGES}
