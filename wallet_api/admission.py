"""Admission control: at most as many requests inside the application as it has connections.

A request's database session is opened by a dependency in one thread-pool thread and
used by the route in another, holding its connection in between. With more requests in
flight than connections, every thread can end up waiting for a connection that only a
request waiting for a thread would give back: the worker stalls until the pool's timeout
(seen at 64 concurrent verify requests). Letting at most ``database_pool_size`` requests
in at a time, with ``2 x pool_size`` overflow connections for the threads themselves,
makes that impossible; the others wait on the event loop, holding nothing. Paths that
never keep a session across threads (static files, the cached discovery and JWKS
documents, probes) are not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send


class AdmissionLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        exempt_paths: Iterable[str] = (),
        exempt_prefixes: tuple[str, ...] = (),
    ) -> None:
        if limit < 1:
            raise ValueError("the admission limit must be at least 1")
        self.app = app
        self.limit = limit
        self._exempt = frozenset(exempt_paths)
        self._exempt_prefixes = exempt_prefixes
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path in self._exempt
            or (self._exempt_prefixes and path.startswith(self._exempt_prefixes))
        ):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)
