"""A response's headers and body leave in one write (wallet_api.http_protocol)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from wallet_api.http_protocol import CoalescingTransport


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_headers_and_body_go_out_in_one_write() -> None:
    async def scenario() -> list[bytes]:
        real = RecordingTransport()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        assert real.writes == []  # held until the body comes
        transport.write(b"{}")
        assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]  # at once
        await asyncio.sleep(0)
        return real.writes

    assert len(asyncio.run(scenario())) == 1


def test_a_lone_write_leaves_by_the_end_of_the_loop_turn_in_order() -> None:
    async def scenario() -> list[bytes]:
        real = RecordingTransport()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]
        for chunk in (b"a", b"b", b"c"):  # a stream: every chunk arrives, in order
            transport.write(chunk)
        transport.write(b"")  # nothing to write changes nothing
        await asyncio.sleep(0)
        return real.writes

    writes = asyncio.run(scenario())
    assert b"".join(writes[1:]) == b"abc"


def test_closing_writes_what_is_held_first_and_nothing_after() -> None:
    async def scenario() -> RecordingTransport:
        real = RecordingTransport()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"last words")
        transport.close()
        assert real.writes == [b"last words"]
        assert transport.is_closing()
        assert transport.get_extra_info("peername") == "info:peername"
        transport.write(b"too late")
        await asyncio.sleep(0)
        return real

    real = asyncio.run(scenario())
    assert real.writes == [b"last words"]


@pytest.mark.e2e
def test_the_server_answers_through_the_protocol(tmp_path: Path) -> None:
    from tests.support.live_server import live_server

    with live_server(tmp_path) as server, httpx.Client(base_url=server.base_url) as client:
        for _ in range(3):  # keep-alive: one connection, several whole answers
            response = client.get("/jwks.json")
            assert response.status_code == 200
            assert len(response.json()["keys"]) == 4
        head = client.head("/healthz")
        assert head.status_code in {200, 405}
