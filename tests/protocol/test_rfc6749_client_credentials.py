"""The client credentials grant (RFC 6749 §4.4) with per-client scopes, RFC 9068 access
tokens, and every client authentication method (incl. ``private_key_jwt``, RFC 7523).

https://www.rfc-editor.org/rfc/rfc6749#section-4.4
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from tests.protocol.conftest import REGISTRATION_TOKEN
from tests.protocol.oidc_helpers import RegisteredClient, add_client
from tests.support.client_assertions import JWT_BEARER, client_assertion
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e


def _agency(server: LiveServer, *scopes: str) -> RegisteredClient:
    args = ["--grant-type", "client_credentials"]
    for scope in scopes:
        args += ["--scope", scope]
    return add_client(server, *args)


def test_token_is_a_signed_at_jwt_with_the_allowed_scopes(server: LiveServer) -> None:
    client = _agency(server, "licenses:issue", "licenses:read")
    oauth = OAuth2Client(client.client_id, client.client_secret, scope="licenses:issue")
    token = oauth.fetch_token(f"{server.base_url}/token", grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "licenses:issue"
    assert "refresh_token" not in token
    jwks = KeySet.import_key_set(httpx.get(f"{server.base_url}/jwks.json").json())
    decoded = jwt.decode(token["access_token"], jwks, algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.header["alg"] == "ES256"
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": server.base_url},
        aud={"essential": True, "value": server.base_url},
        sub={"essential": True, "value": client.client_id},
        client_id={"essential": True, "value": client.client_id},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(decoded.claims)


def test_default_scope_is_everything_allowed(server: LiveServer) -> None:
    client = _agency(server, "licenses:issue", "licenses:read")
    response = httpx.post(
        f"{server.base_url}/token",
        data={"grant_type": "client_credentials"},
        auth=client.basic_auth,
    )
    assert response.status_code == 200
    assert set(response.json()["scope"].split()) == {"licenses:issue", "licenses:read"}


def test_scope_outside_the_registration_is_invalid_scope(server: LiveServer) -> None:
    client = _agency(server, "licenses:read")
    for scope in ("licenses:issue", "openid", "licenses:read idcard"):
        response = httpx.post(
            f"{server.base_url}/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=client.basic_auth,
        )
        assert response.status_code == 400, scope
        assert response.json()["error"] == "invalid_scope"


def test_client_secret_post_and_wrong_secrets(server: LiveServer) -> None:
    client = _agency(server, "licenses:verify")
    by_post = httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
    )
    # Registered for client_secret_basic: the other method is refused.
    assert by_post.status_code in (400, 401)
    assert by_post.json()["error"] == "invalid_client"
    assert client.client_secret is not None
    wrong = httpx.post(
        f"{server.base_url}/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret + "x"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


def test_a_code_flow_client_may_not_use_client_credentials(server: LiveServer) -> None:
    client = add_client(server)
    response = httpx.post(
        f"{server.base_url}/token",
        data={"grant_type": "client_credentials"},
        auth=client.basic_auth,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def _register(server: LiveServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/register",
        json=body,
        headers={"Authorization": f"Bearer {REGISTRATION_TOKEN}"},
    )


def test_private_key_jwt_authentication_and_assertion_replay(server: LiveServer) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    registered = _register(
        server,
        {
            "client_name": "Agency with keys",
            "grant_types": ["client_credentials"],
            "scope": "licenses:verify",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.as_dict(private=False)]},
        },
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    assert "client_secret" not in registered.json()
    assertion = client_assertion(key, client_id, f"{server.base_url}/token")
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
    }
    first = httpx.post(f"{server.base_url}/token", data=form)
    assert first.status_code == 200, first.text
    assert first.json()["scope"] == "licenses:verify"
    replay = httpx.post(f"{server.base_url}/token", data=form)
    assert replay.status_code in (400, 401)
    assert replay.json()["error"] == "invalid_client"
    # Signed by another key: refused.
    stranger = ECKey.generate_key("P-256", auto_kid=True)
    forged = {**form, "client_assertion": client_assertion(stranger, client_id, server.base_url)}
    assert httpx.post(f"{server.base_url}/token", data=forged).json()["error"] == "invalid_client"


def test_client_secret_post_when_registered_for_it(server: LiveServer) -> None:
    registered = _register(
        server,
        {
            "client_name": "Posting agency",
            "grant_types": ["client_credentials"],
            "scope": "licenses:read",
            "token_endpoint_auth_method": "client_secret_post",
        },
    ).json()
    form = {
        "grant_type": "client_credentials",
        "client_id": registered["client_id"],
        "client_secret": registered["client_secret"],
    }
    response = httpx.post(f"{server.base_url}/token", data=form)
    assert response.status_code == 200
    # Registered for client_secret_post: Basic is refused.
    basic = httpx.post(
        f"{server.base_url}/token",
        data={"grant_type": "client_credentials"},
        auth=(registered["client_id"], registered["client_secret"]),
    )
    assert basic.status_code == 401
    assert basic.json()["error"] == "invalid_client"


def test_private_key_jwt_only_with_advertised_algorithms(server: LiveServer) -> None:
    from joserfc.jwk import RSAKey

    advertised = httpx.get(f"{server.base_url}/.well-known/openid-configuration").json()[
        "token_endpoint_auth_signing_alg_values_supported"
    ]
    assert advertised == ["RS256", "ES256"]
    key = RSAKey.generate_key(2048, auto_kid=True)
    client_id = _register(
        server,
        {
            "client_name": "RSA agency",
            "grant_types": ["client_credentials"],
            "scope": "licenses:read",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.as_dict(private=False)]},
        },
    ).json()["client_id"]
    now = int(time.time())
    for alg, expected in (("PS256", 401), ("RS256", 200)):
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": f"{server.base_url}/token",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        assertion = jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])
        response = httpx.post(
            f"{server.base_url}/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion,
            },
        )
        assert response.status_code in ((400, 401) if expected == 401 else (200,)), alg
