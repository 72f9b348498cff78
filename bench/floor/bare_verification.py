"""Scenario 5's floor: a presentation verified with only the work no verifier can skip.

Split the presentation, decode the issuer-signed JWT, check its signature, hash and
decode each disclosure and put the disclosed claims in place, import the holder's key
from ``cnf``, decode the key-binding JWT, check its signature and its ``sd_hash``:
`cryptography`, `orjson` and `hashlib` called directly, in one function, with the
product's own base64url helpers (:mod:`licenses.jose`).

Nothing else: no ``typ``, ``alg`` or ``crit`` check, no JOSE library, no trust list,
status list, validity period, audience, nonce or freshness, no report of each check,
no recursion into nested disclosures, no defence against malformed input. It is not a
verifier anyone should use; it tells how fast the interpreter and OpenSSL alone let a
verification be on this machine, so that scenario 5's figure can be read against what
is reachable at all (bench/README.md, "Floors").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from licenses.jose import b64url_decode, b64url_encode

_P256 = ec.SECP256R1()


def _digest(text: str) -> str:
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


def _public_key(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    point = b"\x04" + b64url_decode(jwk["x"]) + b64url_decode(jwk["y"])
    return ec.EllipticCurvePublicKey.from_encoded_point(_P256, point)


def _check_es256(key: ec.EllipticCurvePublicKey, token: str) -> dict[str, Any]:
    """The payload of a compact JWS after its ES256 signature checked out (else raises)."""
    header, payload, signature = token.split(".")
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    signed = token[: len(header) + 1 + len(payload)].encode("ascii")
    key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    orjson.loads(b64url_decode(header))
    claims: dict[str, Any] = orjson.loads(b64url_decode(payload))
    return claims


def bare_verifier(issuer_jwk: Mapping[str, Any]) -> Callable[[str], dict[str, Any]]:
    """A function that verifies a presentation of a credential signed by ``issuer_jwk``
    and answers its disclosed claims; it raises (``InvalidSignature``, ``KeyError``,
    ``ValueError``) when a signature, a digest or the ``sd_hash`` does not match."""
    issuer = _public_key(issuer_jwk)

    def verify(presentation: str) -> dict[str, Any]:
        issuer_jwt, *disclosures, kb_jwt = presentation.split("~")
        payload = _check_es256(issuer, issuer_jwt)
        by_digest = {_digest(encoded): encoded for encoded in disclosures}
        claims = {k: v for k, v in payload.items() if k != "_sd"}
        for digest in payload["_sd"]:
            encoded = by_digest.pop(digest, None)
            if encoded is not None:
                _salt, name, value = orjson.loads(b64url_decode(encoded))
                claims[name] = value
        if by_digest:
            raise ValueError("a disclosure the credential does not reference")
        holder = _public_key(payload["cnf"]["jwk"])
        key_binding = _check_es256(holder, kb_jwt)
        if key_binding["sd_hash"] != _digest(presentation[: len(presentation) - len(kb_jwt)]):
            raise ValueError("the key-binding JWT covers another presentation")
        return claims

    return verify
