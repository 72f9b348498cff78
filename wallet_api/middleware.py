"""One pure-ASGI middleware: request id, security headers, metrics and the access log.

Kept as a single layer because it wraps every request, hot paths included.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keys.randomness import random_hex
from wallet_api.logs import request_id_var
from wallet_api.metrics import RequestMetrics

access_log = logging.getLogger("govwallet.access")

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")

#: Default Content-Security-Policy for pages. ``form-action`` is not set: Chromium applies
#: it to the redirect that follows a form post, which would block the OAuth redirect
#: back to a relying platform after login and consent.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def _security_headers(*, https: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return headers


def new_request_id() -> str:
    """16 hex characters that tell one request's log lines from another's (unguessable,
    so they show nothing of the request rate; no system call each: keys.randomness)."""
    return random_hex(8)


def request_id_for(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-Id`` when it is well-formed (a load balancer's id carries
    through), else a new one. ``headers`` are a request's, names in lower case."""
    for name, value in headers:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _INCOMING_ID.match(incoming) else new_request_id()
    return new_request_id()


class ResponseHeaders:
    """The headers this layer adds to a response, worked out once per shape of response.

    A response's own headers decide what is added: a security header, ``Cache-Control`` or
    a page's ``Content-Security-Policy`` the response sets itself is left as it is. The
    answer depends only on the names the response sets and on whether it is a page, so it
    is remembered by those (a few dozen shapes in the whole application).
    """

    #: Distinct shapes remembered at most (a response with unusual headers is still
    #: answered right past this, only worked out again).
    LIMIT = 512

    def __init__(self, *, https: bool) -> None:
        self._security = _security_headers(https=https)
        self._added: dict[tuple[tuple[bytes, ...], bool], tuple[tuple[bytes, bytes], ...]] = {}

    def complete(
        self, headers: Iterable[tuple[bytes, bytes]], request_id: bytes
    ) -> list[tuple[bytes, bytes]]:
        """``headers`` with the request id and whatever else the response lacks."""
        own = list(headers)
        own.append((b"x-request-id", request_id))
        own.extend(self.added_to(own))
        return own

    def added_to(self, headers: list[tuple[bytes, bytes]]) -> tuple[tuple[bytes, bytes], ...]:
        """What a response with ``headers`` lacks (the request id aside)."""
        names = []
        is_page = False
        for name, value in headers:
            name = name.lower()
            names.append(name)
            if name == b"content-type" and not is_page:
                is_page = value.startswith(b"text/html")
        shape = (tuple(names), is_page)
        added = self._added.get(shape)
        if added is None:
            added = self._work_out(set(names), is_page=is_page)
            if len(self._added) < self.LIMIT:
                self._added[shape] = added
        return added

    def _work_out(self, present: set[bytes], *, is_page: bool) -> tuple[tuple[bytes, bytes], ...]:
        added = [header for header in self._security if header[0] not in present]
        if b"cache-control" not in present:
            added.append((b"cache-control", b"no-store"))
        if is_page and b"content-security-policy" not in present:
            added.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
        return tuple(added)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        #: Shared with the answers made without the application (wallet_api.prebuilt).
        self.headers = ResponseHeaders(https=https)
        self.metrics = RequestMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope["headers"])
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 500}
        complete = self.headers.complete

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = complete(message.get("headers", ()), request_id.encode())
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "")
            status = status_holder["status"]
            self.metrics.record(method, route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": scope.get("path", ""),
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "client": (scope.get("client") or ("", 0))[0],
                    },
                )
            request_id_var.reset(token)


def _route_template(scope: MutableMapping[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
