"""identity.oidc.tokens: RFC 9068 access tokens, validation and revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from identity.oidc.tokens import InvalidAccessToken, revoke_jti, utcnow
from wallet_api.oauth_server import StarletteProvider
from wallet_api.runtime import PROVIDER_OWNER, Runtime


def test_issue_and_validate(runtime: Runtime, provider: StarletteProvider) -> None:
    with runtime.sessions() as session:
        token, jti, expires = provider.access_tokens.issue(
            session, client_id="c1", subject="c1", scope="licenses:read"
        )
        claims = provider.access_tokens.validate(session, token)
    assert claims.jti == jti
    assert claims.client_id == "c1"
    assert claims.scopes == {"licenses:read"}
    assert claims.expires_at == expires
    assert claims.has_scopes("licenses:read")
    assert not claims.has_scopes("licenses:issue")


def test_revoked_tampered_and_foreign_tokens_are_refused(
    runtime: Runtime, provider: StarletteProvider
) -> None:
    with runtime.sessions() as session:
        token, jti, _ = provider.access_tokens.issue(
            session, client_id="c1", subject="c1", scope="licenses:read"
        )
        header, payload, signature = token.split(".")
        with pytest.raises(InvalidAccessToken):
            provider.access_tokens.validate(session, f"{header}.{payload}x.{signature}")
        with pytest.raises(InvalidAccessToken):
            provider.access_tokens.validate(session, "not-a-jwt")
        # An ID token (typ JWT) signed by the same provider is not an access token.
        signer = runtime.keystore.signer(session, owner=PROVIDER_OWNER, alg="ES256")
        id_token = signer.sign_jwt(
            {
                "iss": runtime.settings.issuer_url,
                "aud": runtime.settings.issuer_url,
                "sub": "x",
                "jti": "j",
                "client_id": "c1",
                "exp": 4_000_000_000,
            }
        )
        with pytest.raises(InvalidAccessToken, match="not an access token"):
            provider.access_tokens.validate(session, id_token)
        revoke_jti(session, jti=jti, expires_at=utcnow() + timedelta(minutes=5))
        session.commit()
        with pytest.raises(InvalidAccessToken, match="revoked"):
            provider.access_tokens.validate(session, token)


def test_prune_forgets_only_what_can_no_longer_matter(runtime: Runtime) -> None:
    from identity.oidc.models import RevokedAccessToken
    from identity.oidc.tokens import prune

    now = utcnow()
    with runtime.transaction() as session:
        revoke_jti(session, jti="old", expires_at=now - timedelta(days=2))
        revoke_jti(session, jti="live", expires_at=now + timedelta(minutes=5))
    with runtime.transaction() as session:
        prune(session, now=now)
    with runtime.sessions() as session:
        assert session.get(RevokedAccessToken, "old") is None
        assert session.get(RevokedAccessToken, "live") is not None
