"""Serve the endpoints relying platforms call most without FastAPI's per-request machinery.

A request to ``/token`` or ``/userinfo`` used to spend more time in FastAPI than in the
endpoint: matching the path against every route's regular expression, the
request/response wrappers and the dependency solver (bench/README.md). This layer sits
inside :class:`~wallet_api.middleware.RequestContextMiddleware` (so security headers,
metrics and the access log are the same) and in front of all of FastAPI's layers, and
hands a few exact ``(method, path)`` pairs straight to their endpoint functions.

The endpoint functions stay the one implementation: FastAPI still has the routes (for
the OpenAPI document, other methods and everything not listed here). Only endpoints that
take nothing but the :class:`~starlette.requests.Request` and return a
:class:`~starlette.responses.Response` can be served this way; anything else is refused
when the application is built. Exceptions go to the application's own exception
handlers, as they would through FastAPI, down to its handler for ``Exception`` (logged,
500 problem document).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True)
class HotRoute:
    """What ``scope["route"]`` holds for a hot path: the template metrics are labelled by."""

    path: str
    endpoint: Endpoint


class HotPaths:
    """Pure-ASGI dispatch of exact ``(method, path)`` pairs to their endpoint functions."""

    def __init__(
        self, inner: ASGIApp, *, app: Starlette, endpoints: Mapping[tuple[str, str], Endpoint]
    ) -> None:
        """``inner`` serves everything else; ``app`` is the application (its state and its
        exception handlers, the last resort being its handler for ``Exception``)."""
        self.inner = inner
        self.application = app
        self._routes = {key: _hot_route(key[1], endpoint) for key, endpoint in endpoints.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (
            self._routes.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        )
        if route is None:
            await self.inner(scope, receive, send)
            return
        scope["app"] = self.application
        scope["route"] = route
        request = Request(scope, receive)
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        handlers: Mapping[Any, ExceptionHandler] = self.application.exception_handlers
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                return handler
        return None


def _hot_route(path: str, endpoint: Endpoint) -> HotRoute:
    parameters = list(inspect.signature(endpoint).parameters.values())
    if (
        not inspect.iscoroutinefunction(endpoint)
        or len(parameters) != 1
        or parameters[0].annotation not in (Request, "Request")
    ):
        raise TypeError(f"{path}: a hot path's endpoint must be `async def f(request: Request)`")
    return HotRoute(path=path, endpoint=endpoint)
