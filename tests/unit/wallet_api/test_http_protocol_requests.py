"""Per-request bookkeeping of the HTTP protocol (wallet_api.http_protocol): the keep-alive
timeout, one timer per connection, and the ASGI scope, made only for a request the
application answers and then exactly as uvicorn makes it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import uvicorn
from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from tests.support.raw_http import MemoryTransport
from wallet_api.direct_answers import DirectAnswers, DirectRequest
from wallet_api.http_protocol import CoalescingHttpToolsProtocol
from wallet_api.metrics import RequestMetrics
from wallet_api.middleware import ResponseHeaders

KEEP_ALIVE = 5.0


class _Timer:
    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]):
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClockLoop:
    """The running event loop, with its clock and timers moved by the test."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.now = 1_000.0
        self.timers: list[_Timer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> _Timer:
        timer = _Timer(when, callback, args)
        self.timers.append(timer)
        return timer

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> _Timer:
        return self.call_at(self.now + delay, callback, *args)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while due := [t for t in self.armed() if t.when <= self.now]:
            timer = min(due, key=lambda t: t.when)
            timer.cancelled = True  # it has run
            timer.callback(*timer.args)

    def armed(self) -> list[_Timer]:
        return [timer for timer in self.timers if not timer.cancelled]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)


class _App:
    """Answers ``ok``; ``/slow`` waits for :attr:`release`. Keeps every scope it is given."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.scopes.append(dict(scope))
        while (await receive()).get("more_body"):
            pass
        if scope["path"] == "/slow":
            await self.release.wait()
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})


def _protocol(
    app: Any, loop: Any, protocol_class: type[HttpToolsProtocol] = CoalescingHttpToolsProtocol
) -> tuple[HttpToolsProtocol, MemoryTransport]:
    config = uvicorn.Config(
        app,
        http=protocol_class,
        log_config=None,
        proxy_headers=False,
        timeout_keep_alive=int(KEEP_ALIVE),
    )
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    transport = MemoryTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


async def _answers(transport: MemoryTransport, count: int) -> None:
    for _ in range(200):
        if b"".join(transport.writes).count(b"HTTP/1.1 ") >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"fewer than {count} answers: {transport.writes!r}")


# -- the keep-alive timeout ---------------------------------------------------------------


async def _answered_once(
    app: _App,
) -> tuple[ManualClockLoop, HttpToolsProtocol, MemoryTransport]:
    """A connection with one request answered, on a clock the test moves."""
    clock = ManualClockLoop(asyncio.get_running_loop())
    protocol, transport = _protocol(app, clock)
    protocol.data_received(_get("/"))
    await _answers(transport, 1)
    return clock, protocol, transport


def _closed_after_the_timeout(clock: ManualClockLoop, transport: MemoryTransport) -> None:
    """Still open 0.1 s before the keep-alive timeout has passed, closed 0.1 s after."""
    clock.advance(KEEP_ALIVE - 0.1)
    assert not transport.closed
    clock.advance(0.2)
    assert transport.closed


def test_an_idle_connection_is_closed_when_the_keep_alive_timeout_has_passed() -> None:
    async def scenario() -> None:
        clock, _, transport = await _answered_once(_App())
        _closed_after_the_timeout(clock, transport)

    asyncio.run(scenario())


def test_a_connection_in_use_stays_open_on_one_timer() -> None:
    async def scenario() -> None:
        clock, protocol, transport = await _answered_once(_App())
        for n in range(2, 102):  # a request every 0.1 s: never idle for the whole timeout
            clock.advance(0.1)
            protocol.data_received(_get("/"))
            await _answers(transport, n)
            assert not transport.closed
        # 100 requests in 10 s: the one timer was due twice and armed again each time
        # (uvicorn's own protocol makes a timer for every request).
        assert len(clock.timers) == 3
        assert len(clock.armed()) == 1
        _closed_after_the_timeout(clock, transport)  # counted from the last answer

    asyncio.run(scenario())


def test_a_request_being_answered_is_never_cut_off() -> None:
    async def scenario() -> None:
        app = _App()
        clock, protocol, transport = await _answered_once(app)
        clock.advance(1.0)
        protocol.data_received(_get("/slow"))  # arrives before the timer is due
        for _ in range(10):
            await asyncio.sleep(0)
        clock.advance(KEEP_ALIVE * 4)  # the timer fires while the application works
        assert not transport.closed
        app.release.set()
        await _answers(transport, 2)
        assert b"".join(transport.writes).endswith(b"\r\n\r\nok")
        _closed_after_the_timeout(clock, transport)  # counted from the answer

    asyncio.run(scenario())


def test_a_lost_connection_leaves_no_timer_behind() -> None:
    async def scenario() -> None:
        clock, protocol, _ = await _answered_once(_App())
        assert len(clock.armed()) == 1
        protocol.connection_lost(None)
        assert clock.armed() == []

    asyncio.run(scenario())


# -- the ASGI scope -----------------------------------------------------------------------


def _declining_app() -> _App:
    """An application whose direct answer for ``POST /x`` always declines."""
    app = _App()

    def decline(request: DirectRequest) -> Response | None:
        return None

    app.direct_answers = DirectAnswers(  # type: ignore[attr-defined]
        {("POST", "/x"): decline}, headers=ResponseHeaders(https=False), metrics=RequestMetrics()
    )
    return app


def _scopes(
    protocol_class: type[HttpToolsProtocol], request_bytes: bytes, answers: int = 1
) -> list[dict[str, Any]]:
    async def scenario() -> list[dict[str, Any]]:
        app = _declining_app()
        protocol, transport = _protocol(app, asyncio.get_running_loop(), protocol_class)
        protocol.data_received(request_bytes)
        await _answers(transport, answers)
        protocol.connection_lost(None)
        return app.scopes

    return asyncio.run(scenario())


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /a%20b/c?q=1&r=%C3%A9 HTTP/1.1\r\nHost: example\r\nX-Forwarded-For: 10.0.0.1\r\n"
        b"Accept: */*  \r\nCookie: a=b\r\n\r\n",
        b"POST /form HTTP/1.1\r\nHost: example\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: 3\r\n\r\na=1",
        b"POST /x HTTP/1.1\r\nHost: example\r\nContent-Length: 7\r\n\r\ntoken=1",  # declined
        b"GET /old HTTP/1.0\r\nHost: example\r\n\r\n",
        b"POST /upload HTTP/1.1\r\nHost: example\r\nExpect: 100-continue\r\n"
        b"Content-Length: 2\r\n\r\nhi",
    ],
    ids=["get", "form", "declined-direct", "http10", "expect"],
)
def test_the_application_gets_the_scope_uvicorn_makes(request_bytes: bytes) -> None:
    ours = _scopes(CoalescingHttpToolsProtocol, request_bytes)
    uvicorns = _scopes(HttpToolsProtocol, request_bytes)
    assert len(ours) == 1
    assert ours == uvicorns


def test_pipelined_requests_each_get_their_own_scope() -> None:
    requests = (
        _get("/one")
        + b"POST /x HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\n\r\ntoken"
        + _get("/three?x=3")
    )
    ours = _scopes(CoalescingHttpToolsProtocol, requests, answers=3)
    assert [scope["path"] for scope in ours] == ["/one", "/x", "/three"]
    assert ours == _scopes(HttpToolsProtocol, requests, answers=3)
