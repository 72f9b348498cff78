"""Token Status List: 2 bits per license, compressed, signed by the platform.

draft-ietf-oauth-status-list — https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/

A credential carries ``"status": {"status_list": {"idx": n, "uri": URI}}``; the list at
URI is a JWT (``typ`` ``statuslist+jwt``) whose ``status_list`` claim holds the packed,
zlib-compressed, base64url-encoded statuses. Entry values: 0 VALID, 1 INVALID (revoked,
cancelled, withdrawn), 2 SUSPENDED; 3 is application-specific and unused here.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from keys.compact_json import json_bytes
from licenses.errors import StatusIndexOutOfRange, StatusListError, StatusListExpired
from licenses.jose import (
    ES256,
    TokenSigner,
    b64url_decode,
    b64url_encode,
    from_numeric_date,
    is_numeric_date,
    numeric_date,
    verify_platform_jwt,
)

#: §5.1: "The JWT MUST contain the typ (type) Header Parameter with the value
#: statuslist+jwt".
STATUS_LIST_TYP = "statuslist+jwt"
#: §4.1: bits "MUST be one of 1, 2, 4, 8"; govwallet uses 2.
ALLOWED_BITS = (1, 2, 4, 8)
BITS = 2
#: A decompressed list larger than this is refused (a compression bomb, not a registry).
MAX_LIST_BYTES = 16 * 1024 * 1024
#: Leeway for a status list dated slightly in the future by another clock.
CLOCK_SKEW = timedelta(seconds=60)


class Status(IntEnum):
    """§7.1 Status Types."""

    VALID = 0
    INVALID = 1
    SUSPENDED = 2
    APPLICATION_SPECIFIC = 3


#: The named types by value (an ``Enum`` call costs a microsecond a lookup).
_BY_VALUE: tuple[Status, ...] = tuple(sorted(Status))
#: §7.1: "The Status Type value 0x03 and Status Type values in the range 0x0B until 0x0F
#: are permanently reserved as application specific."
_APPLICATION_SPECIFIC = frozenset({0x03, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F})


class StatusList:
    """The byte array of §4.1, index 0 in the least significant bits of byte 0."""

    __slots__ = ("_data", "bits")

    def __init__(self, *, bits: int = BITS, size: int = 0) -> None:
        if bits not in ALLOWED_BITS:
            raise StatusListError(f"bits must be one of {ALLOWED_BITS}, not {bits}")
        if size < 0:
            raise StatusListError("a status list cannot have a negative size")
        self.bits = bits
        self._data = bytearray(self._bytes_for(size))

    def _bytes_for(self, size: int) -> int:
        return (size * self.bits + 7) // 8

    @property
    def size(self) -> int:
        """How many entries the list holds (its byte length times entries per byte)."""
        return len(self._data) * 8 // self.bits

    def get(self, idx: int) -> int:
        if not 0 <= idx < self.size:
            raise StatusIndexOutOfRange(f"index {idx} is outside the list of {self.size} entries")
        byte, shift = divmod(idx * self.bits, 8)
        return (self._data[byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, idx: int, value: int) -> None:
        """Set entry ``idx``; the list grows to hold it (new entries are VALID)."""
        if idx < 0:
            raise StatusIndexOutOfRange("a status index cannot be negative")
        if not 0 <= value < (1 << self.bits):
            raise StatusListError(f"status {value} does not fit in {self.bits} bits")
        needed = self._bytes_for(idx + 1)
        if needed > len(self._data):
            self._data.extend(bytes(needed - len(self._data)))
        byte, shift = divmod(idx * self.bits, 8)
        mask = ((1 << self.bits) - 1) << shift
        self._data[byte] = (self._data[byte] & ~mask) | (value << shift)

    def to_bytes(self) -> bytes:
        return bytes(self._data)

    @classmethod
    def from_bytes(cls, data: bytes, *, bits: int = BITS) -> StatusList:
        status_list = cls(bits=bits)
        status_list._data = bytearray(data)
        return status_list

    def encode(self) -> dict[str, Any]:
        """§4.2 JSON form: ``{"bits": 2, "lst": base64url(zlib(bytes))}``.

        §4.1: "The byte array ... MUST be compressed using DEFLATE [RFC1951] with the
        ZLIB [RFC1950] data format. Implementations are RECOMMENDED to use the highest
        compression level available."
        """
        compressed = zlib.compress(self.to_bytes(), level=9)
        return {"bits": self.bits, "lst": b64url_encode(compressed)}

    @classmethod
    def decode(cls, claim: Any) -> StatusList:
        """Parse the JSON ``status_list`` object (§4.2)."""
        if not isinstance(claim, Mapping):
            raise StatusListError("status_list must be a JSON object")
        bits, lst = claim.get("bits"), claim.get("lst")
        if bits not in ALLOWED_BITS or isinstance(bits, bool):
            raise StatusListError(f"status_list.bits must be one of {ALLOWED_BITS}")
        if not isinstance(lst, str):
            raise StatusListError("status_list.lst must be a base64url string")
        try:
            inflater = zlib.decompressobj()
            data = inflater.decompress(b64url_decode(lst), MAX_LIST_BYTES)
            if inflater.unconsumed_tail:
                raise StatusListError("the status list is larger than this verifier accepts")
            if not inflater.eof:
                raise StatusListError("status_list.lst is truncated")
        except (ValueError, zlib.error):
            raise StatusListError("status_list.lst is not base64url zlib data") from None
        return cls.from_bytes(data, bits=bits)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return self.bits == other.bits and self._data == other._data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StatusList(bits={self.bits}, size={self.size})"


def status_claim(*, uri: str, idx: int) -> dict[str, Any]:
    """§6.2/§6.3 the Referenced Token's ``status`` claim."""
    return {"status_list": {"idx": idx, "uri": uri}}


def status_reference(claims: Mapping[str, Any]) -> tuple[str, int]:
    """``(uri, idx)`` from a verified credential's ``status`` claim."""
    status = claims.get("status")
    reference = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(reference, Mapping):
        raise StatusListError("the credential has no status_list reference")
    uri, idx = reference.get("uri"), reference.get("idx")
    #: §6.2: idx "REQUIRED. ... a non-negative Integer"; uri "REQUIRED ... a String".
    if not isinstance(uri, str) or not uri or not is_numeric_date(idx):
        raise StatusListError("the credential's status_list reference needs a uri and an idx")
    return uri, idx


def build_status_list_token(
    *,
    signer: TokenSigner,
    sub: str,
    status_list: StatusList,
    iat: datetime,
    exp: datetime | None,
    ttl: timedelta | None,
) -> str:
    """§5.1 Status List Token in JWT format, signed by the platform's ES256 key."""
    if signer.alg != ES256:
        raise StatusListError(f"status lists are signed with {ES256}, not {signer.alg}")
    #: §5.1: sub "REQUIRED ... MUST specify the URI of the Status List Token"; iat REQUIRED.
    claims: dict[str, Any] = {"sub": sub, "iat": numeric_date(iat)}
    if exp is not None:
        claims["exp"] = numeric_date(exp)
    if ttl is not None:
        #: ttl "MUST be a positive number".
        if ttl.total_seconds() < 1:
            raise StatusListError("ttl must be at least one second")
        claims["ttl"] = int(ttl.total_seconds())
    claims["status_list"] = status_list.encode()
    return signer.sign_compact(header={"typ": STATUS_LIST_TYP}, payload=json_bytes(claims))


@dataclass(frozen=True, slots=True)
class VerifiedStatusList:
    """A Status List Token whose signature, ``typ`` and ``sub`` have been checked."""

    uri: str
    status_list: StatusList
    issued_at: datetime
    expires_at: datetime | None
    ttl: timedelta | None
    token: str
    #: Every verification reports these two; written out once.
    _dates: tuple[str, str | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        expires_at = self.expires_at.isoformat() if self.expires_at else None
        object.__setattr__(self, "_dates", (self.issued_at.isoformat(), expires_at))

    def age(self, now: datetime) -> timedelta:
        return now - self.issued_at

    def freshness(self, now: datetime) -> dict[str, Any]:
        """When it was issued and expires, its age, and whether it is stale (past its
        ``ttl``) or expired (JSON)."""
        issued_at, expires_at = self._dates
        return {
            "issued_at": issued_at,
            "expires_at": expires_at,
            "age_seconds": int(self.age(now).total_seconds()),
            "stale": self.is_stale(now),
            "expired": self.is_expired(now),
        }

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def is_stale(self, now: datetime) -> bool:
        """Past its ``ttl``: §13.7 says a fresh copy SHOULD be fetched."""
        return self.ttl is not None and self.issued_at + self.ttl <= now

    def value(self, idx: int) -> int:
        """The entry as it is in the list (``bits`` wide)."""
        return self.status_list.get(idx)

    def status(self, idx: int) -> Status:
        """The entry's §7.1 Status Type; raises ``StatusListError`` for a reserved value.

        0x03 and 0x0B-0x0F are application-specific, govwallet defines none of them:
        each is ``APPLICATION_SPECIFIC``. A list of 4 or 8 bits can hold any other value,
        which §7.1 reserves for types registered later.
        """
        value = self.status_list.get(idx)
        if value < len(_BY_VALUE):
            return _BY_VALUE[value]
        if value in _APPLICATION_SPECIFIC:
            return Status.APPLICATION_SPECIFIC
        raise StatusListError(
            f"the status list holds the reserved value {value:#04x} for the license; "
            "this verifier does not know what it means"
        )


def verify_status_list_token(
    *,
    token: str,
    jwks: Mapping[str, Any],
    expected_sub: str,
    now: datetime,
    allow_expired: bool = False,
) -> VerifiedStatusList:
    """§8.3 validation of a Status List Token against the platform's JWK Set.

    ``allow_expired=True`` is for caches that keep an expired list to report how stale
    it is; :func:`licenses.verification.verify_presentation` fails the status check of
    a credential whose list has expired.
    """
    claims = verify_platform_jwt(
        token, typ=STATUS_LIST_TYP, jwks=jwks, error=StatusListError, what="status list"
    )
    #: §8.3 step 4: "the sub claim ... MUST be equal to the uri claim" of the reference.
    if claims.get("sub") != expected_sub:
        raise StatusListError("the status list token is for another URI (sub mismatch)")
    iat, exp, ttl = claims.get("iat"), claims.get("exp"), claims.get("ttl")
    if not is_numeric_date(iat):
        raise StatusListError("the status list token has no valid iat")
    issued_at = from_numeric_date(iat)
    if issued_at > now + CLOCK_SKEW:
        raise StatusListError("the status list token is dated in the future")
    if exp is not None and not is_numeric_date(exp):
        raise StatusListError("the status list token's exp is not a NumericDate")
    if ttl is not None and (not is_numeric_date(ttl) or ttl == 0):
        raise StatusListError("the status list token's ttl must be a positive number")
    expires_at = from_numeric_date(exp) if exp is not None else None
    #: §8.3 step 3: "If the exp claim is present, the time ... MUST be in the future".
    if expires_at is not None and expires_at <= now and not allow_expired:
        raise StatusListExpired(f"the status list expired at {expires_at.isoformat()}")
    return VerifiedStatusList(
        uri=expected_sub,
        status_list=StatusList.decode(claims.get("status_list")),
        issued_at=issued_at,
        expires_at=expires_at,
        ttl=timedelta(seconds=ttl) if ttl is not None else None,
        token=token,
    )
