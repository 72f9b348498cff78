"""What the sharing API answers (pydantic)."""

from __future__ import annotations

from pydantic import BaseModel


class SharedLicensePublic(BaseModel):
    share_id: str
    license_id: str
    license_type: str
    #: The claim paths disclosed (exactly the approved fields the credential carries).
    fields: list[str]
    #: SD-JWT presentation with a key-binding JWT (``aud`` = the client id).
    presentation: str


class SharedLicenses(BaseModel):
    client_id: str
    audience: str
    nonce: str | None
    licenses: list[SharedLicensePublic]
