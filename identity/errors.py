"""Errors of the identity package: one class per error code.

Each class carries a stable ``code`` (the problem ``type`` suffix) and an HTTP
``status``; ``wallet_api.problems`` renders them. ``extensions`` names the field
and rule so a client (or a page) can point at what to fix. Messages never repeat
the submitted identity number or password.
"""

from __future__ import annotations

from typing import Any, ClassVar


class IdentityError(Exception):
    """Base class of identity errors."""

    code: ClassVar[str] = "identity-error"
    status: ClassVar[int] = 400
    #: The form field the error is about, when there is one.
    field: ClassVar[str | None] = None

    @property
    def extensions(self) -> dict[str, Any]:
        return {"field": self.field} if self.field else {}


# -- resident identity number (GB 11643-1999) ---------------------------------------


class InvalidIdNumber(IdentityError):
    """The resident identity number breaks one of the GB 11643-1999 rules."""

    code = "invalid-id-number"
    status = 422
    field = "id_number"
    #: Which rule failed: ``malformed``, ``unknown-region``, ``impossible-birth-date``,
    #: ``wrong-check-character``.
    rule: ClassVar[str] = "invalid"

    @property
    def extensions(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule}


class MalformedIdNumber(InvalidIdNumber):
    """Not 18 characters of 17 digits and a digit or X."""

    code = "id-number-malformed"
    rule = "malformed"


class UnknownRegion(InvalidIdNumber):
    """The first two digits are not a GB/T 2260 province-level code."""

    code = "id-number-unknown-region"
    rule = "unknown-region"


class ImpossibleBirthDate(InvalidIdNumber):
    """Positions 7–14 are not a real calendar date, or the date is in the future."""

    code = "id-number-impossible-birth-date"
    rule = "impossible-birth-date"


class WrongCheckCharacter(InvalidIdNumber):
    """The ISO 7064 MOD 11-2 check character does not match."""

    code = "id-number-wrong-check-character"
    rule = "wrong-check-character"


# -- registration -------------------------------------------------------------------


class WeakPassword(IdentityError):
    """The password breaks a strength rule; the message and ``rule`` say which."""

    code = "weak-password"
    status = 422
    field = "password"

    def __init__(self, message: str, *, rule: str, **params: int) -> None:
        super().__init__(message)
        #: ``too-short``, ``too-long``, ``control-character``, ``too-few-classes``,
        #: ``too-few-distinct``, ``common``, ``personal``.
        self.rule = rule
        self.params = params

    @property
    def extensions(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule, **self.params}


class InvalidName(IdentityError):
    code = "invalid-name"
    status = 422
    field = "name"


class InvalidPhone(IdentityError):
    code = "invalid-phone"
    status = 422
    field = "phone"


class CitizenAlreadyRegistered(IdentityError):
    """An account with this identity number (or phone) exists already."""

    code = "citizen-already-registered"
    status = 409


class RegisterEntryConflict(IdentityError):
    """The population register already holds this number under another name."""

    code = "register-entry-conflict"
    status = 409
    field = "name"


class UnknownPopulationRegister(IdentityError):
    """Settings name a population register implementation that does not exist."""

    code = "unknown-population-register"
    status = 500


# -- authentication -----------------------------------------------------------------


class LoginFailed(IdentityError):
    """Wrong username or password. Deliberately does not say which (no enumeration)."""

    code = "login-failed"
    status = 401

    def __init__(
        self, message: str = "The identity number or phone and password do not match."
    ) -> None:
        super().__init__(message)


class LoginThrottled(IdentityError):
    """Too many failed logins for this account or from this address."""

    code = "login-throttled"
    status = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        minutes = max(1, -(-self.retry_after // 60))
        super().__init__(
            f"Too many failed attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )

    @property
    def retry_after_minutes(self) -> int:
        return max(1, -(-self.retry_after // 60))

    @property
    def extensions(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class InvalidOtp(IdentityError):
    """The one-time code (TOTP or recovery code) is wrong, expired or already used."""

    code = "invalid-otp"
    status = 401
    field = "otp"

    def __init__(self, message: str = "The code is wrong, expired or was already used.") -> None:
        super().__init__(message)


class TotpAlreadyEnrolled(IdentityError):
    code = "totp-already-enrolled"
    status = 409


class TotpNotEnrolled(IdentityError):
    code = "totp-not-enrolled"
    status = 409


ALL_ERRORS: tuple[type[IdentityError], ...] = (IdentityError,)
"""Register these with ``problems.install``: subclasses are handled through the base."""
