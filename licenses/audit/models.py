"""Tables of the audit log: the entries, the one-row chain head and signed checkpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from licenses.models import Base

#: ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64
#: The primary key of the single chain-head row.
HEAD_ID = 1


class AuditEntry(Base):
    """One entry; ``entry_hash`` covers every other column except ``id``."""

    __tablename__ = "licenses_audit_entry"
    __table_args__ = (
        Index("ix_licenses_audit_entry_subject", "subject"),
        Index("ix_licenses_audit_entry_action", "action"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: 1, 2, 3 … without gaps; unique, so two writers can never both take a number.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    #: Canonical JSON text (sorted keys, no spaces), exactly as hashed.
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain head, one row (``id`` 1): locked by every append to serialise the chain."""

    __tablename__ = "licenses_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditCheckpoint(Base):
    """A signed statement "the chain had ``seq`` entries and ended in ``entry_hash``"."""

    __tablename__ = "licenses_audit_checkpoint"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Compact JWS (ES256, the platform's ``provider`` key) over ``{"seq", "hash", "iat"}``.
    jws: Mapped[str] = mapped_column(Text)
