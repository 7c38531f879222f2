"""Template variables every page needs."""
from . import access


def role(request) -> dict:
    """``role``: "admin", "teacher" or "office" (see access.py), for what a page offers."""
    return {"role": access.role(request.user) if request.user.is_authenticated else None}
