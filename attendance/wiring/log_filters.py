"""Logging filters named in ``settings.LOGGING``."""
import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """On ``django.request``: a refused request (HTTP 403, ``PermissionDenied``) is logged as
    its one-line warning ("Forbidden (Permission denied): /path"), without the traceback
    Django attaches; a refusal is normal use, not a fault. Other records pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the exception info of a 403 record (``record.status_code``, set by Django's
        ``log_response``); always keep the record."""
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
