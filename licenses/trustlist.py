"""The signed trust list: every issuing agency, its keys, region and authorised license types.

A JWT (``typ`` ``trustlist+jwt``) signed by the platform's ES256 provider key, so a
verifier that holds the platform JWKS can check credentials offline. Its payload::

    {"iss": PLATFORM, "iat": ..., "exp": ...,
     "agencies": [{"id", "name", "credit_code", "region_code", "iss",
                   "license_types": [TYPE_CODE, ...], "jwks": {"keys": [...]}}]}

``jwks`` holds the agency's next, active and retired public keys, so licenses signed
before a rotation stay verifiable. The shape follows the spirit of ETSI TS 119 612
trusted lists, in JSON, with JOSE signatures (see docs/license-credential.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from keys.compact_json import json_bytes
from licenses.errors import TrustListError, TrustListExpired
from licenses.jose import (
    ES256,
    TokenSigner,
    from_numeric_date,
    is_numeric_date,
    numeric_date,
    verify_platform_jwt,
)

TRUST_LIST_TYP = "trustlist+jwt"
CLOCK_SKEW = timedelta(seconds=60)


def agency_issuer(platform_issuer: str, credit_code: str) -> str:
    """The credential ``iss`` of an agency: ``{platform issuer}/agencies/{credit code}``."""
    return f"{platform_issuer.rstrip('/')}/agencies/{credit_code}"


@dataclass(frozen=True, slots=True)
class AgencyEntry:
    """One agency as the trust list publishes it (public data only)."""

    id: str
    name: str
    credit_code: str
    region_code: str
    iss: str
    license_types: tuple[str, ...]
    jwks: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "credit_code": self.credit_code,
            "region_code": self.region_code,
            "iss": self.iss,
            "license_types": list(self.license_types),
            "jwks": self.jwks,
        }

    def summary(self) -> dict[str, Any]:
        """What a verification result shows about the issuer (no keys)."""
        return {k: v for k, v in self.as_dict().items() if k != "jwks"}

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(k["kid"] for k in self.jwks.get("keys", []) if isinstance(k, dict))

    @classmethod
    def from_dict(cls, data: Any) -> AgencyEntry:
        if not isinstance(data, Mapping):
            raise TrustListError("a trust-list agency entry is not a JSON object")
        strings = ("id", "name", "credit_code", "region_code", "iss")
        for name in strings:
            if not isinstance(data.get(name), str) or not data[name]:
                raise TrustListError(f"a trust-list agency entry has no {name!r}")
        types = data.get("license_types")
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise TrustListError(f"agency {data['id']}: license_types must be a list of codes")
        jwks = data.get("jwks")
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list) or not all(
            isinstance(k, dict) and isinstance(k.get("kid"), str) and "d" not in k for k in keys
        ):
            raise TrustListError(f"agency {data['id']}: jwks must be a public JWK Set with kids")
        return cls(
            id=data["id"],
            name=data["name"],
            credit_code=data["credit_code"],
            region_code=data["region_code"],
            iss=data["iss"],
            license_types=tuple(types),
            jwks={"keys": list(keys)},
        )


class TrustList:
    """A verified trust list with lookups by credential ``iss`` and by key ``kid``."""

    __slots__ = (
        "_by_iss",
        "_by_kid",
        "_dates",
        "agencies",
        "expires_at",
        "issued_at",
        "issuer",
        "token",
    )

    def __init__(
        self,
        *,
        issuer: str,
        agencies: Sequence[AgencyEntry],
        issued_at: datetime,
        expires_at: datetime | None,
        token: str | None = None,
    ) -> None:
        """``token`` is the signed list this was verified from; ``None`` for the registry's
        own view of its records, which it never needs to sign and re-check."""
        self.issuer = issuer
        self.agencies = tuple(agencies)
        self.issued_at = issued_at
        self.expires_at = expires_at
        self.token = token
        #: Every verification reports these two; written out once.
        self._dates = (issued_at.isoformat(), expires_at.isoformat() if expires_at else None)
        self._by_iss: dict[str, AgencyEntry] = {}
        self._by_kid: dict[str, tuple[AgencyEntry, dict[str, Any]]] = {}
        for agency in self.agencies:
            if agency.iss in self._by_iss:
                raise TrustListError(f"two agencies share the issuer {agency.iss}")
            self._by_iss[agency.iss] = agency
            for jwk in agency.jwks["keys"]:
                if jwk["kid"] in self._by_kid:
                    raise TrustListError(f"two agencies publish the key {jwk['kid']}")
                self._by_kid[jwk["kid"]] = (agency, jwk)

    def by_iss(self, iss: str) -> AgencyEntry | None:
        return self._by_iss.get(iss)

    def by_kid(self, kid: str) -> tuple[AgencyEntry, dict[str, Any]] | None:
        return self._by_kid.get(kid)

    def age(self, now: datetime) -> timedelta:
        return now - self.issued_at

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def freshness(self, now: datetime) -> dict[str, Any]:
        """When it was issued and expires, its age and whether it has expired (JSON)."""
        issued_at, expires_at = self._dates
        return {
            "issued_at": issued_at,
            "expires_at": expires_at,
            "age_seconds": int(self.age(now).total_seconds()),
            "expired": self.is_expired(now),
        }

    def __repr__(self) -> str:
        return f"TrustList(issuer={self.issuer!r}, agencies={len(self.agencies)})"


def build_trust_list(
    *,
    signer: TokenSigner,
    iss: str,
    agencies: Sequence[AgencyEntry],
    iat: datetime,
    exp: datetime,
) -> str:
    """Sign the trust list with the platform's ES256 key."""
    if signer.alg != ES256:
        raise TrustListError(f"the trust list is signed with {ES256}, not {signer.alg}")
    payload = {
        "iss": iss,
        "iat": numeric_date(iat),
        "exp": numeric_date(exp),
        "agencies": [agency.as_dict() for agency in agencies],
    }
    return signer.sign_compact(header={"typ": TRUST_LIST_TYP}, payload=json_bytes(payload))


def verify_trust_list(
    *,
    token: str,
    jwks: Mapping[str, Any],
    expected_iss: str,
    now: datetime,
    allow_expired: bool = False,
) -> TrustList:
    """Check the signature (platform JWKS), ``typ``, ``iss`` and dates; parse every entry.

    ``allow_expired=True`` keeps an expired copy usable so that the verification result
    can say how old it is; :func:`licenses.verification.verify_presentation` then fails
    ``issuer_trusted``.
    """
    claims = verify_platform_jwt(
        token, typ=TRUST_LIST_TYP, jwks=jwks, error=TrustListError, what="trust list"
    )
    if claims.get("iss") != expected_iss:
        raise TrustListError("the trust list was issued by another platform (iss mismatch)")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not is_numeric_date(iat) or not is_numeric_date(exp):
        raise TrustListError("the trust list needs NumericDate iat and exp")
    issued_at, expires_at = from_numeric_date(iat), from_numeric_date(exp)
    if issued_at > now + CLOCK_SKEW:
        raise TrustListError("the trust list is dated in the future")
    if expires_at <= now and not allow_expired:
        raise TrustListExpired(f"the trust list expired at {expires_at.isoformat()}")
    entries = claims.get("agencies")
    if not isinstance(entries, list):
        raise TrustListError("the trust list has no agencies array")
    return TrustList(
        issuer=expected_iss,
        agencies=[AgencyEntry.from_dict(entry) for entry in entries],
        issued_at=issued_at,
        expires_at=expires_at,
        token=token,
    )
