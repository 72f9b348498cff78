"""Small JOSE helpers shared by the credential, status-list and trust-list modules.

Every signature is made and checked by joserfc (one JOSE implementation, see
docs/decisions.md); this module only reads compact serializations *before* they are
verified (the names say so) and picks public keys out of JWK Sets.

- JWS compact serialization, RFC 7515 §7.1 — https://www.rfc-editor.org/rfc/rfc7515#section-7.1
- base64url without padding, RFC 7515 §2 — https://www.rfc-editor.org/rfc/rfc7515#section-2
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol, TypeGuard

import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.errors import InvalidHeaderValueError, JoseError, UnsupportedAlgorithmError
from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from licenses.errors import CredentialError

#: The only algorithm credentials, key-binding JWTs, status lists and trust lists use.
ES256 = "ES256"
ALGORITHMS: tuple[str, ...] = (ES256,)

#: base64url to the standard alphabet; "+", "/" and "=" become "!", which strict decoding
#: refuses, so only the 64 base64url characters decode.
_FROM_BASE64URL = bytes.maketrans(b"-_+/=", b"+/!!!")
_TO_BASE64URL = bytes.maketrans(b"+/", b"-_")
#: The last character of a canonical encoding whose length is 2 or 3 modulo 4: the unused
#: low bits must be zero (joserfc's rule, kept for JWS segments).
_CANONICAL_LAST = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}


class TokenSigner(Protocol):
    """What signs credentials, status lists and trust lists: a :class:`keys.Signer`."""

    kid: str
    alg: str

    def sign_compact(self, *, header: dict[str, Any], payload: bytes) -> str: ...


def b64url_encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_BASE64URL).decode()


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; raises ``ValueError`` on anything else."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64url")
    return _decode(text.encode("ascii"))


def _decode(raw: bytes) -> bytes:
    try:
        return binascii.a2b_base64(
            raw.translate(_FROM_BASE64URL) + b"=" * (-len(raw) % 4), strict_mode=True
        )
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


def _segment_decode(segment: bytes) -> bytes:
    """A JWS segment: :func:`b64url_decode`, and canonical (unused bits zero)."""
    rest = len(segment) % 4
    if rest and (rest == 1 or segment[-1] not in _CANONICAL_LAST[rest]):
        raise ValueError("not base64url")
    return _decode(segment)


def read_json(data: bytes) -> Any:
    """Parse UTF-8 JSON received from outside (JWS parts, disclosures) with orjson.

    Stricter than :func:`json.loads` where RFC 8259 leaves room: no ``NaN`` or
    ``Infinity``, no lone surrogates, no byte order mark, UTF-8 only. An integer beyond
    64 bits is read as a float, as a browser's ``JSON.parse`` reads it. Raises
    ``ValueError``.
    """
    return orjson.loads(data)


def numeric_date(moment: datetime) -> int:
    """RFC 7519 §2 NumericDate: whole seconds since the epoch (aware datetimes only)."""
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return int(moment.timestamp())


def from_numeric_date(value: int) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


#: 9999-12-31T23:59:59Z, the last second a ``datetime`` holds: a NumericDate beyond it
#: names no calendar date, and is refused like any other value that is not one.
MAX_NUMERIC_DATE = 253_402_300_799


def is_numeric_date(value: object) -> TypeGuard[int]:
    """A whole, non-negative NumericDate that :func:`from_numeric_date` can convert."""
    return type(value) is int and 0 <= value <= MAX_NUMERIC_DATE


@dataclass(frozen=True, slots=True)
class UnverifiedJWS:
    """A compact JWS split and decoded, its signature NOT yet checked."""

    token: str
    unverified_header: dict[str, Any]
    unverified_claims: dict[str, Any]
    #: What the signature covers (``header.payload`` as sent) and the decoded signature,
    #: so verifying does not split and decode the token again.
    signing_input: bytes = field(default=b"", repr=False)
    signature: bytes = field(default=b"", repr=False)


#: Size limits on each part of a compact JWS, as joserfc's own parser sets them.
_LIMITS = JWSRegistry()
_MAX_HEADER = _LIMITS.max_header_length
_MAX_PAYLOAD = _LIMITS.max_payload_length
_MAX_SIGNATURE = _LIMITS.max_signature_length
_MAX_COMPACT = _MAX_HEADER + _MAX_PAYLOAD + _MAX_SIGNATURE


def read_compact(token: str, *, error: type[CredentialError], what: str) -> UnverifiedJWS:
    """Split and decode a compact JWS whose payload is a JSON object (no verification).

    The parts are decoded the way joserfc's ``extract_compact`` decodes them (canonical
    base64url, its size limits, a JSON header naming ``alg``); unencoded payloads
    (RFC 7797) are refused, and the header and payload must be UTF-8 JSON objects.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise error(f"the {what} is not a compact JWS (three base64url parts)")
    try:
        raw = token.encode("ascii")
        header_segment, payload_segment, signature_segment = raw.split(b".")
        if (
            len(raw) > _MAX_COMPACT
            or len(header_segment) > _MAX_HEADER
            or len(payload_segment) > _MAX_PAYLOAD
            or len(signature_segment) > _MAX_SIGNATURE
        ):
            #: Over a limit: joserfc's own checks, in its order, for its errors.
            _LIMITS.validate_compact_value_size(raw)
            _LIMITS.validate_header_size(header_segment)
            _LIMITS.validate_signature_size(signature_segment)
            _LIMITS.validate_payload_size(payload_segment)
        header = read_json(_segment_decode(header_segment))
        if not isinstance(header, dict) or "alg" not in header:
            raise ValueError("Invalid header")
        if header.get("b64", True) is not True:
            raise ValueError("unencoded payloads (b64) are not accepted")
        claims = read_json(_segment_decode(payload_segment))
    except (JoseError, ValueError, UnicodeError) as exc:
        raise error(f"the {what} is not a well-formed JWS: {_describe(exc)}") from None
    if not isinstance(claims, dict):
        raise error(f"the {what} payload is not a JSON object")
    try:
        signature = _segment_decode(signature_segment)
    except ValueError:
        signature = b""  # as joserfc: an undecodable signature does not verify
    return UnverifiedJWS(
        token=token,
        unverified_header=header,
        unverified_claims=claims,
        signing_input=raw[: len(header_segment) + 1 + len(payload_segment)],
        signature=signature,
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


#: The member types of the usual JWK.
_ONLY_STRINGS = {str}


def import_public_jwk(jwk: Mapping[str, Any]) -> ECKey | RSAKey | OKPKey:
    """A joserfc public key from a JWK dict; private members are refused.

    Imports are cached by the JWK's sorted members (its canonical JSON when a member is
    not a string): verifying a presentation needs the same few issuer and holder keys
    again and again, and parsing a key costs about as much as checking a signature with it.
    """
    if type(jwk) is not dict and not isinstance(jwk, Mapping):  # dict: no ABC check
        raise ValueError("a JWK must be a JSON object")
    if "d" in jwk:
        raise ValueError("a private JWK was given where a public key belongs")
    if jwk.get("kty") not in ("EC", "RSA", "OKP"):
        raise ValueError("only EC, RSA and OKP public keys verify signatures here")
    try:
        items = tuple(sorted(jwk.items()))
    except TypeError as exc:
        raise ValueError("a JWK's member names must be strings") from exc
    if set(map(type, jwk.values())) == _ONLY_STRINGS:
        #: The usual JWK (every member a string): its sorted members are the cache key.
        return _import_public_jwk(items)
    try:
        canonical = json.dumps(jwk, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError("a JWK must hold only JSON values") from exc
    return _import_public_jwk(canonical)


@lru_cache(maxsize=4096)
def _import_public_jwk(
    canonical: str | tuple[tuple[str, str], ...],
) -> ECKey | RSAKey | OKPKey:
    jwk = json.loads(canonical) if isinstance(canonical, str) else dict(canonical)
    fast = _p256_public(jwk)
    if fast is not None:
        return fast
    try:
        key = JWKRegistry.import_key(jwk)
    except KeyError as exc:  # joserfc looks a JWK's "crv" up in its table by index
        raise ValueError(f"the JWK names what joserfc does not know: {exc.args[0]!r}") from None
    if not isinstance(key, ECKey | RSAKey | OKPKey):
        raise ValueError("only EC, RSA and OKP public keys verify signatures here")
    return key


def _p256_public(jwk: dict[str, Any]) -> ECKey | None:
    """A P-256 public JWK with full-size coordinates (RFC 7518 §6.2.1.2), imported from
    the point's bytes; ``None`` for any other JWK, which joserfc imports (or refuses).

    A holder's key is new to the verifier with nearly every presentation. joserfc turns
    each coordinate into an integer through a hex string and validates the members twice
    (~45 µs a key, as much as a third of a verification's work besides the signatures).
    This is the same import with the same outcomes: the coordinates decoded under
    joserfc's base64url rules (canonical, no padding), the point checked to be on the
    curve by OpenSSL, the members validated by joserfc's own ``ECKey`` constructor.
    Whatever it does not accept is left to joserfc, so an unusable key fails with
    joserfc's error as before (tests/unit/licenses/test_jose.py holds the two equal).
    """
    x, y = jwk.get("x"), jwk.get("y")
    if (
        jwk.get("kty") != "EC"
        or jwk.get("crv") != "P-256"
        or type(x) is not str
        or type(y) is not str
        or len(x) != _P256_COORDINATE_CHARS
        or len(y) != _P256_COORDINATE_CHARS
        or not (x.isascii() and y.isascii())
    ):
        return None
    try:
        point = b"\x04" + _segment_decode(x.encode()) + _segment_decode(y.encode())
        public = ec.EllipticCurvePublicKey.from_encoded_point(_P256, point)
    except ValueError:
        return None
    return ECKey(public, jwk)


#: A 32-byte coordinate in base64url without padding.
_P256_COORDINATE_CHARS = 43
_P256 = ec.SECP256R1()


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
    checked over the very bytes already decoded, and those claims are answered. joserfc
    does every check of its ``validate_compact``: the header (``crit``, registered
    parameters), the algorithm against ``algorithms``, the key against the algorithm, and
    the signature itself.
    """
    if not isinstance(token, UnverifiedJWS):
        token = read_compact(token, error=error, what=what)
    try:
        key = import_public_jwk(public_jwk)
    except (JoseError, ValueError, TypeError) as exc:
        raise error(f"the key for the {what} is unusable: {_describe(exc)}") from None
    header = token.unverified_header
    registry = _registry(algorithms)
    try:
        _check_header(registry, header)
        alg = registry.get_alg(header["alg"])
        if alg.name == "none":
            raise UnsupportedAlgorithmError("an unsigned JWS is never accepted")
        alg.check_key(key)
        valid = alg.verify(token.signing_input, token.signature, key)
    except JoseError as exc:
        raise error(f"the {what} signature does not verify: {_describe(exc)}") from None
    if not valid:
        raise error(f"the {what} signature does not verify: bad_signature")
    return token.unverified_claims


def _require_crit_list(header: dict[str, Any]) -> None:
    """RFC 7515 §4.1.11: "crit" is a non-empty array of header parameter names.

    joserfc iterates it before checking its type: a number raised TypeError there (a 500
    from the verify API, for a header anyone can write), a string was read letter by letter.
    """
    if "crit" in header:
        crit = header["crit"]
        if type(crit) is not list or not crit or not all(type(name) is str for name in crit):
            raise InvalidHeaderValueError(
                "'crit' in header must be a non-empty list of header parameter names"
            )


def _check_header(registry: JWSRegistry, header: dict[str, Any]) -> None:
    """joserfc's ``check_header``, remembered for headers that passed it.

    The check walks joserfc's whole header registry, and depends on nothing but the
    registry and the header. Headers repeat: every credential of an issuer key has the
    same ``alg``, ``typ`` and ``kid``, every key-binding JWT of a holder key the same
    ``alg``, ``typ`` and ``kid`` (a holder's ``kid`` is new to a verifier with nearly every
    presentation, so those mostly miss; leaving it out of the key was measured and not
    worth it: docs/decisions.md, sixteenth session). Only headers of string values are
    remembered (strings compare exactly, where ``True == 1``); others, and every header
    that fails, are checked each time.
    """
    _require_crit_list(header)
    if set(map(type, header.values())) == _ONLY_STRINGS:
        _header_passed(registry, tuple(header.items()))
    else:
        registry.check_header(header)


@lru_cache(maxsize=1024)
def _header_passed(registry: JWSRegistry, items: tuple[tuple[str, Any], ...]) -> None:
    registry.check_header(dict(items))


def _registry(algorithms: Collection[str]) -> JWSRegistry:
    """joserfc's registry allowing ``algorithms``, made once per set of algorithms."""
    return _registry_for(tuple(sorted(algorithms)))


@lru_cache(maxsize=16)
def _registry_for(algorithms: tuple[str, ...]) -> JWSRegistry:
    #: As joserfc's ``construct_registry``: no algorithms means its recommended ones.
    return JWSRegistry(algorithms=algorithms or None)


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
    return verify_compact(unverified, public_jwk=jwk, algorithms=ALGORITHMS, error=error, what=what)
