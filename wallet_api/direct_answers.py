"""Answers the HTTP protocol gets from an endpoint without an ASGI task, when no I/O is needed.

A resource server introspects the same access token again and again, a platform reads
userinfo with it, and an agency asks for ``client_credentials`` tokens all day; once the
token's state, the client and the signing key are cached, the answers take no query and
no thread, and then most of a request's Python work was the trip through the ASGI
machinery: uvicorn's scope and task, the middleware, Starlette's request and response
objects and uvicorn's checks of the response (bench scenarios 2 and 3). The HTTP protocol
(:mod:`wallet_api.http_protocol`) hands a complete request for one of the paths here to
:meth:`DirectAnswers.answer` and writes what it returns.

The answer is the endpoint's own: a handler is a function of the endpoint's module that
the route itself calls for the same case (``routes.oidc._introspection_from_memory``,
``_client_credentials_from_memory``, ``_userinfo_from_memory``), returning the same
:class:`~starlette.responses.Response`; those run inside
:func:`identity.oidc.memory_only.memory_only`, so a cache miss that would read the
database declines instead of querying. Around the handler this module does what
:class:`~wallet_api.middleware.RequestContextMiddleware` does around the application: the
request id (the caller's, or a new one, also in the log context), the same added headers,
the request counted and timed in the same metrics. A handler returns None when the
request needs the application (a cache miss, another grant, a body of another type); so
does this module when the handler raises, so that the application answers the request and
handles the error as it handles every other; and so does it while the access log is on,
which only the application writes. A handler must therefore write nothing: the
application may run the same request again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from itertools import chain

from starlette.responses import Response

from wallet_api.logs import request_id_var
from wallet_api.metrics import RequestMetrics
from wallet_api.middleware import ResponseHeaders, access_log, request_id_for
from wallet_api.oauth_server import MAX_BODY_BYTES as OAUTH_MAX_BODY_BYTES

#: The largest body a direct answer reads (the OAuth endpoints' own limit); a larger
#: request goes to the application, which refuses it.
MAX_BODY_BYTES = OAUTH_MAX_BODY_BYTES


@dataclass(frozen=True, slots=True)
class DirectRequest:
    """A whole request as the protocol parsed it."""

    method: str
    path: str
    #: Names in lower case, in the order received.
    headers: list[tuple[bytes, bytes]]
    body: bytes


#: Returns the endpoint's answer, or None when the application has to answer.
Handler = Callable[[DirectRequest], Response | None]


class DirectAnswers:
    def __init__(
        self,
        handlers: Mapping[tuple[str, str], Handler],
        *,
        headers: ResponseHeaders,
        metrics: RequestMetrics,
    ) -> None:
        """``handlers``: (method, exact path) → handler. ``headers`` and ``metrics`` are
        the application's request middleware's."""
        self._handlers = {
            (method.encode("ascii"), path.encode("ascii")): (method, path, handler)
            for (method, path), handler in handlers.items()
        }
        self._headers = headers
        self._metrics = metrics

    def takes(self, method: bytes, target: bytes) -> bool:
        """Whether a request for ``target`` (as requested, query included) may be answered
        here: its method and exact path have a handler and it has no query."""
        return (method, target) in self._handlers

    def answer(
        self,
        method: bytes,
        target: bytes,
        request_headers: list[tuple[bytes, bytes]],
        body: bytes,
        server_headers: bytes,
    ) -> bytes | None:
        """The whole HTTP/1.1 answer, or None when the application has to answer.

        ``server_headers`` are the server's own header lines (``Date``), each ending in CRLF.
        """
        found = self._handlers.get((method, target))
        if found is None or access_log.isEnabledFor(logging.INFO):
            return None
        method_text, route, handler = found
        started = time.perf_counter()
        request_id = request_id_for(request_headers)
        context = request_id_var.set(request_id)
        try:
            response = handler(DirectRequest(method_text, route, request_headers, body))
        except Exception:  # the application answers the request, and handles the error
            return None
        finally:
            request_id_var.reset(context)
        if response is None:
            return None
        headers = self._headers.complete(response.raw_headers, request_id.encode("ascii"))
        head = head_lines(response.status_code, headers)
        if head is None:
            return None
        answer = b"".join((head, server_headers, b"\r\n", bytes(response.body)))
        elapsed = time.perf_counter() - started
        self._metrics.record(method_text, route, response.status_code, elapsed)
        return answer


def head_lines(status: int, headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The status line and ``headers``, each line ending in CRLF; None if a header name or
    value holds a line break (uvicorn refuses such a response too)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase.encode()
        except ValueError:  # a code without a registered phrase: RFC 9112 §4 allows none
            phrase = b""
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d %s\r\n" % (status, phrase)
    # Joined by C loops, not formatted line by line: ~2 µs instead of ~8 for the ten
    # headers of an OAuth answer.
    every = b"".join(chain.from_iterable(headers))
    if b"\r" in every or b"\n" in every:
        return None
    if not headers:
        return line
    return b"".join((line, b"\r\n".join([b": ".join(pair) for pair in headers]), b"\r\n"))


#: Status lines by status code, made on first use.
_STATUS_LINES: dict[int, bytes] = {}
