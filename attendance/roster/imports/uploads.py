"""An uploaded roster file kept between the web preview and the import, under a random
token in the photo store's ``imports/`` folder (a folder under MEDIA_ROOT, or the S3
bucket: any web host of the school finds it): ``imports/<token>/<the file's name>``, so
the preview names the file as the school knows it. Deleted once imported or cancelled;
uploads left behind (a preview never imported) are deleted after ``KEEP_HOURS``."""
import datetime
import os
import re
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.text import get_valid_filename

FOLDER = "imports"
#: Hours an upload waits for its "Import" before the next upload deletes it.
KEEP_HOURS = 24
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class UploadGone(Exception):
    """No kept upload has this token (imported already, cancelled, expired or never made)."""


def _folder(token: str) -> str:
    if not _TOKEN.match(token):
        raise UploadGone("No such upload.")
    return f"{FOLDER}/{token}"


def _safe_name(name: str) -> str:
    """The file's own name, made safe as a storage name ("roster.csv" when nothing is left)."""
    try:
        safe = get_valid_filename(name.replace("\\", "/").rsplit("/", 1)[-1])[-100:]
    except Exception:  # Django's SuspiciousFileOperation for names such as ".."
        safe = ""
    return safe.lstrip(".") or "roster.csv"


def keep_upload(data: bytes, name: str) -> str:
    """Stores ``data`` (checked against ``ROSTER_IMPORT_MAX_BYTES`` by the caller) as
    ``name`` and returns its token (32 hex digits from ``secrets``, unguessable). Deletes
    uploads older than KEEP_HOURS first."""
    _delete_stale()
    token = secrets.token_hex(16)
    default_storage.save(f"{_folder(token)}/{_safe_name(name)}", ContentFile(data))
    return token


def _stored(token: str) -> str:
    folder = _folder(token)
    try:
        _, names = default_storage.listdir(folder)
    except (FileNotFoundError, OSError):
        names = []
    if not names:
        raise UploadGone("This upload is no longer kept (imported already, cancelled or older than a day): upload "
                         "the file again.")
    return f"{folder}/{names[0]}"


def read_upload(token: str) -> tuple[str, bytes]:
    """(the file's name, its bytes) of the kept upload. Raises UploadGone."""
    path = _stored(token)
    with default_storage.open(path, "rb") as fh:
        return path.rsplit("/", 1)[-1], fh.read()


def delete_upload(token: str) -> None:
    """Deletes the kept upload; no error when it is already gone."""
    try:
        default_storage.delete(_stored(token))
    except UploadGone:
        return
    _remove_empty_folder(_folder(token))


def _remove_empty_folder(folder: str) -> None:
    """A folder under MEDIA_ROOT stays when its file goes (S3 has no folders): remove it."""
    try:
        path = default_storage.path(folder)
    except NotImplementedError:
        return
    try:
        os.rmdir(path)
    except OSError:
        pass


def _delete_stale() -> None:
    try:
        folders, _ = default_storage.listdir(FOLDER)
    except (FileNotFoundError, OSError):
        return
    limit = timezone.now() - datetime.timedelta(hours=KEEP_HOURS)
    for token in folders:
        try:
            path = _stored(token)
            if default_storage.get_modified_time(path) < limit:
                delete_upload(token)
        except (UploadGone, FileNotFoundError, OSError, NotImplementedError):
            continue
