"""Synthetic but valid test data for the harness: identity numbers, license request bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from stdnum.iso7064 import mod_11_2

TYPE_CODE = "11100000000013338W011"  # construction-safety qualification certificate
AGENCY_CREDIT_CODE = "11430000006122244L"  # Hunan provincial agency (sourced vector)
AGENCY_REGION = "430000"


def id_number(n: int) -> str:
    """The n-th synthetic resident identity number: Beijing Chaoyang, a real birth date."""
    birth = date(1960, 1, 1) + timedelta(days=n % 15000)
    body = f"110105{birth:%Y%m%d}{(n // 15000) % 1000:03d}"
    return body + mod_11_2.calc_check_digit(body)


def license_body(n: int) -> dict[str, object]:
    return {
        "type": TYPE_CODE,
        "holder": {"id_number": id_number(n), "name": "张三"},
        "fields": {
            "name": "张三",
            "employer": "湖南建工集团有限公司",
            "employer_credit_code": "91110108MA01ABCD2H",
            "category": "B",
            "position": "项目负责人",
            "certificate_number": f"湘建安B(2026){n:07d}",
        },
        "valid_from": "2026-01-01",
        "valid_until": "2028-12-31",
        "area_code": AGENCY_REGION,
    }


def write_jsonl(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for line in _lines(count):
            handle.write(line)
    return path


def _lines(count: int) -> Iterator[str]:
    for n in range(count):
        yield json.dumps(license_body(n), ensure_ascii=False) + "\n"
