"""The license-type catalogue: the shipped file, imports, schemas, validity rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from licenses import catalogue
from licenses.catalogue import InvalidCatalogue, InvalidLicenseFields, InvalidValidity
from licenses.codes import is_credit_code
from licenses.identifiers import validate_type_code
from wallet_api.runtime import Runtime

if TYPE_CHECKING:
    from licenses.models import LicenseType

SHIPPED = catalogue.read_catalogue()
REQUIRED_TYPES = {
    "Resident identity card",
    "Business license",
    "Motor-vehicle driving license",
    "Marriage certificate",
    "Household register",
    "Real-estate title certificate",
    "Food business permit",
}


def test_shipped_catalogue_has_the_required_types() -> None:
    names = {entry.name_en for entry in SHIPPED}
    assert names >= REQUIRED_TYPES
    assert any(name.startswith("Professional qualification certificate") for name in names)
    assert len(SHIPPED) >= 8


@pytest.mark.parametrize("entry", SHIPPED, ids=[e.code for e in SHIPPED])
def test_each_shipped_type_is_coherent(entry: catalogue.TypeEntry) -> None:
    assert validate_type_code(entry.code) == entry.code
    assert is_credit_code(entry.defining_agency_code)
    assert entry.code.startswith(entry.defining_agency_code)
    assert entry.name_zh
    assert entry.retention_years > 0
    properties = entry.subject_schema["properties"]
    assert [row["name"] for row in entry.display_template["fields"]] == list(properties)
    assert all(row["zh"] and row["en"] for row in entry.display_template["fields"])
    row = _row(entry)
    example = catalogue.example_fields(row)
    catalogue.validate_fields(row, example)
    assert set(entry.subject_schema["required"]) <= set(example)


def _row(entry: catalogue.TypeEntry) -> LicenseType:
    from licenses.models import LicenseType

    return LicenseType(
        code=entry.code,
        name_zh=entry.name_zh,
        name_en=entry.name_en,
        defining_agency_name=entry.defining_agency_name,
        defining_agency_code=entry.defining_agency_code,
        subject_schema=entry.subject_schema,
        validity_rule=entry.validity_rule,
        retention_years=entry.retention_years,
        display_template=entry.display_template,
        age_over_18_fields=entry.age_over_18_fields,
    )


def test_age_preset_fields_are_dates_of_birth() -> None:
    with_age = [e for e in SHIPPED if e.age_over_18_fields]
    assert {e.name_en for e in with_age} >= {"Resident identity card", "Household register"}
    for entry in with_age:
        for name in entry.age_over_18_fields:
            assert entry.subject_schema["properties"][name]["format"] == "date"


def test_schema_errors_name_the_field_and_never_echo_the_value() -> None:
    id_card = _row(next(e for e in SHIPPED if e.name_en == "Resident identity card"))
    fields = catalogue.example_fields(id_card) | {"address": "", "sex": "秘密值"}
    with pytest.raises(InvalidLicenseFields) as info:
        catalogue.validate_fields(id_card, fields)
    assert info.value.field == "fields.address"
    fields["address"] = "ok"
    with pytest.raises(InvalidLicenseFields) as info:
        catalogue.validate_fields(id_card, fields)
    assert info.value.field == "fields.sex"
    assert "秘密值" not in str(info.value)
    assert '"男"' in str(info.value)


def test_validity_rules() -> None:
    by_name = {e.name_en: _row(e) for e in SHIPPED}
    id_card, marriage = by_name["Resident identity card"], by_name["Marriage certificate"]
    start = date(2024, 2, 29)
    assert catalogue.validity_period(id_card, valid_from=start, valid_until=None) == date(
        2044, 2, 29
    )
    assert catalogue.add_years(start, 1) == date(2025, 2, 28)
    with pytest.raises(InvalidValidity, match="at most 20 years"):
        catalogue.validity_period(id_card, valid_from=start, valid_until=date(2045, 1, 1))
    assert catalogue.validity_period(marriage, valid_from=start, valid_until=None) is None
    with pytest.raises(InvalidValidity, match="without an end date"):
        catalogue.validity_period(marriage, valid_from=start, valid_until=date(2030, 1, 1))


def _catalogue_file(tmp_path: Path, mutate: Callable[[list[dict[str, Any]]], object]) -> Path:
    document = json.loads(catalogue.SHIPPED_CATALOGUE.read_text(encoding="utf-8"))
    mutate(document["license_types"])
    path = tmp_path / "types.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t[0].update(code="111000000000130019001"), "license_types[0].code"),
        (lambda t: t[2].update(code=t[0]["code"]), "duplicate type codes"),
        (lambda t: t[0]["validity"].update(kind="sometimes"), "license_types[0].validity"),
        (lambda t: t[2].pop("schema"), "license_types[2]: missing 'schema'"),
        (lambda t: t[0]["schema"].update(type="nonsense"), "license_types[0].schema"),
        (lambda t: t[0]["display"].append({"name": "ghost", "zh": "鬼", "en": "x"}), "ghost"),
    ],
    ids=["bad-code", "duplicate", "validity", "missing-schema", "bad-schema", "display-field"],
)
def test_bad_catalogue_files_are_refused(
    tmp_path: Path, mutate: Callable[[list[dict[str, Any]]], object], message: str
) -> None:
    with pytest.raises(InvalidCatalogue, match=message.replace("[", r"\[").replace("]", r"\]")):
        catalogue.read_catalogue(_catalogue_file(tmp_path, mutate))


def test_import_updates_by_code(runtime: Runtime, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with runtime.transaction() as session:
        catalogue.ensure_shipped(session, now=now)
        before = len(catalogue.list_types(session))

    def rename(types: list[dict[str, Any]]) -> None:
        types[0]["name"]["en"] = "Resident identity card (renamed)"

    entries = catalogue.read_catalogue(_catalogue_file(tmp_path, rename))
    with runtime.transaction() as session:
        written = catalogue.import_types(session, entries=entries, now=now)
        rows = catalogue.list_types(session)
    assert len(written) == before == len(rows)
    assert "Resident identity card (renamed)" in {row.name_en for row in rows}
