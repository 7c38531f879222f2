"""An uploaded file kept between an import's preview and the admin's "Import" (the consent
CSV, the zip of photos by school id): stored under a random name in the photo store's
private ``imports/`` folder (never served), remembered in the admin's session, deleted once
imported, replaced or a day old."""
import datetime
import functools
import logging
import secrets

from django.contrib import messages
from django.core.files.storage import default_storage
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext_lazy

from attendance.wiring.job_queue import STORE_DOWN, PhotoStoreUnavailable
from attendance.wiring.photo_store import store_errors

log = logging.getLogger(__name__)

FOLDER = "imports"
#: Kept files older than this are deleted when another is kept.
MAX_AGE = datetime.timedelta(days=1)


#: The message when the preview page's Import names another upload than the one kept.
REPLACED = gettext_lazy("The file waiting to be imported is not the one of the preview you confirmed (another "
                        "upload, in another tab or window, replaced it): nothing was imported. Check the latest "
                        "preview and import it.")


def keep(session, kind: str, uploaded_file, filename: str) -> str:
    """Store ``uploaded_file`` (a Django File) as the session's pending ``kind`` import,
    replacing (and deleting) any earlier one of that kind. Returns the upload's token
    (16 hex digits), which its preview page's Import sends back (see ``replaced``).

    Raises:
        PhotoStoreUnavailable: the photo store could not be reached; nothing was kept.
    """
    try:
        discard(session, kind)
        _delete_old()
        name = default_storage.save(f"{FOLDER}/{secrets.token_hex(16)}", uploaded_file)
    except store_errors() as exc:
        log.error("photo store unreachable, import file not kept: %s", exc)
        raise PhotoStoreUnavailable(str(STORE_DOWN)) from exc
    token = secrets.token_hex(8)
    session[f"pending_import:{kind}"] = {"name": name, "filename": filename[:200], "token": token}
    return token


def token(session, kind: str) -> str:
    """The token of the session's pending ``kind`` import ("" when none)."""
    return (session.get(f"pending_import:{kind}") or {}).get("token", "")


def replaced(session, kind: str, sent_token: str) -> bool:
    """True when a preview page sent ``sent_token`` and the pending ``kind`` import is
    another upload (a second preview in another tab replaced it): importing would write
    a file whose preview was not the one confirmed. An empty ``sent_token`` (a client
    that sends none) is not checked."""
    return bool(sent_token) and sent_token != token(session, kind)


def pending(session, kind: str) -> tuple[str, str] | None:
    """(stored name, the file's own name) of the session's pending ``kind`` import, or None
    (none kept, or its file is gone)."""
    entry = session.get(f"pending_import:{kind}")
    try:
        if not entry or not default_storage.exists(entry["name"]):
            return None
    except store_errors() as exc:
        log.error("photo store unreachable, kept import not read: %s", exc)
        raise PhotoStoreUnavailable(str(STORE_DOWN)) from exc
    return entry["name"], entry["filename"]


def open_pending(name: str):
    """The kept file, opened for binary reading (close it after use).

    Raises:
        PhotoStoreUnavailable: the photo store could not be reached.
    """
    try:
        return default_storage.open(name, "rb")
    except store_errors() as exc:
        log.error("photo store unreachable, kept import not read: %s", exc)
        raise PhotoStoreUnavailable(str(STORE_DOWN)) from exc


def discard(session, kind: str) -> None:
    """Delete the session's pending ``kind`` import, if any. A store that cannot be reached
    leaves the file (logged; deleted a day later by the next ``keep``): the import itself
    is done by then and must not be reported as failed."""
    entry = session.pop(f"pending_import:{kind}", None)
    if entry:
        try:
            default_storage.delete(entry["name"])
        except store_errors() as exc:
            log.warning("pending import %s not deleted, the photo store is unreachable: %s", entry["name"], exc)


def store_down_redirects(page: str):
    """Decorator of an import's "Import" view: when the photo store cannot be reached
    (``PhotoStoreUnavailable`` from ``pending`` or ``open_pending``, before anything is
    written), the store's message and back to the URL name ``page``, as for the job queue."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except PhotoStoreUnavailable as exc:
                messages.error(request, str(exc))
                return redirect(page)
        return wrapped
    return decorate


def _delete_old() -> None:
    try:
        _, files = default_storage.listdir(FOLDER)
    except (FileNotFoundError, OSError):
        return
    cutoff = timezone.now() - MAX_AGE
    for file in files:
        name = f"{FOLDER}/{file}"
        try:
            if default_storage.get_modified_time(name) < cutoff:
                default_storage.delete(name)
        except (OSError, NotImplementedError) as exc:
            log.warning("pending import %s not cleaned: %s", name, exc)
