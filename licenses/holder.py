"""Holder keys: the key a citizen's licenses are bound to (``cnf``) and that signs the
key-binding JWT of every presentation (RFC 9901 §4.3).

Today the key is held by the service: an ES256 key in ``keys/`` under the owner
``holder:<stable id>``, used only inside a request the citizen made in an authenticated
session (the caller's duty: the wallet routes take it from a portal session or a
``wallet``-scoped access token). The :class:`HolderKey` protocol is the seam for a
device-held key: a mobile wallet that signs on the phone implements the same two
methods (its public JWK, a :class:`licenses.sdjwt.HolderSigner`), and nothing else in
the wallet changes.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from keys import KeyStore
from licenses.sdjwt import HolderSigner

#: RFC 9901 §4.3 key-binding JWTs are signed ES256 in govwallet (docs/license-credential.md).
HOLDER_ALG = "ES256"
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "kid", "alg", "use")


def holder_owner(stable_id: str) -> str:
    """The key-store owner of a citizen's holder key."""
    if not stable_id or len(stable_id) > 180:
        raise ValueError("a holder key needs a stable id of 1 to 180 characters")
    return f"holder:{stable_id}"


class HolderKey(Protocol):
    """What the wallet needs from a holder key, wherever it lives."""

    def public_jwk(self, session: Session) -> dict[str, Any]:
        """The public JWK licenses are bound to (``cnf.jwk``)."""
        ...

    def signer(self, session: Session) -> HolderSigner:
        """Signs key-binding JWTs with the private key matching :meth:`public_jwk`."""
        ...


class ServerHeldKey:
    """A holder key kept encrypted in the key store (``keys/``), created on first use."""

    def __init__(self, *, keystore: KeyStore, stable_id: str) -> None:
        self._keystore = keystore
        self.owner = holder_owner(stable_id)

    def ensure(self, session: Session) -> None:
        """Create the key if the citizen has none (flushes; the caller commits)."""
        self._keystore.ensure(session, owner=self.owner, alg=HOLDER_ALG)

    def public_jwk(self, session: Session) -> dict[str, Any]:
        self.ensure(session)
        kid = self._keystore.signer(session, owner=self.owner, alg=HOLDER_ALG).kid
        jwk = self._keystore.public_jwk(session, kid=kid)
        return {name: jwk[name] for name in _PUBLIC_MEMBERS if name in jwk}

    def signer(self, session: Session) -> HolderSigner:
        self.ensure(session)
        return self._keystore.signer(session, owner=self.owner, alg=HOLDER_ALG)


def same_key(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Two public JWKs name the same EC key (coordinates and curve; metadata ignored)."""
    if not a or not b:
        return False
    return all(a.get(name) == b.get(name) for name in ("kty", "crv", "x", "y"))
