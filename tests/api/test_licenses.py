"""The agency license API over HTTP: issue, read, idempotency, status changes, re-issue, batch.

Agencies authenticate exactly as their systems do: client credentials at ``/token``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from licenses import identifiers, sdjwt, statuslist
from licenses.jose import b64url_decode, b64url_encode
from licenses.models import License
from tests.support.license_factories import (
    BEIJING,
    ID_CARD,
    JILIN,
    MARRIAGE,
    QUALIFICATION,
    license_body,
    make_agency,
)
from wallet_api.runtime import Runtime

ALL_SCOPES = "licenses:issue licenses:revoke licenses:verify licenses:read"


def bearer(client: TestClient, agency: dict[str, Any], scope: str = ALL_SCOPES) -> dict[str, str]:
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(agency["client_id"], agency["client_secret"]),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def agency(runtime: Runtime) -> dict[str, Any]:
    return make_agency(runtime, who=BEIJING, types=(ID_CARD, QUALIFICATION))


@pytest.fixture
def headers(client: TestClient, agency: dict[str, Any]) -> dict[str, str]:
    return bearer(client, agency)


def issue(
    client: TestClient, runtime: Runtime, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/licenses", json=license_body(runtime, **overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def license_count(runtime: Runtime) -> int:
    with runtime.transaction() as session:
        count = session.scalar(select(func.count()).select_from(License))
        assert count is not None
        return count


def list_value(client: TestClient, status_ref: dict[str, Any]) -> int:
    """Fetch the status list the credential points at, verify it, read the entry."""
    uri = status_ref["uri"]
    response = client.get(uri)
    assert response.status_code == 200
    verified = statuslist.verify_status_list_token(
        token=response.text,
        jwks=client.get("/jwks.json").json(),
        expected_sub=uri,
        now=_now(),
    )
    return verified.status_list.get(status_ref["idx"])


def _now() -> datetime:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_issue_answers_identifier_credential_and_status(
    client: TestClient, runtime: Runtime, agency: dict[str, Any], headers: dict[str, str]
) -> None:
    issued = issue(client, runtime, headers)
    parsed = identifiers.parse(issued["id"])
    assert parsed.type_code == ID_CARD
    assert parsed.issuer_code == agency["credit_code"]
    assert parsed.version == 1
    status_ref = issued["status"]["status_list"]
    assert issued["status"]["value"] == "valid"
    assert list_value(client, status_ref) == 0

    unverified = sdjwt.parse_presentation(issued["credential"])
    payload = unverified.unverified_claims
    assert unverified.unverified_header["typ"] == "dc+sd-jwt"
    assert payload["vct"] == ID_CARD
    assert payload["license_id"] == issued["id"]
    assert payload["status"]["status_list"] == status_ref
    assert payload["iss"].endswith(f"/agencies/{agency['credit_code']}")
    # No directory field travels in clear: every one is a disclosure.
    assert "holder_code" not in payload
    assert "holder_name" not in payload

    read = client.get(f"/api/v1/licenses/{issued['id']}", headers=headers)
    assert read.status_code == 200
    body = read.json()
    assert body["credential"] == issued["credential"]
    assert body["holder"] == {"name": "张三", "code_type": "111", "id_number": "11010519491231002X"}
    assert body["issuing_agency"]["credit_code"] == agency["credit_code"]
    assert body["fields"] == license_body(runtime)["fields"]
    assert body["previous_version"] is None
    assert body["valid_until"] == (date.today().replace(year=date.today().year + 20)).isoformat()


def test_idempotent_retry_returns_the_same_license(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    body = license_body(runtime)
    key = {"Idempotency-Key": "order-2026-0001"}
    first = client.post("/api/v1/licenses", json=body, headers={**headers, **key})
    second = client.post("/api/v1/licenses", json=body, headers={**headers, **key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert license_count(runtime) == 1

    changed = client.post(
        "/api/v1/licenses", json={**body, "area_code": "110108"}, headers={**headers, **key}
    )
    assert changed.status_code == 422
    assert changed.json()["type"].endswith("idempotency-key-reused")
    assert changed.json()["field"] == "Idempotency-Key"
    assert license_count(runtime) == 1

    without_key = client.post("/api/v1/licenses", json=body, headers=headers)
    assert without_key.status_code == 201
    assert without_key.json()["id"] != first.json()["id"]
    assert license_count(runtime) == 2


def test_status_changes_end_to_end(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    issued = issue(client, runtime, headers)
    lid, ref = issued["id"], issued["status"]["status_list"]

    def act(action: str, license_id: str = lid) -> httpx.Response:
        response: httpx.Response = client.post(
            f"/api/v1/licenses/{license_id}/{action}",
            json={"reason": f"test {action}"},
            headers=headers,
        )
        return response

    suspended = act("suspend")
    assert suspended.status_code == 200
    assert suspended.json()["status"]["value"] == "suspended"
    assert suspended.json()["status"]["reason"] == "test suspend"
    assert list_value(client, ref) == 2

    assert act("reinstate").json()["status"]["value"] == "valid"
    assert list_value(client, ref) == 0

    assert act("revoke").json()["status"]["value"] == "revoked"
    assert list_value(client, ref) == 1

    refused = act("reinstate")
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("invalid-status-transition")
    assert list_value(client, ref) == 1

    for action, final in (("cancel", "cancelled"), ("withdraw", "withdrawn")):
        other = issue(client, runtime, headers)
        assert act(action, other["id"]).json()["status"]["value"] == final
        assert list_value(client, other["status"]["status_list"]) == 1

    unknown = act("destroy")
    assert unknown.status_code == 422
    no_reason = client.post(f"/api/v1/licenses/{lid}/suspend", json={}, headers=headers)
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"


def test_reissue_keeps_serial_raises_version_and_revokes_the_old(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    issued = issue(client, runtime, headers)
    response = client.post(
        f"/api/v1/licenses/{issued['id']}/reissue",
        json={
            "reason": "address changed",
            "fields": {**license_body(runtime)["fields"], "address": "新地址"},
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    new = response.json()
    old_id, new_id = identifiers.parse(issued["id"]), identifiers.parse(new["id"])
    assert new_id.serial == old_id.serial
    assert new_id.version == 2
    assert new_id == old_id.next_version()
    assert list_value(client, issued["status"]["status_list"]) == 1
    assert list_value(client, new["status"]["status_list"]) == 0
    old = client.get(f"/api/v1/licenses/{issued['id']}", headers=headers).json()
    assert old["status"]["value"] == "revoked"
    assert "superseded by version 002" in old["status"]["reason"]
    latest = client.get(f"/api/v1/licenses/{new['id']}", headers=headers).json()
    assert latest["previous_version"] == issued["id"]
    assert latest["fields"]["address"] == "新地址"
    presented = sdjwt.present(
        credential=new["credential"],
        disclose=["fields.address"],
        holder=None,
        audience="x",
        nonce="n",
        iat=_now(),
    )
    result = client.post("/api/v1/verify", json={"presentation": presented}, headers=headers).json()
    assert result["valid"] is True
    assert result["claims"]["fields"] == {"address": "新地址"}
    # A revoked version cannot be re-issued again.
    again = client.post(
        f"/api/v1/licenses/{issued['id']}/reissue", json={"reason": "again"}, headers=headers
    )
    assert again.status_code == 409


def test_read_malformed_and_unknown_identifiers(
    client: TestClient, runtime: Runtime, agency: dict[str, Any], headers: dict[str, str]
) -> None:
    malformed = client.get("/api/v1/licenses/1.2.156.3005.2.not-an-id", headers=headers)
    assert malformed.status_code in {400, 422}
    assert malformed.headers["content-type"].startswith("application/problem+json")
    bad_check = client.get(
        "/api/v1/licenses/1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.T",
        headers=headers,
    )
    assert bad_check.status_code in {400, 422}
    assert "check character" in bad_check.json()["detail"]
    unknown = client.get(
        "/api/v1/licenses/1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
        headers=headers,
    )
    assert unknown.status_code == 404
    # Another agency's license is not visible (nor changeable) either.
    issued = issue(client, runtime, headers)
    other = make_agency(runtime, who=JILIN, types=(ID_CARD,))
    other_headers = bearer(client, other)
    assert client.get(f"/api/v1/licenses/{issued['id']}", headers=other_headers).status_code == 404
    revoke = client.post(
        f"/api/v1/licenses/{issued['id']}/revoke", json={"reason": "x"}, headers=other_headers
    )
    assert revoke.status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        (lambda b: b["fields"].update(sex="unknown"), 422, "fields.sex"),
        (lambda b: b["fields"].pop("name"), 422, "fields.name"),
        (lambda b: b["fields"].update(colour="red"), 422, "fields.colour"),
        (lambda b: b["fields"].update(birth_date="1990-02-30"), 422, "fields.birth_date"),
        (lambda b: b.update(type="11100000000013338W999"), 422, "type"),
        (lambda b: b.update(type=MARRIAGE), 403, "type"),
        (lambda b: b["holder"].update(id_number="110105194912310021"), 422, "holder.id_number"),
        (lambda b: b["holder"].update(id_number="110105491231002"), 422, "holder.id_number"),
        (lambda b: b["holder"].update(name="   "), 422, "holder.name"),
        (lambda b: b.update(area_code="990000"), 422, "area_code"),
        (lambda b: b.update(area_code="11010"), 422, "area_code"),
        (lambda b: b.update(valid_from="2026-01-10", valid_until="2026-01-01"), 422, "valid_until"),
        (lambda b: b.update(valid_from="2026-01-10", valid_until="2060-01-01"), 422, "valid_until"),
        (lambda b: b.update(valid_until="not-a-date"), 422, "valid_until"),
        (lambda b: b.pop("holder"), 422, "holder"),
        (lambda b: b.update(extra=1), 422, "extra"),
        (
            lambda b: b["holder"].update(jwk={"kty": "EC", "crv": "P-256", "x": "a", "d": "s"}),
            422,
            "holder.jwk",
        ),
        (lambda b: b["holder"].update(jwk={"kty": "EC", "crv": "P-256"}), 422, "holder.jwk"),
    ],
    ids=[
        "schema-enum",
        "schema-required",
        "schema-additional",
        "schema-date",
        "unknown-type",
        "unauthorised-type",
        "holder-check-char",
        "holder-15-digits",
        "holder-blank-name",
        "area-province",
        "area-shape",
        "dates-reversed",
        "dates-too-long",
        "date-format",
        "missing-holder",
        "unknown-member",
        "holder-private-key",
        "holder-broken-key",
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    client: TestClient,
    runtime: Runtime,
    headers: dict[str, str],
    change: Callable[[dict[str, Any]], object],
    status: int,
    field: str,
) -> None:
    body = license_body(runtime)
    change(body)
    response = client.post("/api/v1/licenses", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    named = problem.get("field") or problem["errors"][0]["field"]
    assert named == field
    assert field in problem["detail"]
    assert license_count(runtime) == 0


def test_tokens_and_scopes_are_required(
    client: TestClient, runtime: Runtime, agency: dict[str, Any]
) -> None:
    body = license_body(runtime)
    assert client.post("/api/v1/licenses", json=body).status_code == 401
    read_only = bearer(client, agency, scope="licenses:read")
    refused = client.post("/api/v1/licenses", json=body, headers=read_only)
    assert refused.status_code == 403
    assert license_count(runtime) == 0


def test_batch_is_all_or_nothing(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    good = license_body(runtime)
    bad = license_body(runtime)
    bad["fields"]["sex"] = "?"
    refused = client.post("/api/v1/licenses/batch", json={"licenses": [good, bad]}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["field"] == "licenses[1].fields.sex"
    assert license_count(runtime) == 0
    for change, field in (
        ({"type": MARRIAGE}, "licenses[1].type"),
        ({"valid_from": "2026-01-10", "valid_until": "2026-01-01"}, "licenses[1].valid_until"),
        ({"area_code": "990000"}, "licenses[1].area_code"),
    ):
        response = client.post(
            "/api/v1/licenses/batch", json={"licenses": [good, {**good, **change}]}, headers=headers
        )
        assert response.status_code in {403, 422}
        assert response.json()["field"] == field
        assert response.json()["detail"].startswith(field)
    assert license_count(runtime) == 0

    key = {"Idempotency-Key": "batch-1"}
    accepted = client.post(
        "/api/v1/licenses/batch", json={"licenses": [good, good]}, headers={**headers, **key}
    )
    assert accepted.status_code == 201
    ids = [item["id"] for item in accepted.json()["licenses"]]
    assert len(set(ids)) == 2
    replay = client.post(
        "/api/v1/licenses/batch", json={"licenses": [good, good]}, headers={**headers, **key}
    )
    assert [item["id"] for item in replay.json()["licenses"]] == ids
    assert license_count(runtime) == 2


def test_validity_rules_of_the_catalogue(
    client: TestClient, runtime: Runtime, agency: dict[str, Any], headers: dict[str, str]
) -> None:
    fixed = issue(client, runtime, headers, valid_from="2026-01-01", valid_until="2030-06-30")
    read = client.get(f"/api/v1/licenses/{fixed['id']}", headers=headers).json()
    assert (read["valid_from"], read["valid_until"]) == ("2026-01-01", "2030-06-30")
    expired = client.post(
        "/api/v1/licenses",
        json=license_body(runtime, valid_from="2000-01-01", valid_until="2001-01-01"),
        headers=headers,
    )
    assert expired.status_code == 422
    assert expired.json()["field"] == "valid_until"


def test_expiry_sweep_invalidates_licenses_past_their_validity(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from licenses import services, status

    short = issue(
        client, runtime, headers, valid_until=(date.today() + timedelta(days=30)).isoformat()
    )
    long = issue(client, runtime, headers)
    later = services.Registry.create(
        keystore=runtime.keystore,
        master=runtime.settings.master_secret,
        platform_issuer=runtime.settings.issuer_url,
        clock=lambda: datetime.now(UTC) + timedelta(days=31),
    )
    with runtime.transaction() as session:
        expired = status.expire_due(session, registry=later)
    assert expired == [short["id"]]
    read = client.get(f"/api/v1/licenses/{short['id']}", headers=headers).json()
    assert read["status"]["value"] == "expired"
    assert list_value(client, short["status"]["status_list"]) == 1
    assert list_value(client, long["status"]["status_list"]) == 0
    with runtime.transaction() as session:
        assert status.expire_due(session, registry=later) == []


def test_every_issuance_change_and_read_is_in_the_audit_chain(
    client: TestClient, runtime: Runtime, agency: dict[str, Any], headers: dict[str, str]
) -> None:
    from licenses.audit.services import list_entries, verify_chain

    issued = issue(client, runtime, headers)
    client.post(f"/api/v1/licenses/{issued['id']}/suspend", json={"reason": "r"}, headers=headers)
    client.get(f"/api/v1/licenses/{issued['id']}", headers=headers)
    reissued = client.post(
        f"/api/v1/licenses/{issued['id']}/reissue", json={"reason": "lost"}, headers=headers
    ).json()
    with runtime.transaction() as session:
        actions = [
            (e.action, e.subject, e.actor)
            for e in list_entries(session)
            if e.subject in {issued["id"], reissued["id"]}
        ]
        report = verify_chain(session, keystore=runtime.keystore)
    actor = f"agency:{agency['credit_code']}"
    assert actions == [
        ("license.issued", issued["id"], actor),
        ("license.suspended", issued["id"], actor),
        ("license.read", issued["id"], actor),
        ("license.reissued", reissued["id"], actor),
    ]
    assert report.problems == []


def test_authorising_a_further_type_lets_the_agency_issue_it(
    client: TestClient, runtime: Runtime, agency: dict[str, Any], headers: dict[str, str]
) -> None:
    from licenses import services

    body = license_body(runtime, type_code=MARRIAGE)
    assert client.post("/api/v1/licenses", json=body, headers=headers).status_code == 403
    with runtime.transaction() as session:
        row = services.get_agency(session, agency_ref=agency["credit_code"])
        services.authorise_types(session, agency=row, license_types=[MARRIAGE])
    issued = client.post("/api/v1/licenses", json=body, headers=headers)
    assert issued.status_code == 201, issued.text
    read = client.get(f"/api/v1/licenses/{issued.json()['id']}", headers=headers).json()
    assert read["valid_until"] is None  # a marriage certificate has no end date


def test_verify_answers_a_forged_crit_header_with_a_failed_check(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    """A header anyone can write (no key needed) made the verification raise: a 500."""
    issued = issue(client, runtime, headers)
    presented = sdjwt.present(
        credential=issued["credential"],
        disclose=[],
        holder=None,
        audience="x",
        nonce="n",
        iat=_now(),
    )
    jwt = presented.split("~")[0]
    header = json.loads(b64url_decode(jwt.split(".")[0]))
    forged = ".".join(
        [b64url_encode(json.dumps({**header, "crit": 1.5}).encode()), *jwt.split(".")[1:]]
    )
    response = client.post(
        "/api/v1/verify", json={"presentation": presented.replace(jwt, forged)}, headers=headers
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["valid"] is False
    assert result["checks"]["signature"]["outcome"] == "failed"
    assert "'crit' in header" in result["checks"]["signature"]["reason"]
