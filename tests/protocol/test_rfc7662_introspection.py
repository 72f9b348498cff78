"""RFC 7662 token introspection.

https://www.rfc-editor.org/rfc/rfc7662
"""

from __future__ import annotations

import httpx
import pytest

from tests.protocol.oidc_helpers import Browser, Citizen, RegisteredClient, add_client, code_flow
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e


def _introspect(
    server: LiveServer, client: RegisteredClient, token: str, **extra: str
) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/introspect",
        data={"token": token, **extra},
        auth=client.basic_auth,
    )


def test_active_access_and_refresh_tokens(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "offline_access")
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid offline_access")
    body = _introspect(server, client, token["access_token"]).json()
    assert body["active"] is True
    assert body["client_id"] == client.client_id
    assert body["scope"] == "openid offline_access"
    assert body["iss"] == server.base_url
    assert body["token_type"] == "Bearer"
    assert body["exp"] > body["iat"]
    assert body["acr"] == "urn:govwallet:loa:1"
    refresh = _introspect(server, client, token["refresh_token"], token_type_hint="refresh_token")
    assert refresh.json()["active"] is True
    # The hint is only a hint (§2.1): a wrong one does not hide the token.
    wrong_hint = _introspect(server, client, token["access_token"], token_type_hint="refresh_token")
    assert wrong_hint.json()["active"] is True


def test_unknown_and_foreign_tokens_are_inactive(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    owner = add_client(server)
    other = add_client(server)
    _, token, _ = code_flow(server, browser, owner, citizen, scope="openid")
    assert _introspect(server, owner, "not-a-token").json() == {"active": False}
    assert _introspect(server, owner, "a.b.c").json() == {"active": False}
    # §2.2: the server may decide a token is not for this caller: it is then inactive.
    assert _introspect(server, other, token["access_token"]).json() == {"active": False}


def test_caller_must_authenticate(server: LiveServer, browser: Browser, citizen: Citizen) -> None:
    client = add_client(server)
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid")
    anonymous = httpx.post(f"{server.base_url}/introspect", data={"token": token["access_token"]})
    assert anonymous.status_code in (400, 401)
    assert anonymous.json()["error"] == "invalid_client"
    wrong = httpx.post(
        f"{server.base_url}/introspect",
        data={"token": token["access_token"]},
        auth=(client.client_id, "wrong-secret"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert "Basic" in wrong.headers.get("www-authenticate", "")


def test_missing_token_parameter_is_invalid_request(server: LiveServer) -> None:
    client = add_client(server)
    response = httpx.post(f"{server.base_url}/introspect", data={}, auth=client.basic_auth)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
