"""RFC 7636 PKCE: required for every client, S256 only.

https://www.rfc-editor.org/rfc/rfc7636
"""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.protocol.oidc_helpers import (
    Browser,
    Citizen,
    RegisteredClient,
    add_client,
    callback_params,
    code_flow,
    rp_client,
)
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e


def _authorize(
    server: LiveServer, browser: Browser, citizen: Citizen, client: RegisteredClient, **params: str
) -> httpx.Response:
    base = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid",
        "state": "s-1",
    }
    query = httpx.QueryParams({**base, **params})
    return browser.authorize(f"/authorize?{query}", citizen)


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({}, "missing"),
        ({"code_challenge": "a" * 43}, "method missing (would mean plain)"),
        ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "plain downgrade"),
        ({"code_challenge": "a" * 43, "code_challenge_method": "S512"}, "unknown method"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "too short"),
    ],
)
def test_authorization_request_without_s256_challenge_is_refused(
    server: LiveServer, browser: Browser, citizen: Citizen, params: dict[str, str], why: str
) -> None:
    client = add_client(server)
    params_back = callback_params(_authorize(server, browser, citizen, client, **params))
    assert params_back["error"] == "invalid_request", why
    assert params_back["state"] == "s-1"
    assert "code" not in params_back


def _code(
    server: LiveServer, browser: Browser, citizen: Citizen, client: RegisteredClient, verifier: str
) -> str:
    rp = rp_client(server, client, "openid")
    url, _ = rp.create_authorization_url(f"{server.base_url}/authorize", code_verifier=verifier)
    return callback_params(browser.authorize(url, citizen))["code"]


def test_wrong_verifier_is_invalid_grant(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server)
    code = _code(server, browser, citizen, client, secrets.token_urlsafe(48))
    response = httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "code_verifier": secrets.token_urlsafe(48),
        },
        auth=client.basic_auth,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_missing_verifier_is_refused(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server)
    code = _code(server, browser, citizen, client, secrets.token_urlsafe(48))
    response = httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
        },
        auth=client.basic_auth,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_public_client_uses_pkce_without_secret(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--public")
    assert client.client_secret is None
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid")
    assert token["id_token"]
