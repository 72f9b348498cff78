"""A quick "valid" for license fields, decided exactly as python-jsonschema decides it.

python-jsonschema (:func:`licenses.catalogue.validate_fields`) is the authority on a
license's fields: it decides, and it writes every error message. It spends ~50 µs on a
typical license's six fields, about a quarter of what a bulk import's process does per
license (bench scenario 7). jsonschema-rs decides the same in well under a microsecond,
but it is a second implementation, and the two differ where the specification leaves
room. So the fast path answers only "valid" (``True``) or "ask python-jsonschema"
(``False``), and only for schemas where a "valid" cannot differ:

- **Structural keywords** (``type``, ``properties``, ``required``,
  ``additionalProperties``, ``enum``, ``const``, lengths, numeric bounds, ``items``,
  item counts) are decided by jsonschema-rs. Here both implement the same text of the
  specification, and the tests compare them across the shipped catalogue and mutations
  of it (wrong types, booleans for numbers, integers beyond 2**53, lengths counted in
  code points, lone surrogates).
- **``pattern`` and ``format``** are where the two differ (ECMA-262 against Python's
  ``re``; which formats are asserted, and how). jsonschema-rs never sees them: they are
  checked here by python-jsonschema's own rules (``re.search`` on strings, its format
  checker). They are supported directly on a top-level property, where the catalogue
  puts them.
- Any other keyword, or ``pattern``/``format`` anywhere else: no fast path at all.

A "no" is never an answer: python-jsonschema validates again. So a difference in the
structural keywords can only cost time, unless jsonschema-rs accepted something
python-jsonschema refuses, which is what the tests look for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from jsonschema import FormatChecker

#: Decided alike by both validators (see the module's docstring).
_STRUCTURAL = frozenset(
    {
        "type",
        "required",
        "enum",
        "const",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
    }
)
#: Annotations: no effect on validity.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
#: Checked here, by python-jsonschema's rules, when directly on a top-level property.
_PYTHON_RULES = frozenset({"pattern", "format"})


@dataclass(frozen=True, slots=True)
class _PropertyRule:
    name: str
    pattern: str | None
    format: str | None


class FastPath:
    """A schema's quick "valid"; built by :func:`fast_path_for`."""

    __slots__ = ("_checker", "_rules", "_structure")

    def __init__(
        self,
        structure: jsonschema_rs.Draft202012Validator,
        rules: tuple[_PropertyRule, ...],
        checker: FormatChecker,
    ) -> None:
        self._structure = structure
        self._rules = rules
        self._checker = checker

    def accepts(self, instance: Any) -> bool:
        """``True``: python-jsonschema finds no error either. ``False``: ask it."""
        try:
            if not self._structure.is_valid(instance):
                return False
        except (ValueError, TypeError, OverflowError):
            return False  # not convertible to JSON for jsonschema-rs (a lone surrogate, say)
        if not self._rules or not isinstance(instance, dict):
            return True
        for rule in self._rules:
            if rule.name not in instance:
                continue
            value = instance[rule.name]
            if (
                rule.pattern is not None
                and isinstance(value, str)
                and re.search(rule.pattern, value) is None
            ):
                return False
            if rule.format is not None and not self._checker.conforms(value, rule.format):
                return False
        return True


def fast_path_for(schema: Any, *, format_checker: FormatChecker) -> FastPath | None:
    """The fast path of ``schema``, or ``None`` where it cannot decide exactly.

    ``format_checker`` must be the one python-jsonschema validates with.
    """
    if not isinstance(schema, dict):
        return None
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        return None
    rules: list[_PropertyRule] = []
    relaxed_properties: dict[str, Any] = {}
    for name, subschema in properties.items():
        if isinstance(subschema, dict) and _PYTHON_RULES & subschema.keys():
            pattern, format_name = subschema.get("pattern"), subschema.get("format")
            if not (pattern is None or isinstance(pattern, str)) or not (
                format_name is None or isinstance(format_name, str)
            ):
                return None
            rules.append(_PropertyRule(name=name, pattern=pattern, format=format_name))
            subschema = {k: v for k, v in subschema.items() if k not in _PYTHON_RULES}
        relaxed_properties[name] = subschema
    relaxed = {k: v for k, v in schema.items() if k not in ("properties", "$schema")}
    if "properties" in schema:
        relaxed["properties"] = relaxed_properties
    if not _structural_only(relaxed):
        return None
    try:
        structure = jsonschema_rs.Draft202012Validator(relaxed)
    except (ValueError, TypeError):
        return None
    return FastPath(structure, tuple(rules), format_checker)


def _structural_only(schema: Any) -> bool:
    """Only structural keywords and annotations, at every depth."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, Mapping):
        return False
    for key, value in schema.items():
        if key in _STRUCTURAL or key in _ANNOTATIONS:
            continue
        if key == "properties":
            if not isinstance(value, Mapping) or not all(
                _structural_only(sub) for sub in value.values()
            ):
                return False
        elif key in ("items", "additionalProperties"):
            if not _structural_only(value):
                return False
        else:
            return False
    return True
