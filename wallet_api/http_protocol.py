"""uvicorn's httptools protocol: a response in one system call; prebuilt answers at once.

uvicorn writes a response's status line and headers when the application sends
``http.response.start`` and the body when it sends ``http.response.body``: two ``send``
system calls and two TCP segments for every small JSON answer. On loopback under load
those calls were a fifth of a worker's time (py-spy, bench scenario 3). Here a write is
held back until the next one, and both go out in one call: the headers leave with the
body, as soon as the body is sent. A write that no other follows (headers of a response
without a body, the last chunk of a stream) goes out at the end of the event loop's
turn. Order is kept; closing the connection first writes what is held.

A plain ``GET`` of a document the application keeps prebuilt (discovery, the JWKS:
:mod:`wallet_api.prebuilt`) is answered here as soon as the request is complete, without
an ASGI task: about a quarter of the Python work of going through the application. Only a
request that could go no other way qualifies: HTTP/1.1 keep-alive, no body, no upgrade,
no ``Expect``, nothing before it still being answered on the connection and the
connection's writes not paused. Anything else, and any document not ready without I/O,
takes uvicorn's own path to the application.

A request to a path with a direct answer (introspection, ``client_credentials`` tokens,
userinfo: :mod:`wallet_api.direct_answers`) that qualifies the same way, with a body of a
declared length within the limit, is held until it is complete and handed to the
endpoint's own function; when that declines (the answer needs I/O) the request is given to
uvicorn as it arrived: headers, body, end.

A connection that sends the very same bytes again, when its last read was one whole
request answered without the application (prebuilt or direct), is answered without
parsing them again: bytes equal to one whole message, read at a message's boundary,
parse the same way again, so the request's method, target, headers and body are taken
from the last time and the answer is made afresh by the same code (the prebuilt answer
asked for again, the endpoint's handler run again: a new request id, today's ``Date``,
the current document or token state, counted and timed the same; when it declines, the
read is parsed as any other and reaches the application). Gateways polling the JWKS and
resource servers introspecting the same token or reading the same userinfo on a
kept-alive connection send exactly that. What is kept is the last request, which uvicorn
keeps too until the next one begins (its target and headers, credentials included), here
with its bytes and body, for one request a connection; any other read drops it, and so
does the end of the connection. Not parsing again took ~8 µs of server CPU off a JWKS
request at one connection and ~16 µs off a cached introspection (bench scenarios 1 and 3,
old and new code side by side).

Per request, two pieces of uvicorn's bookkeeping are lighter here (bench scenarios 1-3:
~5 µs of server CPU a JWKS request at one connection, ~8 % of a ``client_credentials``
token's at 64): the ASGI scope is made only for a request the application answers, and
the keep-alive timeout is one timer per connection, armed again when it fires early,
instead of a timer made and cancelled for every request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from wallet_api.direct_answers import MAX_BODY_BYTES, DirectAnswers


class CoalescingTransport:
    """A write joined with the one after it, or written at the end of the loop's turn."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._pending:
            self._pending.append(bytes(data))
            self.flush()  # the body after its headers: both at once, now
            return
        self._pending.append(bytes(data))
        self._loop.call_soon(self.flush)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def write_now(self, data: bytes) -> None:
        """``data`` after anything held, in one write, now."""
        if self._pending:
            self._pending.append(data)
            self.flush()
        elif not self._transport.is_closing():
            self._transport.write(data)

    def is_closing(self) -> bool:
        # Asked on every answer: spelled out rather than found by __getattr__.
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        # Everything else (pause_reading, get_extra_info, is_closing, set_protocol ...)
        # is the real transport's.
        return getattr(self._transport, name)


class PrebuiltSource(Protocol):
    """What the application offers: :class:`wallet_api.prebuilt.PrebuiltAnswers`."""

    def answer(
        self, path: bytes, request_headers: Sequence[tuple[bytes, bytes]], server_headers: bytes
    ) -> bytes | None: ...


def prebuilt_source(app: Any) -> PrebuiltSource | None:
    """The prebuilt answers of the application under uvicorn's wrappers, once it has them
    (the application makes them when it builds its middleware, on its first call)."""
    return _offered(app, "prebuilt_answers")  # type: ignore[no-any-return]


def direct_source(app: Any) -> DirectAnswers | None:
    """The direct answers of the application under uvicorn's wrappers, once it has them."""
    return _offered(app, "direct_answers")  # type: ignore[no-any-return]


def _offered(app: Any, name: str) -> Any:
    for _ in range(8):  # uvicorn wraps the application in a middleware or two
        offered = getattr(app, name, None)
        if offered is not None:
            return offered
        app = getattr(app, "app", None)
        if app is None:
            break
    return None


#: The server's own header lines (``Date``) as bytes, for the list uvicorn last made: it
#: makes a new one every second.
_server_lines: tuple[object, bytes] = (None, b"")


def _server_header_lines(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    global _server_lines
    made_for, lines = _server_lines
    if made_for is not default_headers:
        lines = b"".join(name + b": " + value + b"\r\n" for name, value in default_headers)
        _server_lines = (default_headers, lines)
    return lines


class _Repeatable(NamedTuple):
    """A read that was one whole request answered without the application."""

    data: bytes
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    #: The body of a request with a direct answer; None: a prebuilt answer.
    body: bytes | None


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.Config(http=CoalescingHttpToolsProtocol)``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, self.loop)
        self._prebuilt_answer: bytes | None = None
        self._prebuilt: PrebuiltSource | None = None
        self._direct: DirectAnswers | None = None
        #: The body of a request held for a direct answer (None: no such request).
        self._direct_body: list[bytes] | None = None
        self._idle = False
        self._idle_until = 0.0
        #: The last read, when it was one whole request answered without the application.
        self._repeatable: _Repeatable | None = None
        #: Whether the parser is inside a message (between its beginning and its end).
        self._in_message = False
        #: Messages begun in the current read, and the request in it answered without the
        #: application, if any.
        self._begun_in_read = 0
        self._answered_in_read: _Repeatable | None = None
        super().connection_made(coalescing)  # type: ignore[arg-type]

    # -- the keep-alive timeout ------------------------------------------------------
    # uvicorn arms a timer when a response completes and cancels it when the next request
    # arrives: a timer made and dropped for every request. Here one timer stays armed
    # while the connection is in use; when it fires it closes the connection only if the
    # connection has been idle for the whole timeout, and otherwise is armed again for
    # the rest of it. While a request is being received or answered nothing closes the
    # connection, as with uvicorn's.

    def _unset_keepalive_if_required(self) -> None:
        # Called when data arrives (uvicorn's data_received) and when a request's headers
        # are complete: the connection is in use, whatever the timer does meanwhile.
        self._idle = False

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle = True
        self._idle_until = self.loop.time() + self.timeout_keep_alive
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_at(self._idle_until, self._keepalive_due)

    def _keepalive_due(self) -> None:
        self.timeout_keep_alive_task = None
        if not self._idle:
            return  # a request is being served; its response arms the timer again
        if self.loop.time() < self._idle_until:
            self.timeout_keep_alive_task = self.loop.call_at(self._idle_until, self._keepalive_due)
            return
        self.timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._repeatable = None  # the last request's credentials go with the connection
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    # -- a request repeated ----------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        repeatable = self._repeatable
        if repeatable is not None and data == repeatable.data and self._answer_repeated(repeatable):
            return
        self._repeatable = None
        at_boundary = not self._in_message
        self._begun_in_read = 0
        self._answered_in_read = None
        super().data_received(data)
        answered = self._answered_in_read
        if (
            answered is not None
            and at_boundary
            and self._begun_in_read == 1
            and not self._in_message
            and not self.transport.is_closing()
        ):
            self._repeatable = answered._replace(data=bytes(data))

    def _answer_repeated(self, repeated: _Repeatable) -> bool:
        """Answers the same whole request as the last read's, if its answer is still to be
        had without the application and the connection is free; False: parse it as any
        other read."""
        if not self._connection_free():
            return False
        server_lines = _server_header_lines(self.server_state.default_headers)
        answer = None
        if repeated.body is None:
            if self._prebuilt is not None:
                answer = self._prebuilt.answer(repeated.target, repeated.headers, server_lines)
        elif self._direct is not None:
            answer = self._direct.answer(
                repeated.method, repeated.target, repeated.headers, repeated.body, server_lines
            )
        if answer is None:
            return False
        self._idle = False  # as uvicorn's data_received: a request arrived
        self._write_answer(answer)
        return True

    # -- the request --------------------------------------------------------------

    def on_message_begin(self) -> None:
        # uvicorn makes the request's ASGI scope here; it is made only for a request the
        # application answers (_begin_for_application), not for a prebuilt or direct one.
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self.scope = None  # type: ignore[assignment]
        self._in_message = True
        self._begun_in_read += 1

    def _begin_for_application(self) -> None:
        """The scope uvicorn would have made at the message's beginning, with what has
        been parsed since kept."""
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.headers, self.expect_100_continue = url, headers, expect
        self.scope["headers"] = headers

    def on_headers_complete(self) -> None:
        # A request has begun: the connection is not idle while it is served (an answer
        # earlier in the same read marked it idle).
        self._unset_keepalive_if_required()
        if self._may_skip_application():
            method = self.parser.get_method()
            if method == b"GET":
                self._prebuilt_answer = self._prebuilt_for_request()
                if self._prebuilt_answer is not None:
                    return
            if self._direct_may_answer(method):
                self._direct_body = []
                return
        self._begin_for_application()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._direct_body is not None:
            self._direct_body.append(body)
        elif self._prebuilt_answer is None:  # a prebuilt answer is only for a bodiless request
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        if self._direct_body is not None:
            self._direct_message_complete()
            return
        answer = self._prebuilt_answer
        if answer is None:
            super().on_message_complete()
            return
        self._prebuilt_answer = None
        self._answered_in_read = _Repeatable(b"", b"GET", self.url, self.headers, None)
        self._write_answer(answer)

    def _write_answer(self, answer: bytes) -> None:
        if self.transport.is_closing():
            return
        self.transport.write_now(answer)  # type: ignore[attr-defined]
        self.on_response_complete()

    def _may_skip_application(self) -> bool:
        """A request that could go no other way: HTTP/1.1 keep-alive, no upgrade, no
        ``Expect``, nothing before it still being answered, writes not paused."""
        parser = self.parser
        return (
            not (
                parser.get_http_version() != "1.1"
                or not parser.should_keep_alive()
                or parser.should_upgrade()
                or self.expect_100_continue
            )
            and self._connection_free()
        )

    def _connection_free(self) -> bool:
        """Nothing before still being answered on the connection, writes not paused."""
        return not (
            self.pipeline
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.flow.write_paused
        )

    def _prebuilt_for_request(self) -> bytes | None:
        for name, _ in self.headers:
            if name == b"content-length" or name == b"transfer-encoding":
                return None
        source = self._prebuilt
        if source is None:
            source = self._prebuilt = prebuilt_source(self.app)
            if source is None:
                return None
        return source.answer(
            self.url, self.headers, _server_header_lines(self.server_state.default_headers)
        )

    def _direct_may_answer(self, method: bytes) -> bool:
        """A request for a direct answer: its path has one, and its body has a length
        within :data:`~wallet_api.direct_answers.MAX_BODY_BYTES` (not chunked)."""
        source = self._direct
        if source is None:
            source = self._direct = direct_source(self.app)
            if source is None:
                return False
        if not source.takes(method, self.url):
            return False
        length = None
        for name, value in self.headers:
            if name == b"transfer-encoding":
                return False
            if name == b"content-length":
                if length is not None or not value.isdigit():
                    return False
                length = int(value)
        return length is None or length <= MAX_BODY_BYTES

    def _direct_message_complete(self) -> None:
        body_parts, self._direct_body = self._direct_body or [], None
        body = b"".join(body_parts)
        source = self._direct
        answer = None
        method = self.parser.get_method()
        if source is not None:
            answer = source.answer(
                method,
                self.url,
                self.headers,
                body,
                _server_header_lines(self.server_state.default_headers),
            )
        if answer is not None:
            self._answered_in_read = _Repeatable(b"", method, self.url, self.headers, body)
            self._write_answer(answer)
            return
        # The application answers: the request is given to uvicorn as it arrived.
        self._begin_for_application()
        super().on_headers_complete()
        if body:
            super().on_body(body)
        super().on_message_complete()
