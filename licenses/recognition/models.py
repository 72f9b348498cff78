"""Tables of the service-item catalogue and the mutual-recognition rules.

Agencies, regions and license types are named by their national codes (credit
code, GB/T 2260 region code, license type code), never by foreign keys into the
registry, so recognition stands apart from issuance.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licenses.models import Base


class Material(Base):
    """A required material (申请材料): satisfied by one of ``license_types``, or paper only."""

    __tablename__ = "licenses_material"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    #: License type codes that can stand in for it; empty means "paper only".
    license_types: Mapped[list[str]] = mapped_column(JSON)

    @property
    def paper_only(self) -> bool:
        return not self.license_types


class ServiceItem(Base):
    """A coded government service item (政务服务事项) and the materials it requires."""

    __tablename__ = "licenses_service_item"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    #: The handling agency's credit code, or ``None`` when every agency of the region handles it.
    handler_credit_code: Mapped[str | None] = mapped_column(String(18))
    handler_region: Mapped[str] = mapped_column(String(6))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    requirements: Mapped[list[ServiceItemMaterial]] = relationship(
        order_by="ServiceItemMaterial.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def materials(self) -> list[Material]:
        return [requirement.material for requirement in self.requirements]


class ServiceItemMaterial(Base):
    __tablename__ = "licenses_service_item_material"

    service_item_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("licenses_service_item.id", ondelete="CASCADE"), primary_key=True
    )
    material_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("licenses_material.id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)

    material: Mapped[Material] = relationship(lazy="joined")


class RecognitionRule(Base):
    """A verifier (one agency, or all agencies of a region) accepts ``license_type``,
    issued by agencies of ``issuer_regions`` or by ``issuer_credit_codes``, as
    satisfying ``material_code``."""

    __tablename__ = "licenses_recognition_rule"
    __table_args__ = (Index("ix_licenses_recognition_rule_license_type", "license_type"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    verifier_credit_code: Mapped[str | None] = mapped_column(String(18))
    verifier_region: Mapped[str | None] = mapped_column(String(6))
    license_type: Mapped[str] = mapped_column(String(21))
    material_code: Mapped[str] = mapped_column(String(64))
    issuer_regions: Mapped[list[str]] = mapped_column(JSON)
    issuer_credit_codes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
