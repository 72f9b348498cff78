"""Key generation, the encrypted key store, rotation and JWKS.

This package is the only place in govwallet that touches private key material.
Everything else asks it to *sign* and receives signatures or public keys.
"""

from keys.errors import KeyStoreError, NoActiveKey, UnknownKey
from keys.models import KeyState, SigningKey, metadata
from keys.secrets import AesGcmKeyWrapper, FieldCipher, KeyedDigest, MasterSecret
from keys.store import KeyInfo, KeyStore, Signer

__all__ = [
    "AesGcmKeyWrapper",
    "FieldCipher",
    "KeyInfo",
    "KeyState",
    "KeyStore",
    "KeyStoreError",
    "KeyedDigest",
    "MasterSecret",
    "NoActiveKey",
    "Signer",
    "SigningKey",
    "UnknownKey",
    "metadata",
]
