"""SQLAlchemy models of the licenses package (its own MetaData).

The registry never points into ``identity``: a license names its holder by a keyed
digest of the identity number (for lookups) and the number encrypted (for the
credential), so licenses exist before their holder ever logs in.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from keys.models import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata
    #: Every model here maps one table (the bulk writers insert into it directly).
    __table__: ClassVar[Table]


class LicenseStatus(enum.StrEnum):
    """Registry status of a license (ARCHITECTURE.md "license status")."""

    VALID = "valid"
    SUSPENDED = "suspended"
    #: 撤销: set aside, e.g. issued in error, or superseded by a re-issue.
    REVOKED = "revoked"
    #: 注销: ended at the holder's or the agency's request.
    CANCELLED = "cancelled"
    #: 失效: past its validity.
    EXPIRED = "expired"
    #: 吊销: withdrawn as a penalty.
    WITHDRAWN = "withdrawn"


class LicenseType(Base):
    """A catalogue entry: "the same matter has the same code"."""

    __tablename__ = "licenses_license_type"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: National type code: the defining authority's credit code + 3 digits.
    code: Mapped[str] = mapped_column(String(21), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    defining_agency_name: Mapped[str] = mapped_column(String(200))
    defining_agency_code: Mapped[str] = mapped_column(String(18))
    #: JSON Schema (draft 2020-12) of the subject fields.
    subject_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: ``{"years": N}``, ``{"until_age": N}`` or ``{"permanent": true}``.
    validity_rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    retention_years: Mapped[int] = mapped_column(Integer)
    #: ``{"fields": [{"name", "zh", "en"}, …]}``: field order and labels.
    display_template: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Fields a "prove age over 18" presentation may derive its answer from.
    age_over_18_fields: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgencyLicenseType(Base):
    """Which license types an agency is authorised to issue."""

    __tablename__ = "licenses_agency_license_type"

    agency_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("licenses_agency.id", ondelete="CASCADE"), primary_key=True
    )
    license_type_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("licenses_license_type.id"), primary_key=True
    )


class Agency(Base):
    __tablename__ = "licenses_agency"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    #: Unified social credit code, GB 32100-2015.
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    #: GB/T 2260 region code.
    region_code: Mapped[str] = mapped_column(String(6))
    #: The agency's OAuth client-credentials client (identity's client id; no foreign key).
    client_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    license_types: Mapped[list[LicenseType]] = relationship(
        secondary="licenses_agency_license_type", order_by="LicenseType.code", lazy="selectin"
    )

    @property
    def key_owner(self) -> str:
        """The owner name of the agency's signing keys in the key store."""
        return f"{AGENCY_KEY_OWNER_PREFIX}{self.id}"


#: Key-store owner names of agencies' signing keys: this prefix and the agency's id.
AGENCY_KEY_OWNER_PREFIX = "agency:"


class StatusList(Base):
    """One IETF Token Status List (2 bits per entry), served at a stable URL."""

    __tablename__ = "licenses_status_list"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: The stable path segment: ``/api/v1/status-lists/<list_id>``.
    list_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: Uncompressed status bytes (entry ``i`` in bits ``2i``..``2i+1``, least significant first).
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    capacity: Mapped[int] = mapped_column(Integer)
    next_index: Mapped[int] = mapped_column(Integer)
    #: Raised on every change; the HTTP ETag.
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class License(Base):
    """One version of an issued license: directory fields, holder digest and the credential."""

    __tablename__ = "licenses_license"
    __table_args__ = (
        UniqueConstraint("status_list_id", "status_index"),
        UniqueConstraint("issuer_code", "serial", "version"),
        Index("ix_licenses_license_holder_digest", "holder_digest"),
        Index("ix_licenses_license_agency_id_type_code", "agency_id", "type_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    #: GB/T 36904 e-license identifier.
    identifier: Mapped[str] = mapped_column(String(128), unique=True)
    type_code: Mapped[str] = mapped_column(String(21))
    type_name: Mapped[str] = mapped_column(String(200))
    #: The license number printed on the license (证照编号).
    license_number: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("licenses_agency.id"))
    issuer_name: Mapped[str] = mapped_column(String(200))
    issuer_code: Mapped[str] = mapped_column(String(18))
    defining_agency_name: Mapped[str] = mapped_column(String(200))
    holder_name: Mapped[str] = mapped_column(String(200))
    #: 111 = resident identity card.
    holder_code_type: Mapped[str] = mapped_column(String(3))
    #: Keyed digest (HMAC) of the holder's identity number: the only way to look a holder up.
    holder_digest: Mapped[str] = mapped_column(String(64))
    #: The identity number, AES-GCM encrypted (never stored in clear).
    holder_code_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: The subject fields as JSON, AES-GCM encrypted (re-issue needs them).
    fields_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: The holder's wallet key (public JWK) the credential is bound to, if any.
    holder_jwk: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    issue_date: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    #: GB/T 2260 code of the area the license belongs to.
    area_code: Mapped[str] = mapped_column(String(6))
    service_item: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_list_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("licenses_status_list.id"))
    status_index: Mapped[int] = mapped_column(Integer)
    #: The signed SD-JWT VC exactly as issued (issuer-signed JWT and every disclosure).
    credential: Mapped[str] = mapped_column(Text)
    #: The version this one replaced (re-issue).
    previous_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("licenses_license.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    agency: Mapped[Agency] = relationship(lazy="joined")
    status_list: Mapped[StatusList] = relationship(lazy="joined")
    previous: Mapped[License | None] = relationship(remote_side=[id], lazy="select")


class IdempotencyKey(Base):
    """An agency's ``Idempotency-Key``: a retry returns the same license."""

    __tablename__ = "licenses_idempotency_key"
    __table_args__ = (UniqueConstraint("agency_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("licenses_agency.id"))
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the canonical request body: the same key with another body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    license_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("licenses_license.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ImportJob(Base):
    """A bulk import, resumable: the file is named by its digest, progress by its last line."""

    __tablename__ = "licenses_import_job"
    __table_args__ = (UniqueConstraint("agency_id", "file_digest"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("licenses_agency.id"))
    file_digest: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(500))
    total_lines: Mapped[int] = mapped_column(Integer)
    #: Every line up to and including this one is committed (issued or recorded as failed).
    last_line: Mapped[int] = mapped_column(Integer)
    issued: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    #: ``[{"line": N, "field": ..., "detail": ...}, …]`` for the lines that were refused.
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
