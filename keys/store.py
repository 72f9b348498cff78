"""The encrypted key store: generation, life cycle, JWKS and signing.

Life cycle per (owner, algorithm)::

    next ──rotate──▶ active ──rotate──▶ retired ──prune (after retain_until)──▶ removed

There is always one ``next`` key published before it signs, so relying parties
that cache a JWKS already hold the key that will sign tomorrow. Retired keys stay
published until every token they signed has expired (``retain_until``).

Private keys are wrapped with AES-256-GCM (:mod:`keys.secrets`) before they touch
the database. Signing does not unwrap on every call: decrypted keys are cached in
memory by ``kid`` (a kid's key never changes), and which kid is *active* for an
owner is cached for a short time and dropped at once on a local rotation.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from joserfc import jws
from sqlalchemy import select
from sqlalchemy.orm import Session

from keys.compact_json import json_bytes
from keys.errors import NoActiveKey, UnknownKey
from keys.generation import JoseKey, generate_private_der, load_jose_key, public_jwk
from keys.interfaces import KeyWrapper
from keys.models import KeyState, SigningKey

Clock = Callable[[], datetime]
PUBLISHED_STATES = (KeyState.NEXT.value, KeyState.ACTIVE.value, KeyState.RETIRED.value)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a key: never private material."""

    owner: str
    kid: str
    alg: str
    state: str
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None
    retain_until: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "kid": self.kid,
            "alg": self.alg,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "activated_at": self.activated_at.isoformat() if self.activated_at else None,
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "retain_until": self.retain_until.isoformat() if self.retain_until else None,
        }


class Signer:
    """Signs with one active key. Obtained from :meth:`KeyStore.signer`.

    joserfc makes every signature (its registry's algorithm, with its key object); the
    JWS compact serialization around it (RFC 7515 §7.1: ``BASE64URL(header) '.'
    BASE64URL(payload) '.' BASE64URL(signature)``) is assembled here, with the encoded
    header kept per header: joserfc's general ``serialize_compact`` spent twice as long
    around an ES256 signature as the signature itself (bench scenario 2).
    """

    __slots__ = ("_algorithm", "_key", "alg", "kid")

    def __init__(self, *, kid: str, alg: str, key: JoseKey) -> None:
        self.kid = kid
        self.alg = alg
        self._key = key
        self._algorithm = _signing_algorithm(alg)

    def sign_compact(self, *, header: dict[str, Any], payload: bytes) -> str:
        """A JWS compact serialization; ``alg`` and ``kid`` are set here."""
        return self._serialize({**header, "alg": self.alg, "kid": self.kid}, payload)

    def sign_jwt(self, claims: dict[str, Any], *, header: dict[str, Any] | None = None) -> str:
        protected = {"typ": "JWT", **(header or {}), "alg": self.alg, "kid": self.kid}
        return self._serialize(protected, json_bytes(claims))

    def _serialize(self, protected: dict[str, Any], payload: bytes) -> str:
        signing_input = self._encoded_header(protected) + b"." + _b64url(payload)
        signature = self._algorithm.sign(signing_input, self._key)
        return (signing_input + b"." + _b64url(signature)).decode("ascii")

    def _encoded_header(self, protected: dict[str, Any]) -> bytes:
        try:
            cache_key: tuple[tuple[str, Any], ...] | None = tuple(protected.items())
            hash(cache_key)
        except TypeError:  # a header with a list or object value: not kept
            cache_key = None
        if cache_key is not None:
            encoded = _ENCODED_HEADERS.get(cache_key)
            if encoded is not None:
                return encoded
        encoded = _b64url(json_bytes(protected))
        if cache_key is not None and len(_ENCODED_HEADERS) < _HEADER_CACHE_SIZE:
            _ENCODED_HEADERS[cache_key] = encoded
        return encoded

    def __repr__(self) -> str:
        return f"Signer(kid={self.kid!r}, alg={self.alg!r})"


#: Encoded protected headers by their items (``kid`` included); a few per key in use.
_HEADER_CACHE_SIZE = 1024
_ENCODED_HEADERS: dict[tuple[tuple[str, Any], ...], bytes] = {}


@lru_cache(maxsize=16)
def _signing_algorithm(alg: str) -> Any:
    """joserfc's algorithm for ``alg`` from a registry allowing exactly that one (stateless,
    so one per algorithm serves every signer)."""
    return jws.JWSRegistry(algorithms=[alg]).get_alg(alg)


def _b64url(data: bytes) -> bytes:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


class KeyStore:
    """Generates, wraps, rotates, publishes and signs with keys of named owners.

    Owners are free-form names: ``provider`` for the OpenID provider and the
    platform, ``agency:<id>`` for an issuing agency, ``holder:<id>`` for a
    citizen's wallet key.
    """

    def __init__(
        self,
        *,
        wrapper: KeyWrapper,
        clock: Clock = _utcnow,
        active_cache_seconds: float = 5.0,
        private_cache_size: int = 10_000,
    ) -> None:
        self._wrapper = wrapper
        self._clock = clock
        self._active_ttl = active_cache_seconds
        self._private_cache_size = private_cache_size
        self._lock = threading.Lock()
        self._private: OrderedDict[str, JoseKey] = OrderedDict()
        self._active: dict[tuple[str, str], tuple[str, float]] = {}
        self._jwks: dict[str, tuple[dict[str, Any], float]] = {}

    # -- life cycle ---------------------------------------------------------------

    def ensure(self, session: Session, *, owner: str, alg: str) -> None:
        """Give ``owner`` an active and a next key for ``alg`` if it has none."""
        rows = self._published(session, owner=owner, alg=alg)
        states = {row.state for row in rows}
        if KeyState.ACTIVE.value not in states:
            self._create(session, owner=owner, alg=alg, state=KeyState.ACTIVE)
        if KeyState.NEXT.value not in states:
            self._create(session, owner=owner, alg=alg, state=KeyState.NEXT)
        session.flush()

    def rotate(self, session: Session, *, owner: str, alg: str, retain_for: timedelta) -> KeyInfo:
        """Promote ``next`` to ``active``, retire the old active key, create a new ``next``.

        ``retain_for`` is how long the retired key stays published: at least the
        lifetime of the longest-lived thing it signed. Returns the new active key.
        """
        now = self._clock()
        rows = self._published(session, owner=owner, alg=alg, for_update=True)
        if not rows:
            raise UnknownKey(f"owner {owner!r} has no {alg} keys to rotate")
        for row in rows:
            if row.state == KeyState.ACTIVE.value:
                row.state = KeyState.RETIRED.value
                row.retired_at = now
                row.retain_until = now + retain_for
        nxt = next((r for r in rows if r.state == KeyState.NEXT.value), None)
        if nxt is None:
            nxt = self._create(session, owner=owner, alg=alg, state=KeyState.NEXT)
        nxt.state = KeyState.ACTIVE.value
        nxt.activated_at = now
        self._create(session, owner=owner, alg=alg, state=KeyState.NEXT)
        session.flush()
        self.invalidate(owner)
        return self._info(nxt)

    def prune(self, session: Session) -> list[KeyInfo]:
        """Remove retired keys past ``retain_until``: erase private material, unpublish."""
        now = self._clock()
        rows = session.scalars(
            select(SigningKey).where(SigningKey.state == KeyState.RETIRED.value)
        ).all()
        removed = []
        for row in rows:
            retain_until = _aware(row.retain_until)
            if retain_until is not None and retain_until <= now:
                row.state = KeyState.REMOVED.value
                row.removed_at = now
                row.encrypted_private_key = b""
                removed.append(self._info(row))
                self.invalidate(row.owner, kid=row.kid)
        session.flush()
        return removed

    def list_keys(
        self, session: Session, *, owner: str | None = None, include_removed: bool = False
    ) -> list[KeyInfo]:
        stmt = select(SigningKey).order_by(SigningKey.owner, SigningKey.alg, SigningKey.created_at)
        if owner is not None:
            stmt = stmt.where(SigningKey.owner == owner)
        if not include_removed:
            stmt = stmt.where(SigningKey.state != KeyState.REMOVED.value)
        return [self._info(row) for row in session.scalars(stmt)]

    def has_active(self, session: Session, *, owner: str, alg: str) -> bool:
        return self._active_row(session, owner=owner, alg=alg) is not None

    # -- publication ----------------------------------------------------------------

    def jwks(self, session: Session, *, owner: str) -> dict[str, Any]:
        """The public JWK Set (RFC 7517 §5) of ``owner``: next, active and retired keys."""
        cached = self.cached_jwks(owner)
        if cached is not None:
            return cached
        rows = session.scalars(
            select(SigningKey)
            .where(SigningKey.owner == owner, SigningKey.state.in_(PUBLISHED_STATES))
            .order_by(SigningKey.created_at)
        ).all()
        doc = {"keys": [json.loads(row.public_jwk) for row in rows]}
        with self._lock:
            self._jwks[owner] = (doc, time.monotonic() + self._active_ttl)
        return doc

    def cached_jwks(self, owner: str) -> dict[str, Any] | None:
        """``owner``'s JWK Set if it is cached and fresh (no database access), else None.

        The same object comes back until the cache expires or is invalidated, so callers
        may keep what they derive from it (its serialized bytes) keyed by identity.
        """
        with self._lock:
            cached = self._jwks.get(owner)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
        return None

    def public_jwk(self, session: Session, *, kid: str) -> dict[str, Any]:
        row = session.scalars(select(SigningKey).where(SigningKey.kid == kid)).one_or_none()
        if row is None or row.state == KeyState.REMOVED.value:
            raise UnknownKey(f"no published key with kid {kid!r}")
        return dict(json.loads(row.public_jwk))

    # -- signing --------------------------------------------------------------------

    def signer(self, session: Session | Callable[[], Session], *, owner: str, alg: str) -> Signer:
        """A :class:`Signer` for ``owner``'s active ``alg`` key (cached; no unwrap per call).

        ``session`` may be a callable that opens one: it is called only when the key is not
        cached (the token endpoint then opens no session for ``client_credentials``).
        """
        now = time.monotonic()
        with self._lock:
            hit = self._active.get((owner, alg))
            if hit is not None and hit[1] > now:
                key = self._private.get(hit[0])
                if key is not None:
                    self._private.move_to_end(hit[0])
                    return Signer(kid=hit[0], alg=alg, key=key)
        if callable(session):
            session = session()
        row = self._active_row(session, owner=owner, alg=alg)
        if row is None:
            raise NoActiveKey(f"owner {owner!r} has no active {alg} key")
        key = self._unwrap(row)
        with self._lock:
            self._active[(owner, alg)] = (row.kid, now + self._active_ttl)
        return Signer(kid=row.kid, alg=alg, key=key)

    def invalidate(self, owner: str, *, kid: str | None = None) -> None:
        """Forget what is cached for ``owner`` (called on rotation and removal)."""
        with self._lock:
            for cache_key in [k for k in self._active if k[0] == owner]:
                del self._active[cache_key]
            self._jwks.pop(owner, None)
            if kid is not None:
                self._private.pop(kid, None)

    # -- internals ------------------------------------------------------------------

    @staticmethod
    def _aad(owner: str, kid: str, alg: str) -> bytes:
        return f"govwallet-key|{owner}|{kid}|{alg}".encode()

    def _create(self, session: Session, *, owner: str, alg: str, state: KeyState) -> SigningKey:
        der = generate_private_der(alg)
        key = load_jose_key(alg, der)
        jwk = public_jwk(alg, key)
        now = self._clock()
        row = SigningKey(
            owner=owner,
            kid=jwk["kid"],
            alg=alg,
            state=state.value,
            public_jwk=json.dumps(jwk, sort_keys=True),
            encrypted_private_key=self._wrapper.wrap(der, aad=self._aad(owner, jwk["kid"], alg)),
            wrapping_key_id=self._wrapper.key_id,
            created_at=now,
            activated_at=now if state is KeyState.ACTIVE else None,
        )
        session.add(row)
        return row

    def _published(
        self, session: Session, *, owner: str, alg: str, for_update: bool = False
    ) -> list[SigningKey]:
        stmt = select(SigningKey).where(
            SigningKey.owner == owner,
            SigningKey.alg == alg,
            SigningKey.state.in_(PUBLISHED_STATES),
        )
        if for_update:
            stmt = stmt.with_for_update()
        return list(session.scalars(stmt))

    def _active_row(self, session: Session, *, owner: str, alg: str) -> SigningKey | None:
        return session.scalars(
            select(SigningKey)
            .where(
                SigningKey.owner == owner,
                SigningKey.alg == alg,
                SigningKey.state == KeyState.ACTIVE.value,
            )
            .order_by(SigningKey.activated_at.desc())
            .limit(1)
        ).one_or_none()

    def _unwrap(self, row: SigningKey) -> JoseKey:
        with self._lock:
            cached = self._private.get(row.kid)
            if cached is not None:
                return cached
        der = self._wrapper.unwrap(
            row.encrypted_private_key, aad=self._aad(row.owner, row.kid, row.alg)
        )
        key = load_jose_key(row.alg, der)
        with self._lock:
            self._private[row.kid] = key
            while len(self._private) > self._private_cache_size:
                self._private.popitem(last=False)
        return key

    @staticmethod
    def _info(row: SigningKey) -> KeyInfo:
        return KeyInfo(
            owner=row.owner,
            kid=row.kid,
            alg=row.alg,
            state=row.state,
            created_at=_aware(row.created_at) or _utcnow(),
            activated_at=_aware(row.activated_at),
            retired_at=_aware(row.retired_at),
            retain_until=_aware(row.retain_until),
        )
