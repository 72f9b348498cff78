"""GB 11643-1999 validation against every row of ``tests/vectors/id_numbers.csv``."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from stdnum.cn import ric

from identity.errors import (
    ImpossibleBirthDate,
    InvalidIdNumber,
    MalformedIdNumber,
    UnknownRegion,
    WrongCheckCharacter,
)
from identity.validators import is_valid_id_number, parse_id_number, province_codes

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def _rows(name: str) -> list[dict[str, str]]:
    with (VECTORS / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ID_ROWS = _rows("id_numbers.csv")
VALID = [row for row in ID_ROWS if row["valid"] == "true"]
INVALID = [row for row in ID_ROWS if row["valid"] == "false"]


def _expected_error(reason: str) -> type[InvalidIdNumber]:
    """The rule a vector's ``reason`` column says it breaks."""
    if reason.startswith("bad check char"):
        return WrongCheckCharacter
    if "date" in reason:
        return ImpossibleBirthDate
    if reason.startswith("province code"):
        return UnknownRegion
    return MalformedIdNumber


def test_vectors_cover_both_kinds() -> None:
    assert len(VALID) == 16
    assert len(INVALID) == 16


@pytest.mark.parametrize("row", VALID, ids=[row["id_number"] for row in VALID])
def test_valid_vector_is_accepted(row: dict[str, str]) -> None:
    parsed = parse_id_number(row["id_number"])
    assert parsed.number == row["id_number"].upper()
    assert parsed.number.endswith(("X", *"0123456789"))
    assert is_valid_id_number(row["id_number"])


@pytest.mark.parametrize("row", INVALID, ids=[row["id_number"] for row in INVALID])
def test_invalid_vector_names_the_broken_rule(row: dict[str, str]) -> None:
    expected = _expected_error(row["reason"])
    with pytest.raises(InvalidIdNumber) as caught:
        parse_id_number(row["id_number"])
    assert type(caught.value) is expected, row["reason"]
    assert caught.value.extensions == {"field": "id_number", "rule": expected.rule}
    assert row["id_number"] not in str(caught.value)
    assert not is_valid_id_number(row["id_number"])


def test_lower_case_x_is_stored_as_upper_case() -> None:
    assert parse_id_number("11010119900307002x").number == "11010119900307002X"


def test_nothing_but_a_final_x_is_rewritten() -> None:
    for value in (" 11010519491231002X", "11010519491231002X ", "１1010519491231002X"):
        with pytest.raises(MalformedIdNumber):
            parse_id_number(value)


def test_birth_date_and_gender_are_derived() -> None:
    woman = parse_id_number("11010519491231002X")
    assert woman.birth_date == date(1949, 12, 31)
    assert woman.gender == "female"
    assert woman.region_code == "110105"
    man = parse_id_number("440524188001010014")
    assert man.birth_date == date(1880, 1, 1)
    assert man.gender == "male"


def test_future_is_relative_to_today() -> None:
    number = "110108200002291234"
    assert parse_id_number(number, today=date(2000, 2, 29)).birth_date == date(2000, 2, 29)
    with pytest.raises(ImpossibleBirthDate):
        parse_id_number(number, today=date(2000, 2, 28))


def test_stdnum_agrees_on_the_check_character_of_every_well_formed_vector() -> None:
    """python-stdnum is the independent implementation of the MOD 11-2 check."""
    for row in ID_ROWS:
        number = row["id_number"].upper()
        if len(number) == 18 and number[:17].isdigit() and number[-1] in "0123456789X":
            check_matches = ric.calc_check_digit(number) == number[-1]
            assert check_matches == (not row["reason"].startswith("bad check char")), row


def test_province_codes_match_the_region_vectors() -> None:
    assert province_codes() == {row["code"] for row in _rows("region_codes.csv")}
    assert len(province_codes()) == 34


def test_repr_does_not_reveal_the_number() -> None:
    assert "1101" not in repr(parse_id_number("11010519491231002X"))
