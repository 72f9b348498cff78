"""Resident identity number validation (GB 11643-1999, 公民身份号码) for accounts.

The rules live in :mod:`gbcodes.id_number` (shared with the license registry); this
module answers each broken rule with its identity error class.

An 18-character number: a 6-digit GB/T 2260 address code, the 8-digit birth date
``YYYYMMDD``, a 3-digit sequence (odd for men, even for women) and an ISO 7064
MOD 11-2 check character (``0``–``9`` or ``X``).

The rules, checked in this order so the error names the first one broken
(they are the rules of ``tests/vectors/README.md`` §2):

1. a final lower-case ``x`` is normalised to ``X``; nothing else is rewritten
   (no trimming, no full-width digits, no 15→18 upgrade);
2. exactly 18 characters: 17 ASCII digits, then a digit or ``X``;
3. the first two digits are a GB/T 2260 province-level code;
4. the birth date is a real calendar date, not before 1800 and not in the future;
5. the check character matches (``stdnum.iso7064.mod_11_2``).

``stdnum.cn.ric.is_valid`` is not used as a whole: it also checks that the county
code existed in the birth year, which rejects the standard's own example
``440524188001010014``.
"""

from __future__ import annotations

from datetime import date

from gbcodes import id_number as gb11643
from gbcodes.errors import CodeError
from gbcodes.id_number import Gender, ResidentIdNumber, normalise_id_number
from gbcodes.regions import provinces
from identity.errors import (
    ImpossibleBirthDate,
    InvalidIdNumber,
    MalformedIdNumber,
    UnknownRegion,
    WrongCheckCharacter,
)

__all__ = [
    "Gender",
    "ResidentIdNumber",
    "is_valid_id_number",
    "normalise_id_number",
    "parse_id_number",
    "province_codes",
]

#: Each GB 11643 rule answers with its own identity error class (problem ``type``).
_ERRORS: dict[str, type[InvalidIdNumber]] = {
    gb11643.MALFORMED: MalformedIdNumber,
    gb11643.UNKNOWN_REGION: UnknownRegion,
    gb11643.IMPOSSIBLE_BIRTH_DATE: ImpossibleBirthDate,
    gb11643.WRONG_CHECK_CHARACTER: WrongCheckCharacter,
}


def province_codes() -> frozenset[str]:
    """The 34 GB/T 2260 province-level codes (``110000`` … ``820000``)."""
    return frozenset(provinces())


def parse_id_number(value: str, *, today: date | None = None) -> ResidentIdNumber:
    """Check ``value`` against every rule; raise the error naming the first rule broken."""
    try:
        return gb11643.parse_id_number(value, today=today)
    except CodeError as exc:
        raise _ERRORS[exc.rule](str(exc)) from None


def is_valid_id_number(value: str, *, today: date | None = None) -> bool:
    try:
        parse_id_number(value, today=today)
    except InvalidIdNumber:
        return False
    return True
