"""Per-request bookkeeping of the HTTP protocol (wallet_api.http_protocol): the keep-alive
timeout, one timer per connection; the ASGI scope, made only for a request the
application answers and then exactly as uvicorn makes it; and a request answered without
the application (prebuilt or direct) repeated on its connection, answered afresh without
being parsed again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import uvicorn
from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from tests.support.raw_http import MemoryTransport, parse_answer, received_body
from wallet_api.direct_answers import DirectAnswers, DirectRequest
from wallet_api.http_protocol import CoalescingHttpToolsProtocol
from wallet_api.metrics import RequestMetrics
from wallet_api.middleware import ResponseHeaders
from wallet_api.prebuilt import PrebuiltAnswers

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
        self.bodies: list[bytes] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.scopes.append(dict(scope))
        self.bodies.append(await received_body(receive))
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


# -- a request repeated -------------------------------------------------------------------


class _Document:
    """The current answer for ``/jwks``: a new response when the document changes, None
    while it cannot be had without I/O."""

    def __init__(self) -> None:
        self.ready = True
        self.change(b'{"keys":[1]}')

    def change(self, body: bytes) -> None:
        self.body = body
        self.response = Response(body, media_type="application/json")

    def __call__(self) -> Response | None:
        return self.response if self.ready else None


class _CountedMetrics(RequestMetrics):
    def __init__(self) -> None:
        super().__init__()
        self.counted: list[tuple[str, str, int]] = []

    def count(self, method: str, route: str, status: int) -> None:
        self.counted.append((method, route, status))


class _CountedParser:
    """The connection's parser, with the reads it was fed counted."""

    def __init__(self, parser: Any) -> None:
        self._parser = parser
        self.fed = 0

    def feed_data(self, data: bytes) -> None:
        self.fed += 1
        self._parser.feed_data(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class _Issuer:
    """A direct answer for ``POST /x``: a new serial number each time it answers, and None
    (the application answers) while it is not ready."""

    def __init__(self) -> None:
        self.ready = True
        self.calls: list[bytes] = []

    def __call__(self, request: DirectRequest) -> Response | None:
        self.calls.append(request.body)
        if not self.ready:
            return None
        return Response(f"serial {len(self.calls)}".encode(), media_type="text/plain")


class _AnsweringConnection:
    """A connection to an application with a prebuilt ``/jwks`` and a direct ``POST /x``
    (answered ``ok`` by the application when they cannot answer, and for every other
    path)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.app = _App()
        self.document = _Document()
        self.issuer = _Issuer()
        self.metrics = _CountedMetrics()
        self.app.prebuilt_answers = PrebuiltAnswers(  # type: ignore[attr-defined]
            {"/jwks": self.document}, headers=ResponseHeaders(https=False), metrics=self.metrics
        )
        self.app.direct_answers = DirectAnswers(  # type: ignore[attr-defined]
            {("POST", "/x"): self.issuer},
            headers=ResponseHeaders(https=False),
            metrics=self.metrics,
        )
        self.protocol, self.transport = _protocol(self.app, loop)
        self.parser = _CountedParser(self.protocol.parser)
        self.protocol.parser = self.parser  # type: ignore[assignment]  # a counting proxy
        self.answered = 0

    async def send(
        self, *reads: bytes, answers: int = 1
    ) -> list[tuple[int, dict[str, str], bytes]]:
        """``reads`` received one after the other; the ``answers`` they get."""
        for data in reads:
            self.protocol.data_received(data)
        self.answered += answers
        await _answers(self.transport, self.answered)
        raw, parsed = b"".join(self.transport.writes), []
        while raw:
            status, headers, body, raw = parse_answer(raw)
            parsed.append((status, headers, body))
        return parsed[-answers:]


JWKS_REQUEST = _get("/jwks")


def test_a_repeated_request_is_answered_afresh_without_being_parsed_again() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        first = (await connection.send(JWKS_REQUEST))[0]
        request_ids = {first[1]["x-request-id"]}
        for _ in range(4):
            (answer,) = await connection.send(JWKS_REQUEST)
            assert answer[0] == 200
            assert answer[2] == b'{"keys":[1]}'
            assert answer[1].keys() == first[1].keys()  # date, the request id, the rest
            request_ids.add(answer[1]["x-request-id"])
        assert len(request_ids) == 5  # each answer its own request id
        assert connection.metrics.counted == [("GET", "/jwks", 200)] * 5
        assert connection.parser.fed == 1
        assert connection.app.scopes == []

    asyncio.run(scenario())


def test_a_repeat_keeps_the_callers_request_id() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        request = _get("/jwks").replace(b"\r\n\r\n", b"\r\nX-Request-Id: balancer-7\r\n\r\n")
        for _ in range(3):
            (answer,) = await connection.send(request)
            assert answer[1]["x-request-id"] == "balancer-7"
        assert connection.parser.fed == 1

    asyncio.run(scenario())


def test_a_repeat_gets_the_document_as_it_is_now() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        await connection.send(JWKS_REQUEST)
        connection.document.change(b'{"keys":[1,2]}')  # a key rotated in
        (answer,) = await connection.send(JWKS_REQUEST)
        assert answer[2] == b'{"keys":[1,2]}'
        assert answer[1]["content-length"] == str(len(b'{"keys":[1,2]}'))

    asyncio.run(scenario())


def test_a_repeat_whose_document_is_not_ready_goes_to_the_application() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        await connection.send(JWKS_REQUEST)
        connection.document.ready = False  # its cache expired: reading it needs I/O
        (answer,) = await connection.send(JWKS_REQUEST)
        assert answer[2] == b"ok"
        (scope,) = connection.app.scopes
        assert (scope["method"], scope["path"]) == ("GET", "/jwks")
        assert scope["headers"] == [(b"host", b"127.0.0.1")]
        connection.document.ready = True
        for _ in range(2):
            (answer,) = await connection.send(JWKS_REQUEST)
            assert answer[2] == b'{"keys":[1]}'
        assert connection.parser.fed == 3  # the declined repeat was parsed, then one more

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("reads", "answers"),
    [
        ((JWKS_REQUEST * 2,), 2),
        ((JWKS_REQUEST[:10], JWKS_REQUEST[10:]), 1),
        ((JWKS_REQUEST + JWKS_REQUEST[:10], JWKS_REQUEST[10:]), 2),
        ((_get("/jwks").replace(b"HTTP/1.1", b"HTTP/1.0"),), 1),
    ],
    ids=["two-in-one-read", "one-in-two-reads", "one-and-a-part", "http10"],
)
def test_reads_that_are_not_one_whole_prebuilt_request_are_parsed_every_time(
    reads: tuple[bytes, ...], answers: int
) -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        for _ in range(3):
            got = await connection.send(*reads, answers=answers)
            assert [status for status, _, _ in got] == [200] * answers
            if connection.transport.closed:  # HTTP/1.0: answered, then closed
                break
        assert connection.parser.fed == len(reads) * (1 if connection.transport.closed else 3)

    asyncio.run(scenario())


def test_a_repeat_while_writes_are_paused_waits_its_turn_through_the_application() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        await connection.send(JWKS_REQUEST)
        connection.protocol.pause_writing()  # the client reads its answers slowly
        connection.protocol.data_received(JWKS_REQUEST)
        for _ in range(10):
            await asyncio.sleep(0)
        assert len(connection.app.scopes) == 1  # not answered past the paused writes
        assert b"".join(connection.transport.writes).count(b"HTTP/1.1 ") == 1
        connection.protocol.resume_writing()
        connection.answered += 1
        await _answers(connection.transport, connection.answered)
        assert b"".join(connection.transport.writes).endswith(b"ok")

    asyncio.run(scenario())


def test_another_read_after_a_repeat_is_parsed_as_it_comes() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        await connection.send(JWKS_REQUEST)
        await connection.send(JWKS_REQUEST)
        (answer,) = await connection.send(_get("/other"))
        assert answer[2] == b"ok"
        await connection.send(JWKS_REQUEST)
        (answer,) = await connection.send(b"BOGUS\x01 / HTTP/1.1\r\n\r\n")
        assert answer[0] == 400
        assert connection.transport.closed
        assert connection.parser.fed == 4

    asyncio.run(scenario())


def test_a_read_that_finishes_an_earlier_request_is_not_taken_for_a_whole_one() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        tail_and_whole = JWKS_REQUEST[10:] + JWKS_REQUEST
        await connection.send(JWKS_REQUEST[:10], tail_and_whole, answers=2)
        # The same bytes again, now at a request's beginning: not a request.
        (answer,) = await connection.send(tail_and_whole)
        assert answer[0] == 400
        assert connection.transport.closed

    asyncio.run(scenario())


POST_REQUEST = (
    b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic YWdlbmN5OnNlY3JldA==\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nscope=a"
)


def test_a_repeated_request_with_a_direct_answer_is_answered_afresh_by_its_endpoint() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        for serial in range(1, 5):
            (answer,) = await connection.send(POST_REQUEST)
            assert answer[0] == 200
            assert answer[2] == f"serial {serial}".encode()  # the endpoint ran each time
        assert connection.issuer.calls == [b"scope=a"] * 4
        assert connection.parser.fed == 1
        assert connection.app.scopes == []

    asyncio.run(scenario())


def test_a_repeat_its_endpoint_declines_reaches_the_application_as_it_arrived() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        await connection.send(POST_REQUEST)
        connection.issuer.ready = False  # its answer needs the database now
        (answer,) = await connection.send(POST_REQUEST)
        assert answer[2] == b"ok"
        (scope,) = connection.app.scopes
        assert (scope["method"], scope["path"]) == ("POST", "/x")
        assert (b"authorization", b"Basic YWdlbmN5OnNlY3JldA==") in scope["headers"]
        assert connection.app.bodies == [b"scope=a"]
        # The declined repeat was parsed as any other read, and asked the endpoint again.
        assert connection.parser.fed == 2
        assert len(connection.issuer.calls) == 3

    asyncio.run(scenario())


def test_a_request_with_its_body_in_a_later_read_is_parsed_every_time() -> None:
    async def scenario() -> None:
        connection = _AnsweringConnection(asyncio.get_running_loop())
        head, body = POST_REQUEST[:-7], POST_REQUEST[-7:]
        for serial in range(1, 4):
            (answer,) = await connection.send(head, body)
            assert answer[2] == f"serial {serial}".encode()
        assert connection.parser.fed == 6

    asyncio.run(scenario())
