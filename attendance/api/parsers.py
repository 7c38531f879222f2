"""The API's JSON parser: bad JSON of any shape is a JSON 400 naming the problem (413 when
too large), never a server error."""
import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class JSONTooLarge(APIException):
    """A JSON body over ``settings.API_MAX_JSON_BYTES``: HTTP 413."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, bounded and strict.

    Reads at most ``settings.API_MAX_JSON_BYTES`` + 1 bytes (whatever Content-Length says,
    so a chunked body is bounded too) and raises ``JSONTooLarge`` (413) past it; raises
    ``ParseError`` (400) with a message for a body that is not UTF-8, not JSON, nested too
    deeply for Python's parser (RecursionError), holds NaN or Infinity, or whose top level is
    not an object (every API request body is one). Returns the decoded dict.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise JSONTooLarge(_("The JSON body is over %(limit)s bytes. Nothing was saved.") % {"limit": limit})
        try:
            text = raw.decode((parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(_("The body is not UTF-8 text. Nothing was saved."))
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(_("The JSON is nested too deeply. Nothing was saved."))
        except ValueError as exc:
            raise ParseError(_("The body is not valid JSON: %(problem)s. Nothing was saved.") % {"problem": exc})
        if not isinstance(data, dict):
            raise ParseError(_("The body must be a JSON object ({...}), not %(type)s. Nothing was saved.")
                             % {"type": type(data).__name__})
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
