"""Bad input on every provider endpoint: an OAuth error object or a 4xx problem, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.protocol.oidc_helpers import RegisteredClient, add_client
from tests.support.client_assertions import JWT_BEARER
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e

LONG = "x" * 20_000
ODD = '"\\\x00<>\u202e漢'


def _cases(client: RegisteredClient) -> list[tuple[str, str, dict[str, Any]]]:
    basic = client.basic_auth
    return [
        ("GET", "/authorize", {"params": {}}),
        ("GET", "/authorize", {"params": {"client_id": "nope", "response_type": "code"}}),
        ("GET", "/authorize", {"params": {"client_id": client.client_id}}),
        ("GET", "/authorize", {"params": {"client_id": client.client_id, "redirect_uri": ODD}}),
        ("GET", "/authorize", {"params": {"client_id": LONG, "response_type": "code"}}),
        (
            "GET",
            "/authorize",
            {
                "params": {
                    "client_id": client.client_id,
                    "response_type": "token",
                    "redirect_uri": client.redirect_uri,
                }
            },
        ),
        (
            "GET",
            "/authorize",
            {
                "params": [
                    ("client_id", client.client_id),
                    ("client_id", client.client_id),
                    ("response_type", "code"),
                    ("redirect_uri", client.redirect_uri),
                ]
            },
        ),
        (
            "GET",
            "/authorize",
            {
                "params": {
                    "client_id": client.client_id,
                    "response_type": "code",
                    "redirect_uri": client.redirect_uri,
                    "scope": "openid",
                    "code_challenge": "a" * 43,
                    "code_challenge_method": "S256",
                    "max_age": "-5",
                    "prompt": "none login",
                    "state": ODD,
                }
            },
        ),
        ("POST", "/authorize", {"data": {"decision": "maybe"}}),
        ("POST", "/authorize", {"content": b"\xff\xfe", "headers": {"content-type": "text/plain"}}),
        ("POST", "/token", {}),
        ("POST", "/token", {"data": {"grant_type": "password", "username": "a", "password": "b"}}),
        ("POST", "/token", {"data": {"grant_type": "authorization_code"}, "auth": basic}),
        (
            "POST",
            "/token",
            {"data": {"grant_type": "authorization_code", "code": LONG}, "auth": basic},
        ),
        (
            "POST",
            "/token",
            {"data": {"grant_type": "refresh_token", "refresh_token": ODD}, "auth": basic},
        ),
        ("POST", "/token", {"json": {"grant_type": "client_credentials"}, "auth": basic}),
        ("POST", "/token", {"data": {"grant_type": ODD}, "auth": basic}),
        (
            "POST",
            "/token",
            {
                "data": {"grant_type": "client_credentials"},
                "headers": {"authorization": "Basic %%%"},
            },
        ),
        (
            "POST",
            "/token",
            {
                "data": {
                    "grant_type": "client_credentials",
                    "client_assertion_type": JWT_BEARER,
                    "client_assertion": "a.b.c",
                }
            },
        ),
        ("GET", "/token", {}),
        ("GET", "/userinfo", {}),
        ("GET", "/userinfo", {"headers": {"authorization": "Bearer " + LONG}}),
        ("GET", "/userinfo", {"headers": {"authorization": "Bearer a.b.c"}}),
        ("GET", "/userinfo", {"headers": {"authorization": "Basic abc"}}),
        (
            "POST",
            "/userinfo",
            {"data": {"access_token": "a.b.c"}, "headers": {"authorization": "Bearer x"}},
        ),
        ("POST", "/introspect", {}),
        ("POST", "/introspect", {"data": {"token": LONG}, "auth": basic}),
        ("POST", "/introspect", {"data": {"token": ODD, "token_type_hint": ODD}, "auth": basic}),
        ("POST", "/revoke", {"data": {"token": ODD}, "auth": basic}),
        ("POST", "/revoke", {"json": {"token": "x"}, "auth": basic}),
        ("GET", "/end-session", {"params": {"id_token_hint": ODD}}),
        ("GET", "/end-session", {"params": {"id_token_hint": LONG}}),
        ("GET", "/end-session", {"params": {"client_id": LONG, "post_logout_redirect_uri": ODD}}),
        ("POST", "/end-session", {"data": {"confirm": "yes"}}),
        ("POST", "/register", {}),
        ("POST", "/register", {"content": b"{", "headers": {"authorization": "Bearer x"}}),
        ("POST", "/login", {"data": {}}),
        ("POST", "/login", {"data": {"username": LONG, "password": "x", "csrf_token": "x"}}),
        ("GET", "/login", {"params": {"next": ODD}}),
        ("POST", "/login/otp", {"data": {"otp": "123456", "csrf_token": "x"}}),
        ("GET", "/login/otp", {"params": {"next": LONG}}),
        ("POST", "/logout", {"data": {}}),
        ("GET", "/account/sessions", {}),
        ("POST", "/account/sessions/end", {"data": {"sid": "x"}}),
        ("POST", "/account/consents/withdraw", {"data": {"client_id": "x"}}),
    ]


def test_no_endpoint_answers_500(server: LiveServer) -> None:
    client = add_client(server)
    with httpx.Client(base_url=server.base_url, follow_redirects=False) as http:
        for method, path, kwargs in _cases(client):
            response = http.request(method, path, **kwargs)
            assert response.status_code < 500, (
                method,
                path,
                response.status_code,
                response.text[:300],
            )
            if path in {"/token", "/introspect", "/revoke"} and response.status_code >= 400:
                body = response.json()
                assert "error" in body or body.get("type", "").startswith("urn:govwallet:problem:")
    assert "unhandled error" not in server.log()


def test_token_endpoint_errors_are_rfc6749_objects(server: LiveServer) -> None:
    client = add_client(server)
    response = httpx.post(
        f"{server.base_url}/token",
        data={"grant_type": "password"},
        auth=client.basic_auth,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_bodies_are_refused_with_413(
    server: LiveServer, path: str, chunked: bool
) -> None:
    client = add_client(server)
    body = b"grant_type=client_credentials&pad=" + b"a" * (70 * 1024)
    # With Content-Length the server refuses before reading; chunked, it stops reading
    # at the limit.
    content = iter([body[:30_000], body[30_000:]]) if chunked else body
    response = httpx.post(
        f"{server.base_url}{path}",
        content=content,
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=client.basic_auth,
    )
    assert response.status_code == 413, response.text[:300]
    problem = response.json()
    assert problem["type"].endswith("request-too-large")
    assert "65536 bytes" in problem["detail"]
    small = httpx.post(
        f"{server.base_url}/token",
        data={"grant_type": "client_credentials"},
        auth=client.basic_auth,
    )
    assert small.status_code in {200, 400}  # the worker still answers
