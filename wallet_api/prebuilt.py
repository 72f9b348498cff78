"""Whole HTTP answers to ``GET`` of the provider's public documents, kept as bytes.

Relying platforms, gateways and caches fetch the discovery document and the JWKS all
the time, and both change only with the settings or a key rotation. Through uvicorn and
the application one such answer cost about 30 µs of Python (ASGI scope, task, middleware,
two response messages, uvicorn's header checks) and capped them near the peer's rate at
one connection (bench/README.md). The HTTP protocol (:mod:`wallet_api.http_protocol`)
asks :meth:`PrebuiltAnswers.answer` for a plain ``GET`` of an exact path and, when an
answer is ready without I/O, writes it at once.

An answer here is the application's own: the same :class:`~starlette.responses.Response`
object its route returns (:class:`~wallet_api.oauth_documents.ProviderDocuments`), with
the headers :class:`~wallet_api.middleware.RequestContextMiddleware` adds worked out by
the same rules, a request id of this request's and the server's ``Date``, and it is
counted in the same request counter (``RequestMetrics.count``; their latency, a few
microseconds of the event loop, is not observed). When a document
is not ready (the JWKS after its cache expired) or the access log is on, the request goes
through the application instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from starlette.responses import Response

from wallet_api.direct_answers import head_lines
from wallet_api.metrics import RequestMetrics
from wallet_api.middleware import ResponseHeaders, access_log, request_id_for

#: Returns the current answer for a path, or None when it cannot be had without I/O.
Source = Callable[[], Response | None]


@dataclass(frozen=True, slots=True)
class _Wire:
    source: Response
    #: Status line and headers, all but ``Date`` and ``X-Request-Id``.
    head: bytes
    body: bytes


class PrebuiltAnswers:
    def __init__(
        self,
        sources: Mapping[str, Source],
        *,
        headers: ResponseHeaders,
        metrics: RequestMetrics,
    ) -> None:
        """``sources``: route path → the current answer. ``headers`` and ``metrics`` are
        the application's request middleware's."""
        self._sources = {path.encode("ascii"): (path, source) for path, source in sources.items()}
        self._headers = headers
        self._metrics = metrics
        self._wire: dict[bytes, _Wire] = {}

    def answer(
        self, path: bytes, request_headers: Sequence[tuple[bytes, bytes]], server_headers: bytes
    ) -> bytes | None:
        """The whole answer to ``GET path`` (``path`` exactly as requested, query included),
        or None when the application has to answer it.

        ``request_headers`` are the request's (names in lower case); ``server_headers``
        the server's own header lines (``Date``), each ending in CRLF.
        """
        found = self._sources.get(path)
        if found is None or access_log.isEnabledFor(logging.INFO):
            return None
        route, source = found
        response = source()
        if response is None:
            return None
        wire = self._wire.get(path)
        if wire is None or wire.source is not response:
            wire = _wire_form(response, self._headers)
            self._wire[path] = wire
        request_id = request_id_for(request_headers).encode("ascii")
        answer = b"".join(
            (wire.head, server_headers, b"x-request-id: ", request_id, b"\r\n\r\n", wire.body)
        )
        self._metrics.count("GET", route, response.status_code)
        return answer


def _wire_form(response: Response, rules: ResponseHeaders) -> _Wire:
    """``response`` as HTTP/1.1 bytes, with what the request middleware would add."""
    headers = list(response.raw_headers)
    headers.extend(rules.added_to(headers))
    head = head_lines(response.status_code, headers)
    if head is None:
        raise ValueError(f"a header of the prebuilt answer {response!r} holds a line break")
    return _Wire(source=response, head=head, body=bytes(response.body))
