"""An uploaded roster file kept between the web preview and the import, under a random
token in the photo store's ``imports/`` folder (a folder under MEDIA_ROOT, or the S3
bucket: any web host of the school finds it), and deleted once imported or cancelled.
Uploads left behind (a preview never imported) are deleted after ``KEEP_HOURS``."""
import datetime
import re
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

FOLDER = "imports"
#: Hours an upload waits for its "Import" before the next upload deletes it.
KEEP_HOURS = 24
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class UploadGone(Exception):
    """No kept upload has this token (imported already, cancelled, expired or never made)."""


def _path(token: str, name: str = "") -> str:
    if not _TOKEN.match(token):
        raise UploadGone("No such upload.")
    return f"{FOLDER}/{token}{'.zip' if name.lower().endswith('.zip') else '.csv'}"


def keep_upload(data: bytes, name: str) -> str:
    """Stores ``data`` (already checked against ``ROSTER_IMPORT_MAX_BYTES`` by the caller)
    and returns its token (32 hex digits, from ``secrets``). Deletes uploads older than
    KEEP_HOURS first."""
    _delete_stale()
    token = secrets.token_hex(16)
    default_storage.save(_path(token, name), ContentFile(data))
    return token


def _stored(token: str) -> str:
    for path in (_path(token, "x.zip"), _path(token)):
        if default_storage.exists(path):
            return path
    raise UploadGone("This upload is no longer kept (imported already, cancelled or older than a day): upload the "
                     "file again.")


def read_upload(token: str) -> tuple[str, bytes]:
    """(a file name for the preview, the bytes) of the kept upload. Raises UploadGone."""
    path = _stored(token)
    with default_storage.open(path, "rb") as fh:
        return path.rsplit("/", 1)[-1], fh.read()


def delete_upload(token: str) -> None:
    """Deletes the kept upload; no error when it is already gone."""
    try:
        default_storage.delete(_stored(token))
    except UploadGone:
        pass


def _delete_stale() -> None:
    try:
        _, names = default_storage.listdir(FOLDER)
    except (FileNotFoundError, OSError):
        return
    limit = timezone.now() - datetime.timedelta(hours=KEEP_HOURS)
    for name in names:
        path = f"{FOLDER}/{name}"
        try:
            if default_storage.get_modified_time(path) < limit:
                default_storage.delete(path)
        except (FileNotFoundError, OSError, NotImplementedError):
            continue
