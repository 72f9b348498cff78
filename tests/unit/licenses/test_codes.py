"""Credit codes, region codes and holder identity numbers against every vector row."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from gbcodes.regions import provinces
from licenses.codes import (
    InvalidCreditCode,
    InvalidIdNumber,
    InvalidRegionCode,
    is_credit_code,
    validate_credit_code,
    validate_id_number,
    validate_region_code,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
TODAY = date(2026, 11, 24)


def _rows(name: str) -> list[dict[str, str]]:
    with (VECTORS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


CREDIT_CODES = _rows("credit_codes.csv")
ID_NUMBERS = _rows("id_numbers.csv")
REGIONS = _rows("region_codes.csv")


@pytest.mark.parametrize("row", CREDIT_CODES, ids=[r["code"] for r in CREDIT_CODES])
def test_credit_code_vector(row: dict[str, str]) -> None:
    expected = row["valid"] == "true"
    assert is_credit_code(row["code"]) is expected
    if not expected:
        with pytest.raises(InvalidCreditCode, match="credit_code"):
            validate_credit_code(row["code"])


def test_credit_code_is_not_normalised() -> None:
    with pytest.raises(InvalidCreditCode, match="'w' is not allowed"):
        validate_credit_code("11100000000013338w")
    with pytest.raises(InvalidCreditCode, match="18 characters, not 19"):
        validate_credit_code(" 11100000000013338W")


def test_credit_code_error_names_the_field() -> None:
    with pytest.raises(InvalidCreditCode) as info:
        validate_credit_code("11100000000013338X", field="credit_code")
    assert info.value.field == "credit_code"
    assert "check character" in str(info.value)


@pytest.mark.parametrize("row", REGIONS, ids=[r["code"] for r in REGIONS])
def test_every_province_is_known(row: dict[str, str]) -> None:
    assert validate_region_code(row["code"]) == row["code"]
    assert provinces()[row["code"]] == row["name"]


@pytest.mark.parametrize("bad", ["11000", "1100000", "11000A", "000000", "830000", "990101"])
def test_bad_region_codes(bad: str) -> None:
    with pytest.raises(InvalidRegionCode, match="region"):
        validate_region_code(bad)


def test_county_region_code_accepted() -> None:
    assert validate_region_code("110105") == "110105"


@pytest.mark.parametrize("row", ID_NUMBERS, ids=[r["id_number"] for r in ID_NUMBERS])
def test_id_number_vector(row: dict[str, str]) -> None:
    if row["valid"] == "true":
        number = validate_id_number(row["id_number"], today=TODAY)
        assert number == row["id_number"].upper()
    else:
        with pytest.raises(InvalidIdNumber, match=r"holder\.id_number"):
            validate_id_number(row["id_number"], today=TODAY)
