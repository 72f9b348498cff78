"""Pydantic schemas of the account API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CitizenCreate(BaseModel):
    """Registration: the identity number is checked against GB 11643-1999 by the service."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(max_length=64, description="Resident identity number (18 characters)")
    name: str = Field(max_length=200, description="Name as on the identity card")
    password: str = Field(max_length=1024, repr=False)
    phone: str | None = Field(default=None, max_length=32, description="Mainland mobile number")


class CitizenCreated(BaseModel):
    #: The public subject identifier.
    sub: str
    #: Level of assurance: 2 when the population register confirmed number and name, else 1.
    loa: int
