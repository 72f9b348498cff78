"""Admission control: never more requests inside than the limit; exempt paths pass by."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Receive, Scope, Send

from wallet_api.admission import AdmissionLimit


def _scope(path: str) -> Scope:
    return {"type": "http", "path": path, "method": "GET"}


async def _noop_receive() -> dict[str, object]:
    return {"type": "http.request", "body": b""}


async def _noop_send(_message: object) -> None:
    return None


def test_at_most_limit_requests_run_at_once_and_all_finish() -> None:
    inside = 0
    most = 0
    done = 0

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal inside, most, done
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.01)
        inside -= 1
        done += 1

    limited = AdmissionLimit(app, limit=3)

    async def main() -> None:
        await asyncio.gather(
            *(limited(_scope("/api/v1/verify"), _noop_receive, _noop_send) for _ in range(20))
        )

    asyncio.run(main())
    assert most == 3
    assert done == 20


def test_exempt_paths_are_not_held_back_by_a_full_house() -> None:
    release = asyncio.Event()
    served: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/slow":
            await release.wait()
        served.append(scope["path"])

    limited = AdmissionLimit(
        app, limit=1, exempt_paths=["/jwks.json"], exempt_prefixes=("/static/",)
    )

    async def main() -> None:
        slow = asyncio.create_task(limited(_scope("/slow"), _noop_receive, _noop_send))
        await asyncio.sleep(0)
        waiting = asyncio.create_task(limited(_scope("/other"), _noop_receive, _noop_send))
        await asyncio.wait_for(limited(_scope("/jwks.json"), _noop_receive, _noop_send), 1)
        await asyncio.wait_for(limited(_scope("/static/app.css"), _noop_receive, _noop_send), 1)
        assert served == ["/jwks.json", "/static/app.css"]  # /other still waits
        release.set()
        await asyncio.gather(slow, waiting)

    asyncio.run(main())
    assert served[-2:] == ["/slow", "/other"]


def test_a_limit_below_one_is_refused() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    with pytest.raises(ValueError, match="at least 1"):
        AdmissionLimit(app, limit=0)
