"""Population register implementations, chosen by ``settings.population_register``.

- ``local``: the register table (``identity_register_entry``), filled by
  ``govwallet register add`` / ``import`` and by the demo. Numbers are looked up by
  keyed digest and stored only encrypted.
- ``development``: confirms every name for every valid number. It exists so a
  developer can try loa 2 without a register, warns loudly when constructed, and
  settings refuse it in production.
"""

from __future__ import annotations

import unicodedata
import warnings
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.crypto import IdentityCrypto
from identity.errors import RegisterEntryConflict, UnknownPopulationRegister
from identity.interfaces import PopulationRegister
from identity.models import RegisterEntry


def normalise_name(name: str) -> str:
    """NFKC, surrounding whitespace removed, inner runs of whitespace made one space."""
    return " ".join(unicodedata.normalize("NFKC", name).split())


class LocalRegister:
    """The register table in govwallet's own database."""

    name = "local"

    def __init__(self, crypto: IdentityCrypto) -> None:
        self._crypto = crypto

    def confirms(self, session: Session, *, id_number: str, name: str) -> bool:
        entry = self.entry(session, id_number=id_number)
        return entry is not None and entry.name == normalise_name(name)

    def entry(self, session: Session, *, id_number: str) -> RegisterEntry | None:
        digest = self._crypto.id_number_digest.digest(id_number)
        return session.scalar(select(RegisterEntry).where(RegisterEntry.id_number_digest == digest))

    def add(
        self, session: Session, *, id_number: str, name: str, now: datetime | None = None
    ) -> tuple[RegisterEntry, bool]:
        """Add ``id_number`` under ``name``; returns ``(entry, created)``.

        Adding the same number under the same name again changes nothing; under a
        different name it raises :class:`RegisterEntryConflict` (the register is not
        silently rewritten).
        """
        now = now or datetime.now(UTC)
        name = normalise_name(name)
        existing = self.entry(session, id_number=id_number)
        if existing is not None:
            if existing.name != name:
                raise RegisterEntryConflict(
                    "The register already holds this identity number under another name."
                )
            return existing, False
        digest = self._crypto.id_number_digest.digest(id_number)
        entry = RegisterEntry(
            id_number_digest=digest,
            id_number_encrypted=self._crypto.id_number_cipher.encrypt_text(id_number, aad=digest),
            name=name,
            created_at=now,
            updated_at=now,
        )
        session.add(entry)
        session.flush()
        return entry, True


class DevelopmentRegister:
    """Confirms every name: for trying loa 2 on a laptop, never for real citizens."""

    name = "development"

    def __init__(self, crypto: IdentityCrypto | None = None) -> None:
        del crypto
        warnings.warn(
            "development population register: EVERY name is confirmed as real-name verified; "
            "never use it with real citizens (set GOVWALLET_POPULATION_REGISTER=local)",
            DevelopmentRegisterWarning,
            stacklevel=2,
        )

    def confirms(self, session: Session, *, id_number: str, name: str) -> bool:
        del session, id_number
        return bool(normalise_name(name))


class DevelopmentRegisterWarning(UserWarning):
    """The development population register is in use."""


IMPLEMENTATIONS: dict[str, type[LocalRegister] | type[DevelopmentRegister]] = {
    LocalRegister.name: LocalRegister,
    DevelopmentRegister.name: DevelopmentRegister,
}


def population_register(name: str, *, crypto: IdentityCrypto) -> PopulationRegister:
    """The implementation the settings name."""
    try:
        implementation = IMPLEMENTATIONS[name]
    except KeyError:
        raise UnknownPopulationRegister(
            f"unknown population register {name!r}; known: {', '.join(sorted(IMPLEMENTATIONS))}"
        ) from None
    return implementation(crypto)
