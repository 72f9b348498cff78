"""Recognition rules and service items over HTTP: agency tokens, problems naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from licenses.audit.services import list_entries
from licenses.recognition.services import create_rule, import_catalogue_file
from tests.support.license_factories import BEIJING, ID_CARD, JILIN, make_agency
from wallet_api.runtime import Runtime

DRIVING = "111000000000130013002"
HUNAN_AGENCY = "11430000006122244L"


def _bearer(
    client: TestClient, agency: dict[str, Any], scope: str = "licenses:verify"
) -> dict[str, str]:
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(agency["client_id"], agency["client_secret"]),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def catalogue(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        import_catalogue_file(session)


@pytest.fixture
def beijing(runtime: Runtime) -> dict[str, Any]:
    return make_agency(runtime, who=BEIJING, types=(ID_CARD,))


@pytest.fixture
def jilin(runtime: Runtime) -> dict[str, Any]:
    return make_agency(runtime, who=JILIN, types=(ID_CARD,))


def _rule_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "license_type": ID_CARD,
        "material_code": "M-APPLICANT-ID",
        "issuer_regions": ["220000"],
    }
    body.update(overrides)
    return body


def test_an_agency_creates_lists_and_deletes_its_own_rule(
    client: TestClient, runtime: Runtime, catalogue: None, beijing: dict[str, Any]
) -> None:
    headers = _bearer(client, beijing)
    created = client.post("/api/v1/recognition-rules", json=_rule_body(), headers=headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["verifier_credit_code"] == BEIJING[1]  # defaults to the calling agency
    assert rule["created_by"] == f"agency:{BEIJING[1]}"

    listed = client.get("/api/v1/recognition-rules", params={"verifier_credit_code": BEIJING[1]})
    assert [r["id"] for r in listed.json()] == [rule["id"]]

    deleted = client.delete(f"/api/v1/recognition-rules/{rule['id']}", headers=headers)
    assert deleted.status_code == 204
    assert client.get("/api/v1/recognition-rules").json() == []
    with runtime.transaction() as session:
        actions = [
            e.action for e in list_entries(session, subject=f"recognition-rule:{rule['id']}")
        ]
    assert actions == ["recognition.rule_created", "recognition.rule_deleted"]


def test_rules_need_an_agency_token_with_the_verify_scope(
    client: TestClient, catalogue: None, beijing: dict[str, Any]
) -> None:
    anonymous = client.post("/api/v1/recognition-rules", json=_rule_body())
    assert anonymous.status_code == 401
    wrong_scope = client.post(
        "/api/v1/recognition-rules",
        json=_rule_body(),
        headers=_bearer(client, beijing, scope="licenses:read"),
    )
    assert wrong_scope.status_code == 403


def test_an_agency_cannot_make_rules_for_others_or_delete_theirs(
    client: TestClient, catalogue: None, beijing: dict[str, Any], jilin: dict[str, Any]
) -> None:
    region_wide = client.post(
        "/api/v1/recognition-rules",
        json=_rule_body(verifier_region="110000"),
        headers=_bearer(client, beijing),
    )
    assert region_wide.status_code == 403
    assert region_wide.json()["field"] == "verifier_credit_code"
    mine = client.post(
        "/api/v1/recognition-rules", json=_rule_body(), headers=_bearer(client, beijing)
    ).json()
    theirs = client.delete(
        f"/api/v1/recognition-rules/{mine['id']}", headers=_bearer(client, jilin)
    )
    assert theirs.status_code == 403
    missing = client.delete(
        "/api/v1/recognition-rules/00000000-0000-0000-0000-000000000000",
        headers=_bearer(client, jilin),
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"license_type": "x"}, 422, "license_type"),
        ({"license_type": DRIVING}, 422, "license_type"),
        ({"material_code": "M-NOPE"}, 422, "material_code"),
        ({"issuer_regions": ["22"]}, 422, "issuer_regions[0]"),
        ({"issuer_regions": []}, 422, "issuer_regions"),
        ({"issuer_credit_codes": ["11430000006122244X"]}, 422, "issuer_credit_codes[0]"),
        ({"issuer_regions": "220000"}, 422, "issuer_regions"),
        ({"extra": True}, 422, "extra"),
    ],
)
def test_bad_rules_get_a_problem_naming_the_field(
    client: TestClient,
    runtime: Runtime,
    catalogue: None,
    beijing: dict[str, Any],
    overrides: dict[str, Any],
    status: int,
    field: str,
) -> None:
    response = client.post(
        "/api/v1/recognition-rules", json=_rule_body(**overrides), headers=_bearer(client, beijing)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    named = problem.get("field") or problem["errors"][0]["field"]
    assert named == field
    assert client.get("/api/v1/recognition-rules").json() == []


def test_a_duplicate_rule_is_a_conflict(
    client: TestClient, catalogue: None, beijing: dict[str, Any]
) -> None:
    headers = _bearer(client, beijing)
    assert client.post("/api/v1/recognition-rules", json=_rule_body(), headers=headers).is_success
    again = client.post("/api/v1/recognition-rules", json=_rule_body(), headers=headers)
    assert again.status_code == 409


def test_service_items_are_listed_and_shown(client: TestClient, catalogue: None) -> None:
    items = client.get("/api/v1/service-items").json()
    assert len(items) >= 5
    shenzhen = client.get("/api/v1/service-items", params={"region": "440300"}).json()
    assert {i["handler"]["region"] for i in shenzhen} == {"440300"}
    one = client.get("/api/v1/service-items/440300-GG-0003").json()
    assert one["name"]["en"].startswith("Housing-provident-fund")
    assert [m["code"] for m in one["materials"]][-1] == "M-BANK-CARD"
    assert one["materials"][-1]["paper_only"] is True
    assert client.get("/api/v1/service-items/NOPE").status_code == 404
    bad = client.get("/api/v1/service-items", params={"region": "44"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "region"


def test_the_paper_report_over_http(
    client: TestClient, runtime: Runtime, catalogue: None, beijing: dict[str, Any]
) -> None:
    # Beijing's housing commission accepts identity cards from Hunan.
    client.post(
        "/api/v1/recognition-rules",
        json=_rule_body(issuer_regions=["430000"]),
        headers=_bearer(client, beijing),
    )
    held = [
        {"license_type": ID_CARD, "issuer_credit_code": HUNAN_AGENCY, "issuer_region": "430000"}
    ]
    # 110000-QR-0005 is handled by every Beijing agency, not by this one: no rule applies …
    marriage = client.post(
        "/api/v1/service-items/110000-QR-0005/paper-report", json={"held_licenses": held}
    ).json()
    assert marriage["electronic"] == 0
    assert marriage["materials"][0]["outcome"] == "not-recognised"
    assert marriage["paper_avoided_share"] == 0.0
    # … until an operator makes a Beijing-wide rule.
    with runtime.transaction() as session:
        create_rule(
            session,
            rule=_rule_body(verifier_region="110000", issuer_regions=["430000"]),
            actor="operator:test",
        )
    marriage = client.post(
        "/api/v1/service-items/110000-QR-0005/paper-report", json={"held_licenses": held}
    ).json()
    assert [m["outcome"] for m in marriage["materials"]] == [
        "electronic",
        "not-held",
        "paper-only",
        "paper-only",
    ]
    assert (marriage["electronic"], marriage["total"]) == (1, 4)
    assert marriage["paper_avoided_share"] == 0.25
    assert marriage["materials"][0]["satisfied_by"]["issuer_credit_code"] == HUNAN_AGENCY

    bad = client.post(
        "/api/v1/service-items/110000-QR-0005/paper-report",
        json={"held_licenses": [{**held[0], "issuer_region": "4300"}]},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "held_licenses[0].issuer_region"
    missing = client.post(
        "/api/v1/service-items/110000-QR-0005/paper-report", json={"held_licenses": [{}]}
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"].startswith("held_licenses.0")
    unknown = client.post("/api/v1/service-items/NOPE/paper-report", json={"held_licenses": []})
    assert unknown.status_code == 404
