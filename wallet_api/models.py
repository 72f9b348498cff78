"""Tables of the application itself (its own MetaData): the portal's relying-party sessions.

The citizen portal (and the verifier page) are relying platforms of govwallet's own
OpenID provider; what they remember about a login lives here, apart from the
provider's SSO sessions (``identity.oidc.models``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, LargeBinary, MetaData, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from keys.models import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata


class PortalSession(Base):
    """One login of a browser at a portal: the tokens the code exchange returned.

    The cookie holds a random value; only its keyed digest is stored. The access and ID
    tokens are bearer secrets: stored encrypted (AES-GCM, AAD = the cookie digest).
    """

    __tablename__ = "portal_session"
    __table_args__ = (Index("ix_portal_session_expires_at", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    cookie_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    #: The provider's SSO session id (``sid`` of the ID token).
    sid: Mapped[str | None] = mapped_column(String(64))
    access_token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    id_token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
