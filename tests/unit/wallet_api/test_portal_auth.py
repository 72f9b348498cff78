"""The portal's relying-party login: registration, redirects, ID token checks."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from identity.oidc.models import OAuthClient
from identity.oidc.server import half_hash
from identity.oidc.services import client_secret_digest, get_client_row
from wallet_api.portal_auth import (
    WALLET_PORTAL,
    PortalLoginFailed,
    ensure_client,
    safe_next,
    validate_id_token,
)
from wallet_api.runtime import PROVIDER_OWNER, Runtime


def test_bootstrap_registers_the_portal_once(runtime: Runtime) -> None:
    runtime.bootstrap()  # the fixture bootstrapped already: a second start changes nothing
    with runtime.transaction() as session:
        count = session.scalar(
            select(func.count())
            .select_from(OAuthClient)
            .where(OAuthClient.client_id == WALLET_PORTAL.client_id)
        )
        row = get_client_row(session, client_id=WALLET_PORTAL.client_id)
    issuer = runtime.settings.issuer_url
    assert count == 1
    assert row.client_metadata["redirect_uris"] == [f"{issuer}/wallet/callback"]
    assert row.client_metadata["post_logout_redirect_uris"] == [f"{issuer}/wallet/logged-out"]
    assert row.client_metadata["scope"] == "openid profile wallet"
    assert row.client_metadata["token_endpoint_auth_method"] == "client_secret_basic"
    master = runtime.settings.master_secret
    assert row.client_secret_digest == client_secret_digest(master).digest(
        WALLET_PORTAL.client_secret(master)
    )


def test_a_new_issuer_updates_the_registered_uris(runtime: Runtime, make_settings: Any) -> None:
    moved = make_settings(
        database_url=runtime.settings.database_url, issuer="https://wallet.gov.example"
    )
    with runtime.transaction() as session:
        assert ensure_client(session, portal=WALLET_PORTAL, settings=moved) is True
        row = get_client_row(session, client_id=WALLET_PORTAL.client_id)
        assert row.client_metadata["redirect_uris"] == [
            "https://wallet.gov.example/wallet/callback"
        ]


def test_a_plain_http_issuer_off_loopback_is_not_registered(
    runtime: Runtime, make_settings: Any
) -> None:
    odd = make_settings(database_url=runtime.settings.database_url, issuer="http://govwallet:8000")
    with runtime.transaction() as session:
        assert ensure_client(session, portal=WALLET_PORTAL, settings=odd) is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/wallet/licenses/x", "/wallet/licenses/x"),
        ("/wallet?lang=en", "/wallet?lang=en"),
        (None, "/wallet"),
        ("", "/wallet"),
        ("https://evil.example/", "/wallet"),
        ("//evil.example/", "/wallet"),
        ("/\\evil.example", "/wallet"),
        ("wallet", "/wallet"),
    ],
)
def test_next_is_a_same_site_path_only(value: str | None, expected: str) -> None:
    assert safe_next(value, default="/wallet") == expected


def test_login_redirects_to_the_provider_with_pkce_state_and_nonce(client: TestClient) -> None:
    response = client.get(
        "/wallet/login", params={"next": "//evil.example"}, follow_redirects=False
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/authorize?response_type=code&client_id=govwallet-wallet")
    for part in ("code_challenge_method=S256", "code_challenge=", "state=", "nonce="):
        assert part in location
    cookie = response.headers["set-cookie"]
    assert "gw_wallet_login=" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/wallet/callback" in cookie


def test_logout_needs_the_csrf_token(client: TestClient) -> None:
    response = client.post("/wallet/logout", data={}, follow_redirects=False)
    assert response.status_code == 403


def _id_token(runtime: Runtime, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": runtime.settings.issuer_url,
        "aud": WALLET_PORTAL.client_id,
        "sub": "pairwise-sub",
        "iat": now,
        "exp": now + 300,
        "nonce": "n-1",
        "at_hash": half_hash("access"),
        **claims,
    }
    with runtime.transaction() as session:
        return runtime.keystore.signer(session, owner=PROVIDER_OWNER, alg="ES256").sign_jwt(body)


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://other.example"},
        {"aud": "someone-else"},
        {"nonce": "n-2"},
        {"exp": int(time.time()) - 3600},
        {"at_hash": half_hash("another access token")},
    ],
)
def test_id_tokens_are_checked_claim_by_claim(runtime: Runtime, claims: dict[str, Any]) -> None:
    with runtime.transaction() as session:
        jwks = runtime.keystore.jwks(session, owner=PROVIDER_OWNER)
    good = _id_token(runtime)
    options: dict[str, Any] = {
        "jwks": jwks,
        "issuer": runtime.settings.issuer_url,
        "client_id": WALLET_PORTAL.client_id,
        "nonce": "n-1",
        "access_token": "access",
    }
    assert validate_id_token(good, **options)["sub"] == "pairwise-sub"
    with pytest.raises(PortalLoginFailed):
        validate_id_token(_id_token(runtime, **claims), **options)
