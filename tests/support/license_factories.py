"""Small factories for license-registry tests: agencies, request bodies, the registry context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from licenses import catalogue, services
from wallet_api.cli.agency import register_agency
from wallet_api.runtime import Runtime

ID_CARD = "111000000000130013001"
DRIVING = "111000000000130013002"
BUSINESS = "11100000000013214Q001"
QUALIFICATION = "11100000000013338W011"
REAL_ESTATE = "11100000MB03271699022"
MARRIAGE = "11100000000013120P001"

#: Valid credit codes of public bodies from tests/vectors/credit_codes.csv.
BEIJING = ("北京市住房和城乡建设委员会", "12110000400777687U", "110000")
JILIN = ("吉林省住房和城乡建设厅", "11220000013544541J", "220000")
HUNAN = ("湖南省住房和城乡建设厅", "11430000006122244L", "430000")

HOLDER_ID = "11010519491231002X"


def registry_for(runtime: Runtime) -> services.Registry:
    return runtime.registry


def make_agency(
    runtime: Runtime, *, who: tuple[str, str, str] = BEIJING, types: tuple[str, ...] = (ID_CARD,)
) -> dict[str, Any]:
    name, credit_code, region = who
    return register_agency(
        runtime, name=name, credit_code=credit_code, region=region, license_types=list(types)
    )


def example_fields(runtime: Runtime, type_code: str) -> dict[str, Any]:
    with runtime.transaction() as session:
        catalogue.ensure_shipped(session, now=datetime.now(UTC))
        return catalogue.example_fields(catalogue.get_type(session, code=type_code))


def license_body(
    runtime: Runtime, *, type_code: str = ID_CARD, holder_id: str = HOLDER_ID, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_code,
        "holder": {"id_number": holder_id, "name": "张三"},
        "fields": example_fields(runtime, type_code),
        "area_code": "110105",
    }
    body.update(overrides)
    return body
