"""Pydantic schemas of the registry's API: what agencies send and what they receive."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Holder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Resident identity number (GB 11643-1999); holder code type 111.
    id_number: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    #: The holder's wallet key, when known: the credential is bound to it (``cnf``).
    jwk: dict[str, Any] | None = None


class LicenseCreate(BaseModel):
    """``POST /api/v1/licenses``: one license to issue."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=64, description="National license type code.")
    holder: Holder
    fields: dict[str, Any]
    valid_from: date | None = Field(default=None, description="Default: the issue date.")
    valid_until: date | None = Field(
        default=None, description="Default: from the type's validity rule; none = long-term."
    )
    area_code: str = Field(min_length=1, max_length=16, description="GB/T 2260 area code.")
    service_item: str | None = Field(default=None, max_length=64)
    license_number: str | None = Field(
        default=None, max_length=64, description="Number printed on the license; default: serial."
    )


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class Reissue(BaseModel):
    """``POST /api/v1/licenses/{id}/reissue``: a new version, optionally with changes."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)
    fields: dict[str, Any] | None = None
    holder_name: str | None = Field(default=None, min_length=1, max_length=200)
    holder_jwk: dict[str, Any] | None = None
    valid_from: date | None = None
    valid_until: date | None = None


class LicenseBatch(BaseModel):
    """``POST /api/v1/licenses/batch``: up to 500 licenses, each validated like a single one."""

    model_config = ConfigDict(extra="forbid")

    licenses: list[dict[str, Any]] = Field(min_length=1, max_length=500)


class LicenseStatusOut(BaseModel):
    value: str
    reason: str | None = None
    changed_at: str | None = None
    status_list: dict[str, Any]


class LicenseIssued(BaseModel):
    id: str
    credential: str
    status: LicenseStatusOut


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presentation: str | None = Field(default=None, min_length=1, max_length=200_000)
    qr: str | None = Field(default=None, min_length=1, max_length=200_000)
    nonce: str | None = Field(default=None, max_length=500)
    audience: str | None = Field(default=None, max_length=2000)
