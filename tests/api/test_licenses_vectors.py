"""Every identifier and credit-code vector through the public interfaces (HTTP, agencies)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from licenses.codes import RegistryError
from tests.api.test_licenses import bearer
from tests.support.license_factories import BEIJING, ID_CARD, make_agency
from wallet_api.runtime import Runtime

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _rows(name: str) -> list[dict[str, str]]:
    with (VECTORS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


IDENTIFIERS = _rows("license_identifiers.csv")
CREDIT_CODES = _rows("credit_codes.csv")


@pytest.fixture
def headers(client: TestClient, runtime: Runtime) -> dict[str, str]:
    return bearer(client, make_agency(runtime, who=BEIJING, types=(ID_CARD,)))


def test_every_identifier_vector_over_http(client: TestClient, headers: dict[str, str]) -> None:
    """Valid identifiers are well-formed (404: not held here); invalid ones are refused."""
    for row in IDENTIFIERS:
        response = client.get(f"/api/v1/licenses/{row['identifier']}", headers=headers)
        if row["valid"] == "true":
            assert response.status_code == 404, row["identifier"]
        else:
            assert response.status_code in {400, 422}, row["identifier"]
            assert response.json()["field"] == "id"


def test_every_credit_code_vector_registering_an_agency(runtime: Runtime) -> None:
    for row in CREDIT_CODES:
        who = ("向量机构", row["code"], "110000")
        if row["valid"] == "true":
            assert make_agency(runtime, who=who)["credit_code"] == row["code"]
        else:
            with pytest.raises(RegistryError) as info:
                make_agency(runtime, who=who)
            assert info.value.field == "credit_code", row["code"]
