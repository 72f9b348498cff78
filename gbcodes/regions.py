"""GB/T 2260 administrative division codes: the 34 province-level divisions.

The list (31 provinces, autonomous regions and municipalities plus 710000, 810000 and
820000) is shipped as ``region_codes.csv`` beside this module; ``tests/vectors`` holds the
same rows with their sources.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources


@cache
def provinces() -> dict[str, str]:
    """Province-level codes (``110000`` …) with their Chinese names."""
    text = resources.files("gbcodes").joinpath("region_codes.csv").read_text(encoding="utf-8")
    return {row["code"]: row["name"] for row in csv.DictReader(text.splitlines())}


def province_of(code: str) -> str:
    """The province-level code a region or identity-number prefix belongs to."""
    return f"{code[:2]}0000"


def is_known_province(code: str) -> bool:
    return province_of(code) in provinces()
