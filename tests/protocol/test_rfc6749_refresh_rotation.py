"""Refresh tokens (RFC 6749 §6) rotate on every use; reuse revokes the family (RFC 9700 §4.14).

https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
"""

from __future__ import annotations

import httpx
import pytest

from tests.protocol.oidc_helpers import Browser, Citizen, RegisteredClient, add_client, code_flow
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e


def _refresh(server: LiveServer, client: RegisteredClient, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=client.basic_auth,
    )


def _active(server: LiveServer, client: RegisteredClient, token: str) -> bool:
    response = httpx.post(
        f"{server.base_url}/introspect",
        data={"token": token},
        auth=client.basic_auth,
    )
    assert response.status_code == 200
    return bool(response.json()["active"])


def test_rotation_on_every_use_and_reuse_revokes_the_family(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "offline_access")
    _, first, _ = code_flow(server, browser, client, citizen, scope="openid offline_access")
    assert "refresh_token" in first

    second = _refresh(server, client, first["refresh_token"])
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["id_token"]
    third = _refresh(server, client, second["refresh_token"]).json()
    assert third["refresh_token"] not in {first["refresh_token"], second["refresh_token"]}
    assert _active(server, client, third["access_token"])

    # The first refresh token is presented again: breach assumed, family revoked.
    replay = _refresh(server, client, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert _refresh(server, client, third["refresh_token"]).json()["error"] == "invalid_grant"
    assert not _active(server, client, third["access_token"])
    assert not _active(server, client, third["refresh_token"])


def test_refresh_token_of_another_client_is_invalid_grant(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    owner = add_client(server, "--scope", "openid", "--scope", "offline_access")
    other = add_client(server, "--scope", "openid", "--scope", "offline_access")
    _, token, _ = code_flow(server, browser, owner, citizen, scope="openid offline_access")
    assert _refresh(server, other, token["refresh_token"]).json()["error"] == "invalid_grant"
    # ... and that attempt did not burn the owner's token.
    assert _refresh(server, owner, token["refresh_token"]).status_code == 200


def test_refresh_cannot_widen_scope(server: LiveServer, browser: Browser, citizen: Citizen) -> None:
    client = add_client(
        server, "--scope", "openid", "--scope", "offline_access", "--scope", "profile"
    )
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid offline_access")
    response = httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "scope": "openid offline_access profile",
        },
        auth=client.basic_auth,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
