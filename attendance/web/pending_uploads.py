"""An uploaded file kept between an import's preview and the admin's "Import" (the consent
CSV, the zip of photos by school id): stored under a random name in the photo store's
private ``imports/`` folder (never served), remembered in the admin's session, deleted once
imported, replaced or a day old."""
import datetime
import logging
import secrets

from django.core.files.storage import default_storage
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
    if not entry or not default_storage.exists(entry["name"]):
        return None
    return entry["name"], entry["filename"]


def open_pending(name: str):
    """The kept file, opened for binary reading (close it after use)."""
    return default_storage.open(name, "rb")


def discard(session, kind: str) -> None:
    """Delete the session's pending ``kind`` import, if any."""
    entry = session.pop(f"pending_import:{kind}", None)
    if entry:
        default_storage.delete(entry["name"])


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
