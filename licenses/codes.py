"""National codes the registry validates: credit codes, region codes, holder identity numbers.

- Unified social credit code, GB 32100-2015 (统一社会信用代码): 18 characters over
  ``0123456789ABCDEFGHJKLMNPQRTUWXY``; the check is python-stdnum's ``stdnum.cn.uscc``.
  No normalisation: the code must already be upper case and exactly 18 characters
  (``tests/vectors/README.md`` §1).
- Administrative division codes, GB/T 2260: 6 digits whose first two name one of the 34
  province-level divisions (:mod:`gbcodes.regions`).
- Citizen identity number, GB 11643-1999 (公民身份号码): the holder code of a license
  (holder code type ``111``); the rules are :mod:`gbcodes.id_number`'s.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumValidationError

from gbcodes.errors import CodeError
from gbcodes.id_number import parse_id_number
from gbcodes.regions import provinces

#: Package data of the registry: the catalogue, demo licenses, service items.
DATA_DIR = Path(__file__).parent / "data"

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_SHAPE = re.compile(rf"[{CREDIT_CODE_ALPHABET}]{{18}}")
_REGION_SHAPE = re.compile(r"\d{6}")

#: Holder code type of a resident identity card (证件类型代码 111).
HOLDER_CODE_TYPE_RESIDENT_ID = "111"


class RegistryError(Exception):
    """Base of the license registry's domain errors (rendered as RFC 9457 problems).

    ``field`` names the request field at fault, so a person can act on the problem.
    """

    code = "license-registry-error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def extensions(self) -> dict[str, Any]:
        return {"field": self.field} if self.field else {}


class InvalidCreditCode(RegistryError):
    code = "invalid-credit-code"
    status = 422


class InvalidRegionCode(RegistryError):
    code = "invalid-region-code"
    status = 422


class InvalidIdNumber(RegistryError):
    code = "invalid-id-number"
    status = 422


def validate_credit_code(value: str, *, field: str = "credit_code") -> str:
    """Return ``value`` if it is a valid unified social credit code; raise naming the fault."""
    if len(value) != 18:
        raise InvalidCreditCode(
            f"{field}: a unified social credit code has 18 characters, not {len(value)}",
            field=field,
        )
    if not _CREDIT_CODE_SHAPE.fullmatch(value):
        bad = next(ch for ch in value if ch not in CREDIT_CODE_ALPHABET)
        raise InvalidCreditCode(
            f"{field}: character {bad!r} is not allowed in a unified social credit code "
            f"(upper-case {CREDIT_CODE_ALPHABET} only)",
            field=field,
        )
    try:
        uscc.validate(value)
    except StdnumValidationError as exc:
        raise InvalidCreditCode(
            f"{field}: the check character of credit code {value} is wrong (GB 32100-2015)",
            field=field,
        ) from exc
    return value


def is_credit_code(value: str) -> bool:
    try:
        validate_credit_code(value)
    except InvalidCreditCode:
        return False
    return True


def validate_region_code(value: str, *, field: str = "region") -> str:
    """A 6-digit GB/T 2260 code whose province exists; county codes are not listed here."""
    if not _REGION_SHAPE.fullmatch(value):
        raise InvalidRegionCode(
            f"{field}: a GB/T 2260 region code is 6 digits, got {value!r}", field=field
        )
    if f"{value[:2]}0000" not in provinces():
        raise InvalidRegionCode(
            f"{field}: {value[:2]} is not a GB/T 2260 province-level code", field=field
        )
    return value


def validate_id_number(value: str, *, field: str = "holder.id_number", today: date) -> str:
    """Return the 18-character resident identity number (final ``x`` as ``X``) or raise.

    The GB 11643-1999 rules are :mod:`gbcodes.id_number`'s (shared with accounts); the
    error names the request field and the rule broken.
    """
    try:
        return parse_id_number(value, today=today).number
    except CodeError as exc:
        raise InvalidIdNumber(f"{field}: {exc}", field=field) from None


def birth_date_of(id_number: str) -> date:
    """The birth date encoded in a validated resident identity number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
