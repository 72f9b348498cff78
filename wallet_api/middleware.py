"""One pure-ASGI middleware: request id, security headers, metrics and the access log.

Kept as a single layer because it wraps every request, hot paths included.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keys.randomness import random_hex
from wallet_api.logs import request_id_var
from wallet_api.metrics import HTTP_LATENCY, HTTP_REQUESTS

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


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self._headers = _security_headers(https=https)
        #: Metric children by labels: ``labels()`` validates and locks on every call. The
        #: labels are route templates, so the set stays small.
        self._metrics: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _INCOMING_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(h for h in self._headers if h[0] not in present)
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                is_page = content_type.startswith(b"text/html")
                if is_page and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "")
            status = status_holder["status"]
            counted = self._metrics.get((method, route, status))
            if counted is None:
                counted = (
                    HTTP_REQUESTS.labels(method, route, str(status)),
                    HTTP_LATENCY.labels(method, route),
                )
                self._metrics[(method, route, status)] = counted
            counted[0].inc()
            counted[1].observe(elapsed)
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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route_template(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
