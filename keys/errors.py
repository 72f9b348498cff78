"""Errors raised by the key store."""


class KeyStoreError(Exception):
    """Base class of key-store errors."""

    code = "key_store_error"
    status = 500


class NoActiveKey(KeyStoreError):
    """The owner has no active key of the requested algorithm."""

    code = "no_active_key"
    status = 503


class UnknownKey(KeyStoreError):
    """No key with that ``kid`` (or owner) exists."""

    code = "unknown_key"
    status = 404


class KeyDecryptionFailed(KeyStoreError):
    """The stored private key did not decrypt: wrong key-encryption secret or tampering."""

    code = "key_decryption_failed"
    status = 500


class UnsupportedAlgorithm(KeyStoreError):
    """The algorithm is not one the key store generates."""

    code = "unsupported_algorithm"
    status = 400
