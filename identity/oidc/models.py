"""SQLAlchemy models of the OpenID provider (tables ``oidc_*`` in ``identity.models.Base``).

Secrets never stored in the clear: client secrets, authorization codes, refresh
tokens and SSO-session cookies are kept as keyed SHA-256 digests
(``keys.KeyedDigest``); access tokens are signed JWTs and are not stored at all for
``client_credentials`` (a revoked ``jti`` is, until the token would have expired).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from identity.models import Base


class OAuthClient(Base):
    """A registered relying platform or agency system (RFC 7591 client metadata)."""

    __tablename__ = "oidc_client"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``KeyedDigest(master, "oidc-client-secret")``; ``None`` for public clients.
    client_secret_digest: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    #: RFC 7591 / OpenID Connect Dynamic Registration metadata, as registered.
    client_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuthorizationCode(Base):
    """A single-use authorization code (RFC 6749 §4.1.2), bound to client and redirect URI."""

    __tablename__ = "oidc_authorization_code"
    __table_args__ = (Index("ix_oidc_authorization_code_expires_at", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    citizen_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identity_citizen.id", ondelete="CASCADE")
    )
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(16))
    sid: Mapped[str] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acr: Mapped[str] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IssuedToken(Base):
    """Tokens issued to a citizen's session: one row per access token (and its refresh token).

    Rows of one refresh-token family share ``family_id``; rotation adds a row and marks
    the previous refresh token used; presenting a used one revokes the whole family.
    """

    __tablename__ = "oidc_token"
    __table_args__ = (
        Index("ix_oidc_token_family_id", "family_id"),
        Index("ix_oidc_token_authorization_code_id", "authorization_code_id"),
        Index("ix_oidc_token_citizen_id", "citizen_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    authorization_code_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    client_id: Mapped[str] = mapped_column(String(64))
    citizen_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identity_citizen.id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acr: Mapped[str] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    access_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    refresh_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedAccessToken(Base):
    """A revoked access-token ``jti``, kept until the token would have expired anyway."""

    __tablename__ = "oidc_revoked_jti"
    __table_args__ = (Index("ix_oidc_revoked_jti_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClientAssertion(Base):
    """A used ``private_key_jwt`` assertion ``jti`` (RFC 7523 §3: no replay)."""

    __tablename__ = "oidc_client_assertion"
    __table_args__ = (
        UniqueConstraint("client_id", "jti", name="uq_oidc_client_assertion_client_id_jti"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Consent(Base):
    """What a citizen allowed one client to read (scopes), remembered until withdrawn."""

    __tablename__ = "oidc_consent"
    __table_args__ = (
        UniqueConstraint("citizen_id", "client_id", name="uq_oidc_consent_citizen_id_client_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    citizen_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identity_citizen.id", ondelete="CASCADE")
    )
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SsoSession(Base):
    """The single sign-on session at the provider; the browser holds only a random cookie."""

    __tablename__ = "oidc_sso_session"
    __table_args__ = (Index("ix_oidc_sso_session_citizen_id", "citizen_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: The OpenID ``sid`` claim (Front-/Back-Channel Logout §2.1).
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    cookie_digest: Mapped[str] = mapped_column(String(64), unique=True)
    citizen_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identity_citizen.id", ondelete="CASCADE")
    )
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acr: Mapped[str] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON)
    user_agent: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SessionClient(Base):
    """A client that received tokens in an SSO session: it is told when the session ends."""

    __tablename__ = "oidc_session_client"
    __table_args__ = (
        UniqueConstraint("session_id", "client_id", name="uq_oidc_session_client_session_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("oidc_sso_session.id", ondelete="CASCADE")
    )
    client_id: Mapped[str] = mapped_column(String(64))
    #: The ``sub`` this client knows the citizen by (pairwise or public).
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LogoutDelivery(Base):
    """The back-channel logout outbox: one row per (ended session, client) until delivered."""

    __tablename__ = "oidc_logout_delivery"
    __table_args__ = (Index("ix_oidc_logout_delivery_due", "delivered_at", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64))
    backchannel_logout_uri: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(255))
    sid: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
