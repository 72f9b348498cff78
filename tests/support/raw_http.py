"""Raw HTTP/1.1 answers, the request metrics and a transport in memory, for tests of the
HTTP protocol (wallet_api.http_protocol) and of the answers it writes without the
application (wallet_api.prebuilt, wallet_api.direct_answers)."""

from __future__ import annotations

import re
from typing import Any


def parse_answer(raw: bytes) -> tuple[int, dict[str, str], bytes, bytes]:
    """One HTTP/1.1 answer off the front of ``raw``: status, headers, body, the rest."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, f"{name} twice"
        headers[name.lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    return status, headers, rest[:length], rest[length:]


def counted_and_timed(
    metrics_text: str, method: str, route: str, status: int
) -> tuple[float, float]:
    """From ``/metrics``: the requests counted for ``method route`` with ``status``, and
    those of ``method route`` whose latency was observed."""
    series = f'{{method="{method}",route="{route}"'
    counter = re.compile(
        rf"^govwallet_http_requests_total{re.escape(series)},status=\"{status}\"}} (\S+)$",
        re.MULTILINE,
    )
    timed = re.compile(
        rf"^govwallet_http_request_duration_seconds_count{re.escape(series)}}} (\S+)$",
        re.MULTILINE,
    )
    found = [pattern.search(metrics_text) for pattern in (counter, timed)]
    return tuple(float(f.group(1)) if f else 0.0 for f in found)  # type: ignore[return-value]


async def received_body(receive: Any) -> bytes:
    """The whole body of the request an ASGI application is answering, from ``receive``."""
    body = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if not message.get("more_body"):
            return body


class MemoryTransport:
    """A connection's transport for an HTTP protocol fed from memory: keeps what is
    written, and whether it was closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass
