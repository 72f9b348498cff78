"""Random presentations for the verifier tests: a real one mutated from a seeded ``Random``.

Claims of the issuer-signed JWT replaced by odd JSON values and signed again by the agency
(so that the checks behind the signature run), extra disclosures of every shape, headers
anyone can write, key-binding JWTs signed by the holder over odd claims, stray characters.
Used by ``tests/unit/licenses/test_verification_fuzz.py`` (nothing raises) and
``tests/browser/test_verifier_offline_parity.py`` (the browser agrees with Python).
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from licenses.jose import b64url_decode, b64url_encode
from tests.support.credentials import AUDIENCE, NONCE, NOW, STATUS_URI

CLAIMS = ("iss", "vct", "iat", "nbf", "exp", "status", "cnf", "_sd", "_sd_alg", "license_id")
NAMES = ("a", "_sd", "...", "jwk", "status_list", "idx", "uri", "kty", "crv", "x", "crit")
ODD_STRINGS = ("\U0001f600", "\x00", "a" * 1000, "sha-256", STATUS_URI, "EC", "P-256", "P-999")


class Mutator:
    """``presentation()`` gives the next random presentation."""

    def __init__(self, world: Any, rng: random.Random) -> None:
        self.rng = rng
        self.agency = world.signer("agency:a")
        self.holder = world.signer("holder:1")
        presentation = world.present(world.issue().credential)
        issuer_jwt, *self.disclosures, self.kb_jwt = presentation.split("~")
        header, payload = (json.loads(b64url_decode(p)) for p in issuer_jwt.split(".")[:2])
        self.header: dict[str, Any] = header
        self.payload: dict[str, Any] = payload

    def value(self, depth: int = 0) -> Any:
        rng = self.rng
        kind = rng.randrange(14 if depth < 3 else 11)
        if kind == 11:
            return [self.value(depth + 1) for _ in range(rng.randrange(3))]
        if kind == 12:
            return {rng.choice(NAMES): self.value(depth + 1) for _ in range(rng.randrange(3))}
        if kind == 13:
            return rng.choice(ODD_STRINGS)
        return (None, True, False, 0, -1, 2**64, 2**70, 1.5, 1e308, "", "x")[kind]

    def presentation(self) -> str:
        rng = self.rng
        payload = json.loads(json.dumps(self.payload))
        header = dict(self.header)
        disclosures = list(self.disclosures)
        for _ in range(rng.randrange(1, 4)):
            self._mutate(payload, header, disclosures)
        issuer_jwt = self.agency.sign_compact(header=header, payload=_json(payload))
        sd_jwt = "~".join([issuer_jwt, *disclosures]) + "~"
        kb_header: dict[str, Any] = {"typ": "kb+jwt"}
        kb_claims: dict[str, Any] = {
            "aud": AUDIENCE,
            "nonce": NONCE,
            "iat": int(NOW.timestamp()) - 10,
            "sd_hash": _digest(sd_jwt),
        }
        if rng.random() < 0.4:
            kb_claims[rng.choice(("aud", "nonce", "iat", "sd_hash"))] = self.value()
        if rng.random() < 0.15:
            kb_header[rng.choice(("typ", "crit", "x"))] = self.value()
        kb_jwt = self.holder.sign_compact(header=kb_header, payload=_json(kb_claims))
        text = sd_jwt + (kb_jwt if rng.random() < 0.9 else "")
        if rng.random() < 0.1:
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(("~", ".", "", "A", "é", "==")) + text[at + 1 :]
        return text

    def _mutate(
        self, payload: dict[str, Any], header: dict[str, Any], disclosures: list[str]
    ) -> None:
        rng = self.rng
        kind = rng.randrange(8)
        if kind == 0:
            payload[rng.choice(CLAIMS)] = self.value()
        elif kind == 1:
            jwk = dict(self.payload["cnf"]["jwk"])
            jwk[rng.choice(("kty", "crv", "x", "y", "kid", "d"))] = self.value()
            payload["cnf"] = {"jwk": jwk} if rng.random() < 0.8 else self.value()
        elif kind == 2:
            idx = rng.choice((0, 7, 63, 64, 10**9, -1, 2**64, self.value()))
            payload["status"] = {"status_list": {"idx": idx, "uri": STATUS_URI}}
        elif kind == 3:
            shape = rng.randrange(3)
            array: Any = (
                [self.value(), self.value()]
                if shape == 0
                else [rng.choice(("s", self.value())), rng.choice(NAMES + CLAIMS), self.value()]
                if shape == 1
                else self.value()
            )
            disclosure = b64url_encode(_json(array))
            disclosures.append(disclosure)
            where = payload if rng.random() < 0.7 else payload.setdefault("fields", {})
            if isinstance(where, dict) and isinstance(where.get("_sd", []), list):
                where.setdefault("_sd", []).append(_digest(disclosure))
            if rng.random() < 0.3:
                payload["listed"] = [{"...": _digest(disclosure)}, self.value()]
        elif kind == 4:
            disclosures[:] = [d for d in disclosures if rng.random() < 0.7]
        elif kind == 5 and disclosures:
            disclosures.append(rng.choice(disclosures))
        elif kind == 6:
            header[rng.choice(("typ", "crit", "x", "b64", "jku"))] = self.value()
        elif kind == 7:
            payload["_sd"] = [*self.payload["_sd"], self.value()]


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()  # integers beyond 64 bits too


def _digest(text: str) -> str:
    return b64url_encode(hashlib.sha256(text.encode()).digest())
