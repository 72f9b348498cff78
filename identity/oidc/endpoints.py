"""Introspection (RFC 7662), revocation (RFC 7009) and RP-initiated logout endpoints.

https://www.rfc-editor.org/rfc/rfc7662, https://www.rfc-editor.org/rfc/rfc7009,
https://openid.net/specs/openid-connect-rpinitiated-1_0.html
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749.models import TokenMixin
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint as _EndSessionEndpoint
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.oidc.errors import UnsupportedTokenType
from identity.oidc.models import IssuedToken
from identity.oidc.token_state import CachedAnswer
from identity.oidc.tokens import (
    AccessTokenClaims,
    InvalidAccessToken,
    aware,
    is_revoked,
    revoke_family,
    revoke_jti,
    utcnow,
)

if TYPE_CHECKING:
    from identity.oidc.server import Provider

#: Confidential clients only: a public client has nothing to prove who it is.
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


@dataclass
class FoundToken(TokenMixin):
    """An access token (validated JWT) or a refresh token (row), for the two endpoints."""

    kind: str
    client_id: str
    db: Session | None
    access: AccessTokenClaims | None = None
    row: IssuedToken | None = None
    #: The token-state cache vouches for it: verified and not revoked (no query needed).
    current: bool = False
    #: The cache's generation before the database was read (to keep the answer).
    generation: int = 0
    #: The token string as presented.
    value: str = ""

    def check_client(self, client: Any) -> bool:
        client_id: str = client.client_id
        return self.client_id == client_id

    def is_expired(self) -> bool:
        if self.access is not None:
            return self.access.expires_at <= int(utcnow().timestamp())
        assert self.row is not None
        expires = self.row.refresh_expires_at
        return expires is None or aware(expires) <= utcnow()

    def is_revoked(self) -> bool:
        if self.current:
            return False
        if self.access is not None:
            assert self.db is not None
            return is_revoked(self.db, jti=self.access.jti)
        assert self.row is not None
        return self.row.revoked_at is not None or self.row.refresh_used_at is not None


def find_token(
    provider: Provider,
    db: Session | None,
    token: str,
    hint: str | None,
    *,
    cached: CachedAnswer | None = None,
) -> FoundToken | None:
    """Either kind, whatever the hint says (RFC 7009 §2.1: the hint only speeds the search).

    ``cached`` is the token-state cache's entry for ``token``, looked up by the caller
    (``identity.oidc.token_state``): the token is then known valid without a query, and
    ``db`` may be ``None``.
    """
    if not isinstance(token, str) or not token or len(token) > 8192:
        return None
    if cached is not None:
        return FoundToken(
            kind="access_token",
            client_id=cached.claims.client_id,
            db=db,
            access=cached.claims,
            current=True,
            value=token,
        )
    assert db is not None
    if token.count(".") == 2:
        generation = provider.token_state.generation  # before anything is read
        try:
            access = provider.access_tokens.decode(db, token)
        except InvalidAccessToken:
            return None
        return FoundToken(
            kind="access_token",
            client_id=access.client_id,
            db=db,
            access=access,
            generation=generation,
            value=token,
        )
    row = db.scalars(
        select(IssuedToken).where(
            IssuedToken.refresh_token_digest == provider.digests.refresh_token.digest(token)
        )
    ).one_or_none()
    if row is None:
        return None
    return FoundToken(kind="refresh_token", client_id=row.client_id, db=db, row=row)


class ClientTokenLookup:
    """Both endpoints: check ``token`` / ``token_type_hint``, find the caller's own token."""

    provider: Provider
    SUPPORTED_TOKEN_TYPES = ("access_token", "refresh_token")

    def check_params(self, request: Any, client: Any) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError("The token parameter is required.")
        hint = request.form.get("token_type_hint")
        if hint and hint not in self.SUPPORTED_TOKEN_TYPES:
            raise UnsupportedTokenType()

    def authenticate_token(self, request: Any, client: Any) -> FoundToken | None:
        """RFC 7662 §2.2 / RFC 7009 §2.2: a token of another client is treated as unknown
        (inactive, or nothing to revoke), so nothing about it is revealed."""
        self.check_params(request, client)
        token = find_token(
            self.provider,
            request.db,
            request.form["token"],
            request.form.get("token_type_hint"),
            cached=getattr(request, "cached_token", None),
        )
        if token is None or not token.check_client(client):
            return None
        return token


class IntrospectionEndpoint(ClientTokenLookup, _IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def __init__(self, server: Provider) -> None:
        super().__init__(server)
        self.provider = server

    def introspect_token(self, token: FoundToken) -> dict[str, Any]:
        issuer = self.provider.config.issuer
        if token.access is not None:
            if not token.current:
                # Active (verified, unexpired, unrevoked): later calls need no query.
                self.provider.token_state.put(
                    token.value, claims=token.access, generation=token.generation
                )
            claims = token.access.claims
            body = {
                "active": True,
                "token_type": "Bearer",
                "scope": claims.get("scope", ""),
                "client_id": token.client_id,
                "sub": claims["sub"],
                "aud": claims["aud"],
                "iss": issuer,
                "exp": claims["exp"],
                "iat": claims.get("iat"),
                "jti": claims["jti"],
            }
            #: RFC 9396 §9.2: introspection answers the token's ``authorization_details``.
            for name in ("acr", "auth_time", "sid", "authorization_details"):
                if name in claims:
                    body[name] = claims[name]
            return body
        assert token.row is not None
        row = token.row
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": row.scope,
            "client_id": row.client_id,
            "iss": issuer,
            "exp": int(aware(row.refresh_expires_at or row.issued_at).timestamp()),
            "iat": int(aware(row.issued_at).timestamp()),
        }

    def query_token(self, token_string: str, token_type_hint: str | None) -> None:
        raise NotImplementedError("authenticate_token looks tokens up with the request's session")

    def check_permission(self, token: Any, client: Any, request: Any) -> bool:
        return bool(token.check_client(client))


class RevocationEndpoint(ClientTokenLookup, _RevocationEndpoint):
    #: RFC 7009 §2.1: public clients may revoke their own tokens with their client_id.
    CLIENT_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]  # noqa: RUF012

    def __init__(self, server: Provider) -> None:
        super().__init__(server)
        self.provider = server

    def revoke_token(self, token: FoundToken, request: Any) -> None:
        now = utcnow()
        if token.access is not None:
            expires = datetime.fromtimestamp(token.access.expires_at, UTC)
            revoke_jti(request.db, jti=token.access.jti, expires_at=expires)
        elif token.row is not None:
            #: RFC 7009 §2.1: revoking a refresh token "SHOULD also invalidate all access
            #: tokens based on the same authorization grant".
            revoke_family(request.db, family_id=token.row.family_id, now=now)
        request.db.flush()

    def query_token(self, token_string: str, token_type_hint: str | None) -> None:
        raise NotImplementedError("authenticate_token looks tokens up with the request's session")


class EndSessionEndpoint(_EndSessionEndpoint):
    """RP-Initiated Logout 1.0 validation; the route ends the session itself."""

    def __init__(self, server: Provider) -> None:
        super().__init__(server)
        self.provider = server

    def get_server_jwks(self) -> dict[str, Any]:
        jwks = self.provider.public_jwks()
        # ID tokens are RS256 or ES256; only those keys may verify an id_token_hint.
        return {"keys": [k for k in jwks["keys"] if k.get("alg") in {"RS256", "ES256"}]}

    def _validate_id_token_hint(self, id_token_hint: str) -> dict[str, Any]:
        if not isinstance(id_token_hint, str) or len(id_token_hint) > 8192:
            raise InvalidRequestError("The id_token_hint is malformed.")
        claims: dict[str, Any] = super()._validate_id_token_hint(id_token_hint)
        #: §2: "The OP MUST validate that it was the issuer of the ID Token"; an access
        #: token (which carries scope and client_id) is not an ID token.
        if claims.get("iss") != self.provider.config.issuer or "scope" in claims:
            raise InvalidRequestError("The id_token_hint was not issued as an ID token here.")
        return claims

    def is_post_logout_redirect_uri_legitimate(
        self, request: Any, post_logout_redirect_uri: str, client: Any, logout_hint: str | None
    ) -> bool:
        # Without an id_token_hint the citizen confirms on our page first; the URI is
        # still compared exactly with the client's registration.
        return bool(getattr(request, "confirmed", False))

    def end_session(self, end_session_request: Any) -> None:
        """The route ends the SSO session (it holds the cookie)."""
