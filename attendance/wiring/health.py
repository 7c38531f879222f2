"""Health of the parts a photo goes through: the database, the photo store, the job queue
and a worker."""
from celery import current_app
from django.db import connection

from attendance.wiring.job_queue import QueueUnavailable, ensure_queue_reachable
from attendance.wiring.photo_store import store_health

#: Seconds to wait for a worker to answer a ping.
WORKER_PING_TIMEOUT = 2.0


def check_health() -> dict[str, str]:
    """``{"database": ..., "store": ..., "queue": ..., "worker": ...}``, each "ok" or a short
    problem (``store``: ``photo_store.store_health``).

    The words name the problem only (no addresses or credentials): the health endpoint
    answers without signing in, for monitoring.
    """
    result = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        result["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is not usable
        result["database"] = "unreachable"
    result["store"] = store_health()
    try:
        ensure_queue_reachable()
        result["queue"] = "ok"
    except QueueUnavailable:
        result["queue"] = "unreachable"
    if current_app.conf.task_always_eager:
        result["worker"] = "ok"  # tasks run in this process
    elif result["queue"] != "ok":
        result["worker"] = "unknown (queue unreachable)"
    else:
        try:
            replies = current_app.control.ping(timeout=WORKER_PING_TIMEOUT)
        except Exception:  # noqa: BLE001
            replies = []
        result["worker"] = f"ok ({len(replies)} answering)" if replies else "no worker answered"
    return result


def is_healthy(result: dict[str, str]) -> bool:
    return all(value.startswith("ok") for value in result.values())
