"""Resident identity numbers, GB 11643-1999 (公民身份号码).

An 18-character number: a 6-digit GB/T 2260 address code, the 8-digit birth date
``YYYYMMDD``, a 3-digit sequence (odd for men, even for women) and an ISO 7064
MOD 11-2 check character (``0``–``9`` or ``X``).

The rules, checked in this order so the error names the first one broken
(the rules of ``tests/vectors/README.md`` §2):

1. a final lower-case ``x`` is normalised to ``X``; nothing else is rewritten
   (no trimming, no full-width digits, no 15→18 upgrade);
2. exactly 18 characters: 17 ASCII digits, then a digit or ``X`` (rule ``malformed``);
3. the first two digits are a GB/T 2260 province-level code (``unknown-region``);
4. the birth date is a real calendar date, not before 1800 and not in the future
   (``impossible-birth-date``);
5. the check character matches, ``stdnum.iso7064.mod_11_2`` (``wrong-check-character``).

``stdnum.cn.ric.is_valid`` is not used as a whole: it also checks that the county code
existed in the birth year, which rejects the standard's own example ``440524188001010014``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from stdnum.iso7064 import mod_11_2

from gbcodes.errors import CodeError
from gbcodes.regions import is_known_province

Gender = Literal["male", "female"]

MALFORMED = "malformed"
UNKNOWN_REGION = "unknown-region"
IMPOSSIBLE_BIRTH_DATE = "impossible-birth-date"
WRONG_CHECK_CHARACTER = "wrong-check-character"

_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_EARLIEST_BIRTH_YEAR = 1800


@dataclass(frozen=True)
class ResidentIdNumber:
    """A resident identity number that passed every rule, with what it encodes."""

    number: str
    birth_date: date
    sequence: int

    @property
    def region_code(self) -> str:
        return self.number[:6]

    @property
    def gender(self) -> Gender:
        #: GB 11643-1999 §4.3: odd sequence numbers are assigned to men, even to women.
        return "male" if self.sequence % 2 == 1 else "female"

    def __repr__(self) -> str:
        return "ResidentIdNumber(<redacted>)"


def normalise_id_number(value: str) -> str:
    """Rule 1: only a final lower-case ``x`` is rewritten, to ``X``."""
    return value[:-1] + "X" if value.endswith("x") else value


def parse_id_number(value: str, *, today: date | None = None) -> ResidentIdNumber:
    """Check ``value`` against every rule; raise :class:`CodeError` naming the first broken."""
    number = normalise_id_number(value)
    #: Rule 2: exactly 18 characters, 17 ASCII digits and a digit or X.
    if len(number) != 18 or not _SHAPE.fullmatch(number):
        raise CodeError(
            MALFORMED,
            "The identity number must be 18 characters: 17 digits followed by a digit or X.",
        )
    #: Rule 3: the province-level part of the address code is in GB/T 2260.
    if not is_known_province(number):
        raise CodeError(
            UNKNOWN_REGION,
            "The identity number does not start with a known province code (GB/T 2260).",
        )
    #: Rule 4: a real calendar date, not in the future.
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise CodeError(
            IMPOSSIBLE_BIRTH_DATE,
            "The birth date in the identity number (digits 7–14) is not a real date.",
        ) from None
    if born.year < _EARLIEST_BIRTH_YEAR or born > (today or date.today()):
        raise CodeError(
            IMPOSSIBLE_BIRTH_DATE,
            "The birth date in the identity number (digits 7–14) is in the future or implausible.",
        )
    #: Rule 5: ISO 7064 MOD 11-2 over all 18 characters yields 1.
    if not mod_11_2.is_valid(number):
        raise CodeError(
            WRONG_CHECK_CHARACTER,
            "The last character of the identity number does not match its check character; "
            "please check for a mistyped digit.",
        )
    return ResidentIdNumber(number=number, birth_date=born, sequence=int(number[14:17]))
