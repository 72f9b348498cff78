"""The keyed digests and field ciphers the identity services use.

Every object is bound to its own purpose (HKDF ``info``), so the digest that finds
an identity number cannot be used to find a phone number, and the cipher of TOTP
seeds cannot decrypt identity numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from keys import FieldCipher, KeyedDigest, MasterSecret


@dataclass(frozen=True)
class IdentityCrypto:
    id_number_digest: KeyedDigest
    id_number_cipher: FieldCipher
    phone_digest: KeyedDigest
    phone_cipher: FieldCipher
    totp_cipher: FieldCipher
    recovery_code_digest: KeyedDigest
    #: Digests of usernames and client addresses in the login-throttle table.
    throttle_digest: KeyedDigest

    @classmethod
    def from_master(cls, master: MasterSecret) -> IdentityCrypto:
        return cls(
            id_number_digest=KeyedDigest(master, "identity/id-number"),
            id_number_cipher=FieldCipher(master, "identity/id-number"),
            phone_digest=KeyedDigest(master, "identity/phone"),
            phone_cipher=FieldCipher(master, "identity/phone"),
            totp_cipher=FieldCipher(master, "identity/totp"),
            recovery_code_digest=KeyedDigest(master, "identity/recovery-code"),
            throttle_digest=KeyedDigest(master, "identity/login-throttle"),
        )
