"""Access tokens as signed JWTs (RFC 9068), opaque refresh tokens, and revocation.

https://www.rfc-editor.org/rfc/rfc9068

Access tokens are ES256 JWTs with ``typ`` ``at+jwt`` so a resource server (and our
own token endpoint, for ``client_credentials``) needs no database write to issue
them. Revocation stays correct through a table of revoked ``jti`` values that every
validation consults; rows are kept only until the token would have expired.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from identity.oidc.models import (
    AuthorizationCode,
    ClientAssertion,
    IssuedToken,
    RevokedAccessToken,
)
from identity.oidc.scopes import scope_list
from keys import KeyStore
from keys.randomness import random_hex

#: Owner name of the provider's own keys (ID tokens, access tokens, status and trust lists).
PROVIDER_OWNER = "provider"
ACCESS_TOKEN_ALG = "ES256"  # noqa: S105
ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105
JWKS_CACHE_SECONDS = 5.0
REVOKED = "The access token was revoked."


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """A validated access token (signature, ``typ``, ``iss``, ``aud``, ``exp``, not revoked)."""

    jti: str
    client_id: str
    subject: str
    scopes: frozenset[str]
    expires_at: int
    issued_at: int
    claims: dict[str, Any] = field(repr=False)

    @property
    def is_client_token(self) -> bool:
        """Issued by ``client_credentials``: the subject is the client itself."""
        return self.claims.get("gw_grant") == "client_credentials"

    def has_scopes(self, *required: str) -> bool:
        return set(required) <= self.scopes


class InvalidAccessToken(Exception):
    """The bearer token is malformed, badly signed, expired, revoked or for someone else."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class AccessTokens:
    """Issues and validates the provider's JWT access tokens."""

    def __init__(self, *, keystore: KeyStore, issuer: str, ttl: int) -> None:
        self._keystore = keystore
        self.issuer = issuer
        self.ttl = ttl
        self._lock = threading.Lock()
        self._keyset: tuple[KeySet, float] | None = None

    @property
    def audience(self) -> str:
        """RFC 9068 §3: ``aud`` names the resource: govwallet's own APIs at the issuer."""
        return self.issuer

    def issue(
        self,
        session: Session | Callable[[], Session],
        *,
        client_id: str,
        subject: str,
        scope: str,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, str, int]:
        """Sign an access token; returns ``(token, jti, expires_at)``.

        ``session`` (or the callable opening it) is needed only to load an uncached key.
        """
        now = int(time.time())
        jti = random_hex(16)
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "client_id": client_id,
            "iat": now,
            "exp": now + self.ttl,
            "jti": jti,
            "scope": scope,
            **(extra or {}),
        }
        signer = self._keystore.signer(session, owner=PROVIDER_OWNER, alg=ACCESS_TOKEN_ALG)
        token = signer.sign_jwt(claims, header={"typ": ACCESS_TOKEN_TYP})
        return token, jti, now + self.ttl

    def decode(self, session: Session, token: str) -> AccessTokenClaims:
        """Verify signature and claims; does not consult the revocation list."""
        if not token or len(token) > 8192 or token.count(".") != 2:
            raise InvalidAccessToken("The access token is malformed.")
        try:
            verified = jwt.decode(token, self._keys(session), algorithms=[ACCESS_TOKEN_ALG])
        except (JoseError, ValueError) as exc:
            raise InvalidAccessToken("The access token signature is invalid.") from exc
        #: RFC 9068 §4: "Resource servers receiving a JWT access token MUST validate
        #: the typ header value is at+jwt or application/at+jwt".
        typ = str(verified.header.get("typ", "")).lower()
        if typ not in {ACCESS_TOKEN_TYP, "application/at+jwt"}:
            raise InvalidAccessToken("The token is not an access token.")
        registry = jwt.JWTClaimsRegistry(
            leeway=0,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
            client_id={"essential": True},
        )
        try:
            registry.validate(verified.claims)
        except JoseError as exc:
            raise InvalidAccessToken(
                "The access token is expired or not for this service."
            ) from exc
        claims = dict(verified.claims)
        return AccessTokenClaims(
            jti=str(claims["jti"]),
            client_id=str(claims["client_id"]),
            subject=str(claims["sub"]),
            scopes=frozenset(scope_list(str(claims.get("scope", "")))),
            expires_at=int(claims["exp"]),
            issued_at=int(claims.get("iat", 0)),
            claims=claims,
        )

    def validate(self, session: Session, token: str) -> AccessTokenClaims:
        """Decode and check the revocation list."""
        claims = self.decode(session, token)
        if is_revoked(session, jti=claims.jti):
            raise InvalidAccessToken(REVOKED)
        return claims

    def _keys(self, session: Session) -> KeySet:
        now = time.monotonic()
        with self._lock:
            if self._keyset is not None and self._keyset[1] > now:
                return self._keyset[0]
        jwks = self._keystore.jwks(session, owner=PROVIDER_OWNER)
        keyset = KeySet.import_key_set(
            {"keys": [k for k in jwks["keys"] if k.get("alg") == ACCESS_TOKEN_ALG]}
        )
        with self._lock:
            self._keyset = (keyset, now + JWKS_CACHE_SECONDS)
        return keyset


def is_revoked(session: Session, *, jti: str) -> bool:
    return session.get(RevokedAccessToken, jti) is not None


def revoke_jti(session: Session, *, jti: str, expires_at: datetime) -> None:
    if session.get(RevokedAccessToken, jti) is None:
        session.add(RevokedAccessToken(jti=jti, expires_at=expires_at))


def revoke_rows(session: Session, rows: list[IssuedToken], *, now: datetime) -> int:
    """Revoke issued tokens: their refresh tokens die and their access tokens' jti is listed."""
    count = 0
    for row in rows:
        if row.revoked_at is None:
            row.revoked_at = now
            count += 1
        if aware(row.access_expires_at) > now:
            revoke_jti(session, jti=row.jti, expires_at=row.access_expires_at)
    session.flush()
    return count


def revoke_family(session: Session, *, family_id: uuid.UUID, now: datetime) -> int:
    rows = list(session.scalars(select(IssuedToken).where(IssuedToken.family_id == family_id)))
    return revoke_rows(session, rows, now=now)


def revoke_issued_from_code(session: Session, *, code_id: uuid.UUID, now: datetime) -> int:
    """RFC 6749 §4.1.2: a replayed code "SHOULD revoke ... all tokens previously issued"."""
    families = set(
        session.scalars(
            select(IssuedToken.family_id).where(IssuedToken.authorization_code_id == code_id)
        )
    )
    return sum(revoke_family(session, family_id=family, now=now) for family in families)


def revoke_for_session(session: Session, *, sid: str, now: datetime) -> int:
    rows = list(
        session.scalars(
            select(IssuedToken).where(IssuedToken.sid == sid, IssuedToken.revoked_at.is_(None))
        )
    )
    return revoke_rows(session, rows, now=now)


def revoke_for_client(
    session: Session, *, citizen_id: uuid.UUID, client_id: str, now: datetime
) -> int:
    rows = list(
        session.scalars(
            select(IssuedToken).where(
                IssuedToken.citizen_id == citizen_id,
                IssuedToken.client_id == client_id,
                IssuedToken.revoked_at.is_(None),
            )
        )
    )
    return revoke_rows(session, rows, now=now)


def prune(session: Session, *, now: datetime) -> None:
    """Forget what can no longer matter: revoked jtis and used client assertions of
    tokens that expired anyway, and authorization codes a day past their expiry (kept
    that long so a late replay is still recognised and its tokens revoked)."""
    cutoff = now - timedelta(days=1)
    session.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < cutoff))
    session.execute(delete(ClientAssertion).where(ClientAssertion.expires_at < now))
    session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < cutoff))
