"""Tables of license sharing: what a citizen granted a platform, and every read.

Citizens are named by their public subject (``identity_citizen.subject``) and platforms
by their ``client_id``, never by foreign keys into ``identity``; the authorization code
a grant was bound to is kept as its id, for the token endpoint's lookup.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licenses.models import Base


class SharingGrant(Base):
    """One consent decision: the ``authorization_details`` asked for and granted."""

    __tablename__ = "licenses_sharing_grant"
    __table_args__ = (Index("ix_licenses_sharing_grant_citizen_subject", "citizen_subject"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    citizen_subject: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    #: The authorization code issued with this consent (``oidc_authorization_code.id``).
    code_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    requested: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: RFC 9396 §7: the authorization details as granted (returned with the tokens).
    granted: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    shares: Mapped[list[Share]] = relationship(
        back_populates="grant", order_by="Share.license_type", lazy="selectin"
    )


class Share(Base):
    """One license of a citizen shared with one platform: which fields, since when."""

    __tablename__ = "licenses_share"
    __table_args__ = (
        Index("ix_licenses_share_citizen_subject", "citizen_subject"),
        Index("ix_licenses_share_grant_id", "grant_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    grant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("licenses_sharing_grant.id", ondelete="CASCADE")
    )
    citizen_subject: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    client_name: Mapped[str] = mapped_column(String(200))
    license_identifier: Mapped[str] = mapped_column(String(128))
    license_type: Mapped[str] = mapped_column(String(21))
    fields: Mapped[list[str]] = mapped_column(JSON)
    service_item: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    grant: Mapped[SharingGrant] = relationship(back_populates="shares")
    accesses: Mapped[list[ShareAccess]] = relationship(
        back_populates="share", order_by="ShareAccess.read_at", lazy="selectin"
    )


class ShareAccess(Base):
    """One read of a shared license by the platform (its access history)."""

    __tablename__ = "licenses_share_access"
    __table_args__ = (Index("ix_licenses_share_access_share_id", "share_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    share_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("licenses_share.id", ondelete="CASCADE")
    )
    #: The license version presented (a re-issue keeps the share).
    license_identifier: Mapped[str] = mapped_column(String(128))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    share: Mapped[Share] = relationship(back_populates="accesses")
