"""Userinfo and introspection answered from the token-state cache are never staler than
the database says.

The provider on PostgreSQL (where the cache is live); OpenID Connect Core §5.3, RFC 7662
§2.2 and RFC 7009 §2.2 ("the token cannot be used again after the revocation").
"""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.protocol.conftest import FAST_SERVER_ENV
from tests.protocol.oidc_helpers import (
    ID_NUMBERS,
    Browser,
    RegisteredClient,
    add_citizen,
    add_client,
    code_flow,
)
from tests.support.databases import postgres_schema_url
from tests.support.live_server import LiveServer, live_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with (
        postgres_schema_url() as url,
        live_server(
            tmp_path_factory.mktemp("pg-provider"), database_url=url, extra_env=FAST_SERVER_ENV
        ) as live,
    ):
        yield live


def _token(server: LiveServer, id_number: str, scope: str = "openid profile") -> dict[str, Any]:
    citizen = add_citizen(server, id_number, name="张三")
    client = add_client(server, "--scope", "openid", "--scope", "profile")
    browser = Browser(server)
    try:
        _, token, _ = code_flow(server, browser, client, citizen, scope=scope)
    finally:
        browser.close()
    token["client"] = client
    return token


def _userinfo(server: LiveServer, access_token: str) -> httpx.Response:
    return httpx.get(
        f"{server.base_url}/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )


def _jti(access_token: str) -> str:
    payload = access_token.split(".")[1]
    jti: str = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
    return jti


def _eventually(check: Callable[[], object], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _sql(server: LiveServer, statement: str, **params: object) -> None:
    engine = create_engine(server.env["GOVWALLET_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        engine.dispose()


def _revoke(server: LiveServer, token: dict[str, Any]) -> None:
    """RFC 7009 revocation by the token's own client, on this node."""
    client = token["client"]
    revoked = httpx.post(
        f"{server.base_url}/revoke",
        data={"token": token["access_token"]},
        auth=client.basic_auth,
    )
    assert revoked.status_code == 200


def _revoke_elsewhere(server: LiveServer, access_token: str) -> None:
    """Another node (or an operator) writes the revocation straight into the database."""
    _sql(
        server,
        "INSERT INTO oidc_revoked_jti (jti, expires_at) "
        "SELECT jti, access_expires_at FROM oidc_token WHERE jti = :jti",
        jti=_jti(access_token),
    )


def test_revoked_token_is_refused_at_once_after_cached_answers(pg_server: LiveServer) -> None:
    token = _token(pg_server, ID_NUMBERS[0])
    first = _userinfo(pg_server, token["access_token"])
    assert first.status_code == 200
    assert _userinfo(pg_server, token["access_token"]).json() == first.json()  # cached
    _revoke(pg_server, token)
    refused = _userinfo(pg_server, token["access_token"])  # no wait: same node
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The access token was revoked."


def test_a_change_made_elsewhere_reaches_the_next_answer(pg_server: LiveServer) -> None:
    """An operator's SQL (or another node) changes the citizen: the cached answer goes."""
    token = _token(pg_server, ID_NUMBERS[1])
    assert _userinfo(pg_server, token["access_token"]).json()["name"] == "张三"
    _sql(
        pg_server,
        "UPDATE identity_citizen SET name = :name "
        "WHERE id = (SELECT citizen_id FROM oidc_token WHERE jti = :jti)",
        name="张三丰",
        jti=_jti(token["access_token"]),
    )
    assert _eventually(
        lambda: _userinfo(pg_server, token["access_token"]).json()["name"] == "张三丰"
    )


def test_a_revocation_made_elsewhere_reaches_the_next_answer(pg_server: LiveServer) -> None:
    token = _token(pg_server, ID_NUMBERS[2])
    assert _userinfo(pg_server, token["access_token"]).status_code == 200
    _revoke_elsewhere(pg_server, token["access_token"])
    assert _eventually(lambda: _userinfo(pg_server, token["access_token"]).status_code == 401)


def test_idcard_answers_are_not_kept(pg_server: LiveServer, tmp_path: Path) -> None:
    """A scope that releases the identity number is always read from the database."""
    citizen = add_citizen(pg_server, "110108200002291234", name="李四")
    client = add_client(pg_server, "--scope", "openid", "--scope", "profile", "--scope", "idcard")
    browser = Browser(pg_server)
    try:
        _, token, _ = code_flow(pg_server, browser, client, citizen, scope="openid profile idcard")
    finally:
        browser.close()
    first = _userinfo(pg_server, token["access_token"])
    assert first.status_code == 200
    log_before = pg_server.log()
    assert "110108200002291234" not in log_before
    # Change the name behind the provider's back, without any notification: an answer
    # kept in memory would still say 李四; one read from the database says 李五.
    _sql(
        pg_server,
        "ALTER TABLE identity_citizen DISABLE TRIGGER govwallet_token_state_citizen_update",
    )
    try:
        _sql(
            pg_server,
            "UPDATE identity_citizen SET name = '李五' "
            "WHERE id = (SELECT citizen_id FROM oidc_token WHERE jti = :jti)",
            jti=_jti(token["access_token"]),
        )
        assert _userinfo(pg_server, token["access_token"]).json()["name"] == "李五"
    finally:
        _sql(
            pg_server,
            "ALTER TABLE identity_citizen ENABLE TRIGGER govwallet_token_state_citizen_update",
        )


def _introspect(server: LiveServer, client: RegisteredClient, token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server.base_url}/introspect",
        data={"token": token},
        auth=client.basic_auth,
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_introspection_stays_exact_and_per_client(pg_server: LiveServer) -> None:
    token = _token(pg_server, "310104199602294187")
    client = token["client"]
    first = _introspect(pg_server, client, token["access_token"])
    assert first["active"] is True
    assert _introspect(pg_server, client, token["access_token"]) == first  # from the cache
    # RFC 7662 §2.2: another client's token is inactive for this caller, cached or not.
    other = add_client(pg_server, "--scope", "openid")
    assert _introspect(pg_server, other, token["access_token"]) == {"active": False}
    # An introspection entry does not stand in for a userinfo answer.
    assert _userinfo(pg_server, token["access_token"]).json()["name"] == "张三"
    _revoke(pg_server, token)
    assert _introspect(pg_server, client, token["access_token"]) == {"active": False}


def test_an_introspection_answered_from_the_cache_is_the_applications_answer(
    pg_server: LiveServer,
) -> None:
    """The first introspection goes through the application (it reads the database); the
    ones after it are answered by the HTTP protocol from the cache (wallet_api.direct_answers),
    on one keep-alive connection as a resource server sends them: the same answer."""
    token = _token(pg_server, "110101199003070134")
    client = token["client"]
    with httpx.Client(base_url=pg_server.base_url) as http:
        answers = [
            http.post(
                "/introspect",
                data={"token": token["access_token"]},
                auth=client.basic_auth,
                headers={"x-request-id": f"introspect-{n:04d}"},
            )
            for n in range(3)
        ]
    first, *later = answers
    assert first.json()["active"] is True
    for n, answer in enumerate(later, start=1):
        assert answer.status_code == first.status_code == 200
        assert answer.content == first.content
        assert answer.headers["x-request-id"] == f"introspect-{n:04d}"
        ignored = {"date", "x-request-id"}
        assert {k: v for k, v in answer.headers.items() if k not in ignored} == {
            k: v for k, v in first.headers.items() if k not in ignored
        }


def _exchange_on(sock: socket.socket, request: bytes) -> tuple[int, bytes]:
    """``request`` sent on ``sock`` in one write; the status and body of its answer."""
    sock.sendall(request)
    raw = b""
    while True:
        head, found, body = raw.partition(b"\r\n\r\n")
        if found:
            length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            if len(body) >= length:
                return int(head.split(b" ")[1]), body[:length]
        chunk = sock.recv(65536)
        assert chunk, "the connection was closed"
        raw += chunk


def test_the_same_introspection_repeated_on_a_connection_sees_a_revocation_at_once(
    pg_server: LiveServer,
) -> None:
    """A resource server sending the very same request again on its kept-alive connection
    is answered afresh each time (wallet_api.http_protocol answers a repeat without parsing
    it again, never from a kept answer): after a revocation the next repeat is inactive."""
    token = _token(pg_server, "330106198808080020")
    client = token["client"]
    form = f"token={token['access_token']}".encode()
    credentials = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode())
    host, port = pg_server.base_url.removeprefix("http://").split(":")
    request = (
        b"POST /introspect HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
        b"Authorization: Basic " + credentials + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(form)).encode() + b"\r\n\r\n" + form
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for _ in range(4):
            status, body = _exchange_on(sock, request)
            assert status == 200
            assert json.loads(body)["active"] is True
        _revoke(pg_server, token)
        for _ in range(2):
            status, body = _exchange_on(sock, request)
            assert status == 200
            assert json.loads(body) == {"active": False}


def test_a_userinfo_answer_from_the_cache_is_the_applications_answer(
    pg_server: LiveServer,
) -> None:
    """As for introspection: the first answer through the application, the later ones by
    the HTTP protocol from the cache, on one keep-alive connection."""
    token = _token(pg_server, "440106198507212718")
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    with httpx.Client(base_url=pg_server.base_url) as http:
        first, *later = [http.get("/userinfo", headers=bearer) for _ in range(3)]
    assert first.json()["name"] == "张三"
    ignored = {"date", "x-request-id"}
    for answer in later:
        assert answer.status_code == 200
        assert answer.content == first.content
        assert {k: v for k, v in answer.headers.items() if k not in ignored} == {
            k: v for k, v in first.headers.items() if k not in ignored
        }


def test_introspection_sees_a_revocation_made_elsewhere(pg_server: LiveServer) -> None:
    token = _token(pg_server, "650102201206150072")
    client = token["client"]
    assert _introspect(pg_server, client, token["access_token"])["active"] is True
    _revoke_elsewhere(pg_server, token["access_token"])
    assert _eventually(
        lambda: _introspect(pg_server, client, token["access_token"]) == {"active": False}
    )


def _shared_licenses(server: LiveServer, access_token: str) -> httpx.Response:
    """An API behind the bearer check alone: a valid token without shares gets 403."""
    return httpx.get(
        f"{server.base_url}/api/v1/shared-licenses",
        headers={"Authorization": f"Bearer {access_token}"},
    )


def test_api_bearer_check_refuses_a_revoked_token_at_once(pg_server: LiveServer) -> None:
    token = _token(pg_server, "110105198001010016")
    for _ in range(3):  # the first call reads the revocation list, the next ones the cache
        answer = _shared_licenses(pg_server, token["access_token"])
        assert answer.status_code == 403
        assert answer.json()["type"].endswith("no-shared-licenses")
    _revoke(pg_server, token)
    refused = _shared_licenses(pg_server, token["access_token"])
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The access token was revoked."


def test_api_bearer_check_sees_a_revocation_made_elsewhere(pg_server: LiveServer) -> None:
    token = _token(pg_server, "110108197505050032")
    assert _shared_licenses(pg_server, token["access_token"]).status_code == 403
    assert _shared_licenses(pg_server, token["access_token"]).status_code == 403  # cached
    _revoke_elsewhere(pg_server, token["access_token"])
    assert _eventually(
        lambda: _shared_licenses(pg_server, token["access_token"]).status_code == 401
    )
    # Userinfo, which keeps its own answer beside the bearer check's, refuses it too.
    assert _userinfo(pg_server, token["access_token"]).status_code == 401
