"""Template variables every page needs."""
from attendance import access


def role(request) -> dict:
    """``role``: "admin", "teacher" or "office" (see access.py), for what a page offers."""
    # Error pages can be rendered before the authentication middleware ran (a bad Host).
    user = getattr(request, "user", None)
    return {"role": access.role(user) if user is not None and user.is_authenticated else None}
