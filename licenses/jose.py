"""Small JOSE helpers shared by the credential, status-list and trust-list modules.

Every signature is made and checked by joserfc (one JOSE implementation, see
docs/decisions.md); this module only reads compact serializations *before* they are
verified (the names say so) and picks public keys out of JWK Sets.

- JWS compact serialization, RFC 7515 §7.1 — https://www.rfc-editor.org/rfc/rfc7515#section-7.1
- base64url without padding, RFC 7515 §2 — https://www.rfc-editor.org/rfc/rfc7515#section-2
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey

from licenses.errors import CredentialError

#: The only algorithm credentials, key-binding JWTs, status lists and trust lists use.
ES256 = "ES256"
ALGORITHMS: tuple[str, ...] = (ES256,)

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class TokenSigner(Protocol):
    """What signs credentials, status lists and trust lists: a :class:`keys.Signer`."""

    kid: str
    alg: str

    def sign_compact(self, *, header: dict[str, Any], payload: bytes) -> str: ...


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; raises ``ValueError`` on anything else."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON, the bytes that get signed or disclosed."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def numeric_date(moment: datetime) -> int:
    """RFC 7519 §2 NumericDate: whole seconds since the epoch (aware datetimes only)."""
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return int(moment.timestamp())


def from_numeric_date(value: int) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def is_numeric_date(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True, slots=True)
class UnverifiedJWS:
    """A compact JWS split and decoded, its signature NOT yet checked."""

    token: str
    unverified_header: dict[str, Any]
    unverified_claims: dict[str, Any]
    #: joserfc's parsed form, so verifying does not split and decode the token again.
    compact: Any = field(default=None, repr=False, compare=False)


def read_compact(token: str, *, error: type[CredentialError], what: str) -> UnverifiedJWS:
    """Split and decode a compact JWS whose payload is a JSON object (no verification)."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise error(f"the {what} is not a compact JWS (three base64url parts)")
    try:
        parsed = jws.extract_compact(token.encode("ascii"))
        claims = json.loads(parsed.payload)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise error(f"the {what} is not a well-formed JWS: {_describe(exc)}") from None
    header = dict(parsed.protected)
    if not isinstance(claims, dict):
        raise error(f"the {what} payload is not a JSON object")
    return UnverifiedJWS(
        token=token, unverified_header=header, unverified_claims=claims, compact=parsed
    )


def require_header(
    unverified: UnverifiedJWS, *, typ: str, error: type[CredentialError], what: str
) -> None:
    """Check ``typ`` exactly and ``alg`` against the one algorithm allowed (never ``none``)."""
    header = unverified.unverified_header
    if header.get("typ") != typ:
        raise error(f"the {what} must have typ {typ!r}, not {header.get('typ')!r}")
    if header.get("alg") not in ALGORITHMS:
        raise error(f"the {what} must be signed with {ES256}, not {header.get('alg')!r}")


def import_public_jwk(jwk: Mapping[str, Any]) -> ECKey | RSAKey | OKPKey:
    """A joserfc public key from a JWK dict; private members are refused.

    Imports are cached by the JWK's canonical JSON: verifying a presentation needs the
    same few issuer and holder keys again and again, and parsing a key costs about as
    much as checking a signature with it.
    """
    if not isinstance(jwk, Mapping):
        raise ValueError("a JWK must be a JSON object")
    if "d" in jwk:
        raise ValueError("a private JWK was given where a public key belongs")
    if jwk.get("kty") not in ("EC", "RSA", "OKP"):
        raise ValueError("only EC, RSA and OKP public keys verify signatures here")
    try:
        canonical = json.dumps(jwk, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError("a JWK must hold only JSON values") from exc
    return _import_public_jwk(canonical)


@lru_cache(maxsize=4096)
def _import_public_jwk(canonical: str) -> ECKey | RSAKey | OKPKey:
    key = JWKRegistry.import_key(json.loads(canonical))
    if not isinstance(key, ECKey | RSAKey | OKPKey):
        raise ValueError("only EC, RSA and OKP public keys verify signatures here")
    return key


def find_jwk(jwks: Mapping[str, Any], kid: Any) -> dict[str, Any] | None:
    """The key with ``kid`` in a JWK Set (RFC 7517 §5), or ``None``."""
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(kid, str) or not isinstance(keys, list):
        return None
    for jwk in keys:
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            return jwk
    return None


def verify_compact(
    token: str | UnverifiedJWS,
    *,
    public_jwk: Mapping[str, Any],
    algorithms: Collection[str],
    error: type[CredentialError],
    what: str,
) -> dict[str, Any]:
    """Verify a compact JWS with joserfc and answer its (now verified) JSON payload.

    Given the :class:`UnverifiedJWS` that :func:`read_compact` made, the signature is
    checked over the very bytes already decoded, and those claims are answered.
    """
    try:
        key = import_public_jwk(public_jwk)
    except (JoseError, ValueError, TypeError) as exc:
        raise error(f"the key for the {what} is unusable: {_describe(exc)}") from None
    if isinstance(token, UnverifiedJWS) and token.compact is not None:
        try:
            valid = jws.validate_compact(token.compact, key, algorithms=list(algorithms))
        except JoseError as exc:
            raise error(f"the {what} signature does not verify: {_describe(exc)}") from None
        if not valid:
            raise error(f"the {what} signature does not verify: bad_signature")
        return token.unverified_claims
    if isinstance(token, UnverifiedJWS):
        token = token.token
    try:
        verified = jws.deserialize_compact(token, key, algorithms=list(algorithms))
    except JoseError as exc:
        raise error(f"the {what} signature does not verify: {_describe(exc)}") from None
    claims = json.loads(verified.payload)
    if not isinstance(claims, dict):
        raise error(f"the {what} payload is not a JSON object")
    return claims


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def verify_platform_jwt(
    token: str,
    *,
    typ: str,
    jwks: Mapping[str, Any],
    error: type[CredentialError],
    what: str,
) -> dict[str, Any]:
    """Verify a platform-signed JWT (status list, trust list): ``typ``, ES256, key by ``kid``."""
    unverified = read_compact(token, error=error, what=what)
    require_header(unverified, typ=typ, error=error, what=what)
    jwk = find_jwk(jwks, unverified.unverified_header.get("kid"))
    if jwk is None:
        raise error(f"the {what} is signed with a key the platform does not publish")
    return verify_compact(token, public_jwk=jwk, algorithms=ALGORITHMS, error=error, what=what)
