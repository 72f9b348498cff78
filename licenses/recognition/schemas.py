"""Inputs and results of recognition and the service-item catalogue (pydantic)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_CODE = r"^[0-9A-Z][0-9A-Z-]{1,63}$"


class LocalisedName(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)


class MaterialIn(BaseModel):
    """A catalogue material; an empty ``license_types`` means "paper only"."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=_CODE)
    name: LocalisedName
    license_types: list[str] = Field(default_factory=list, max_length=20)


class Handler(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str
    credit_code: str | None = None


class ServiceItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=_CODE)
    name: LocalisedName
    handler: Handler
    materials: list[str] = Field(min_length=1, max_length=50)


class CatalogueIn(BaseModel):
    """The shape of ``licenses/data/service_items.json``."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    materials: list[MaterialIn] = Field(default_factory=list)
    service_items: list[ServiceItemIn] = Field(default_factory=list)


class CatalogueSummary(BaseModel):
    materials: int
    service_items: int


class RuleCreate(BaseModel):
    """A verifier (``verifier_credit_code`` or ``verifier_region``, exactly one) accepts
    ``license_type`` issued by ``issuer_regions`` or ``issuer_credit_codes`` as
    ``material_code``."""

    model_config = ConfigDict(extra="forbid")

    verifier_credit_code: str | None = None
    verifier_region: str | None = None
    license_type: str
    material_code: str = Field(max_length=64)
    issuer_regions: list[str] = Field(default_factory=list, max_length=100)
    issuer_credit_codes: list[str] = Field(default_factory=list, max_length=100)


class RulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    verifier_credit_code: str | None
    verifier_region: str | None
    license_type: str
    material_code: str
    issuer_regions: list[str]
    issuer_credit_codes: list[str]
    created_by: str
    created_at: datetime


class Material(BaseModel):
    """A material as the verification result shows it: what the license stands in for."""

    code: str
    name_zh: str
    name_en: str
    license_types: list[str]
    paper_only: bool
    #: The verifier's service items that require it.
    service_items: list[str] = Field(default_factory=list)


class ServiceItemPublic(BaseModel):
    code: str
    name: LocalisedName
    handler: Handler
    materials: list[Material]


class HeldLicense(BaseModel):
    """A license the citizen holds, by type and issuer (no field values needed)."""

    model_config = ConfigDict(extra="forbid")

    license_type: str
    issuer_credit_code: str
    issuer_region: str
    identifier: str | None = Field(default=None, max_length=128)


Outcome = Literal["electronic", "not-held", "not-recognised", "paper-only"]


class MaterialOutcome(BaseModel):
    code: str
    name_zh: str
    name_en: str
    outcome: Outcome
    accepted_license_types: list[str]
    satisfied_by: HeldLicense | None = None


class PaperReport(BaseModel):
    """Which materials of a service item a citizen's licenses satisfy electronically."""

    service_item: str
    name_zh: str
    name_en: str
    materials: list[MaterialOutcome]
    total: int
    electronic: int
    paper: int
    #: ``electronic / total``: the share of paper copies the citizen no longer hands in.
    paper_avoided_share: float
