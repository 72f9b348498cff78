"""SQLAlchemy models of the identity package (its own MetaData).

Privacy (ARCHITECTURE.md, "Privacy and data minimisation"): identity numbers and
phone numbers are stored only encrypted (``FieldCipher``) beside a keyed digest
(``KeyedDigest``) used for lookups; never in plaintext. TOTP seeds are encrypted;
recovery codes are stored as keyed digests only.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from keys.models import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


class LevelOfAssurance(enum.IntEnum):
    """Levels of assurance, published as ``acr`` values ``urn:govwallet:loa:N``."""

    #: Self-asserted: the number passed GB 11643 but the register did not confirm the name.
    SELF_ASSERTED = 1
    #: Real name verified: number and name match the population register.
    REAL_NAME = 2
    #: Real name verified and a second factor used in this authentication (never stored).
    REAL_NAME_SECOND_FACTOR = 3


class Citizen(Base):
    """A citizen's account, keyed by the resident identity number."""

    __tablename__ = "identity_citizen"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: The public subject identifier (``sub`` for clients registered for public subjects).
    subject: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``KeyedDigest(master, "id-number")`` of the normalised number, for lookups.
    id_number_digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``FieldCipher(master, "id-number")`` ciphertext, AAD = the citizen's ``subject``.
    id_number_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(100))
    #: ``KeyedDigest(master, "phone")`` of the normalised phone number, for login by phone.
    phone_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Argon2id PHC string.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: 1 (self-asserted) or 2 (real name verified); 3 is reached per login with a second factor.
    loa: Mapped[int] = mapped_column(Integer)
    real_name_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: ``FieldCipher(master, "totp")`` ciphertext of the base32 seed; set at enrolment start.
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Set when the citizen confirmed enrolment with a first code; TOTP is required from then.
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The RFC 6238 time step of the last accepted code: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="citizen", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    def __repr__(self) -> str:
        return f"Citizen(subject={self.subject!r}, loa={self.loa})"


class RecoveryCode(Base):
    """A one-time recovery code, stored as a keyed digest; ``used_at`` set on use."""

    __tablename__ = "identity_recovery_code"
    __table_args__ = (Index("ix_identity_recovery_code_citizen_id", "citizen_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    citizen_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identity_citizen.id", ondelete="CASCADE")
    )
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    citizen: Mapped[Citizen] = relationship(back_populates="recovery_codes")


class RegisterEntry(Base):
    """A row of the local population register: who exists under which name."""

    __tablename__ = "identity_register_entry"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    id_number_digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: AAD = ``id_number_digest``.
    id_number_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return "RegisterEntry(<redacted>)"


class ThrottleScope(enum.StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


class LoginThrottle(Base):
    """Failed-login counter for one account or one client address.

    Kept in the database, not in process memory, so every app node behind the load
    balancer sees the same counts. ``key_digest`` is a keyed digest of the username
    (identity number or phone, as typed and normalised) or of the client address, so
    the table neither stores nor reveals who tried to log in.
    """

    __tablename__ = "identity_login_throttle"
    __table_args__ = (
        UniqueConstraint("scope", "key_digest", name="uq_identity_login_throttle_scope_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    scope: Mapped[str] = mapped_column(String(16))
    key_digest: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
