"""The one JSON encoder: the bytes json.dumps writes in compact form, and the same
refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from keys.compact_json import json_bytes


def _reference(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        {"iss": "https://gw.example", "sub": "张三", "exp": 1_800_000_000, "scope": "a b"},
        {"nested": [1, 2.5, None, True, {"k": 'v\n"\\'}], "empty": {}},
        {"big": 2**70},  # beyond 64 bits: through json, same bytes
        [{"emoji": "\U0001f600", "ctl": "\x01"}],
    ],
)
def test_same_bytes_as_compact_json(value: object) -> None:
    assert json_bytes(value) == _reference(value)


@dataclass
class _Thing:
    x: int


@pytest.mark.parametrize("value", [{"when": datetime(2026, 1, 1, tzinfo=UTC)}, {"t": _Thing(1)}])
def test_refuses_what_json_refuses(value: object) -> None:
    with pytest.raises(TypeError):
        json_bytes(value)
    with pytest.raises(TypeError):
        _reference(value)
