"""RFC 7009 token revocation, checked through introspection and the userinfo endpoint.

https://www.rfc-editor.org/rfc/rfc7009
"""

from __future__ import annotations

import httpx
import pytest

from tests.protocol.oidc_helpers import Browser, Citizen, RegisteredClient, add_client, code_flow
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e


def _post(server: LiveServer, path: str, client: RegisteredClient, **data: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}{path}", data=data, auth=client.basic_auth)


def _active(server: LiveServer, client: RegisteredClient, token: str) -> bool:
    return bool(_post(server, "/introspect", client, token=token).json()["active"])


def test_revoked_access_token_is_refused_everywhere(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server)
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid")
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{server.base_url}/userinfo", headers=bearer).status_code == 200
    response = _post(server, "/revoke", client, token=token["access_token"])
    assert response.status_code == 200
    assert not _active(server, client, token["access_token"])
    refused = httpx.get(f"{server.base_url}/userinfo", headers=bearer)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert refused.json()["detail"] == "The access token was revoked."


def test_revoking_a_refresh_token_ends_its_grant(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "offline_access")
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid offline_access")
    response = _post(
        server, "/revoke", client, token=token["refresh_token"], token_type_hint="refresh_token"
    )
    assert response.status_code == 200
    refresh = _post(
        server, "/token", client, grant_type="refresh_token", refresh_token=token["refresh_token"]
    )
    assert refresh.json()["error"] == "invalid_grant"
    # §2.1: "SHOULD also invalidate all access tokens based on the same authorization grant".
    assert not _active(server, client, token["access_token"])
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    refused = httpx.get(f"{server.base_url}/userinfo", headers=bearer)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_unknown_or_foreign_tokens_answer_200_and_change_nothing(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    owner = add_client(server)
    other = add_client(server)
    _, token, _ = code_flow(server, browser, owner, citizen, scope="openid")
    assert _post(server, "/revoke", owner, token="no-such-token").status_code == 200
    assert _post(server, "/revoke", other, token=token["access_token"]).status_code == 200
    assert _active(server, owner, token["access_token"])


def test_public_client_revokes_with_its_client_id(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--public")
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid")
    response = httpx.post(
        f"{server.base_url}/revoke",
        data={"token": token["access_token"], "client_id": client.client_id},
    )
    assert response.status_code == 200
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{server.base_url}/userinfo", headers=bearer).status_code == 401


def test_bad_requests(server: LiveServer) -> None:
    client = add_client(server)
    missing = _post(server, "/revoke", client)
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    hint = _post(server, "/revoke", client, token="x", token_type_hint="id_token")
    assert hint.status_code == 400
    assert hint.json()["error"] == "unsupported_token_type"
    anonymous = httpx.post(f"{server.base_url}/revoke", data={"token": "x"})
    assert anonymous.status_code in (400, 401)
    assert anonymous.json()["error"] == "invalid_client"
