"""Errors as JSON: DRF's, plus the upload limits that Django raises before a view runs."""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.utils.translation import gettext as _
from rest_framework.response import Response
from rest_framework.views import exception_handler


def handler(exc, context):
    """DRF's ``EXCEPTION_HANDLER``: too many files or fields (400) and too much data (413)
    answer in JSON, as the web pages answer with a page naming the limit."""
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return Response({"detail": _("Too many files in one upload: at most %(limit)s at a time. Nothing was saved; "
                                     "upload them in smaller groups.") % {"limit": limit},
                         "code": "too_many_files"}, status=400)
    if isinstance(exc, TooManyFieldsSent):
        return Response({"detail": _("The request sent too many fields. Nothing was saved."),
                         "code": "too_many_fields"}, status=400)
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": _("The request sent too much data. Nothing was saved."),
                         "code": "too_large"}, status=413)
    return exception_handler(exc, context)
