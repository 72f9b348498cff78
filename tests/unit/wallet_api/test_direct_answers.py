"""Requests answered by an endpoint's own function without an ASGI task
(wallet_api.direct_answers): the application's own answer, headers, request id and
metrics; and the application's path, with the request intact, for everything else."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import uvicorn
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from sqlalchemy import delete, select
from starlette.responses import JSONResponse, Response
from uvicorn.server import ServerState

from identity.oidc.models import ClientAssertion, OAuthClient
from identity.oidc.services import register_client
from identity.oidc.tokens import AccessTokenClaims
from tests.support.client_assertions import JWT_BEARER, client_assertion
from tests.support.raw_http import (
    MemoryTransport,
    counted_and_timed,
    parse_answer,
    received_body,
)
from wallet_api.app import create_app
from wallet_api.direct_answers import MAX_BODY_BYTES, DirectAnswers, DirectRequest, head_lines
from wallet_api.http_protocol import CoalescingHttpToolsProtocol
from wallet_api.metrics import RequestMetrics
from wallet_api.middleware import ResponseHeaders
from wallet_api.runtime import PROVIDER_OWNER, Runtime

DATE = b"date: Mon, 07 Dec 2026 03:00:00 GMT\r\n"
FORM = {"content-type": "application/x-www-form-urlencoded"}


# -- introspection through the whole application ----------------------------------------


@pytest.fixture
def agency(runtime: Runtime) -> Iterator[tuple[str, str]]:
    with runtime.transaction() as session:
        row, secret = register_client(
            session,
            name="Direct answers agency",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["licenses:verify"],
            master=runtime.settings.master_secret,
        )
        client_id = row.client_id
    assert secret is not None
    yield client_id, secret
    with runtime.transaction() as session:
        session.delete(session.scalars(select(OAuthClient).filter_by(client_id=client_id)).one())


@pytest.fixture
def live_client(runtime: Runtime) -> Iterator[TestClient]:
    """The application with its token-state cache live, as with a connected feed."""
    with TestClient(create_app(runtime=runtime), base_url=runtime.settings.issuer_url) as client:
        cache = client.app.state.provider.token_state  # type: ignore[attr-defined]
        if runtime.engine.dialect.name == "postgresql":
            # The application's feed goes live (empty) once it listens: wait for it, so
            # that it does not empty the cache after a test has filled it.
            deadline = time.monotonic() + 10
            while not cache.live and time.monotonic() < deadline:
                time.sleep(0.01)
            assert cache.live
        else:
            cache.go_live()  # no feed on SQLite: as if one were connected
        yield client


def _access_token(client: TestClient, agency: tuple[str, str]) -> str:
    answer = client.post(
        "/token", data={"grant_type": "client_credentials", "scope": "licenses:verify"}, auth=agency
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _basic(agency: tuple[str, str]) -> bytes:
    return b"Basic " + base64.b64encode(f"{agency[0]}:{agency[1]}".encode())


def _direct(
    client: TestClient,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    target: bytes = b"/introspect",
) -> bytes | None:
    answers: DirectAnswers = client.app.direct_answers  # type: ignore[attr-defined]

    async def on_the_loop() -> bytes | None:  # metrics schedule their flush on the loop
        return answers.answer(b"POST", target, headers, body, DATE)

    return asyncio.run(on_the_loop())


def _form_headers(
    agency: tuple[str, str], *extra: tuple[bytes, bytes]
) -> list[tuple[bytes, bytes]]:
    return [
        (b"host", b"testserver"),
        (b"authorization", _basic(agency)),
        (b"content-type", b"application/x-www-form-urlencoded"),
        *extra,
    ]


def test_a_cached_introspection_is_answered_directly_as_the_application_answers(
    live_client: TestClient, agency: tuple[str, str]
) -> None:
    token = _access_token(live_client, agency)
    body = f"token={token}".encode()
    through_app = live_client.post("/introspect", content=body, headers=FORM, auth=agency)
    assert through_app.status_code == 200
    assert through_app.json()["active"] is True
    raw = _direct(live_client, body, _form_headers(agency))
    assert raw is not None, "the token the application just introspected is cached"
    status, headers, content, rest = parse_answer(raw)
    assert rest == b""
    assert status == 200
    assert json.loads(content) == through_app.json()
    assert headers.pop("date") == "Mon, 07 Dec 2026 03:00:00 GMT"
    assert re.fullmatch(r"[0-9a-f]{16}", headers.pop("x-request-id"))
    expected = dict(through_app.headers)
    expected.pop("x-request-id")
    assert headers == expected  # content type and length, no-store, security headers


def test_a_wrong_secret_is_refused_directly_as_the_application_refuses_it(
    live_client: TestClient, agency: tuple[str, str]
) -> None:
    token = _access_token(live_client, agency)
    body = f"token={token}".encode()
    live_client.post("/introspect", content=body, headers=FORM, auth=agency)  # now cached
    wrong = (agency[0], agency[1] + "x")
    through_app = live_client.post(
        "/introspect", content=body, headers={**FORM, "x-request-id": "wrong-secret-01"}, auth=wrong
    )
    raw = _direct(live_client, body, _form_headers(wrong, (b"x-request-id", b"wrong-secret-01")))
    assert raw is not None
    status, headers, content, _ = parse_answer(raw)
    assert status == through_app.status_code == 401
    assert json.loads(content) == through_app.json()
    assert json.loads(content)["error"] == "invalid_client"
    headers.pop("date")
    assert headers == dict(through_app.headers)  # the caller's request id kept in both


def test_what_needs_the_application_is_left_to_it(
    live_client: TestClient, agency: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    token = _access_token(live_client, agency)
    body = f"token={token}".encode()
    # Not yet introspected, so not cached: the application reads the database.
    assert _direct(live_client, body, _form_headers(agency)) is None
    live_client.post("/introspect", content=body, headers=FORM, auth=agency)
    assert _direct(live_client, body, _form_headers(agency)) is not None
    # A body of another type, a query, another path, more than 100 parameters (the
    # application's 400), an unknown token: all the application's.
    multipart = [h for h in _form_headers(agency) if h[0] != b"content-type"]
    multipart.append((b"content-type", b"multipart/form-data; boundary=x"))
    assert _direct(live_client, body, multipart) is None
    assert _direct(live_client, body, _form_headers(agency), b"/introspect?x=1") is None
    assert _direct(live_client, body, _form_headers(agency), b"/introspect/") is None
    many = body + b"".join(b"&f%d=x" % i for i in range(150))
    assert _direct(live_client, many, _form_headers(agency)) is None
    assert _direct(live_client, b"token=unknown", _form_headers(agency)) is None
    # While the access log is on, only the application answers (it writes the log).
    caplog.set_level(logging.INFO, logger="govwallet.access")
    assert _direct(live_client, body, _form_headers(agency)) is None


def test_direct_answers_are_counted_and_timed(
    live_client: TestClient, agency: tuple[str, str]
) -> None:
    def metrics() -> tuple[float, float]:
        return counted_and_timed(live_client.get("/metrics").text, "POST", "/introspect", 200)

    token = _access_token(live_client, agency)
    body = f"token={token}".encode()
    live_client.post("/introspect", content=body, headers=FORM, auth=agency)
    before = metrics()
    for _ in range(3):
        assert _direct(live_client, body, _form_headers(agency)) is not None
    assert metrics() == (before[0] + 3, before[1] + 3)


TOKEN_BODY = b"grant_type=client_credentials&scope=licenses%3Averify"


def test_a_client_credentials_token_is_issued_directly_as_the_application_issues_it(
    live_client: TestClient, agency: tuple[str, str]
) -> None:
    through_app = live_client.post("/token", content=TOKEN_BODY, headers=FORM, auth=agency)
    assert through_app.status_code == 200  # the client and the signing key are now cached
    raw = _direct(live_client, TOKEN_BODY, _form_headers(agency), b"/token")
    assert raw is not None
    status, headers, content, rest = parse_answer(raw)
    assert (status, rest) == (200, b"")
    issued = json.loads(content)
    expected = through_app.json()
    assert issued.keys() == expected.keys()
    assert issued["access_token"] != expected["access_token"]
    assert {k: v for k, v in issued.items() if k != "access_token"} == {
        k: v for k, v in expected.items() if k != "access_token"
    }
    ignored = {"date", "x-request-id", "content-length"}
    assert {k: v for k, v in headers.items() if k not in ignored} == {
        k: v for k, v in through_app.headers.items() if k not in ignored
    }
    # The token is a real one: the application's introspection finds it active.
    found = live_client.post(
        "/introspect", data={"token": issued["access_token"]}, auth=agency
    ).json()
    assert found["active"] is True
    assert found["client_id"] == agency[0]


def test_what_the_token_endpoint_needs_storage_for_is_left_to_the_application(
    live_client: TestClient, agency: tuple[str, str], runtime: Runtime
) -> None:
    # The client is not cached yet: its lookup would be a query.
    assert _direct(live_client, TOKEN_BODY, _form_headers(agency), b"/token") is None
    assert live_client.post("/token", content=TOKEN_BODY, headers=FORM, auth=agency).is_success
    assert _direct(live_client, TOKEN_BODY, _form_headers(agency), b"/token") is not None
    # A rotation drops the cached signing key: loading the new one is a query.
    with runtime.sessions() as session:
        runtime.keystore.rotate(
            session, owner=PROVIDER_OWNER, alg="ES256", retain_for=timedelta(days=1)
        )
        session.commit()
    assert _direct(live_client, TOKEN_BODY, _form_headers(agency), b"/token") is None
    assert live_client.post("/token", content=TOKEN_BODY, headers=FORM, auth=agency).is_success
    assert _direct(live_client, TOKEN_BODY, _form_headers(agency), b"/token") is not None
    # Every other grant reads or writes the database.
    code = b"grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Frp.example%2Fcb"
    assert _direct(live_client, code, _form_headers(agency), b"/token") is None
    refresh = b"grant_type=refresh_token&refresh_token=abc"
    assert _direct(live_client, refresh, _form_headers(agency), b"/token") is None


def test_a_private_key_jwt_assertion_is_recorded_once_by_the_application(
    live_client: TestClient, runtime: Runtime
) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    with runtime.transaction() as session:
        row, _ = register_client(
            session,
            name="Agency with keys",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["licenses:verify"],
            master=runtime.settings.master_secret,
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [key.as_dict(private=False)]},
        )
        client_id = row.client_id

    def assertion_body() -> bytes:
        assertion = client_assertion(key, client_id, f"{runtime.settings.issuer_url}/token")
        return urlencode(
            {
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion,
            }
        ).encode()

    try:
        first = live_client.post("/token", content=assertion_body(), headers=FORM)
        assert first.status_code == 200, first.text  # the client and signing key now cached
        # Accepting an assertion writes its jti: never answered from memory, even with
        # everything else cached ...
        body = assertion_body()
        headers = [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ]
        assert _direct(live_client, body, headers, b"/token") is None
        # ... so the application, which answers next, sees the assertion for the first time.
        answer = live_client.post("/token", content=body, headers=FORM)
        assert answer.status_code == 200, answer.text
        replay = live_client.post("/token", content=body, headers=FORM)
        assert replay.json()["error"] == "invalid_client"
        # With the signing key no longer cached (every few seconds in service), a valid
        # assertion was once recorded from memory, then refused as its own replay.
        runtime.keystore.invalidate(PROVIDER_OWNER)
        fresh = live_client.post("/token", content=assertion_body(), headers=FORM)
        assert fresh.status_code == 200, fresh.text
    finally:
        with runtime.transaction() as session:
            session.execute(delete(ClientAssertion).where(ClientAssertion.client_id == client_id))
            session.execute(delete(OAuthClient).where(OAuthClient.client_id == client_id))


def _cached_userinfo(client: TestClient, token: str, answer: dict[str, Any]) -> None:
    """An answer as userinfo keeps it after reading the database (routes.oidc._userinfo)."""
    cache = client.app.state.provider.token_state  # type: ignore[attr-defined]
    now = int(time.time())
    claims = AccessTokenClaims(
        jti="jti-" + token,
        client_id="gw-platform",
        subject=answer["sub"],
        scopes=frozenset({"openid", "profile"}),
        expires_at=now + 600,
        issued_at=now,
        claims={},
    )
    assert cache.put(token, claims=claims, generation=cache.generation, userinfo=answer)


def _get_userinfo(client: TestClient, headers: list[tuple[bytes, bytes]]) -> bytes | None:
    answers: DirectAnswers = client.app.direct_answers  # type: ignore[attr-defined]

    async def on_the_loop() -> bytes | None:
        return answers.answer(b"GET", b"/userinfo", headers, b"", DATE)

    return asyncio.run(on_the_loop())


def test_a_cached_userinfo_answer_is_given_directly_as_the_application_gives_it(
    live_client: TestClient,
) -> None:
    answer = {"sub": "pairwise-subject", "name": "张三", "birthdate": "1949-12-31"}
    _cached_userinfo(live_client, "cached-token", answer)
    through_app = live_client.get("/userinfo", headers={"authorization": "Bearer cached-token"})
    assert through_app.json() == answer
    raw = _get_userinfo(live_client, [(b"authorization", b"Bearer cached-token")])
    assert raw is not None
    status, headers, content, _ = parse_answer(raw)
    assert status == 200
    assert content == through_app.content
    headers.pop("date")
    headers.pop("x-request-id")
    assert headers == {k: v for k, v in through_app.headers.items() if k != "x-request-id"}
    # Another token, no token, another scheme: the application's (it reads or refuses).
    for authorization in (b"Bearer other-token", b"Basic Y2xpZW50OnNlY3JldA==", None):
        request_headers = [(b"authorization", authorization)] if authorization else []
        assert _get_userinfo(live_client, request_headers) is None


# -- the module on its own ---------------------------------------------------------------


def _answers(handler: Any) -> DirectAnswers:
    return DirectAnswers(
        {("POST", "/x"): handler}, headers=ResponseHeaders(https=True), metrics=RequestMetrics()
    )


def test_a_handler_that_fails_leaves_the_request_to_the_application() -> None:
    def broken(request: DirectRequest) -> Response:
        raise RuntimeError("cache on fire")

    assert _answers(broken).answer(b"POST", b"/x", [], b"", DATE) is None


def test_a_header_with_a_line_break_is_never_written() -> None:
    def injected(request: DirectRequest) -> Response:
        return Response(b"", headers={"x-note": "a\r\nset-cookie: evil=1"})

    assert _answers(injected).answer(b"POST", b"/x", [], b"", DATE) is None


# -- the HTTP protocol -------------------------------------------------------------------


class _EchoApp:
    """Answers every request with what it received; offers direct answers for POST /x."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.direct_seen: list[DirectRequest] = []

        def handler(request: DirectRequest) -> Response | None:
            self.direct_seen.append(request)
            if request.body.startswith(b"app"):
                return None
            return JSONResponse({"direct": request.body.decode()})

        self.direct_answers = _answers(handler)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = await received_body(receive)
        seen = {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode(),
            "body": body.decode(),
        }
        self.seen.append(seen)
        await JSONResponse({"app": seen})(scope, receive, send)


def _serve(app: _EchoApp, *chunks: bytes) -> list[tuple[int, dict[str, Any]]]:
    """Feed ``chunks`` to one connection; the answers, parsed."""

    async def scenario() -> bytes:
        config = uvicorn.Config(
            app, http=CoalescingHttpToolsProtocol, log_config=None, proxy_headers=False
        )
        config.load()
        protocol = CoalescingHttpToolsProtocol(
            config=config, server_state=ServerState(), app_state={}
        )
        transport = MemoryTransport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        for chunk in chunks:
            protocol.data_received(chunk)
            await asyncio.sleep(0)
        for _ in range(200):  # let the application's tasks finish
            await asyncio.sleep(0)
        protocol.connection_lost(None)
        return b"".join(transport.writes)

    raw = asyncio.run(scenario())
    answers = []
    while raw:
        status, _, body, raw = parse_answer(raw)
        answers.append((status, json.loads(body)))
    return answers


def _post(target: str, body: bytes, *extra: str, version: str = "1.1") -> bytes:
    lines = [f"POST {target} HTTP/{version}", "Host: 127.0.0.1", *extra]
    if not any(line.lower().startswith("transfer-encoding") for line in extra):
        lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join([*lines, "", ""]).encode() + body


def test_the_protocol_answers_directly_a_body_that_comes_in_pieces() -> None:
    app = _EchoApp()
    request = _post("/x", b"token=abcdef")
    answers = _serve(app, request[:20], request[20:-4], request[-4:])
    assert answers == [(200, {"direct": "token=abcdef"})]
    assert app.seen == []
    assert app.direct_seen[0].method == "POST"
    assert (b"host", b"127.0.0.1") in app.direct_seen[0].headers


def test_a_request_the_handler_declines_reaches_the_application_intact() -> None:
    app = _EchoApp()
    answers = _serve(app, _post("/x", b"app=1&token=abc"))
    assert answers == [
        (200, {"app": {"method": "POST", "path": "/x", "query": "", "body": "app=1&token=abc"}})
    ]
    assert len(app.direct_seen) == 1


@pytest.mark.parametrize(
    "request_bytes",
    [
        _post("/x?q=1", b"token=abc"),  # a query
        _post("/y", b"token=abc"),  # another path
        _post("/x", b"token=abc", version="1.0"),  # not HTTP/1.1 keep-alive
        _post("/x", b"token=abc", "Connection: close"),
        _post("/x", b"9\r\ntoken=abc\r\n0\r\n\r\n", "Transfer-Encoding: chunked"),
        _post("/x", b"token=" + b"a" * MAX_BODY_BYTES),  # longer than a direct answer reads
    ],
    ids=["query", "path", "http10", "close", "chunked", "large"],
)
def test_requests_that_do_not_qualify_go_to_the_application(request_bytes: bytes) -> None:
    app = _EchoApp()
    answers = _serve(app, request_bytes)
    assert len(answers) == 1
    assert "app" in answers[0][1]
    assert app.seen[0]["body"].startswith("token=")
    assert app.direct_seen == []


def test_pipelined_requests_are_answered_in_order() -> None:
    app = _EchoApp()
    answers = _serve(
        app,
        _post("/x", b"one")
        + _post("/y", b"two")  # the application's, between two direct answers
        + _post("/x", b"three")
        + _post("/x", b"app-four")  # declined: the application's
        + _post("/x", b"five"),
    )
    bodies = [answer[1].get("direct") or answer[1]["app"]["body"] for answer in answers]
    assert bodies == ["one", "two", "three", "app-four", "five"]


# -- the head of an answer ------------------------------------------------------------------


def test_head_lines_are_the_status_line_and_each_header_in_order() -> None:
    headers = [(b"content-type", b"application/json"), (b"x-request-id", b"r1"), (b"a", b"")]
    assert head_lines(200, headers) == (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: r1\r\na: \r\n"
    )
    assert head_lines(401, headers[:1]) == (
        b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n"
    )
    assert head_lines(204, []) == b"HTTP/1.1 204 No Content\r\n"
    #: RFC 9112 §4: the reason phrase may be empty; a code without one gets none.
    assert head_lines(299, [(b"a", b"b")]) == b"HTTP/1.1 299 \r\na: b\r\n"


@pytest.mark.parametrize(
    "header",
    [
        (b"x-a", b"b\r\nset-cookie: c=d"),
        (b"x-a", b"b\nset-cookie: c=d"),
        (b"x-a", b"b\r"),
        (b"x-a\r\nset-cookie", b"c=d"),
        (b"x-a\n", b"b"),
    ],
)
def test_head_lines_refuse_a_line_break_in_a_name_or_value(header: tuple[bytes, bytes]) -> None:
    assert head_lines(200, [(b"content-type", b"text/plain"), header]) is None
