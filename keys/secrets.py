"""The master secret and the purpose-bound subkeys derived from it.

One operator-managed secret (``GOVWALLET_KEY_ENCRYPTION_SECRET``) is expanded with
HKDF-SHA256 (RFC 5869) into independent subkeys, one per purpose, so that the key
wrapping key, the identity-number digest key and the field-encryption key never
coincide. Callers receive objects that *use* a subkey, never the subkey itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keys.errors import KeyDecryptionFailed

_SALT = b"govwallet/hkdf/v1"
_NONCE_BYTES = 12
MIN_SECRET_LENGTH = 32


class MasterSecret:
    """The operator's key-encryption secret; derives purpose-bound subkeys."""

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if len(raw) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"the key-encryption secret must be at least {MIN_SECRET_LENGTH} bytes"
            )
        self._raw = raw

    def derive(self, purpose: str, length: int = 32) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=length, salt=_SALT, info=purpose.encode()
        ).derive(self._raw)

    def __repr__(self) -> str:
        return "MasterSecret(<redacted>)"


class AesGcmCipher:
    """AES-256-GCM with a random 96-bit nonce prepended to the ciphertext."""

    def __init__(self, master: MasterSecret, purpose: str) -> None:
        key = master.derive(purpose)
        self._aead = AESGCM(key)
        self.key_id = hmac.new(key, b"govwallet key id", hashlib.sha256).hexdigest()[:16]

    def wrap(self, plaintext: bytes, *, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def unwrap(self, blob: bytes, *, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)
        except (InvalidTag, ValueError) as exc:
            raise KeyDecryptionFailed("stored ciphertext did not decrypt") from exc

    def __repr__(self) -> str:
        return f"AesGcmCipher(key_id={self.key_id})"


class AesGcmKeyWrapper(AesGcmCipher):
    """The software :class:`keys.interfaces.KeyWrapper`: AES-256-GCM under the master secret."""

    def __init__(self, master: MasterSecret) -> None:
        super().__init__(master, "govwallet/key-wrapping")


class KeyedDigest:
    """HMAC-SHA256 under a purpose-bound subkey, for lookups of secret values.

    Used for identity numbers (so they can be found without being stored in
    clear) and for OAuth client secrets (random, so a fast keyed hash suffices).
    """

    def __init__(self, master: MasterSecret, purpose: str) -> None:
        # Keyed once: each digest copies this state instead of setting the key up and
        # looking SHA-256 up in OpenSSL again (a third of a one-shot ``hmac.digest``
        # when warm, most of it when called once amid a request's other work).
        self._keyed = hmac.new(master.derive(f"govwallet/digest/{purpose}"), digestmod="sha256")

    def digest(self, value: str | bytes) -> str:
        mac = self._keyed.copy()
        mac.update(value.encode() if isinstance(value, str) else value)
        return mac.hexdigest()

    def matches(self, value: str | bytes, expected_digest: str) -> bool:
        """Constant-time comparison of ``value``'s digest with ``expected_digest``."""
        return hmac.compare_digest(self.digest(value), expected_digest)

    def __repr__(self) -> str:
        return "KeyedDigest(<redacted>)"


class FieldCipher(AesGcmCipher):
    """Encrypts individual database fields (identity numbers, TOTP seeds)."""

    def __init__(self, master: MasterSecret, purpose: str) -> None:
        super().__init__(master, f"govwallet/field/{purpose}")

    def encrypt_text(self, value: str, *, aad: str = "") -> bytes:
        return self.wrap(value.encode(), aad=aad.encode())

    def decrypt_text(self, blob: bytes, *, aad: str = "") -> str:
        return self.unwrap(blob, aad=aad.encode()).decode()
