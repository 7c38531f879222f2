"""Reading settings from the environment, failing loudly on values that make no sense."""
import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list; spaces around items and empty items are dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    """A whole number; ``default`` when unset or empty.

    Raises:
        ImproperlyConfigured: not a whole number, or below ``minimum`` (when given).
    """
    return _env_number(name, default, int, "a whole number", minimum=minimum)


def env_float(name: str, default: float, more_than: float | None = None) -> float:
    """A number; ``default`` when unset or empty.

    Raises:
        ImproperlyConfigured: not a number, or not more than ``more_than`` (when given).
    """
    return _env_number(name, default, float, "a number", more_than=more_than)


def env_days(name: str, default: int) -> int:
    """A whole number of days, 0 or more; ``default`` when unset or empty.

    Raises:
        ImproperlyConfigured: the value is not a whole number, or is negative.
    """
    days = env_int(name, default)
    if days < 0:
        raise ImproperlyConfigured(f"{name} must be 0 or more days (0 keeps the photos for ever), not {days}")
    return days


def env_percent(name: str, default: float) -> float:
    """A percentage from 0 to 100, e.g. ATTENDANCE_THRESHOLD_PERCENT=90."""
    value = env_float(name, default)
    if not 0 <= value <= 100:
        raise ImproperlyConfigured(f"{name} must be a percentage from 0 to 100, not {value}")
    return value


def _env_number(name, default, cast, description, minimum=None, more_than=None):
    value = os.environ.get(name)
    if value is None or value == "":
        number = default
    else:
        try:
            number = cast(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be {description}, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    if more_than is not None and not number > more_than:
        raise ImproperlyConfigured(f"{name} must be more than {more_than}, not {number}")
    return number


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """The variable's value, which must be one of ``choices``; ``default`` when unset or empty."""
    value = os.environ.get(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


#: Seconds boto3 waits to connect to the photo store and for its answer, and how many
#: times it tries: an unreachable store fails an upload in seconds, not minutes.
S3_CONNECT_TIMEOUT, S3_READ_TIMEOUT, S3_MAX_ATTEMPTS = 5, 60, 3


def photo_storage() -> dict:
    """``STORAGES["default"]`` for the photos, read from the environment.

    ``S3_BUCKET`` unset: files under ``MEDIA_ROOT`` (Django's ``FileSystemStorage``).
    Set: objects in that bucket of an S3-compatible store (django-storages' ``S3Storage``),
    so web and worker hosts share the photos without a shared folder:

    * ``S3_ENDPOINT_URL``: the store's address, e.g. ``https://minio.school.lan:9000``
      (unset: AWS S3);
    * ``S3_REGION``: the bucket's region (unset: boto3's default);
    * ``S3_ADDRESSING_STYLE``: ``path``, ``virtual`` or ``auto`` (default ``path`` with an
      endpoint, as MinIO and most S3-compatible stores need, else ``auto``);
    * ``S3_DEFAULT_ACL``: ``private`` (default) or ``bucket-owner-full-control``, or
      ``none`` to send no ACL (AWS buckets whose ACLs are disabled, private anyway).
      Public ACLs are refused: photos of children are served only through views that
      check permissions.

    Credentials come from boto3's usual sources: ``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY``, or the host's role.
    """
    bucket = env_str("S3_BUCKET")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    from botocore.config import Config

    endpoint_url = env_str("S3_ENDPOINT_URL") or None
    if endpoint_url and not endpoint_url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"S3_ENDPOINT_URL must start with http:// or https://, not {endpoint_url!r}")
    addressing_style = env_choice("S3_ADDRESSING_STYLE", "path" if endpoint_url else "auto",
                                  ("path", "virtual", "auto"))
    acl = env_choice("S3_DEFAULT_ACL", "private", ("private", "bucket-owner-full-control", "none"))
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "region_name": env_str("S3_REGION") or None,
            "default_acl": None if acl == "none" else acl,
            # The app never links to a stored photo (views read it with .open() and check
            # permissions); were a URL asked for, it would be signed and short-lived, not public.
            "querystring_auth": True,
            "querystring_expire": 300,
            # Names are generated (uuid); never replace an existing photo all the same.
            "file_overwrite": False,
            "client_config": Config(
                s3={"addressing_style": addressing_style},
                connect_timeout=S3_CONNECT_TIMEOUT,
                read_timeout=S3_READ_TIMEOUT,
                retries={"max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"},
            ),
        },
    }


def secret_key_from_file(path) -> str:
    """The secret key kept in ``path`` (a ``pathlib.Path``), generated there on first use.

    The key is 50 URL-safe random characters (``secrets.token_urlsafe``), written with mode
    600 in a folder created if missing. Several processes starting at once (web server and
    worker) all end up with the same key: the file appears whole or not at all (written to a
    temporary name, then hard-linked to ``path``, which fails if another process was first).

    Raises:
        ImproperlyConfigured: the file cannot be created or read, or is empty.
    """
    import secrets
    import tempfile

    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 600
            try:
                with os.fdopen(descriptor, "w") as out:
                    out.write(secrets.token_urlsafe(50) + "\n")
                try:
                    os.link(temporary, path)
                except FileExistsError:
                    pass  # another process made it first: use theirs
            finally:
                os.unlink(temporary)
        key = path.read_text().strip()
    except OSError as error:
        raise ImproperlyConfigured(f"SECRET_KEY is unset and the key file {path} cannot be made or read: {error}. "
                                   "Set SECRET_KEY, or SECRET_KEY_FILE to a writable place.") from None
    if not key:
        raise ImproperlyConfigured(f"The secret key file {path} is empty: delete it to make a new key, "
                                   "or set SECRET_KEY.")
    return key


def this_machines_names() -> list[str]:
    """This machine's names, the default ALLOWED_HOSTS: loopback names, host name and FQDN."""
    import socket

    names = ["localhost", "127.0.0.1", "[::1]", socket.gethostname(), socket.getfqdn()]
    return list(dict.fromkeys(name for name in names if name))
