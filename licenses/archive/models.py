"""Tables of the archive: which licenses were filed, in which signed package."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from licenses.models import Base


class ArchivePackage(Base):
    """One export: an agency's licenses issued before ``before``, with a signed manifest."""

    __tablename__ = "licenses_archive_package"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    agency_credit_code: Mapped[str] = mapped_column(String(18))
    before: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    license_count: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the signed manifest file, as written.
    manifest_sha256: Mapped[str] = mapped_column(String(64))


class ArchiveFiling(Base):
    """A license version filed to the archive, kept until ``retain_until`` (type's schedule)."""

    __tablename__ = "licenses_archive_filing"
    __table_args__ = (Index("ix_licenses_archive_filing_agency_credit_code", "agency_credit_code"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    license_identifier: Mapped[str] = mapped_column(String(128), unique=True)
    agency_credit_code: Mapped[str] = mapped_column(String(18))
    type_code: Mapped[str] = mapped_column(String(21))
    retention_years: Mapped[int] = mapped_column(Integer)
    retain_until: Mapped[date] = mapped_column(Date)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    package_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("licenses_archive_package.id"))
