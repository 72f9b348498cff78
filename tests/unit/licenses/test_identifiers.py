"""The GB/T 36904 e-license identifier against every vector row; build, parse, next version."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from licenses import identifiers
from licenses.identifiers import InvalidLicenseIdentifier, InvalidTypeCode

VECTORS = Path(__file__).resolve().parents[2] / "vectors"

with (VECTORS / "license_identifiers.csv").open(encoding="utf-8", newline="") as _handle:
    ROWS = list(csv.DictReader(_handle))


@pytest.mark.parametrize("row", ROWS, ids=[r["identifier"] for r in ROWS])
def test_identifier_vector(row: dict[str, str]) -> None:
    value = row["identifier"]
    if row["valid"] == "true":
        parsed = identifiers.parse(value)
        assert str(parsed) == value
        rebuilt = identifiers.build(
            type_code=parsed.type_code,
            issuer_code=parsed.issuer_code,
            serial=parsed.serial,
            version=parsed.version,
        )
        assert str(rebuilt) == value
    else:
        assert identifiers.is_valid(value) is False
        with pytest.raises(InvalidLicenseIdentifier):
            identifiers.parse(value)


def test_worked_example_check_character() -> None:
    parsed = identifiers.parse(
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
    )
    assert parsed.check_character == "U"
    assert parsed.type_code == "11100000000013338W011"
    assert parsed.issuer_code == "11430000006122244L"
    assert parsed.serial == "20230000403"
    assert parsed.version == 1


def test_next_version_keeps_serial_and_matches_the_sourced_002() -> None:
    first = identifiers.parse(
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
    )
    assert (
        str(first.next_version())
        == "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S"
    )


def test_version_999_has_no_successor() -> None:
    last = identifiers.build(
        type_code="11100000000013338W011", issuer_code="11430000006122244L", serial="1", version=999
    )
    with pytest.raises(InvalidLicenseIdentifier, match="last"):
        last.next_version()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.2.156.3003.2.11100000000013338W011.11430000006122244L.1.001.U", "root"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.1.01.U", "3-digit version"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244M.20230000403.001.H", "check"),
        (
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.T",
            "MOD 37,36 gives 'U'",
        ),
    ],
)
def test_parse_errors_name_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(InvalidLicenseIdentifier, match=message):
        identifiers.parse(value)


def test_build_rejects_bad_parts() -> None:
    with pytest.raises(InvalidTypeCode, match="type_code"):
        identifiers.build(
            type_code="11100000000013338X011", issuer_code="11430000006122244L", serial="1"
        )
    with pytest.raises(InvalidLicenseIdentifier, match="serial"):
        identifiers.build(
            type_code="11100000000013338W011", issuer_code="11430000006122244L", serial="ab_1"
        )
    with pytest.raises(InvalidLicenseIdentifier, match="version"):
        identifiers.build(
            type_code="11100000000013338W011",
            issuer_code="11430000006122244L",
            serial="1",
            version=1000,
        )
