"""Compact UTF-8 JSON: the one encoder for bytes that get signed, disclosed or answered.

orjson writes the same bytes as ``json.dumps(..., ensure_ascii=False,
separators=(",", ":"))`` in a fraction of the time. Like :mod:`json` it refuses dates,
dataclasses and subclasses of built-in types instead of writing them in a form of its
own choosing; what it cannot encode at all (an integer beyond 64 bits, a key that is not
a string) goes through :mod:`json`, which writes the same compact form.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value`` (raises ``TypeError`` for what :mod:`json` refuses)."""
    try:
        return orjson.dumps(value, option=_STRICT)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
