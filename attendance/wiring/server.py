"""The production web server of ``make run``: waitress (pure Python, from PyPI), with its limits set.

``manage.py serve`` runs it; ``manage.py runapp`` (``make run``) starts that beside the
worker. Every limit below is set explicitly rather than left to waitress's defaults
(waitress 3.0 docs, "Arguments"); the README's "Production settings" lists them with what
a TLS proxy in front must cap as well.
"""
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.utilities import Error

from attendance.wiring.body_gate import SIGN_IN_FORM_TOO_LARGE, body_cap, refusal_for_headers
from attendance.wiring.env import env_int

#: Threads answering requests (one request each at a time). SERVER_THREADS.
THREADS = env_int("SERVER_THREADS", 8)
#: Open connections at most; more wait in the kernel's backlog (BACKLOG) until one
#: closes. Each costs a socket and a few KB, not a thread. SERVER_CONNECTION_LIMIT.
CONNECTION_LIMIT = env_int("SERVER_CONNECTION_LIMIT", 200)
#: Seconds a connection may stay idle (no bytes received, no request being answered)
#: before it is closed: half-open and slow connections go. SERVER_CHANNEL_TIMEOUT.
CHANNEL_TIMEOUT = env_int("SERVER_CHANNEL_TIMEOUT", 30)
#: Seconds between the checks for idle connections (so one is closed within
#: CHANNEL_TIMEOUT + CLEANUP_INTERVAL seconds): 5, or less for a shorter timeout.
CLEANUP_INTERVAL = max(1, min(5, CHANNEL_TIMEOUT))
#: Connections the kernel queues beyond CONNECTION_LIMIT.
BACKLOG = 256
#: Bytes of request line and headers at most (431 beyond).
MAX_REQUEST_HEADER_SIZE = 64 * 1024
#: A request body over this many bytes is held in a temporary file, not memory.
INBUF_OVERFLOW = 512 * 1024
#: A response over this many bytes waiting to be sent goes to a temporary file.
OUTBUF_OVERFLOW = 1024 * 1024


def waitress_options(listen: str) -> dict:
    """The keyword arguments of ``waitress.create_server`` for ``listen`` ("host:port").

    The largest body is settings.MAX_UPLOAD_BYTES (a larger Content-Length gets 413 from
    waitress before a byte of it is read); tracebacks are never shown to clients.
    """
    return {
        "listen": listen,
        "threads": THREADS,
        "connection_limit": CONNECTION_LIMIT,
        "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": CLEANUP_INTERVAL,
        "backlog": BACKLOG,
        "max_request_header_size": MAX_REQUEST_HEADER_SIZE,
        "max_request_body_size": settings.MAX_UPLOAD_BYTES,
        "inbuf_overflow": INBUF_OVERFLOW,
        "outbuf_overflow": OUTBUF_OVERFLOW,
        "expose_tracebacks": False,
        "ident": "attendance",
        # The client's address is the connection's; behind a proxy Django reads
        # X-Forwarded-For itself (TRUSTED_PROXY_COUNT).
        "clear_untrusted_proxy_headers": False,
    }


class Refused(Error):
    """Waitress's response to a body refused by body_gate: the status it asked for, the connection closed.

    302 sends a browser to the sign-in page (``next`` = the path), as Django would; 401
    tells an API client to send its token; 413 is a sign-in form too large; 503 says the
    database did not answer the look-up in time (body_gate.LOOKUP_TIMEOUT_MS).
    """

    REASONS = {302: "Found", 401: "Unauthorized", 413: "Request Entity Too Large", 503: "Service Unavailable"}

    def __init__(self, status: int, message: str, path: str):
        super().__init__(message)
        self.code, self.reason, self.path = status, self.REASONS[status], path

    def to_response(self, ident=None):
        status, headers, body = super().to_response(ident)
        if self.code == 302:  # Django's own redirect to the sign-in page (login_required's)
            headers.append(("Location", redirect_to_login(self.path)["Location"]))
        elif self.code == 401:
            headers.append(("WWW-Authenticate", "Token"))
        elif self.code == 503:
            headers.append(("Retry-After", "5"))
        return status, headers, body


class GatedParser(HTTPRequestParser):
    """Waitress's request parser, refusing a body from someone not signed in once the headers are in.

    attendance.wiring.body_gate.refusal_for_headers decides (a session cookie of a signed-in
    user or a valid API token, else only small bodies to the sign-in pages); a refused
    request is answered at once and its connection closed, so its body is never received.
    """

    #: Bytes of body this request may send (body_gate.body_cap), None for MAX_UPLOAD_BYTES.
    cap = None

    def received(self, data):
        was_in_headers = not self.headers_finished
        consumed = super().received(data)
        if not was_in_headers:
            if self.cap is not None and self.body_bytes_received > self.cap and not self.error:
                # A chunked body (no Content-Length to refuse from the headers) over the cap:
                # refused once the cap is passed, the rest never read.
                self.error = Refused(413, f"{SIGN_IN_FORM_TOO_LARGE} the rest was not read.", self.path)
                self.completed = True
            return consumed
        if self.headers_finished and not self.error and not self.empty:
            self.cap = body_cap(self.path)

            headers = dict(self.headers)
            if self.chunked:  # waitress takes Transfer-Encoding out of the headers it keeps
                headers["TRANSFER_ENCODING"] = "chunked"
            refusal = refusal_for_headers(self.command, self.path, headers)
            if refusal:
                status, message = refusal
                self.error = Refused(status, message, self.path)
                self.completed = True
        return consumed


class GatedChannel(HTTPChannel):
    parser_class = GatedParser


def create_server(application, listen: str):
    """A waitress server for ``application`` on ``listen`` with waitress_options and GatedChannel."""
    import waitress.server

    server = waitress.server.create_server(application, **waitress_options(listen))
    listeners = [server] if hasattr(server, "channel_class") else list(server.map.values())
    for listener in listeners:
        if hasattr(listener, "channel_class"):
            listener.channel_class = GatedChannel
    return server
