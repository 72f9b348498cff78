"""The national electronic-license identifier, GB/T 36904-2018 (电子证照标识).

``1.2.156.3005.2.<type code>.<issuer credit code>.<serial>.<3-digit version>.<check>``

- type code (证照类型代码): the defining authority's 18-character credit code + 3 digits;
- issuer code (证照颁发机构代码): the issuing agency's credit code (GB 32100-2015);
- serial (流水号): ``[0-9A-Z]+``, kept by a re-issue;
- version (版本号): 3 digits, raised by a re-issue;
- check (校验位): ISO/IEC 7064 MOD 37,36 (GB/T 17710-2008) "over the fields without dots
  and without the root" (``tests/vectors/README.md`` §3), computed with
  ``stdnum.iso7064.mod_37_36``.

Identifiers are never case-folded: a lower-case check character is invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_36

from licenses.codes import InvalidCreditCode, RegistryError, validate_credit_code

ROOT = "1.2.156.3005.2"
MAX_VERSION = 999
_SERIAL = re.compile(r"[0-9A-Z]+")
_TYPE_CODE = re.compile(r"[0-9A-Z]{18}\d{3}")
_IDENTIFIER = re.compile(
    r"1\.2\.156\.3005\.2\.([0-9A-Z]{18}\d{3})\.([0-9A-Z]{18})\.([0-9A-Z]+)\.(\d{3})\.([0-9A-Z])"
)


class InvalidLicenseIdentifier(RegistryError):
    code = "invalid-license-identifier"
    status = 422


class InvalidTypeCode(RegistryError):
    code = "invalid-type-code"
    status = 422


@dataclass(frozen=True, slots=True)
class LicenseIdentifier:
    type_code: str
    issuer_code: str
    serial: str
    version: int

    @property
    def check_character(self) -> str:
        return mod_37_36.calc_check_digit(self._payload())

    def _payload(self) -> str:
        return f"{self.type_code}{self.issuer_code}{self.serial}{self.version:03d}"

    def __str__(self) -> str:
        return (
            f"{ROOT}.{self.type_code}.{self.issuer_code}.{self.serial}."
            f"{self.version:03d}.{self.check_character}"
        )

    def next_version(self) -> LicenseIdentifier:
        """The identifier of a re-issue: same serial, version + 1."""
        if self.version >= MAX_VERSION:
            raise InvalidLicenseIdentifier(
                f"version {self.version:03d} is the last a 3-digit version allows", field="id"
            )
        return LicenseIdentifier(self.type_code, self.issuer_code, self.serial, self.version + 1)


def validate_type_code(value: str, *, field: str = "type") -> str:
    """A license type code: a valid credit code of the defining authority + 3 digits."""
    if not _TYPE_CODE.fullmatch(value):
        raise InvalidTypeCode(
            f"{field}: a license type code is an 18-character credit code and 3 digits, "
            f"got {value!r}",
            field=field,
        )
    try:
        validate_credit_code(value[:18], field=field)
    except InvalidCreditCode as exc:
        raise InvalidTypeCode(
            f"{field}: {value[:18]}, the defining authority's credit code in type code "
            f"{value}, is not a valid unified social credit code",
            field=field,
        ) from exc
    return value


def build(*, type_code: str, issuer_code: str, serial: str, version: int = 1) -> LicenseIdentifier:
    """A validated identifier from its parts (the check character is computed)."""
    validate_type_code(type_code, field="type_code")
    validate_credit_code(issuer_code, field="issuer_code")
    if not _SERIAL.fullmatch(serial):
        raise InvalidLicenseIdentifier(
            f"serial: only upper-case letters and digits are allowed, got {serial!r}",
            field="serial",
        )
    if not 1 <= version <= MAX_VERSION:
        raise InvalidLicenseIdentifier(
            f"version: must be 1…{MAX_VERSION}, got {version}", field="version"
        )
    return LicenseIdentifier(type_code, issuer_code, serial, version)


def parse(value: str, *, field: str = "id") -> LicenseIdentifier:
    """Parse and strictly validate an identifier; the error names the part that is wrong."""
    if not value.startswith(ROOT + "."):
        raise InvalidLicenseIdentifier(
            f"{field}: an e-license identifier starts with the root {ROOT}", field=field
        )
    match = _IDENTIFIER.fullmatch(value)
    if match is None:
        raise InvalidLicenseIdentifier(
            f"{field}: expected {ROOT}.<21-char type code>.<18-char issuer code>.<serial "
            "[0-9A-Z]+>.<3-digit version>.<check [0-9A-Z]>",
            field=field,
        )
    type_code, issuer_code, serial, version, check = match.groups()
    try:
        validate_type_code(type_code, field=field)
        validate_credit_code(issuer_code, field=field)
    except RegistryError as exc:
        raise InvalidLicenseIdentifier(str(exc), field=field) from exc
    identifier = LicenseIdentifier(type_code, issuer_code, serial, int(version))
    expected = identifier.check_character
    if check != expected:
        raise InvalidLicenseIdentifier(
            f"{field}: the check character is {check!r} but ISO/IEC 7064 MOD 37,36 gives "
            f"{expected!r}",
            field=field,
        )
    return identifier


def is_valid(value: str) -> bool:
    try:
        parse(value)
    except InvalidLicenseIdentifier:
        return False
    return True
