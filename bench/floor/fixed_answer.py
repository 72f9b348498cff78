"""``python -m bench.floor.fixed_answer PORT BODY_FILE``: every request answered with the
same bytes by a bare uvloop protocol, no HTTP parsing: no HTTP server on uvloop can be faster.

A request is taken to end at its blank line (the load is ``GET`` without a body).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import uvloop

END = b"\r\n\r\n"


def answer_for(body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class FixedAnswer(asyncio.Protocol):
    def __init__(self, answer: bytes) -> None:
        self._answer = answer
        self._pending = b""
        self._transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport

    def data_received(self, data: bytes) -> None:
        pending = self._pending + data
        complete = pending.count(END)
        self._pending = pending[pending.rfind(END) + len(END) :] if complete else pending
        if complete and self._transport is not None:
            self._transport.write(self._answer * complete)


async def serve(port: int, answer: bytes) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FixedAnswer(answer), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    port, body_file = int(argv[0]), Path(argv[1])
    uvloop.run(serve(port, answer_for(body_file.read_bytes())))


if __name__ == "__main__":
    main(sys.argv[1:])
