"""Agency staff: which citizen accounts act as counter clerks of which agency.

A clerk is named by the citizen's *public subject* (``identity.models.Citizen.subject``,
the ``sub`` govwallet's own pages receive from its provider), never by a foreign key
into ``identity``: the licenses package does not import identity (ARCHITECTURE.md,
dependency direction), and a clerk may be appointed before the account logs in.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from licenses.codes import RegistryError
from licenses.models import Agency, Base

#: A public subject as identity mints it: URL-safe text, at most 64 characters.
_SUBJECT = re.compile(r"[A-Za-z0-9._~-]{1,64}")


class AgencyClerk(Base):
    """One citizen account (by public subject) acting as a clerk of one agency."""

    __tablename__ = "licenses_agency_clerk"
    __table_args__ = (
        UniqueConstraint("agency_id", "subject"),
        Index("ix_licenses_agency_clerk_subject", "subject"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("licenses_agency.id", ondelete="CASCADE")
    )
    #: The citizen's public subject identifier (no foreign key into identity).
    subject: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    agency: Mapped[Agency] = relationship(lazy="joined")


class InvalidClerkSubject(RegistryError):
    code = "invalid-clerk-subject"
    status = 422


class NotAClerk(RegistryError):
    """The logged-in account is not a clerk of any agency (or not of the one asked for)."""

    code = "not-a-clerk"
    status = 403


def _checked_subject(subject: str) -> str:
    subject = subject.strip()
    if not _SUBJECT.fullmatch(subject):
        raise InvalidClerkSubject(
            "subject: a public subject is 1-64 characters of A-Z a-z 0-9 . _ ~ -",
            field="subject",
        )
    return subject


def add_clerk(session: Session, *, agency: Agency, subject: str, now: datetime) -> AgencyClerk:
    """Make the account a clerk of ``agency``; adding an existing clerk again changes nothing."""
    subject = _checked_subject(subject)
    existing = session.scalars(
        select(AgencyClerk).where(
            AgencyClerk.agency_id == agency.id, AgencyClerk.subject == subject
        )
    ).one_or_none()
    if existing is not None:
        return existing
    clerk = AgencyClerk(id=uuid.uuid4(), agency_id=agency.id, subject=subject, added_at=now)
    session.add(clerk)
    session.flush()
    return clerk


def remove_clerk(session: Session, *, agency: Agency, subject: str) -> bool:
    """End the account's clerkship at ``agency``; whether there was one."""
    clerk = session.scalars(
        select(AgencyClerk).where(
            AgencyClerk.agency_id == agency.id, AgencyClerk.subject == _checked_subject(subject)
        )
    ).one_or_none()
    if clerk is None:
        return False
    session.delete(clerk)
    session.flush()
    return True


def clerk_agencies(session: Session, *, subject: str) -> list[Agency]:
    """The agencies the account is a clerk of, in credit-code order."""
    return list(
        session.scalars(
            select(Agency)
            .join(AgencyClerk, AgencyClerk.agency_id == Agency.id)
            .where(AgencyClerk.subject == subject)
            .order_by(Agency.credit_code)
        )
    )


def clerk_agency(session: Session, *, subject: str, agency_ref: str | None = None) -> Agency:
    """The agency the account acts for: the one named (id or credit code), else its first.

    Raises :class:`NotAClerk` when the account is no clerk (of that agency).
    """
    agencies = clerk_agencies(session, subject=subject)
    if agency_ref:
        for agency in agencies:
            if agency_ref in {str(agency.id), agency.credit_code}:
                return agency
        raise NotAClerk("this account is not a clerk of that agency", field="agency")
    if not agencies:
        raise NotAClerk("this account is not a clerk of any agency")
    return agencies[0]


def list_clerks(session: Session, *, agency: Agency) -> list[AgencyClerk]:
    return list(
        session.scalars(
            select(AgencyClerk)
            .where(AgencyClerk.agency_id == agency.id)
            .order_by(AgencyClerk.added_at, AgencyClerk.subject)
        )
    )
