"""identity.oidc.services: client registration rules and consents."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from identity.models import Citizen
from identity.oidc import services
from identity.oidc.errors import InvalidClientMetadata
from identity.oidc.models import OAuthClient
from identity.oidc.tokens import utcnow
from wallet_api.runtime import Runtime


def test_secret_is_256_bit_random_and_stored_only_as_digest(
    runtime: Runtime, make_client: Callable[..., tuple[OAuthClient, str | None]]
) -> None:
    row, secret = make_client()
    assert secret is not None
    assert len(secret) >= 43  # 32 bytes, base64url
    assert row.client_secret_digest != secret
    assert secret not in str(row.client_metadata)
    digest = services.client_secret_digest(runtime.settings.master_secret)
    assert row.client_secret_digest is not None
    assert digest.matches(secret, row.client_secret_digest)
    assert not digest.matches(secret + "x", row.client_secret_digest)


def test_public_and_private_key_jwt_clients_have_no_secret(
    make_client: Callable[..., tuple[OAuthClient, str | None]],
) -> None:
    _, secret = make_client(public=True)
    assert secret is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": " "}, "client_name"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"redirect_uris": ["ftp://rp.example/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["http://rp.example/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["https://rp.example/cb#x"]}, "redirect_uris"),
        ({"scopes": ["openid", "root"]}, "scope"),
        ({"grant_types": ["implicit"]}, "grant_types"),
        ({"grant_types": ["refresh_token"], "redirect_uris": []}, "grant_types"),
        (
            {"public": True, "grant_types": ["client_credentials"], "redirect_uris": []},
            "grant_types",
        ),
        ({"subject_type": "random"}, "subject_type"),
        ({"id_token_signed_response_alg": "HS256"}, "id_token_signed_response_alg"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "jwks"),
        ({"token_endpoint_auth_method": "tls_client_auth"}, "token_endpoint_auth_method"),
        ({"backchannel_logout_uri": "javascript:alert(1)"}, "backchannel_logout_uri"),
        ({"post_logout_redirect_uris": ["/relative"]}, "post_logout_redirect_uris"),
        ({"grant_types": ["client_credentials"]}, "redirect_uris"),
    ],
)
def test_invalid_metadata_names_the_field_and_writes_nothing(
    runtime: Runtime,
    make_client: Callable[..., tuple[OAuthClient, str | None]],
    overrides: dict[str, Any],
    field: str,
) -> None:
    with runtime.sessions() as session:
        before = set(session.scalars(select(OAuthClient.client_id)))
    with pytest.raises(InvalidClientMetadata) as caught:
        make_client(**overrides)
    assert caught.value.field_name == field
    with runtime.sessions() as session:
        assert set(session.scalars(select(OAuthClient.client_id))) == before


def test_code_flow_clients_always_get_openid(
    make_client: Callable[..., tuple[OAuthClient, str | None]],
) -> None:
    row, _ = make_client(scopes=["profile"])
    assert row.client_metadata["scope"].split() == ["openid", "profile"]


def test_consent_is_remembered_merged_and_withdrawn(
    runtime: Runtime,
    make_citizen: Callable[..., Citizen],
    make_client: Callable[..., tuple[OAuthClient, str | None]],
) -> None:
    citizen = make_citizen()
    row, _ = make_client(scopes=["openid", "profile", "phone"])
    now = utcnow()
    with runtime.transaction() as session:
        services.remember_consent(
            session, citizen_id=citizen.id, client_id=row.client_id, scopes=["profile"], now=now
        )
        services.remember_consent(
            session, citizen_id=citizen.id, client_id=row.client_id, scopes=["phone"], now=now
        )
    with runtime.transaction() as session:
        assert services.consented_scopes(
            session, citizen_id=citizen.id, client_id=row.client_id
        ) == {"profile", "phone"}
        platforms = services.connected_platforms(session, citizen_id=citizen.id)
        assert [p.client_id for p in platforms] == [row.client_id]
        assert services.withdraw_consent(
            session, citizen_id=citizen.id, client_id=row.client_id, now=now
        )
        assert not services.withdraw_consent(
            session, citizen_id=citizen.id, client_id=row.client_id, now=now
        )
    with runtime.sessions() as session:
        assert services.connected_platforms(session, citizen_id=citizen.id) == []


def test_the_same_first_consent_given_twice_at_once_is_merged(
    runtime: Runtime,
    make_citizen: Callable[..., Citizen],
    make_client: Callable[..., tuple[OAuthClient, str | None]],
) -> None:
    """Two tabs (or a double click) consent at once: both succeed, neither scope is lost."""
    citizen = make_citizen()
    row, _ = make_client(scopes=["openid", "profile", "phone"])
    now = utcnow()
    first = runtime.sessions()
    services.remember_consent(
        first, citizen_id=citizen.id, client_id=row.client_id, scopes=["profile"], now=now
    )  # inserted, not committed yet

    def second() -> None:
        with runtime.transaction() as session:
            services.remember_consent(
                session, citizen_id=citizen.id, client_id=row.client_id, scopes=["phone"], now=now
            )

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(second)
        time.sleep(0.5)  # the second transaction's insert now waits for the first to end
        first.commit()
        first.close()
        pending.result(timeout=30)
    with runtime.sessions() as session:
        assert services.consented_scopes(
            session, citizen_id=citizen.id, client_id=row.client_id
        ) == {"profile", "phone"}


def test_rfc7591_arguments_reject_unknown_and_mistyped_fields() -> None:
    with pytest.raises(InvalidClientMetadata):
        services.rfc7591_arguments({"client_name": "x", "request_uris": []})
    with pytest.raises(InvalidClientMetadata):
        services.rfc7591_arguments({"client_name": 5})
    with pytest.raises(InvalidClientMetadata):
        services.rfc7591_arguments({"redirect_uris": "https://x"})
    args = services.rfc7591_arguments(
        {
            "client_name": "x",
            "redirect_uris": ["https://x/cb"],
            "token_endpoint_auth_method": "none",
        }
    )
    assert args["public"] is True
