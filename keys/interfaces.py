"""Protocols of the key package.

The key wrapper is the seam where a hardware security module or a cloud KMS
replaces the software AES-GCM wrapper without changing the key store.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class KeyWrapper(Protocol):
    """Encrypts private key material at rest."""

    #: Stable identifier of the key-encryption key, stored beside each wrapped key.
    key_id: str

    def wrap(self, plaintext: bytes, *, aad: bytes) -> bytes:
        """Encrypt ``plaintext``, authenticating ``aad`` with it."""
        ...

    def unwrap(self, blob: bytes, *, aad: bytes) -> bytes:
        """Decrypt what :meth:`wrap` produced; raise on any tampering."""
        ...
