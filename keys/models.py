"""SQLAlchemy models of the key store (its own MetaData)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, LargeBinary, MetaData, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint naming shared by every package's MetaData, so Alembic diffs are stable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


class KeyState(enum.StrEnum):
    """Life cycle of a signing key.

    ``next`` keys are published but do not sign yet, so verifiers that cache the
    JWKS already know them when they become ``active``. ``retired`` keys no
    longer sign but stay published until ``retain_until``; ``removed`` keys have
    had their private material erased and are no longer published.
    """

    NEXT = "next"
    ACTIVE = "active"
    RETIRED = "retired"
    REMOVED = "removed"


class SigningKey(Base):
    __tablename__ = "keys_signing_key"
    __table_args__ = (Index("ix_keys_signing_key_owner_alg_state", "owner", "alg", "state"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(String(200))
    #: RFC 7638 JWK thumbprint (SHA-256, base64url).
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    #: The public JWK as JSON text (with ``kid``, ``alg`` and ``use``).
    public_jwk: Mapped[str] = mapped_column(String(4000))
    #: AES-256-GCM ciphertext of the PKCS#8 DER private key; empty once removed.
    encrypted_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: Identifies the key-encryption key, so the wrapping secret can be rotated.
    wrapping_key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retain_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
