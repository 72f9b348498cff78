"""The license-type catalogue: "the same matter has the same code".

Each type has its national type code (the defining authority's credit code + 3
digits), names in Chinese and English, a JSON Schema (draft 2020-12) for its subject
fields, a validity rule, a retention period and a display template. The shipped
catalogue is ``licenses/data/license_types.json``; ``govwallet license-type import``
loads it (or any file of the same shape) into the database.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from licenses.codes import DATA_DIR, RegistryError, validate_credit_code
from licenses.identifiers import validate_type_code
from licenses.models import LicenseType
from licenses.schema_fast_path import FastPath, fast_path_for

SHIPPED_CATALOGUE = DATA_DIR / "license_types.json"
VALIDITY_KINDS = ("fixed", "permanent", "agency")


class UnknownLicenseType(RegistryError):
    code = "unknown-license-type"
    status = 422


class InvalidCatalogue(RegistryError):
    code = "invalid-catalogue"
    status = 422


class InvalidLicenseFields(RegistryError):
    code = "invalid-license-fields"
    status = 422


class InvalidValidity(RegistryError):
    code = "invalid-validity"
    status = 422


@dataclass(frozen=True, slots=True)
class TypeEntry:
    """One catalogue entry as read from a file, validated."""

    code: str
    name_zh: str
    name_en: str
    defining_agency_name: str
    defining_agency_code: str
    subject_schema: dict[str, Any]
    validity_rule: dict[str, Any]
    retention_years: int
    display_template: dict[str, Any]
    age_over_18_fields: list[str]


def _entry(raw: dict[str, Any], position: int) -> TypeEntry:
    where = f"license_types[{position}]"
    try:
        code = validate_type_code(str(raw["code"]), field=f"{where}.code")
        defining = raw["defining_agency"]
        validate_credit_code(str(defining["code"]), field=f"{where}.defining_agency.code")
        if defining["code"] != code[:18]:
            raise InvalidCatalogue(
                f"{where}.code: must start with the defining agency's credit code",
                field=f"{where}.code",
            )
        schema = raw["schema"]
        Draft202012Validator.check_schema(schema)
        validity = dict(raw["validity"])
        if validity.get("kind") not in VALIDITY_KINDS:
            raise InvalidCatalogue(
                f"{where}.validity.kind: must be one of {', '.join(VALIDITY_KINDS)}",
                field=f"{where}.validity",
            )
        if validity["kind"] == "fixed" and not isinstance(validity.get("years"), int):
            raise InvalidCatalogue(
                f"{where}.validity.years: a fixed validity needs whole years",
                field=f"{where}.validity",
            )
        display = [dict(row) for row in raw["display"]]
        properties = set(schema.get("properties", {}))
        unknown = [row["name"] for row in display if row["name"] not in properties]
        unknown += [name for name in raw.get("age_over_18_fields", []) if name not in properties]
        if unknown:
            raise InvalidCatalogue(
                f"{where}: display/age fields not in the schema: {', '.join(unknown)}",
                field=f"{where}.display",
            )
        return TypeEntry(
            code=code,
            name_zh=str(raw["name"]["zh"]),
            name_en=str(raw["name"]["en"]),
            defining_agency_name=str(defining["name"]),
            defining_agency_code=str(defining["code"]),
            subject_schema=schema,
            validity_rule=validity,
            retention_years=int(raw["retention_years"]),
            display_template={"fields": display},
            age_over_18_fields=list(raw.get("age_over_18_fields", [])),
        )
    except KeyError as exc:
        raise InvalidCatalogue(f"{where}: missing {exc.args[0]!r}", field=where) from exc
    except SchemaError as exc:
        raise InvalidCatalogue(
            f"{where}.schema: not a valid JSON Schema: {exc.message}", field=f"{where}.schema"
        ) from exc
    except InvalidCatalogue:
        raise
    except RegistryError as exc:
        raise InvalidCatalogue(str(exc), field=exc.field) from exc


def read_catalogue(path: Path = SHIPPED_CATALOGUE) -> list[TypeEntry]:
    """Read and validate a catalogue file; raise :class:`InvalidCatalogue` naming the entry."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidCatalogue(f"{path}: not a readable JSON catalogue ({exc})") from exc
    raw_types = document.get("license_types") if isinstance(document, dict) else None
    if not isinstance(raw_types, list):
        raise InvalidCatalogue(f"{path}: expected an object with a 'license_types' list")
    entries = [_entry(raw, position) for position, raw in enumerate(raw_types)]
    codes = [entry.code for entry in entries]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise InvalidCatalogue(f"{path}: duplicate type codes {', '.join(duplicates)}")
    return entries


def import_types(session: Session, *, entries: Iterable[TypeEntry], now: datetime) -> list[str]:
    """Insert or update catalogue entries by code; return the codes written."""
    written = []
    for entry in entries:
        row = session.scalars(
            select(LicenseType).where(LicenseType.code == entry.code)
        ).one_or_none()
        if row is None:
            row = LicenseType(code=entry.code)
            session.add(row)
        row.name_zh = entry.name_zh
        row.name_en = entry.name_en
        row.defining_agency_name = entry.defining_agency_name
        row.defining_agency_code = entry.defining_agency_code
        row.subject_schema = entry.subject_schema
        row.validity_rule = entry.validity_rule
        row.retention_years = entry.retention_years
        row.display_template = entry.display_template
        row.age_over_18_fields = entry.age_over_18_fields
        row.updated_at = now
        written.append(entry.code)
    session.flush()
    return written


def ensure_shipped(session: Session, *, now: datetime) -> None:
    """Load the shipped catalogue if the database has no license types yet."""
    if session.scalars(select(LicenseType.id).limit(1)).first() is None:
        import_types(session, entries=read_catalogue(), now=now)


def list_types(session: Session) -> list[LicenseType]:
    return list(session.scalars(select(LicenseType).order_by(LicenseType.code)))


def get_type(session: Session, *, code: str, field: str = "type") -> LicenseType:
    row = session.scalars(select(LicenseType).where(LicenseType.code == code)).one_or_none()
    if row is None:
        raise UnknownLicenseType(f"{field}: no license type {code!r} in the catalogue", field=field)
    return row


def example_fields(license_type: LicenseType) -> dict[str, Any]:
    """A ``fields`` object built from the schema's ``examples``; it validates."""
    properties = license_type.subject_schema.get("properties", {})
    return {name: spec["examples"][0] for name, spec in properties.items() if spec.get("examples")}


#: Validators built for schema objects still held (a batch validates many lines against
#: the one schema its cached type row holds). Each entry keeps its schema alive, so an
#: identity match can never be a new object that reuses a freed one's id.
_VALIDATORS: OrderedDict[int, tuple[dict[str, Any], Draft202012Validator, FastPath | None]] = (
    OrderedDict()
)
_VALIDATORS_KEPT = 32


def _validator(schema: dict[str, Any]) -> tuple[Draft202012Validator, FastPath | None]:
    hit = _VALIDATORS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1], hit[2]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    fast = fast_path_for(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    _VALIDATORS[id(schema)] = (schema, validator, fast)
    while len(_VALIDATORS) > _VALIDATORS_KEPT:
        _VALIDATORS.popitem(last=False)
    return validator, fast


def validate_fields(license_type: LicenseType, fields: Any, *, field: str = "fields") -> None:
    """Validate subject fields against the type's schema; the error names the first bad field.

    python-jsonschema decides; :mod:`licenses.schema_fast_path` may say "valid" first.
    """
    validator, fast = _validator(license_type.subject_schema)
    if fast is not None and fast.accepts(fields):
        return
    errors = sorted(validator.iter_errors(fields), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    first = errors[0]
    parts = [str(part) for part in first.absolute_path]
    instance = first.instance
    if first.validator == "required" and isinstance(instance, dict):
        parts += [name for name in first.validator_value if name not in instance][:1]
    elif first.validator == "additionalProperties" and isinstance(instance, dict):
        known = set(first.schema.get("properties", {}))
        parts += sorted(set(instance) - known)[:1]
    name = ".".join([field, *parts])
    raise InvalidLicenseFields(
        f"{name}: {_schema_complaint(first)} ({license_type.code} {license_type.name_en})",
        field=name,
    )


def _schema_complaint(error: ValidationError) -> str:
    """What the schema wants, never repeating the submitted value (it may be personal)."""
    rule, expected = error.validator, error.validator_value
    if rule == "required":
        return "is required"
    if rule == "additionalProperties":
        return "is not a field of this license type"
    if rule == "enum" and isinstance(expected, list):
        return "must be one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in expected)
    if rule == "format":
        return f"must be a valid {expected}"
    if rule == "type":
        return f"must be of type {expected}"
    if rule == "pattern":
        return f"must match the pattern {expected}"
    return f"violates {rule} {json.dumps(expected, ensure_ascii=False)}"


def add_years(start: date, years: int) -> date:
    """``start`` plus whole years; 29 February becomes 28 February in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def validity_period(
    license_type: LicenseType, *, valid_from: date, valid_until: date | None
) -> date | None:
    """Apply the type's validity rule: the end date to store (``None`` = long-term, 长期)."""
    rule = license_type.validity_rule
    kind = rule["kind"]
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidValidity("valid_until: must be after valid_from", field="valid_until")
    if kind == "permanent":
        if valid_until is not None:
            raise InvalidValidity(
                f"valid_until: {license_type.name_en} is valid without an end date; omit it",
                field="valid_until",
            )
        return None
    if kind == "fixed":
        longest = add_years(valid_from, int(rule["years"]))
        if valid_until is None:
            return longest
        if valid_until > longest:
            raise InvalidValidity(
                f"valid_until: {license_type.name_en} is valid for at most {rule['years']} "
                f"years, so at the latest {longest.isoformat()}",
                field="valid_until",
            )
        return valid_until
    return valid_until
