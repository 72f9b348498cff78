"""RFC 7591 dynamic client registration behind an initial access token.

https://www.rfc-editor.org/rfc/rfc7591
"""

from __future__ import annotations

import httpx
import pytest

from tests.protocol.conftest import REGISTRATION_TOKEN
from tests.protocol.oidc_helpers import Browser, Citizen, RegisteredClient, code_flow
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e


def _register(
    server: LiveServer, body: object, token: str | None = REGISTRATION_TOKEN
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server.base_url}/register", json=body, headers=headers)


def test_registration_needs_the_initial_access_token(server: LiveServer) -> None:
    body = {"client_name": "x", "redirect_uris": ["https://rp.example/cb"]}
    for token in (None, "wrong-token"):
        response = _register(server, body, token=token)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"


def test_registered_client_completes_a_code_flow(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    redirect_uri = "http://127.0.0.1:8977/cb"
    response = _register(
        server,
        {
            "client_name": "Dynamically registered platform",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code"],
            "scope": "openid profile",
            "subject_type": "public",
            "post_logout_redirect_uris": ["http://127.0.0.1:8977/bye"],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["client_secret"]
    assert body["client_secret_expires_at"] == 0
    assert body["redirect_uris"] == [redirect_uri]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    client = RegisteredClient(body["client_id"], body["client_secret"], redirect_uri, body)
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid profile")
    assert token["id_token"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"client_name": "x", "redirect_uris": ["not a uri"]}, "invalid_redirect_uri"),
        ({"client_name": "x", "redirect_uris": ["http://rp.example/cb"]}, "invalid_redirect_uri"),
        (
            {"client_name": "x", "redirect_uris": ["https://rp.example/cb#frag"]},
            "invalid_redirect_uri",
        ),
        ({"client_name": "x", "redirect_uris": "https://rp.example/cb"}, "invalid_redirect_uri"),
        ({"client_name": "x", "redirect_uris": []}, "invalid_redirect_uri"),
        (
            {"client_name": "", "redirect_uris": ["https://rp.example/cb"]},
            "invalid_client_metadata",
        ),
        (
            {"client_name": "x", "redirect_uris": ["https://rp.example/cb"], "scope": "admin"},
            "invalid_client_metadata",
        ),
        (
            {
                "client_name": "x",
                "redirect_uris": ["https://rp.example/cb"],
                "grant_types": ["password"],
            },
            "invalid_client_metadata",
        ),
        (
            {
                "client_name": "x",
                "redirect_uris": ["https://rp.example/cb"],
                "token_endpoint_auth_method": "private_key_jwt",
            },
            "invalid_client_metadata",
        ),
        ({"client_name": "x", "software_statement": "e30.e30."}, "invalid_client_metadata"),
        ([1, 2, 3], "invalid_client_metadata"),
        ("not json at all", "invalid_client_metadata"),
    ],
)
def test_bad_metadata_is_refused(server: LiveServer, body: object, error: str) -> None:
    response = _register(server, body)
    assert response.status_code == 400
    assert response.json()["error"] == error
