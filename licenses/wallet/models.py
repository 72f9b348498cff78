"""Tables of the wallet: presentations held behind a one-time online QR link."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from licenses.models import Base


class HeldPresentation(Base):
    """A presentation a citizen made, kept for a few minutes: its QR images are drawn from
    it until ``shown_until``, and a verifier fetches it at most once through ``/p/<link>``
    before ``expires_at``. The link is a bearer secret: only its keyed digest is stored;
    the presentation and the link (they carry the disclosed fields) are encrypted, with
    AAD = the row id."""

    __tablename__ = "licenses_wallet_presentation"
    __table_args__ = (Index("ix_licenses_wallet_presentation_shown_until", "shown_until"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    link_digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: The presenting citizen (``citizen:<keyed digest>``, as in the audit log).
    holder_ref: Mapped[str] = mapped_column(String(200))
    license_identifier: Mapped[str] = mapped_column(String(128))
    presentation_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    online_url_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The online link works until then (``GOVWALLET_WALLET_ONLINE_QR_SECONDS``).
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The key-binding JWT is accepted until then; the images are served until then too.
    shown_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
