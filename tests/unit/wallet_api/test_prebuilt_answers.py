"""Discovery and JWKS answered by the HTTP protocol from prebuilt bytes (wallet_api.prebuilt):
the application's own answer, this request's id and date, counted, and the application's
path for everything that does not qualify."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from tests.support.raw_http import counted_and_timed, parse_answer
from wallet_api.runtime import PROVIDER_OWNER, Runtime

if TYPE_CHECKING:
    from tests.support.live_server import LiveServer

DOCUMENTS = ("/.well-known/openid-configuration", "/jwks.json")
DATE = b"date: Sun, 06 Dec 2026 12:00:00 GMT\r\n"


def _answer(
    client: TestClient, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> bytes | None:
    async def on_the_loop() -> bytes | None:  # counting schedules on the running loop
        answer: bytes | None = client.app.prebuilt_answers.answer(  # type: ignore[attr-defined]
            path.encode(), headers or [], DATE
        )
        return answer

    return asyncio.run(on_the_loop())


def test_a_prebuilt_answer_is_the_applications_own(client: TestClient) -> None:
    for path in DOCUMENTS:
        through_app = client.get(path)
        raw = _answer(client, path)
        assert raw is not None
        status, headers, body, rest = parse_answer(raw)
        assert rest == b""
        assert status == through_app.status_code == 200
        assert body == through_app.content
        assert headers.pop("date") == "Sun, 06 Dec 2026 12:00:00 GMT"
        assert re.fullmatch(r"[0-9a-f]{16}", headers.pop("x-request-id"))
        expected = dict(through_app.headers)
        expected.pop("x-request-id")
        assert headers == expected  # security headers, cache-control, length, type


def test_the_callers_request_id_is_kept_and_a_bad_one_replaced(client: TestClient) -> None:
    client.get("/jwks.json")  # the first answer after start reads the key set
    raw = _answer(client, "/jwks.json", [(b"x-request-id", b"balancer-0001")])
    assert parse_answer(raw)[1]["x-request-id"] == "balancer-0001"  # type: ignore[arg-type]
    raw = _answer(client, "/jwks.json", [(b"x-request-id", b"bad id\x7f")])
    assert re.fullmatch(r"[0-9a-f]{16}", parse_answer(raw)[1]["x-request-id"])  # type: ignore[arg-type]


def test_only_exact_paths_of_the_documents_are_prebuilt(client: TestClient) -> None:
    client.get("/jwks.json")
    for path in ("/jwks.json?x=1", "/jwks.json/", "/healthz", "/token", "/JWKS.JSON"):
        assert _answer(client, path) is None


def test_after_a_rotation_the_key_set_goes_through_the_application_then_is_prebuilt(
    client: TestClient, runtime: Runtime
) -> None:
    client.get("/jwks.json")
    before = parse_answer(_answer(client, "/jwks.json"))[2]  # type: ignore[arg-type]
    with runtime.sessions() as session:
        runtime.keystore.rotate(
            session, owner=PROVIDER_OWNER, alg="ES256", retain_for=timedelta(days=1)
        )
        session.commit()
    assert _answer(client, "/jwks.json") is None  # not ready without reading the database
    fresh = client.get("/jwks.json")  # the application reads the set again
    after = parse_answer(_answer(client, "/jwks.json"))[2]  # type: ignore[arg-type]
    assert after == fresh.content != before
    assert len(fresh.json()["keys"]) == len(json.loads(before)["keys"]) + 1


def test_with_the_access_log_on_every_request_goes_through_the_application(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    client.get("/jwks.json")
    with caplog.at_level(logging.INFO, logger="govwallet.access"):
        assert _answer(client, "/jwks.json") is None
    assert _answer(client, "/jwks.json") is not None


def test_prebuilt_answers_are_counted_not_timed(client: TestClient) -> None:
    def metrics() -> tuple[float, float]:
        return counted_and_timed(client.get("/metrics").text, "GET", "/jwks.json", 200)

    client.get("/jwks.json")
    answered, through_application = metrics()
    assert answered >= 1
    for _ in range(5):
        assert _answer(client, "/jwks.json") is not None
    assert metrics() == (answered + 5, through_application)


# -- over a real connection -------------------------------------------------------------


def _exchange(
    base_url: str, payload: bytes, answers: int, timeout: float = 10.0
) -> list[tuple[int, dict[str, str], bytes]]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(payload)
        raw = b""
        parsed: list[tuple[int, dict[str, str], bytes]] = []
        deadline = time.monotonic() + timeout
        while len(parsed) < answers and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
            parsed, rest = [], raw
            while b"\r\n\r\n" in rest:
                status, headers, body, after = parse_answer(rest)
                if len(body) < int(headers.get("content-length", "0")):
                    break
                parsed.append((status, headers, body))
                rest = after
        return parsed


def _get(path: str, *extra: str, version: str = "1.1") -> bytes:
    lines = [f"GET {path} HTTP/{version}", "Host: 127.0.0.1", *extra, "", ""]
    return "\r\n".join(lines).encode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    from tests.support.live_server import live_server

    with live_server(tmp_path, extra_env={"GOVWALLET_LOG_LEVEL": "WARNING"}, nodes=1) as live:
        yield live


@pytest.mark.e2e
def test_pipelined_requests_are_answered_in_order(server: LiveServer) -> None:
    payload = (
        _get("/jwks.json")
        + _get("/healthz")  # through the application, between two prebuilt answers
        + _get("/.well-known/openid-configuration", "X-Request-Id: pipelined-0001")
        + _get("/jwks.json")
    )
    answers = _exchange(server.base_url, payload, 4)
    assert [status for status, _, _ in answers] == [200, 200, 200, 200]
    assert b'"keys"' in answers[0][2]
    assert answers[0][2] == answers[3][2]
    assert b'"status"' in answers[1][2]
    assert b'"issuer"' in answers[2][2]
    assert answers[2][1]["x-request-id"] == "pipelined-0001"
    assert all("date" in headers for _, headers, _ in answers)


@pytest.mark.e2e
def test_prebuilt_and_application_answers_over_http_are_the_same(server: LiveServer) -> None:
    for path in DOCUMENTS:
        # HTTP/1.0 without keep-alive never qualifies: the application answers.
        ((app_status, app_headers, app_body),) = _exchange(
            server.base_url, _get(path, version="1.0"), 1
        )
        ((status, headers, body),) = _exchange(server.base_url, _get(path), 1)
        assert status == app_status == 200
        assert body == app_body
        for varying in ("date", "x-request-id", "connection"):
            app_headers.pop(varying, None)
            headers.pop(varying, None)
        assert headers == app_headers


@pytest.mark.e2e
def test_requests_that_do_not_qualify_are_answered_by_the_application(server: LiveServer) -> None:
    # A GET with a body, then two more on the same connection, the last closing it.
    payload = b"GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"
    payload += _get("/jwks.json") + _get("/jwks.json", "Connection: close")
    answers = _exchange(server.base_url, payload, 3)
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert answers[0][2] == answers[1][2] == answers[2][2]
    assert answers[2][1].get("connection") == "close"


@pytest.mark.e2e
def test_prebuilt_answers_show_in_the_metrics(server: LiveServer) -> None:
    import httpx

    def metrics() -> tuple[float, float]:
        text = httpx.get(f"{server.base_url}/metrics").text
        return counted_and_timed(text, "GET", "/jwks.json", 200)

    assert len(_exchange(server.base_url, _get("/jwks.json"), 1)) == 1  # reads the key set
    deadline = time.monotonic() + 5
    while metrics()[0] < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    answered, through_application = metrics()
    assert (answered, through_application) == (1, 1)
    assert len(_exchange(server.base_url, _get("/jwks.json") * 7, 7)) == 7
    deadline = time.monotonic() + 5
    while metrics()[0] < answered + 7 and time.monotonic() < deadline:
        time.sleep(0.2)
    # All seven counted; none timed: the protocol answered them, not the application.
    assert metrics() == (answered + 7, through_application)


@pytest.mark.e2e
def test_a_request_repeated_on_its_connection_is_answered_afresh_each_time(
    server: LiveServer,
) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    answers = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for _ in range(6):  # one request, its answer read, then the very same bytes again
            sock.sendall(_get("/jwks.json"))
            raw = b""
            while b"\r\n\r\n" not in raw or len(parse_answer(raw)[2]) < int(
                parse_answer(raw)[1].get("content-length", "0")
            ):
                chunk = sock.recv(65536)
                assert chunk, "the connection was closed"
                raw += chunk
            status, headers, body, rest = parse_answer(raw)
            assert rest == b""
            answers.append((status, headers, body))
    assert [status for status, _, _ in answers] == [200] * 6
    assert len({body for _, _, body in answers}) == 1
    assert b'"keys"' in answers[0][2]
    assert len({headers["x-request-id"] for _, headers, _ in answers}) == 6
