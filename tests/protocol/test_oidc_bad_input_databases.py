"""Bad input that could upset a database (NUL characters, over-long values) answers 4xx
on SQLite and on PostgreSQL alike — never a 500, never a half-written record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from identity.oidc.errors import InvalidClientMetadata
from identity.oidc.models import OAuthClient
from identity.oidc.services import register_client, rfc7591_arguments
from wallet_api.app import create_app
from wallet_api.runtime import Runtime

NUL = "a\x00b"


@pytest.fixture
def http(runtime: Runtime) -> Iterator[tuple[TestClient, str, str]]:
    with runtime.transaction() as session:
        client, secret = register_client(
            session,
            name="Platform",
            redirect_uris=["http://127.0.0.1:9/cb"],
            scopes=["openid"],
            master=runtime.settings.master_secret,
        )
        client_id = client.client_id
    assert secret is not None  # a confidential client
    app = create_app(runtime=runtime)
    with TestClient(app, base_url=runtime.settings.issuer_url, follow_redirects=False) as test:
        yield test, client_id, secret


def test_nul_and_long_values_are_refused(
    http: tuple[TestClient, str, str], runtime: Runtime
) -> None:
    test, client_id, secret = http
    authorize = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": "http://127.0.0.1:9/cb",
        "scope": "openid",
        "code_challenge": "a" * 43,
        "code_challenge_method": "S256",
    }
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/authorize", {"params": {**authorize, "client_id": NUL}}),
        ("GET", "/authorize", {"params": {**authorize, "nonce": NUL}}),
        ("GET", "/authorize", {"params": {**authorize, "nonce": "n" * 300}}),
        ("POST", "/token", {"data": {"grant_type": "client_credentials", "client_id": NUL}}),
        ("POST", "/token", {"data": {"grant_type": "refresh_token", "refresh_token": NUL}}),
        ("POST", "/introspect", {"data": {"token": NUL}, "auth": (client_id, secret)}),
        ("POST", "/revoke", {"data": {"token": NUL, "client_id": NUL}}),
        ("GET", "/end-session", {"params": {"client_id": NUL, "post_logout_redirect_uri": NUL}}),
        ("POST", "/account/sessions/end", {"data": {"sid": NUL}}),
        ("POST", "/account/consents/withdraw", {"data": {"client_id": NUL}}),
        ("POST", "/login", {"data": {"username": NUL, "password": NUL, "csrf_token": NUL}}),
    ]
    for method, path, kwargs in cases:
        response = test.request(method, path, **kwargs)
        assert response.status_code < 500, (method, path, response.text[:200])


def test_registration_with_nul_metadata_writes_nothing(
    http: tuple[TestClient, str, str], runtime: Runtime
) -> None:
    with runtime.sessions() as session:
        before = session.scalar(select(func.count()).select_from(OAuthClient))
    for body in (
        {"client_name": NUL, "redirect_uris": ["https://rp.example/cb"]},
        {"client_name": "x", "redirect_uris": ["https://rp.example/c\x00b"]},
        {"client_name": "x", "redirect_uris": ["https://rp.example/cb"], "sector_identifier": NUL},
    ):
        with runtime.transaction() as session, pytest.raises(InvalidClientMetadata):
            register_client(
                session, master=runtime.settings.master_secret, **rfc7591_arguments(body)
            )
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OAuthClient)) == before
