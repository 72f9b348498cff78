"""The fast "valid" for license fields agrees with python-jsonschema, and steps aside.

For every shipped license type, its example and many mutations of it (wrong types,
booleans for numbers, integers beyond 2**53, lengths in code points, ECMA-262 against
Python ``re`` corners, impossible dates, lone surrogates) are decided by both the fast
path and python-jsonschema; they must agree on each. Schemas the fast path cannot decide
exactly get none.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from licenses import catalogue
from licenses.models import LicenseType
from licenses.schema_fast_path import FastPath, fast_path_for

SHIPPED = catalogue.read_catalogue()
CHECKER = Draft202012Validator.FORMAT_CHECKER

#: Values every property is also tried with, whatever its type.
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    1.0,
    -1,
    0.5,
    2**53 + 1,
    10**30,
    "",
    " ",
    "x",
    "x" * 201,
    "字" * 200,
    "字" * 201,
    "e\u0301" * 100,  # 200 code points, 100 characters as a person sees them
    "\ud800",  # a lone surrogate: not UTF-8, jsonschema-rs cannot take it
    "A\n",
    [],
    ["x"],
    {},
    {"x": 1},
]


def _python_valid(schema: dict[str, Any], instance: Any) -> bool:
    validator = Draft202012Validator(schema, format_checker=CHECKER)
    return next(iter(validator.iter_errors(instance)), None) is None


def _string_variants(value: str) -> list[str]:
    """Corners where ECMA-262 and Python ``re`` part ways, and date corners."""
    digits = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")  # Arabic-Indic: \\d in Python
    fullwidth = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    return [
        value,
        value + "\n",  # Python's $ matches before a final newline
        "\n" + value,
        value.translate(digits),
        value.translate(fullwidth),
        value.lower(),
        value.upper(),
        value[:-1],
        value + value[-1:],
        "2023-02-30",
        "2023-02-28",
        "2024-02-29",
        "2023-2-8",
        "2023-02-28T00:00:00",
        "91110108MA01ABCD2H",
        "91110108MA01ABCD2I",
        "11010119900307002X",
        "11010119900307002x",
    ]


def _cases(schema: dict[str, Any], example: dict[str, Any]) -> list[Any]:
    cases: list[Any] = [example, {}, [], "x", None, 1]
    properties = schema.get("properties", {})
    for name, subschema in properties.items():
        without = {k: v for k, v in example.items() if k != name}
        cases.append(without)
        values: list[Any] = [*ODD_VALUES, *subschema.get("enum", [])]
        if isinstance(example.get(name), str):
            values += _string_variants(example[name])
        for value in values:
            cases.append({**example, name: value})
    cases.append({**example, "not_a_field": "x"})
    return cases


@pytest.mark.parametrize("entry", SHIPPED, ids=[e.code for e in SHIPPED])
def test_the_fast_path_decides_each_shipped_type_as_python_jsonschema_does(
    entry: catalogue.TypeEntry,
) -> None:
    schema = entry.subject_schema
    fast = fast_path_for(schema, format_checker=CHECKER)
    assert fast is not None, "every shipped type is within what the fast path decides"
    example = {
        name: spec["examples"][0]
        for name, spec in schema["properties"].items()
        if spec.get("examples")
    }
    cases = _cases(schema, example)
    accepted = 0
    for instance in cases:
        expected = _python_valid(schema, instance)
        assert fast.accepts(instance) == expected, instance
        accepted += expected
    assert accepted >= 1 + len(schema["properties"]) // 2  # the fast path does say yes


def _fast(schema: dict[str, Any]) -> FastPath | None:
    return fast_path_for(schema, format_checker=CHECKER)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "array", "items": {"pattern": "^a$"}}}},
        {"type": "object", "properties": {"a": {"properties": {"b": {"format": "date"}}}}},
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {}}},
        {"type": "object", "allOf": [{"required": ["a"]}]},
        {"type": "object", "properties": {"a": {"type": "number", "multipleOf": 0.1}}},
        {"type": "object", "properties": {"a": {"type": "array", "uniqueItems": True}}},
        {"type": "object", "properties": {"a": {"pattern": 5}}},
        {"type": "object", "properties": {"a": {"if": {"type": "string"}}}},
        {"type": "object", "properties": ["a"]},
        {"type": "object", "properties": {"a": {"type": "strng"}}},
        True,
        [],
    ],
    ids=[
        "pattern-in-items",
        "format-in-a-nested-object",
        "patternProperties",
        "ref",
        "allOf",
        "multipleOf",
        "uniqueItems",
        "pattern-not-a-string",
        "if",
        "properties-not-an-object",
        "not-a-valid-schema",
        "boolean-schema",
        "not-a-schema",
    ],
)
def test_schemas_it_cannot_decide_exactly_get_no_fast_path(schema: Any) -> None:
    assert _fast(schema) is None


def test_numeric_bounds_and_item_counts_agree_at_their_edges() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 0, "maximum": 2**53},
            "x": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.5},
            "list": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    fast = _fast(schema)
    assert fast is not None
    values = [-1, 0, 1, 2**53, 2**53 + 1, 2**64, -(2**63) - 1, 0.0, 1.0, 1.5, 1.4999, True]
    cases: list[Any] = [{"n": v} for v in values] + [{"x": v} for v in values]
    cases += [{"list": v} for v in ([], ["a"], ["a", "b"], ["a", "b", "c"], [1], ["a", None])]
    for instance in cases:
        assert fast.accepts(instance) == _python_valid(schema, instance), instance


def test_validate_fields_still_explains_what_the_fast_path_refuses() -> None:
    entry = next(e for e in SHIPPED if e.code == "11100000000013338W011")
    row = LicenseType(
        code=entry.code,
        name_zh=entry.name_zh,
        name_en=entry.name_en,
        defining_agency_name=entry.defining_agency_name,
        defining_agency_code=entry.defining_agency_code,
        subject_schema=copy.deepcopy(entry.subject_schema),
        validity_rule=entry.validity_rule,
        retention_years=entry.retention_years,
        display_template=entry.display_template,
        age_over_18_fields=entry.age_over_18_fields,
    )
    fields = catalogue.example_fields(row)
    catalogue.validate_fields(row, fields)
    with pytest.raises(catalogue.InvalidLicenseFields, match=r"fields\.employer_credit_code: "):
        catalogue.validate_fields(row, {**fields, "employer_credit_code": "91110108MA01ABCD2"})
    with pytest.raises(catalogue.InvalidLicenseFields, match=r"fields\.category: must be one"):
        catalogue.validate_fields(row, {**fields, "category": "D"})
    # A lone surrogate cannot reach jsonschema-rs; python-jsonschema decides (and accepts).
    catalogue.validate_fields(row, {**fields, "position": "\ud800"})
