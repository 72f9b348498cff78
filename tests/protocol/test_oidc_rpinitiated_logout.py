"""OpenID Connect RP-Initiated Logout 1.0.

https://openid.net/specs/openid-connect-rpinitiated-1_0.html
"""

from __future__ import annotations

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


def _logout_client(server: LiveServer) -> RegisteredClient:
    return add_client(server, "--post-logout-redirect-uri", "http://127.0.0.1:8911/bye")


def _session_alive(server: LiveServer, browser: Browser, client: RegisteredClient) -> bool:
    rp = rp_client(server, client, "openid")
    url, _ = rp.create_authorization_url(
        f"{server.base_url}/authorize", code_verifier="k" * 50, prompt="none"
    )
    return "code" in callback_params(browser.get(url))


def test_logout_with_id_token_hint_redirects_exactly_with_state(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = _logout_client(server)
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid")
    assert _session_alive(server, browser, client)
    response = browser.get(
        "/end-session",
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": "http://127.0.0.1:8911/bye",
            "state": "after-logout",
        },
    )
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "http://127.0.0.1:8911/bye?state=after-logout"
    assert not _session_alive(server, browser, client)


def test_unregistered_post_logout_uri_is_not_followed(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = _logout_client(server)
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid")
    for uri in (
        "https://evil.example/",
        "http://127.0.0.1:8911/bye/extra",
        "http://127.0.0.1:8911/byex",
    ):
        response = browser.get(
            "/end-session",
            params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": uri},
        )
        assert response.status_code == 200, uri
        assert "location" not in response.headers
        assert 'data-logged-out="true"' in response.text


def test_without_hint_the_citizen_confirms_with_a_csrf_protected_form(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = _logout_client(server)
    code_flow(server, browser, client, citizen, scope="openid")
    page = browser.get(
        "/end-session",
        params={
            "client_id": client.client_id,
            "post_logout_redirect_uri": "http://127.0.0.1:8911/bye",
            "state": "s",
        },
    )
    assert page.status_code == 200
    assert 'name="confirm"' in page.text
    assert _session_alive(server, browser, client)  # nothing ended by a GET alone
    fields = Browser.form_fields(page)
    forged = browser.post("/end-session", data={**fields, "confirm": "yes", "csrf_token": "x"})
    assert forged.status_code == 403
    assert _session_alive(server, browser, client)
    confirmed = browser.post("/end-session", data={**fields, "confirm": "yes"})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "http://127.0.0.1:8911/bye?state=s"
    assert not _session_alive(server, browser, client)


def test_forged_id_token_hint_is_invalid_request(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = _logout_client(server)
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid")
    header, payload, signature = token["id_token"].split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    for hint in (tampered, "not-a-jwt", token["access_token"]):
        response = browser.get(
            "/end-session",
            params={"id_token_hint": hint, "post_logout_redirect_uri": "http://127.0.0.1:8911/bye"},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
    assert _session_alive(server, browser, client)
