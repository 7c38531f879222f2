"""The photo store (a local folder, or a bucket of an S3-compatible store): which errors
mean it cannot be reached, and its health for ``/health/``."""
import logging
import os

from django.conf import settings
from django.core.files.storage import storages

log = logging.getLogger(__name__)

#: Seconds the health check waits to connect to a bucket and for its answer, tried once:
#: monitoring asks often, and an unreachable store must not hold a web thread for long.
HEALTH_CONNECT_TIMEOUT, HEALTH_READ_TIMEOUT = 2, 5


def store_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that say the S3-compatible store could not be reached or refused a
    request: boto3's and botocore's (connection refused or timed out, bad credentials,
    no such bucket, a failed upload). Empty when boto3 is not installed (local folder only)."""
    try:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - django-storages[s3] is in requirements.txt
        return ()
    return (BotoCoreError, ClientError, Boto3Error)


def _bucket_client(storage):
    """A boto3 client of ``storage``'s bucket (django-storages' ``S3Storage``) with the
    health check's short timeouts and a single attempt; kept on the storage object."""
    client = getattr(storage, "_health_client", None)
    if client is None:
        from botocore.config import Config

        config = storage.client_config.merge(Config(connect_timeout=HEALTH_CONNECT_TIMEOUT,
                                                    read_timeout=HEALTH_READ_TIMEOUT,
                                                    retries={"max_attempts": 1, "mode": "standard"}))
        client = storage._create_session().client(
            "s3", region_name=storage.region_name, use_ssl=storage.use_ssl, endpoint_url=storage.endpoint_url,
            config=config, verify=storage.verify)
        storage._health_client = client
    return client


def store_health() -> str:
    """"ok", or the store's problem in a few words (no address or credentials: /health/
    answers without signing in).

    A bucket (``S3_BUCKET``): a HEAD request on it ("unreachable" when no answer came
    within the timeouts above, "refused (HTTP 403)" and the like when it answered with an
    error). A local folder (``MEDIA_ROOT``): "not writable" when neither it nor, before
    the first photo, the folder that would hold it can be written.
    """
    storage = storages["default"]
    if hasattr(storage, "bucket_name"):
        from botocore.exceptions import ClientError

        try:
            _bucket_client(storage).head_bucket(Bucket=storage.bucket_name)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            log.error("photo store refused a health check: %s", exc)
            return f"refused (HTTP {status})"
        except store_errors() as exc:
            log.error("photo store unreachable: %s", exc)
            return "unreachable"
        return "ok"
    folder = os.path.abspath(getattr(storage, "location", settings.MEDIA_ROOT))
    while not os.path.exists(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)  # created on the first photo: its nearest existing parent
    return "ok" if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK) else "not writable"
