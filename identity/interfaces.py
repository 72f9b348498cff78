"""Protocols of the identity package."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session


@runtime_checkable
class PopulationRegister(Protocol):
    """The authority that confirms a real name: does this identity number belong to this name?

    The local register table is the default; a connection to the national population
    register (公安人口库) replaces it without touching the services.
    """

    #: The settings name that selects this implementation.
    name: str

    def confirms(self, session: Session, *, id_number: str, name: str) -> bool:
        """True only when the register holds ``id_number`` under exactly ``name``.

        ``id_number`` has already passed GB 11643-1999 validation and is normalised.
        """
        ...
