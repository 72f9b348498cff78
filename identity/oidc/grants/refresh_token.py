"""The refresh token grant with rotation on every use and reuse detection.

RFC 6749 §6 (https://www.rfc-editor.org/rfc/rfc6749#section-6) and RFC 9700 §4.14.2:
"refresh token rotation: the authorization server issues a new refresh token with
every access token refresh response ... If a refresh token is compromised and
subsequently used by both the attacker and the legitimate client, one of them will
present an invalidated refresh token, which will inform the authorization server of
the breach" — and then the whole family is revoked.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.models import TokenMixin
from sqlalchemy import and_, select

from identity.models import Citizen
from identity.oidc.grants.base import (
    TOKEN_ENDPOINT_AUTH_METHODS,
    AuthenticatedCitizen,
    ProviderGrantMixin,
    use_once,
)
from identity.oidc.models import IssuedToken
from identity.oidc.tokens import aware, revoke_family, utcnow


class StoredRefreshToken(TokenMixin):
    def __init__(self, row: IssuedToken) -> None:
        self.row = row

    def check_client(self, client: Any) -> bool:
        client_id: str = client.client_id
        return self.row.client_id == client_id

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        expires = self.row.refresh_expires_at
        return expires is None or aware(expires) <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None


class RefreshTokenGrant(ProviderGrantMixin, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS
    #: Rotation on every use, for every client.
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefreshToken | None:
        if not isinstance(refresh_token, str) or len(refresh_token) > 256:
            return None
        db = self.request.db
        row = db.scalars(
            select(IssuedToken).where(
                IssuedToken.refresh_token_digest
                == self.server.digests.refresh_token.digest(refresh_token)
            )
        ).one_or_none()
        if row is None or row.client_id != self.request.client.client_id:
            return None
        token = StoredRefreshToken(row)
        if row.refresh_used_at is not None:
            revoke_family(db, family_id=row.family_id, now=utcnow())
            db.commit()
            return None
        if token.is_revoked() or token.is_expired():
            return None
        return token

    def authenticate_user(self, refresh_token: StoredRefreshToken) -> AuthenticatedCitizen | None:
        row = refresh_token.row
        citizen = self.request.db.get(Citizen, row.citizen_id)
        if citizen is None:
            return None
        return AuthenticatedCitizen(
            citizen_id=citizen.id,
            citizen_subject=citizen.subject,
            sid=row.sid,
            auth_time=aware(row.auth_time),
            acr=row.acr,
            amr=list(row.amr),
            code_id=row.authorization_code_id,
            family_id=row.family_id,
        )

    def revoke_old_credential(self, refresh_token: StoredRefreshToken) -> None:
        """Mark the refresh token used. A token already used or revoked, racing
        refreshes included, is a reuse: the whole family ends (RFC 9700 §4.14.2)."""
        old = refresh_token.row
        use_once(
            self.request.db,
            old,
            attribute="refresh_used_at",
            unused=and_(IssuedToken.refresh_used_at.is_(None), IssuedToken.revoked_at.is_(None)),
            revoke=lambda db, now: revoke_family(db, family_id=old.family_id, now=now),
            error="The refresh token has already been used.",
        )

    def create_token_response(self) -> Any:
        status, token, headers = super().create_token_response()
        # OpenID Connect Core §12.2: a refreshed ID token keeps sub, auth_time and acr.
        if "openid" in (token.get("scope") or "").split():
            token["id_token"] = self.server.id_token(self.request, token)
        return status, token, headers
