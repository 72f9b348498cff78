"""OpenID Connect Back-Channel Logout 1.0: logout tokens reach every client of the
session, also a relying platform that was down when the citizen logged out.

https://openid.net/specs/openid-connect-backchannel-1_0.html
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.protocol.oidc_helpers import (
    Browser,
    Citizen,
    RegisteredClient,
    RelyingPlatform,
    add_client,
    code_flow,
    verify_id_token,
)
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def _verify_logout_token(server: LiveServer, token: str, *, client_id: str) -> dict[str, Any]:
    jwks = KeySet.import_key_set(httpx.get(f"{server.base_url}/jwks.json").json())
    decoded = jwt.decode(token, jwks, algorithms=["RS256", "ES256"])
    #: §2.4: explicitly typed "logout+jwt".
    assert decoded.header["typ"] == "logout+jwt"
    jwt.JWTClaimsRegistry(
        leeway=5,
        iss={"essential": True, "value": server.base_url},
        aud={"essential": True, "value": client_id},
        iat={"essential": True},
        jti={"essential": True},
        exp={"essential": True},
    ).validate(decoded.claims)
    claims = dict(decoded.claims)
    #: §2.4: events contains the back-channel logout member with a JSON object value.
    assert claims["events"] == {EVENT: {}}
    #: §2.4: "A Logout Token MUST NOT contain a nonce Claim".
    assert "nonce" not in claims
    return claims


def _logged_in_client(
    server: LiveServer, browser: Browser, citizen: Citizen, platform: RelyingPlatform
) -> tuple[RegisteredClient, dict[str, Any]]:
    client = add_client(server, "--backchannel-logout-uri", platform.logout_uri)
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid")
    return client, verify_id_token(server, token["id_token"], client_id=client.client_id)


def _logout(browser: Browser) -> None:
    page = browser.get("/end-session")
    fields = Browser.form_fields(page)
    assert browser.post("/end-session", data={**fields, "confirm": "yes"}).status_code == 200


def test_every_client_of_the_session_receives_a_logout_token(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    first_platform, second_platform = RelyingPlatform(), RelyingPlatform()
    first_platform.start()
    second_platform.start()
    try:
        first, first_id = _logged_in_client(server, browser, citizen, first_platform)
        second, second_id = _logged_in_client(server, browser, citizen, second_platform)
        assert first_id["sid"] == second_id["sid"]  # one SSO session, two platforms
        _logout(browser)
        assert first_platform.wait(15)
        assert second_platform.wait(15)
        for platform, client, id_claims in (
            (first_platform, first, first_id),
            (second_platform, second, second_id),
        ):
            claims = _verify_logout_token(server, platform.received[0], client_id=client.client_id)
            assert claims["sid"] == id_claims["sid"]
            assert claims["sub"] == id_claims["sub"]
    finally:
        first_platform.stop()
        second_platform.stop()


def test_delivery_after_the_platform_was_down(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    platform = RelyingPlatform()  # port reserved, nothing listening yet
    client, id_claims = _logged_in_client(server, browser, citizen, platform)
    _logout(browser)
    # A delivery attempt failed while the platform was down (the server logs it) ...
    deadline = time.monotonic() + 15
    while "back-channel logout delivery failed" not in server.log():
        assert time.monotonic() < deadline, "no failed delivery attempt was logged"
        time.sleep(0.1)
    # ... the outbox keeps it; the platform comes back and gets it from the retry loop.
    platform.start()
    try:
        assert platform.wait(30), "the logout token never arrived after the platform came back"
        claims = _verify_logout_token(server, platform.received[0], client_id=client.client_id)
        assert claims["sid"] == id_claims["sid"]
    finally:
        platform.stop()


def test_cli_flushes_the_outbox(server: LiveServer, browser: Browser, citizen: Citizen) -> None:
    platform = RelyingPlatform()
    _logged_in_client(server, browser, citizen, platform)
    _logout(browser)
    platform.start()
    try:
        result = server.cli("logout", "deliver", "--json")
        report = json.loads(result.stdout)
        assert report["pending"] == 0
        assert platform.wait(15)
        assert len(platform.received) >= 1
    finally:
        platform.stop()


def test_ending_a_session_from_the_account_page_logs_out_its_platforms(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    platform = RelyingPlatform()
    platform.start()
    try:
        client, id_claims = _logged_in_client(server, browser, citizen, platform)
        page = browser.get("/account/sessions", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert f'data-sid="{id_claims["sid"]}"' in page.text
        assert f'data-client-id="{client.client_id}"' not in page.text  # openid only: no consent
        fields = Browser.form_fields(page)
        ended = browser.post(
            "/account/sessions/end",
            data={"csrf_token": fields["csrf_token"], "sid": id_claims["sid"]},
        )
        assert ended.status_code == 303
        assert platform.wait(15)
        claims = _verify_logout_token(server, platform.received[0], client_id=client.client_id)
        assert claims["sid"] == id_claims["sid"]
    finally:
        platform.stop()
