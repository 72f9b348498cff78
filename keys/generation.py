"""Key generation for the algorithms govwallet signs with.

RS256 uses RSA 3072 (NIST SP 800-57 128-bit strength), ES256 the P-256 curve
(RFC 7518 §3.4), Ed25519 (RFC 8037 keys) under its fully-specified JWS name "Ed25519"
(RFC 9864, which deprecates the polymorphic "EdDSA").
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.jwk import ECKey, OKPKey, RSAKey

from keys.errors import UnsupportedAlgorithm

JoseKey = RSAKey | ECKey | OKPKey

SUPPORTED_ALGORITHMS: tuple[str, ...] = ("RS256", "ES256", "Ed25519")
RSA_KEY_BITS = 3072


def generate_private_der(alg: str) -> bytes:
    """A fresh private key for ``alg`` as unencrypted PKCS#8 DER (to be wrapped at once)."""
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if alg == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    elif alg == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
    elif alg == "Ed25519":
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise UnsupportedAlgorithm(f"unsupported signing algorithm {alg!r}")
    return private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_jose_key(alg: str, private_der: bytes) -> JoseKey:
    """Parse PKCS#8 DER into the joserfc key type for ``alg``."""
    private_key = serialization.load_der_private_key(private_der, password=None)
    if alg == "RS256":
        return RSAKey.import_key(private_key)  # type: ignore[arg-type]
    if alg == "ES256":
        return ECKey.import_key(private_key)  # type: ignore[arg-type]
    if alg == "Ed25519":
        return OKPKey.import_key(private_key)  # type: ignore[arg-type]
    raise UnsupportedAlgorithm(f"unsupported signing algorithm {alg!r}")


def public_jwk(alg: str, key: JoseKey) -> dict[str, str]:
    """The public JWK with ``kid`` = RFC 7638 thumbprint, ``alg`` and ``use``."""
    jwk: dict[str, str] = {k: str(v) for k, v in key.as_dict(private=False).items()}
    jwk["kid"] = key.thumbprint()
    jwk["alg"] = alg
    jwk["use"] = "sig"
    return jwk
