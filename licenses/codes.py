"""National codes the registry validates: credit codes, region codes, holder identity numbers.

- Unified social credit code, GB 32100-2015 (统一社会信用代码): 18 characters over
  ``0123456789ABCDEFGHJKLMNPQRTUWXY``; the check is python-stdnum's ``stdnum.cn.uscc``.
  No normalisation: the code must already be upper case and exactly 18 characters
  (``tests/vectors/README.md`` §1).
- Administrative division codes, GB/T 2260: 6 digits whose first two name one of the 34
  province-level divisions (``licenses/data/region_codes.csv``).
- Citizen identity number, GB 11643-1999 (公民身份号码): the holder code of a license
  (holder code type ``111``); ISO 7064 MOD 11-2 via ``stdnum.iso7064.mod_11_2``.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.iso7064 import mod_11_2

DATA_DIR = Path(__file__).parent / "data"

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_SHAPE = re.compile(rf"[{CREDIT_CODE_ALPHABET}]{{18}}")
_REGION_SHAPE = re.compile(r"\d{6}")
_ID_NUMBER_SHAPE = re.compile(r"\d{17}[\dX]")

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


@cache
def provinces() -> dict[str, str]:
    """Province-level GB/T 2260 codes (``110000`` …) with their names."""
    with (DATA_DIR / "region_codes.csv").open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


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


def province_of(region_code: str) -> str:
    return f"{region_code[:2]}0000"


def validate_id_number(value: str, *, field: str = "holder.id_number", today: date) -> str:
    """Return the 18-character resident identity number (final ``x`` as ``X``) or raise.

    Rules of ``tests/vectors/README.md`` §2: 17 digits and a digit or ``X``; a
    province-level region; a real, not future, birth date; ISO 7064 MOD 11-2 check.
    """
    number = value[:-1] + "X" if value.endswith("x") else value
    if len(number) != 18:
        raise InvalidIdNumber(
            f"{field}: a resident identity number has 18 characters, not {len(number)}",
            field=field,
        )
    if not _ID_NUMBER_SHAPE.fullmatch(number):
        raise InvalidIdNumber(
            f"{field}: 17 digits and a final digit or X are expected", field=field
        )
    if province_of(number) not in provinces():
        raise InvalidIdNumber(
            f"{field}: {number[:2]} is not a GB/T 2260 province-level code", field=field
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber(
            f"{field}: the birth date is not a calendar date", field=field
        ) from exc
    if birth > today or birth.year < 1800:
        raise InvalidIdNumber(f"{field}: the birth date is out of range", field=field)
    if not mod_11_2.is_valid(number):
        raise InvalidIdNumber(f"{field}: the check character is wrong (GB 11643-1999)", field=field)
    return number


def birth_date_of(id_number: str) -> date:
    """The birth date encoded in a validated resident identity number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
