"""Selective Disclosure for JWTs (SD-JWT) in the SD-JWT VC profile: issue, present, verify.

- SD-JWT, RFC 9901 — https://www.rfc-editor.org/rfc/rfc9901
- SD-JWT-based Verifiable Credentials, draft-ietf-oauth-sd-jwt-vc —
  https://datatracker.ietf.org/doc/draft-ietf-oauth-sd-jwt-vc/

Issuer, holder and verifier are kept apart: :func:`issue_credential` (the agency, signing
through a :class:`keys.Signer`), :func:`present` (the wallet, optionally signing a
key-binding JWT through a :class:`HolderSigner`), and the verifier's steps
:func:`parse_presentation` → :func:`verify_issuer_signature` → :func:`disclosed_claims` →
:func:`check_key_binding`, which :func:`verify` chains into a
:class:`VerifiedPresentation`. Trust is visible in the names: nothing read from an
:class:`UnverifiedPresentation` is believed until its signature has been checked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, runtime_checkable

from keys.compact_json import json_bytes
from licenses.errors import (
    ClaimNameCollision,
    CredentialError,
    CredentialExpired,
    CredentialNotYetValid,
    DuplicateDigest,
    DuplicateDisclosure,
    InvalidCredentialInput,
    InvalidDisclosure,
    InvalidSignature,
    KeyBindingAudienceMismatch,
    KeyBindingHashMismatch,
    KeyBindingMalformed,
    KeyBindingMissing,
    KeyBindingNonceMismatch,
    KeyBindingNotFresh,
    KeyBindingSignatureInvalid,
    MalformedPresentation,
    ReservedClaimName,
    UnknownClaim,
    UnreferencedDisclosure,
    UnsupportedDigestAlgorithm,
)
from licenses.jose import (
    ALGORITHMS,
    ES256,
    TokenSigner,
    UnverifiedJWS,
    b64url_decode,
    b64url_encode,
    from_numeric_date,
    is_numeric_date,
    numeric_date,
    read_compact,
    read_json,
    require_header,
    verify_compact,
)

#: SD-JWT VC §3.2.1: "The typ header parameter of the SD-JWT MUST be present and MUST be
#: dc+sd-jwt" (media type application/dc+sd-jwt).
SD_JWT_VC_TYP = "dc+sd-jwt"
#: RFC 9901 §4.3: "typ: REQUIRED. MUST be kb+jwt".
KB_JWT_TYP = "kb+jwt"
#: RFC 9901 §4.1.1: the hash algorithm named in ``_sd_alg``; sha-256 is the default.
SD_ALG = "sha-256"
SEPARATOR = "~"
SD_KEY = "_sd"
SD_ALG_KEY = "_sd_alg"
ARRAY_ELEMENT_KEY = "..."
#: RFC 9901 §4.2.1: the claim names ``_sd`` and ``...`` MUST NOT be used in a disclosure.
RESERVED_NAMES = frozenset({SD_KEY, ARRAY_ELEMENT_KEY, SD_ALG_KEY})
#: SD-JWT VC §3.2.2: iss, nbf, exp, cnf, vct, vct#integrity and status "MUST NOT be
#: selectively disclosed"; govwallet keeps iat visible too.
NEVER_DISCLOSABLE = frozenset({"iss", "nbf", "exp", "iat", "cnf", "vct", "vct#integrity", "status"})
#: RFC 9901 §9.3 recommends 128 bits of salt.
SALT_BYTES = 16
#: A presentation is a QR payload or an API field, never megabytes.
MAX_PRESENTATION_LENGTH = 256 * 1024


def _random_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def _digest(text: str) -> str:
    """RFC 9901 §4.2.3: base64url(SHA-256(ASCII bytes of the base64url text))."""
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


# -- disclosures ---------------------------------------------------------------------------


class Disclosure(NamedTuple):
    """One RFC 9901 §4.2 disclosure: ``[salt, name, value]`` or ``[salt, value]``.

    A named tuple, not a frozen dataclass: a license has ~20 of them and a bulk import
    makes millions, and a frozen dataclass's constructor costs three times as much.
    """

    encoded: str
    salt: str
    name: str | None
    value: Any
    digest: str

    @classmethod
    def create(cls, *, salt: bytes, name: str | None, value: Any) -> Disclosure:
        salt_text = b64url_encode(salt)
        array = [salt_text, value] if name is None else [salt_text, name, value]
        encoded = b64url_encode(json_bytes(array))
        return cls(encoded, salt_text, name, value, _digest(encoded))

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        salt, name, value, digest = _read_disclosure(encoded)
        return cls(encoded, salt, name, value, digest)


def _read_disclosure(encoded: str) -> tuple[str, str | None, Any, str]:
    """``(salt, name, value, digest)`` of one encoded disclosure, every §7.1 shape check."""
    try:
        array = read_json(b64url_decode(encoded))
    except (ValueError, UnicodeError):
        raise InvalidDisclosure("a disclosure is not base64url-encoded JSON") from None
    if not isinstance(array, list) or len(array) not in (2, 3):
        raise InvalidDisclosure("a disclosure must be a JSON array of 2 or 3 elements")
    if not isinstance(array[0], str):
        raise InvalidDisclosure("a disclosure's salt must be a string")
    name = None
    if len(array) == 3:
        name = array[1]
        if not isinstance(name, str):
            raise InvalidDisclosure("a disclosure's claim name must be a string")
        #: RFC 9901 §7.1 step 3.2.3.2: reject if the claim name is _sd or ...
        if name in (SD_KEY, ARRAY_ELEMENT_KEY):
            raise ReservedClaimName(f"a disclosure uses the reserved claim name {name!r}")
    return array[0], name, array[-1], _digest(encoded)


# -- issuer --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """An SD-JWT VC as issued: ``<issuer-signed JWT>~<disclosure>~…~``."""

    credential: str
    issuer_jwt: str
    payload: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    kid: str


def issue_credential(
    *,
    signer: TokenSigner,
    iss: str,
    vct: str,
    claims: Mapping[str, Any],
    always_visible: Mapping[str, Any],
    iat: datetime,
    nbf: datetime | None,
    exp: datetime | None,
    status: Mapping[str, Any],
    cnf_jwk: Mapping[str, Any] | None,
    decoys: int = 0,
    salt_source: Callable[[], bytes] | None = None,
) -> IssuedCredential:
    """Build and sign an SD-JWT VC whose every subject claim is selectively disclosable.

    ``claims`` become disclosures (nested objects recursively: the object and each of its
    properties); ``always_visible`` are plain claims (e.g. ``license_id``). ``decoys``
    decoy digests are added to every ``_sd`` array (RFC 9901 §4.2.5).
    """
    if signer.alg != ES256:
        raise InvalidCredentialInput(f"credentials are signed with {ES256}, not {signer.alg}")
    if not isinstance(iss, str) or not iss:
        raise InvalidCredentialInput("iss must be a non-empty string")
    if not isinstance(vct, str) or not vct:
        raise InvalidCredentialInput("vct must be a non-empty string")
    if decoys < 0:
        raise InvalidCredentialInput("decoys must not be negative")
    _check_status_claim(status)
    for name in (*claims, *always_visible):
        if name in NEVER_DISCLOSABLE or name in RESERVED_NAMES:
            raise ReservedClaimName(f"the claim name {name!r} is set by the issuer itself")
    overlap = set(claims) & set(always_visible)
    if overlap:
        raise InvalidCredentialInput(f"claims given twice: {', '.join(sorted(overlap))}")
    _reject_reserved_names(always_visible)

    disclosures: list[Disclosure] = []
    payload: dict[str, Any] = {"iss": iss, "iat": numeric_date(iat)}
    if nbf is not None:
        payload["nbf"] = numeric_date(nbf)
    if exp is not None:
        payload["exp"] = numeric_date(exp)
    payload["vct"] = vct
    payload["status"] = dict(status)
    if cnf_jwk is not None:
        if "d" in cnf_jwk or "kty" not in cnf_jwk:
            raise InvalidCredentialInput("cnf_jwk must be the holder's public JWK")
        payload["cnf"] = {"jwk": dict(cnf_jwk)}
    payload.update(always_visible)
    payload.update(
        _selectively_disclosable(
            claims,
            salt_source=salt_source or _random_salt,
            decoys=decoys,
            disclosures=disclosures,
        )
    )
    payload[SD_ALG_KEY] = SD_ALG

    issuer_jwt = signer.sign_compact(header={"typ": SD_JWT_VC_TYP}, payload=json_bytes(payload))
    credential = SEPARATOR.join([issuer_jwt, *(d.encoded for d in disclosures)]) + SEPARATOR
    return IssuedCredential(
        credential=credential,
        issuer_jwt=issuer_jwt,
        payload=payload,
        disclosures=tuple(disclosures),
        kid=signer.kid,
    )


def _selectively_disclosable(
    claims: Mapping[str, Any],
    *,
    salt_source: Callable[[], bytes],
    decoys: int,
    disclosures: list[Disclosure],
) -> dict[str, Any]:
    """An object whose properties are all disclosures: ``{"_sd": [sorted digests]}``."""
    digests = []
    for name, value in claims.items():
        if not isinstance(name, str) or name in RESERVED_NAMES:
            raise ReservedClaimName(f"the claim name {name!r} is reserved by RFC 9901")
        if isinstance(value, _SCALARS):
            pass  # nothing inside it to check (and no abstract-class check per claim)
        elif isinstance(value, Mapping) and value:
            value = _selectively_disclosable(
                value, salt_source=salt_source, decoys=decoys, disclosures=disclosures
            )
        else:
            _reject_reserved_names(value)
        disclosure = Disclosure.create(salt=salt_source(), name=name, value=value)
        disclosures.append(disclosure)
        digests.append(disclosure.digest)
    #: RFC 9901 §4.2.5: a decoy digest is the hash of a random value, indistinguishable.
    digests.extend(_digest(b64url_encode(salt_source())) for _ in range(decoys))
    #: RFC 9901 §4.2.4.1: "The Issuer MUST hide the original order of the claims ...
    #: it is RECOMMENDED to shuffle the array of hashes, e.g., by sorting them".
    return {SD_KEY: sorted(digests)} if digests else {}


#: JSON values with nothing inside them.
_SCALARS = (str, int, float, type(None))


def _reject_reserved_names(value: Any) -> None:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            if name in (SD_KEY, ARRAY_ELEMENT_KEY):
                raise ReservedClaimName(f"the claim name {name!r} is reserved by RFC 9901")
            _reject_reserved_names(inner)
    elif isinstance(value, list):
        for inner in value:
            _reject_reserved_names(inner)


def _check_status_claim(status: Any) -> None:
    reference = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(reference, Mapping):
        raise InvalidCredentialInput("status must be {'status_list': {'idx': ..., 'uri': ...}}")
    idx, uri = reference.get("idx"), reference.get("uri")
    if not is_numeric_date(idx) or not isinstance(uri, str) or not uri:
        raise InvalidCredentialInput("status_list needs a non-negative integer idx and a uri")


# -- holder --------------------------------------------------------------------------------


@runtime_checkable
class HolderSigner(Protocol):
    """What signs a key-binding JWT: a :class:`keys.Signer` today, a device key tomorrow."""

    alg: str

    def sign_compact(self, *, header: dict[str, Any], payload: bytes) -> str: ...


def present(
    *,
    credential: str,
    disclose: Collection[str],
    holder: HolderSigner | None,
    audience: str,
    nonce: str,
    iat: datetime,
) -> str:
    """An SD-JWT presentation with only the chosen disclosures, plus a key-binding JWT.

    ``disclose`` names claims by path: ``"holder_name"``, ``"fields"`` (the object and
    everything in it), ``"fields.registered_capital"`` (the object and that property).
    With ``holder=None`` no key-binding JWT is appended (the presentation ends in ``~``).
    """
    unverified = parse_presentation(credential)
    if unverified.key_binding_jwt is not None:
        raise MalformedPresentation("a credential to present must not carry a key-binding JWT")
    by_digest: dict[str, Disclosure] = {}
    order: dict[str, int] = {}
    for position, encoded in enumerate(unverified.disclosures):
        disclosure = Disclosure.parse(encoded)
        by_digest[disclosure.digest] = disclosure
        order[disclosure.digest] = position
    paths = dict(_disclosable_paths(unverified.unverified_claims, by_digest))
    chosen: set[str] = set()
    for path in disclose:
        if path not in paths:
            raise UnknownClaim(f"the credential has no claim {path!r} to disclose")
        for other, chain in paths.items():
            if other == path or other.startswith((path + ".", path + "[")):
                chosen.update(d.digest for d in chain)
    kept = sorted(chosen, key=order.__getitem__)
    sd_jwt = SEPARATOR.join([unverified.issuer_jwt, *(by_digest[d].encoded for d in kept)])
    sd_jwt += SEPARATOR
    if holder is None:
        return sd_jwt
    if holder.alg not in ALGORITHMS:
        raise InvalidCredentialInput(f"key-binding JWTs are signed with {ES256}")
    kb_claims = {
        "iat": numeric_date(iat),
        "aud": audience,
        "nonce": nonce,
        "sd_hash": _digest(sd_jwt),
    }
    return sd_jwt + holder.sign_compact(header={"typ": KB_JWT_TYP}, payload=json_bytes(kb_claims))


def _disclosable_paths(
    node: Any,
    by_digest: Mapping[str, Disclosure],
    base: str = "",
    chain: tuple[Disclosure, ...] = (),
) -> Iterator[tuple[str, tuple[Disclosure, ...]]]:
    """Every claim path with the disclosures needed to reveal it (its own and its parents')."""

    def join(name: str) -> str:
        return f"{base}.{name}" if base else name

    if isinstance(node, dict):
        for digest in node.get(SD_KEY, ()):
            disclosure = by_digest.get(digest) if isinstance(digest, str) else None
            if disclosure is None or disclosure.name is None:
                continue  # a decoy, or not in this credential
            path, inner = join(disclosure.name), (*chain, disclosure)
            yield path, inner
            yield from _disclosable_paths(disclosure.value, by_digest, path, inner)
        for name, value in node.items():
            if name not in (SD_KEY, SD_ALG_KEY):
                yield join(name), chain
                yield from _disclosable_paths(value, by_digest, join(name), chain)
    elif isinstance(node, list):
        for index, element in enumerate(node):
            path, inner = f"{base}[{index}]", chain
            if isinstance(element, dict) and set(element) == {ARRAY_ELEMENT_KEY}:
                disclosure = by_digest.get(element[ARRAY_ELEMENT_KEY])
                if disclosure is None or disclosure.name is not None:
                    continue
                inner = (*chain, disclosure)
                element = disclosure.value
            yield path, inner
            yield from _disclosable_paths(element, by_digest, path, inner)


# -- verifier ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnverifiedPresentation:
    """A presentation split into its parts. Nothing here has been verified."""

    issuer_jwt: str
    unverified_header: dict[str, Any]
    unverified_claims: dict[str, Any]
    disclosures: tuple[str, ...]
    key_binding_jwt: str | None
    #: The issuer-signed JWT as :func:`licenses.jose.read_compact` parsed it.
    issuer_jws: UnverifiedJWS | None = field(default=None, repr=False, compare=False)

    @property
    def sd_jwt(self) -> str:
        """RFC 9901 §4.3.1: the SD-JWT the ``sd_hash`` covers, ending with ``~``."""
        return SEPARATOR.join([self.issuer_jwt, *self.disclosures]) + SEPARATOR

    @property
    def kid(self) -> str | None:
        kid = self.unverified_header.get("kid")
        return kid if isinstance(kid, str) else None


def parse_presentation(text: str) -> UnverifiedPresentation:
    """Split ``<JWT>~<disclosure>~…~[<KB-JWT>]`` (RFC 9901 §4) and check its shape."""
    if not isinstance(text, str):
        raise MalformedPresentation("a presentation must be text")
    text = text.strip()
    if len(text) > MAX_PRESENTATION_LENGTH:
        raise MalformedPresentation("the presentation is too long")
    if SEPARATOR not in text:
        raise MalformedPresentation("not an SD-JWT: no '~' separator")
    if not text.isascii():
        #: Every part is base64url, joined by '.' and '~' (RFC 9901 §4): ASCII only.
        raise MalformedPresentation("not an SD-JWT: a character outside base64url, '.' and '~'")
    issuer_jwt, *disclosures, last = text.split(SEPARATOR)
    if "" in disclosures:
        raise MalformedPresentation("not an SD-JWT: an empty disclosure between '~~'")
    jwt = read_compact(issuer_jwt, error=MalformedPresentation, what="issuer-signed JWT")
    require_header(jwt, typ=SD_JWT_VC_TYP, error=MalformedPresentation, what="credential")
    claims = jwt.unverified_claims
    for name in ("iss", "vct"):
        #: SD-JWT VC §3.2.2: vct REQUIRED; govwallet also requires iss to find the key.
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise MalformedPresentation(f"the credential has no {name!r} claim")
    for name in ("iat", "nbf", "exp"):
        if name in claims and not is_numeric_date(claims[name]):
            raise MalformedPresentation(f"the credential's {name!r} is not a NumericDate")
    if last and last.count(".") != 2:
        raise MalformedPresentation("the part after the last '~' is not a key-binding JWT")
    return UnverifiedPresentation(
        issuer_jwt=issuer_jwt,
        unverified_header=jwt.unverified_header,
        unverified_claims=claims,
        disclosures=tuple(disclosures),
        key_binding_jwt=last or None,
        issuer_jws=jwt,
    )


def verify_issuer_signature(
    unverified: UnverifiedPresentation,
    *,
    public_jwk: Mapping[str, Any],
    algorithms: Collection[str] = ALGORITHMS,
) -> dict[str, Any]:
    """RFC 9901 §7.1 step 2: the issuer-signed JWT's signature; answers its verified payload."""
    return verify_compact(
        unverified.issuer_jws or unverified.issuer_jwt,
        public_jwk=public_jwk,
        algorithms=algorithms,
        error=InvalidSignature,
        what="issuer-signed JWT",
    )


def disclosed_claims(payload: Mapping[str, Any], disclosures: Sequence[str]) -> dict[str, Any]:
    """RFC 9901 §7.1 step 3: replace digests by disclosed claims; all checks, in order.

    ``payload`` must be the *verified* issuer-signed payload.
    """
    #: 3.1: the hash algorithm; "If the _sd_alg claim is not present, a default value of
    #: sha-256 is used" — govwallet accepts only sha-256.
    if payload.get(SD_ALG_KEY, SD_ALG) != SD_ALG:
        raise UnsupportedDigestAlgorithm(f"unsupported _sd_alg {payload.get(SD_ALG_KEY)!r}")
    #: digest -> (claim name or None for an array element, value)
    by_digest: dict[str, tuple[str | None, Any]] = {}
    for encoded in disclosures:
        _, name, value, digest = _read_disclosure(encoded)
        if digest in by_digest:
            raise DuplicateDisclosure("the same disclosure is presented twice")
        by_digest[digest] = (name, value)
    state = _Unpacking(by_digest=by_digest)
    claims = state.unpack_object(payload, top_level=True)
    #: 3.5: "If any Disclosure was not referenced by digest value in the Issuer-signed JWT
    #: (directly or recursively via other Disclosures), the SD-JWT MUST be rejected."
    if len(state.used) != len(by_digest):
        names = ", ".join(
            repr(name) if name else "an array element"
            for digest, (name, _) in by_digest.items()
            if digest not in state.used
        )
        raise UnreferencedDisclosure(
            f"disclosure(s) not referenced by the signed credential: {names}"
        )
    return claims


#: The JSON types that can hold digests.
_CONTAINERS = (dict, list)
#: Members that are processing instructions, not claims, at the top level and below it.
_DROPPED_AT_TOP = frozenset({SD_KEY, SD_ALG_KEY})
_DROPPED_BELOW = frozenset({SD_KEY})


@dataclass
class _Unpacking:
    #: digest -> (claim name or None for an array element, value)
    by_digest: Mapping[str, tuple[str | None, Any]]
    seen: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)

    def _first_sighting(self, digest: Any) -> None:
        if not isinstance(digest, str):
            raise InvalidDisclosure("a digest in the credential is not a string")
        #: 3.4: "If any digest value is encountered more than once in the Issuer-signed
        #: JWT payload (directly or recursively via other Disclosures), the SD-JWT MUST
        #: be rejected."
        if digest in self.seen:
            raise DuplicateDigest("a digest appears more than once in the credential")
        self.seen.add(digest)

    def unpack(self, node: Any, *, top_level: bool = False) -> Any:
        if isinstance(node, dict):
            return self.unpack_object(node, top_level=top_level)
        if isinstance(node, list):
            return self._unpack_array(node)
        return node

    def unpack_object(self, node: Mapping[str, Any], *, top_level: bool) -> dict[str, Any]:
        digests = node.get(SD_KEY, [])
        if not isinstance(digests, list):
            raise InvalidDisclosure("an _sd member is not an array")
        #: Only objects and arrays can hold digests: scalars are taken as they are.
        #: ``_sd_alg`` belongs to the top level only (3.1 read it there).
        dropped = _DROPPED_AT_TOP if top_level else _DROPPED_BELOW
        result = {
            k: self.unpack(v) if isinstance(v, _CONTAINERS) else v
            for k, v in node.items()
            if k not in dropped
        }
        for digest in digests:
            self._first_sighting(digest)
            disclosure = self.by_digest.get(digest)
            if disclosure is None:
                continue  # undisclosed, or a decoy
            name, value = disclosure
            #: 3.2.3.1: an array-element disclosure referenced from _sd MUST be rejected.
            if name is None:
                raise InvalidDisclosure("an array-element disclosure is referenced as a claim")
            #: SD-JWT VC §3.2.2: these claims MUST NOT be selectively disclosed.
            if top_level and name in NEVER_DISCLOSABLE:
                raise ReservedClaimName(f"{name!r} must not be selectively disclosed")
            #: 3.2.3.3: "If the claim name already exists at the level of the _sd key, the
            #: SD-JWT MUST be rejected."
            if name in result:
                raise ClaimNameCollision(f"the claim {name!r} is disclosed twice")
            self.used.add(digest)
            result[name] = self.unpack(value)
        return result

    def _unpack_array(self, node: list[Any]) -> list[Any]:
        result = []
        for element in node:
            if isinstance(element, dict) and set(element) == {ARRAY_ELEMENT_KEY}:
                digest = element[ARRAY_ELEMENT_KEY]
                self._first_sighting(digest)
                disclosure = self.by_digest.get(digest)
                if disclosure is None:
                    continue  # 3.3.2: undisclosed elements are removed
                #: 3.3.2.1: an object-property disclosure referenced from an array MUST be
                #: rejected.
                if disclosure[0] is not None:
                    raise InvalidDisclosure("a claim disclosure is referenced as an array element")
                self.used.add(digest)
                result.append(self.unpack(disclosure[1]))
            else:
                result.append(self.unpack(element))
        return result


#: The sub-checks of a key-binding JWT, in the order they are reported.
KEY_BINDING_CHECKS = ("format", "signature", "aud", "nonce", "iat", "sd_hash")


@dataclass(frozen=True, slots=True)
class KeyBindingReport:
    """Each RFC 9901 §7.3 check: ``None`` passed, an error failed, absent = not checked."""

    outcomes: dict[str, CredentialError | None]
    claims: dict[str, Any] | None

    @property
    def first_error(self) -> CredentialError | None:
        return next((e for e in self.outcomes.values() if e is not None), None)


def check_key_binding(
    unverified: UnverifiedPresentation,
    *,
    holder_jwk: Mapping[str, Any],
    audience: str | None,
    nonce: str | None,
    now: datetime,
    max_age: timedelta,
    clock_skew: timedelta,
) -> KeyBindingReport:
    """Run every key-binding check (RFC 9901 §7.3) and report each one.

    ``audience`` / ``nonce`` of ``None`` mean the verifier has none to compare: those two
    sub-checks are then not run (and not reported).
    """
    outcomes: dict[str, CredentialError | None] = {}
    if unverified.key_binding_jwt is None:
        outcomes["format"] = KeyBindingMissing("the presentation has no key-binding JWT")
        return KeyBindingReport(outcomes=outcomes, claims=None)
    try:
        kb = read_compact(unverified.key_binding_jwt, error=KeyBindingMalformed, what="KB-JWT")
        require_header(kb, typ=KB_JWT_TYP, error=KeyBindingMalformed, what="KB-JWT")
    except KeyBindingMalformed as exc:
        outcomes["format"] = exc
        return KeyBindingReport(outcomes=outcomes, claims=None)
    outcomes["format"] = None
    #: §7.3 step 5: "Determine the public key for the Holder from the SD-JWT" and verify
    #: the KB-JWT's signature with it.
    try:
        claims = verify_compact(
            kb,
            public_jwk=holder_jwk,
            algorithms=ALGORITHMS,
            error=KeyBindingSignatureInvalid,
            what="key-binding JWT",
        )
    except KeyBindingSignatureInvalid as exc:
        outcomes["signature"] = exc
        return KeyBindingReport(outcomes=outcomes, claims=None)
    outcomes["signature"] = None
    if audience is not None:
        outcomes["aud"] = (
            None
            if claims.get("aud") == audience
            else KeyBindingAudienceMismatch("the key-binding JWT is for another audience")
        )
    if nonce is not None:
        outcomes["nonce"] = (
            None
            if claims.get("nonce") == nonce
            else KeyBindingNonceMismatch("the key-binding JWT carries another nonce")
        )
    outcomes["iat"] = _kb_freshness(claims.get("iat"), now=now, max_age=max_age, skew=clock_skew)
    #: §7.3 step 5.4: "Check that the sd_hash claim value in the KB-JWT matches the hash
    #: of the SD-JWT" (the presentation up to and including the last ~).
    outcomes["sd_hash"] = (
        None
        if claims.get("sd_hash") == _digest(unverified.sd_jwt)
        else KeyBindingHashMismatch(
            "the key-binding JWT's sd_hash does not match this presentation's disclosures"
        )
    )
    return KeyBindingReport(outcomes=outcomes, claims=claims)


def _kb_freshness(
    iat: Any, *, now: datetime, max_age: timedelta, skew: timedelta
) -> CredentialError | None:
    #: §7.3 step 5.3: "Check that the creation time of the Key Binding JWT, as determined
    #: by the iat claim, is within an acceptable window."
    if not is_numeric_date(iat):
        return KeyBindingNotFresh("the key-binding JWT has no valid iat")
    moment = now.timestamp()
    if iat > moment + skew.total_seconds():
        issued = from_numeric_date(iat)
        return KeyBindingNotFresh(f"the key-binding JWT is dated in the future ({issued:%c})")
    if moment - iat > (max_age + skew).total_seconds():
        return KeyBindingNotFresh(
            f"the key-binding JWT is {int(moment - iat)} s old; "
            f"at most {int(max_age.total_seconds())} s is accepted"
        )
    return None


def check_validity_period(
    claims: Mapping[str, Any], *, now: datetime, clock_skew: timedelta
) -> None:
    """RFC 7519 §4.1.4/§4.1.5 ``exp`` and ``nbf``; ``iat`` must not be in the future.

    ``claims``' dates are NumericDates (:func:`parse_presentation` checked them), compared
    as numbers with ``now``.
    """
    moment, skew = now.timestamp(), clock_skew.total_seconds()
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if exp is not None and exp <= moment - skew:
        raise CredentialExpired(f"the license expired at {from_numeric_date(exp)}")
    if nbf is not None and nbf > moment + skew:
        raise CredentialNotYetValid(f"the license is not valid before {from_numeric_date(nbf)}")
    if iat is not None and iat > moment + skew:
        raise CredentialNotYetValid("the credential is dated in the future")


@dataclass(frozen=True, slots=True)
class VerifiedPresentation:
    """A presentation whose signature, disclosures and (if required) key binding passed."""

    header: dict[str, Any]
    payload: dict[str, Any]
    claims: dict[str, Any]
    key_binding: dict[str, Any] | None


#: Leeway for clocks that differ between issuer, holder and verifier.
DEFAULT_CLOCK_SKEW = timedelta(seconds=60)


def verify(
    presentation: str,
    *,
    issuer_jwk: Mapping[str, Any],
    audience: str | None,
    nonce: str | None,
    now: datetime,
    key_binding_max_age: timedelta,
    require_key_binding: bool,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> VerifiedPresentation:
    """All SD-JWT checks against one known issuer key; raises the first failure.

    Trust decisions (which key belongs to which agency, status lists) are the caller's:
    :func:`licenses.verification.verify_presentation` makes them and reports every check.
    """
    unverified = parse_presentation(presentation)
    payload = verify_issuer_signature(unverified, public_jwk=issuer_jwk)
    check_validity_period(payload, now=now, clock_skew=clock_skew)
    claims = disclosed_claims(payload, unverified.disclosures)
    key_binding = None
    if unverified.key_binding_jwt is None and require_key_binding:
        raise KeyBindingMissing("the presentation has no key-binding JWT")
    if unverified.key_binding_jwt is not None:
        report = check_key_binding(
            unverified,
            holder_jwk=holder_jwk(payload),
            audience=audience,
            nonce=nonce,
            now=now,
            max_age=key_binding_max_age,
            clock_skew=clock_skew,
        )
        if report.first_error is not None:
            raise report.first_error
        key_binding = report.claims
    return VerifiedPresentation(
        header=unverified.unverified_header, payload=payload, claims=claims, key_binding=key_binding
    )


def holder_jwk(payload: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7800 ``cnf.jwk`` of the verified payload; raises if the credential is unbound."""
    cnf = payload.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, Mapping) else None
    if not isinstance(jwk, dict):
        raise KeyBindingSignatureInvalid("the credential is not bound to a holder key (no cnf.jwk)")
    return jwk
