"""RFC 6750 bearer tokens on govwallet's own APIs (``wallet_api.deps.require_scopes``).

https://www.rfc-editor.org/rfc/rfc6750
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from identity.oidc.services import register_client
from identity.oidc.tokens import AccessTokenClaims
from wallet_api.app import create_app
from wallet_api.deps import require_scopes
from wallet_api.runtime import Runtime


@pytest.fixture
def api(runtime: Runtime) -> Iterator[tuple[TestClient, str, str]]:
    app = create_app(runtime=runtime)

    @app.get("/test/licenses")
    def protected(
        token: Annotated[AccessTokenClaims, Depends(require_scopes("licenses:read"))],
    ) -> dict[str, object]:
        return {"client_id": token.client_id, "client_token": token.is_client_token}

    with runtime.transaction() as session:
        reader, reader_secret = register_client(
            session,
            name="Reader",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["licenses:read", "licenses:verify"],
            master=runtime.settings.master_secret,
        )
        ids = reader.client_id
    assert reader_secret is not None  # a confidential client
    with TestClient(app, base_url=runtime.settings.issuer_url) as http:
        yield http, ids, reader_secret


def _token(http: TestClient, client_id: str, secret: str, scope: str) -> str:
    response = http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )
    assert response.status_code == 200
    access_token: str = response.json()["access_token"]
    return access_token


def test_valid_token_with_the_scope_is_accepted(api: tuple[TestClient, str, str]) -> None:
    http, client_id, secret = api
    token = _token(http, client_id, secret, "licenses:read")
    response = http.get("/test/licenses", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"client_id": client_id, "client_token": True}


def test_missing_token_is_401_without_error_code(api: tuple[TestClient, str, str]) -> None:
    http, _, _ = api
    response = http.get("/test/licenses")
    assert response.status_code == 401
    #: §3.1: no error code when the request carried no authentication.
    assert response.headers["www-authenticate"] == 'Bearer realm="govwallet"'
    assert response.headers["content-type"].startswith("application/problem+json")


def test_invalid_or_revoked_token_is_invalid_token(api: tuple[TestClient, str, str]) -> None:
    http, client_id, secret = api
    for bad in ("garbage", "a.b.c"):
        response = http.get("/test/licenses", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    token = _token(http, client_id, secret, "licenses:read")
    assert http.post("/revoke", data={"token": token}, auth=(client_id, secret)).status_code == 200
    response = http.get("/test/licenses", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_token_without_the_scope_is_insufficient_scope(api: tuple[TestClient, str, str]) -> None:
    http, client_id, secret = api
    token = _token(http, client_id, secret, "licenses:verify")
    response = http.get("/test/licenses", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="licenses:read"' in challenge
    assert response.json()["type"].endswith("insufficient-scope")
