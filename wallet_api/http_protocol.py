"""uvicorn's httptools protocol with a response written in one system call.

uvicorn writes a response's status line and headers when the application sends
``http.response.start`` and the body when it sends ``http.response.body``: two ``send``
system calls and two TCP segments for every small JSON answer. On loopback under load
those calls were a fifth of a worker's time (py-spy, bench scenario 3). Here a write is
held back until the next one, and both go out in one call: the headers leave with the
body, as soon as the body is sent. A write that no other follows (headers of a response
without a body, the last chunk of a stream) goes out at the end of the event loop's
turn. Order is kept; closing the connection first writes what is held.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


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

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        # Everything else (pause_reading, get_extra_info, is_closing, set_protocol ...)
        # is the real transport's.
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.Config(http=CoalescingHttpToolsProtocol)``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)  # type: ignore[arg-type]
