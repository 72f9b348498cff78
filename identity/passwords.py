"""Password hashing with Argon2id (RFC 9106) and the minimum strength rules.

https://www.rfc-editor.org/rfc/rfc9106 ·
https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html

Hashes are PHC strings carrying their own parameters, so changing the cost in
settings keeps old hashes verifiable; :meth:`Passwords.verify` reports when a hash
should be replaced, and the login service re-hashes it then.
"""

from __future__ import annotations

import secrets
import string
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from identity.errors import WeakPassword


@dataclass(frozen=True)
class Argon2Parameters:
    time_cost: int = 2
    memory_cost: int = 19456  # KiB
    parallelism: int = 1


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 10
    max_length: int = 128
    #: Of: lower-case letters, upper-case letters, digits, anything else (incl. CJK).
    min_character_classes: int = 2


#: Passwords seen first in every breach list; refused whatever the policy.
_COMMON = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "qwerty123",
        "qwertyuiop",
        "1qaz2wsx",
        "1q2w3e4r5t",
        "abc123456",
        "a123456789",
        "iloveyou",
        "woaini1314",
        "admin123",
        "123456789a",
        "aa123456",
        "zxcvbnm123",
    }
)


def _character_classes(password: str) -> int:
    classes = [
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c in string.digits for c in password),
        any(not (c.isascii() and c.isalnum()) for c in password),
    ]
    return sum(classes)


def check_strength(
    password: str, *, policy: PasswordPolicy, personal: tuple[str, ...] = ()
) -> None:
    """Raise :class:`WeakPassword` naming the first rule ``password`` breaks.

    ``personal`` holds values the password must not contain (identity number, its
    birth date, phone): an attacker who knows the citizen tries those first.
    """
    if len(password) < policy.min_length:
        raise WeakPassword(
            f"The password must be at least {policy.min_length} characters long.",
            rule="too-short",
            min=policy.min_length,
        )
    if len(password) > policy.max_length:
        raise WeakPassword(
            f"The password must be at most {policy.max_length} characters long.",
            rule="too-long",
            max=policy.max_length,
        )
    if any(unicodedata.category(c) == "Cc" for c in password):
        raise WeakPassword(
            "The password must not contain control characters.", rule="control-character"
        )
    if _character_classes(password) < policy.min_character_classes:
        raise WeakPassword(
            f"The password must mix at least {policy.min_character_classes} of: lower-case "
            "letters, upper-case letters, digits and other characters.",
            rule="too-few-classes",
            classes=policy.min_character_classes,
        )
    if len(set(password)) < 4:
        raise WeakPassword(
            "The password repeats too few different characters.", rule="too-few-distinct"
        )
    if password.lower() in _COMMON:
        raise WeakPassword(
            "The password is one of the most common passwords; choose another.", rule="common"
        )
    lowered = password.lower()
    for value in personal:
        if value and len(value) >= 6 and value.lower() in lowered:
            raise WeakPassword(
                "The password must not contain your identity number, birth date or phone number.",
                rule="personal",
            )


@dataclass(frozen=True)
class Verification:
    ok: bool
    #: The hash was made with other parameters than the current ones; store a new one.
    needs_rehash: bool = False


class Passwords:
    """Argon2id hashing under the configured parameters."""

    def __init__(self, parameters: Argon2Parameters, policy: PasswordPolicy) -> None:
        self.parameters = parameters
        self.policy = policy
        self._hasher = PasswordHasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_cost,
            parallelism=parameters.parallelism,
            type=Type.ID,
        )
        # A hash of a random password: verified against when the account does not
        # exist, so an unknown username costs the same time as a wrong password.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> Verification:
        try:
            self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self._hasher.check_needs_rehash(password_hash))

    def dummy_verify(self, password: str) -> None:
        """Spend the time of one verification, for an account that does not exist."""
        self.verify(self._dummy_hash, password)
