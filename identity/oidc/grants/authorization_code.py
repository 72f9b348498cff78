"""The authorization code grant with PKCE (S256) required for every client.

RFC 6749 §4.1 (https://www.rfc-editor.org/rfc/rfc6749#section-4.1), RFC 7636
(https://www.rfc-editor.org/rfc/rfc7636), OpenID Connect Core 1.0 §3.1, and
RFC 9700 §2.1.1: "authorization servers MUST support PKCE"; here every client must
use it, and only ``S256`` ("plain" would let a leaked request reveal the verifier).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import grants as oidc_grants
from authlib.oidc.core.models import AuthorizationCodeMixin
from sqlalchemy import select

from identity.models import Citizen
from identity.oidc.grants.base import (
    TOKEN_ENDPOINT_AUTH_METHODS,
    AuthenticatedCitizen,
    ProviderGrantMixin,
    use_once,
)
from identity.oidc.models import AuthorizationCode
from identity.oidc.tokens import aware, revoke_issued_from_code, utcnow


class StoredCode(AuthorizationCodeMixin):
    """An authorization code row as Authlib's grant sees it."""

    def __init__(self, row: AuthorizationCode, citizen: Citizen | None) -> None:
        self.row = row
        self.citizen = citizen
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(aware(self.row.auth_time).timestamp())

    def get_acr(self) -> str:
        return self.row.acr

    def get_amr(self) -> list[str]:
        return list(self.row.amr)


class S256CodeChallenge(CodeChallenge):
    """RFC 7636 with the ``plain`` method refused and a challenge required in every request."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 (Authlib's attribute)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: code_challenge is missing.")
        #: RFC 9700 §2.1.1: the "plain" method MUST NOT be accepted where S256 is possible;
        #: a missing method would mean "plain" (RFC 7636 §4.3), so it is refused too.
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(ProviderGrantMixin, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: AuthenticatedCitizen = request.user
        now = utcnow()
        data = request.payload.data
        request.db.add(
            AuthorizationCode(
                code_digest=self.server.digests.code.digest(code),
                client_id=request.client.client_id,
                citizen_id=user.citizen_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                sid=user.sid or "",
                auth_time=user.auth_time,
                acr=user.acr,
                amr=list(user.amr),
                created_at=now,
                expires_at=now + timedelta(seconds=self.server.config.code_ttl),
            )
        )
        request.db.flush()

    def query_authorization_code(self, code: str, client: Any) -> StoredCode | None:
        if not isinstance(code, str) or len(code) > 256:
            return None
        db = self.request.db
        # The citizen comes in the same query (authenticate_user needs it next).
        found = db.execute(
            select(AuthorizationCode, Citizen)
            .outerjoin(Citizen, Citizen.id == AuthorizationCode.citizen_id)
            .where(AuthorizationCode.code_digest == self.server.digests.code.digest(code))
        ).one_or_none()
        row, citizen = found if found is not None else (None, None)
        #: RFC 6749 §4.1.3: "ensure that the authorization code was issued to the
        #: authenticated confidential client" (code injection across clients).
        if row is None or row.client_id != client.client_id:
            return None
        now = utcnow()
        if row.used_at is not None:
            #: RFC 6749 §4.1.2: "If an authorization code is used more than once, the
            #: authorization server MUST deny the request and SHOULD revoke (when
            #: possible) all tokens previously issued based on that authorization code."
            revoke_issued_from_code(db, code_id=row.id, now=now)
            db.commit()
            return None
        if aware(row.expires_at) <= now:
            return None
        return StoredCode(row, citizen)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        """Mark the code used; it is kept, so that a replay can be recognised and the
        tokens it gave revoked (RFC 6749 §4.1.2), racing exchanges included."""
        code = authorization_code.row
        use_once(
            self.request.db,
            code,
            attribute="used_at",
            revoke=lambda db, now: revoke_issued_from_code(db, code_id=code.id, now=now),
            error="The authorization code has already been used.",
        )

    def authenticate_user(self, authorization_code: StoredCode) -> AuthenticatedCitizen | None:
        row, citizen = authorization_code.row, authorization_code.citizen
        if citizen is None:
            return None
        return AuthenticatedCitizen(
            citizen_id=citizen.id,
            citizen_subject=citizen.subject,
            sid=row.sid or None,
            auth_time=aware(row.auth_time),
            acr=row.acr,
            amr=list(row.amr),
            code_id=row.id,
        )


class OpenIDCode(oidc_grants.OpenIDCode):
    """Adds the ID token; signing goes through ``keys/`` (never a private key here)."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        # Codes are single-use and bound to the client, so a nonce cannot be replayed
        # through this provider; the RP checks the nonce it sent (Core §3.1.3.7).
        return False

    def process_token(self, grant: Any, response: Any) -> Any:
        _, token, _ = response
        if "openid" in (token.get("scope") or "").split():
            token["id_token"] = grant.server.id_token(grant.request, token)
        return token
