"""RFC 9396 rich authorization requests at the authorization endpoint.

https://www.rfc-editor.org/rfc/rfc9396 — §5: "The AS MUST refuse to process any unknown
authorization details type or authorization details not conforming to the respective
type definition" with the error ``invalid_authorization_details``; §10.1 discovery.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.protocol.conftest import FAST_SERVER_ENV, REGISTRATION_TOKEN
from tests.protocol.oidc_helpers import (
    Browser,
    Citizen,
    RegisteredClient,
    add_client,
    callback_params,
    discovery,
    rp_client,
)
from tests.support.live_server import LiveServer, free_port, live_server
from wallet_api import demo

ID_CARD = "111000000000130013001"
GOOD = {"type": "govwallet_license", "license_type": ID_CARD, "fields": ["holder_name"]}
DEMO_CITIZEN = Citizen(
    demo.DEMO_CITIZEN_ID_NUMBER, demo.DEMO_CITIZEN_NAME, demo.DEMO_CITIZEN_PASSWORD
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(
        tmp_path_factory.mktemp("rfc9396"), demo=True, extra_env=FAST_SERVER_ENV
    ) as live:
        yield live


@pytest.fixture(scope="module")
def client(server: LiveServer) -> RegisteredClient:
    return add_client(server, "--scope", "openid")


def _authorization_url(
    server: LiveServer, client: RegisteredClient, raw: str, **params: Any
) -> str:
    rp = rp_client(server, client, "openid")
    url: str
    url, _ = rp.create_authorization_url(
        discovery(server)["authorization_endpoint"],
        code_verifier=secrets.token_urlsafe(48),
        authorization_details=raw,
        state="s-123",
        **params,
    )
    return url


MALFORMED = {
    "not-json": "[{",
    "not-an-array": json.dumps(GOOD),
    "empty-array": "[]",
    "not-an-object": json.dumps(["govwallet_license"]),
    "no-type": json.dumps([{"license_type": ID_CARD, "fields": ["holder_name"]}]),
    "unknown-type": json.dumps([{**GOOD, "type": "payment_initiation"}]),
    "unknown-member": json.dumps([{**GOOD, "locations": ["https://x.example"]}]),
    "missing-fields": json.dumps([{"type": "govwallet_license", "license_type": ID_CARD}]),
    "fields-not-an-array": json.dumps([{**GOOD, "fields": "holder_name"}]),
    "empty-fields": json.dumps([{**GOOD, "fields": []}]),
    "malformed-license-type": json.dumps([{**GOOD, "license_type": "ID-CARD"}]),
    "unknown-license-type": json.dumps([{**GOOD, "license_type": "111000000000130013999"}]),
    "unknown-field": json.dumps([{**GOOD, "fields": ["holder_name", "fields.shoe_size"]}]),
    "unknown-service-item": json.dumps([{**GOOD, "service_item": "000000-XX-9999"}]),
    "asked-twice": json.dumps([GOOD, GOOD]),
    "purpose-too-long": json.dumps([{**GOOD, "purpose": "x" * 201}]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_authorization_details_get_the_rfc9396_error(
    server: LiveServer, client: RegisteredClient, case: str
) -> None:
    """Refused before any login: the error is redirected to the (validated) redirect URI."""
    browser = Browser(server)
    try:
        response = browser.get(_authorization_url(server, client, MALFORMED[case]))
        params = callback_params(response)
    finally:
        browser.close()
    assert params["error"] == "invalid_authorization_details", params
    assert params["state"] == "s-123"
    assert params["iss"] == server.base_url
    assert params.get("error_description")


def test_malformed_details_are_refused_for_a_signed_in_citizen_too(
    server: LiveServer, client: RegisteredClient
) -> None:
    browser = Browser(server)
    try:
        browser.login(DEMO_CITIZEN)
        raw = MALFORMED["unknown-field"]
        params = callback_params(browser.get(_authorization_url(server, client, raw)))
    finally:
        browser.close()
    assert params["error"] == "invalid_authorization_details"
    assert "shoe_size" in params["error_description"]


def test_valid_details_need_consent_and_prompt_none_says_so(
    server: LiveServer, client: RegisteredClient
) -> None:
    browser = Browser(server)
    try:
        browser.login(DEMO_CITIZEN)
        url = _authorization_url(server, client, json.dumps([GOOD]), prompt="none")
        params = callback_params(browser.get(url))
        assert params["error"] == "consent_required"
        page = browser.get(_authorization_url(server, client, json.dumps([GOOD])))
        assert page.status_code == 200
        assert f'value="{ID_CARD}|holder_name"' in page.text
    finally:
        browser.close()


def test_discovery_lists_the_supported_types(server: LiveServer) -> None:
    """RFC 9396 §10.1 ``authorization_details_types_supported``."""
    assert discovery(server)["authorization_details_types_supported"] == ["govwallet_license"]


def _register(server: LiveServer, **metadata: Any) -> httpx.Response:
    body = {
        "client_name": "RAR platform",
        "redirect_uris": [f"http://127.0.0.1:{free_port()}/callback"],
        "scope": "openid",
        **metadata,
    }
    return httpx.post(
        f"{server.base_url}/register",
        json=body,
        headers={"Authorization": f"Bearer {REGISTRATION_TOKEN}"},
    )


def test_clients_register_the_types_they_use(server: LiveServer) -> None:
    """RFC 9396 §10.2 client metadata ``authorization_details_types``."""
    response = _register(server, authorization_details_types=["govwallet_license"])
    assert response.status_code == 201, response.text
    assert response.json()["authorization_details_types"] == ["govwallet_license"]
    refused = _register(server, authorization_details_types=["payment_initiation"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"


def test_a_client_registered_for_no_license_type_cannot_ask_for_licenses(
    server: LiveServer,
) -> None:
    data = _register(server, authorization_details_types=[]).json()
    client = RegisteredClient(data["client_id"], data["client_secret"], data["redirect_uris"][0])
    browser = Browser(server)
    try:
        params = callback_params(
            browser.get(_authorization_url(server, client, json.dumps([GOOD])))
        )
    finally:
        browser.close()
    assert params["error"] == "invalid_authorization_details"
    assert "not registered" in params["error_description"]
