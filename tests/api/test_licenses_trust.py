"""Status lists (ETag, 304), the signed trust list, key rotation and ``POST /api/v1/verify``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from keys import AesGcmKeyWrapper, KeyStore
from licenses import qr, sdjwt, services, statuslist, trustlist
from licenses.errors import CredentialError
from licenses.jose import b64url_decode
from licenses.models import StatusList as StatusListRow
from licenses.recognition.services import create_rule, import_catalogue_file
from tests.api.test_licenses import bearer, issue
from tests.support.license_factories import (
    BEIJING,
    HUNAN,
    ID_CARD,
    JILIN,
    QUALIFICATION,
    make_agency,
    registry_for,
)
from wallet_api.runtime import Runtime


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def agency(runtime: Runtime) -> dict[str, Any]:
    return make_agency(runtime, who=BEIJING, types=(ID_CARD, QUALIFICATION))


@pytest.fixture
def headers(client: TestClient, agency: dict[str, Any]) -> dict[str, str]:
    return bearer(client, agency)


def present(
    credential: str,
    *disclose: str,
    holder: sdjwt.HolderSigner | None = None,
    audience: str = "x",
    nonce: str = "n",
) -> str:
    return sdjwt.present(
        credential=credential,
        disclose=list(disclose),
        holder=holder,
        audience=audience,
        nonce=nonce,
        iat=now(),
    )


def verify(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/verify", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_status_list_is_cacheable_and_revalidates(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    issued = issue(client, runtime, headers)
    uri = issued["status"]["status_list"]["uri"]
    first = client.get(uri)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/statuslist+jwt")
    assert "max-age" in first.headers["cache-control"]
    tag = first.headers["etag"]
    not_modified = client.get(uri, headers={"If-None-Match": tag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == tag

    client.post(
        f"/api/v1/licenses/{issued['id']}/suspend", json={"reason": "inquiry"}, headers=headers
    )
    changed = client.get(uri, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
    token = statuslist.verify_status_list_token(
        token=changed.text,
        jwks=client.get("/jwks.json").json(),
        expected_sub=uri,
        now=now(),
    )
    assert token.status_list.get(issued["status"]["status_list"]["idx"]) == 2
    assert client.get("/api/v1/status-lists/unknown-list").status_code == 404


def test_trust_list_carries_every_agency_key_region_and_type(
    client: TestClient, runtime: Runtime, agency: dict[str, Any]
) -> None:
    other = make_agency(runtime, who=JILIN, types=(QUALIFICATION,))
    response = client.get("/api/v1/trust-list")
    assert response.status_code == 200
    assert (
        client.get(
            "/api/v1/trust-list", headers={"If-None-Match": response.headers["etag"]}
        ).status_code
        == 304
    )
    trust = trustlist.verify_trust_list(
        token=response.text,
        jwks=client.get("/jwks.json").json(),
        expected_iss=runtime.settings.issuer_url,
        now=now(),
    )
    by_code = {entry.credit_code: entry for entry in trust.agencies}
    assert set(by_code) == {agency["credit_code"], other["credit_code"]}
    assert by_code[other["credit_code"]].region_code == "220000"
    assert by_code[other["credit_code"]].license_types == (QUALIFICATION,)
    assert all(
        key["kty"] == "EC" and "d" not in key for key in by_code[agency["credit_code"]].jwks["keys"]
    )
    # A forged trust list (signed by an agency key, not the platform) does not verify.
    with runtime.transaction() as session:
        forged = trustlist.build_trust_list(
            signer=runtime.keystore.signer(
                session, owner=f"agency:{agency['agency_id']}", alg="ES256"
            ),
            iss=runtime.settings.issuer_url,
            agencies=list(trust.agencies),
            iat=now(),
            exp=now() + timedelta(hours=1),
        )
    with pytest.raises(CredentialError):
        trustlist.verify_trust_list(
            token=forged,
            jwks=client.get("/jwks.json").json(),
            expected_iss=runtime.settings.issuer_url,
            now=now(),
        )


def test_key_rotation_keeps_old_licenses_verifiable(
    client: TestClient, runtime: Runtime, agency: dict[str, Any], headers: dict[str, str]
) -> None:
    before = issue(client, runtime, headers)
    owner = f"agency:{agency['agency_id']}"
    old_kid = sdjwt.parse_presentation(before["credential"]).kid
    with runtime.transaction() as session:
        row = services.get_agency(session, agency_ref=agency["credit_code"])
        services.rotate_agency_key(session, registry=registry_for(runtime), agency=row)
    # Years later the key store prunes retired keys: the agency's old key is kept.
    years_later = KeyStore(
        wrapper=AesGcmKeyWrapper(runtime.settings.master_secret),
        clock=lambda: now() + timedelta(days=3 * 365),
    )
    with runtime.transaction() as session:
        removed = years_later.prune(session)
    assert owner not in {info.owner for info in removed}
    after = issue(client, runtime, headers)
    new_kid = sdjwt.parse_presentation(after["credential"]).kid
    assert new_kid != old_kid
    trust = client.get("/api/v1/trust-list").text
    kids = {
        key["kid"]
        for entry in trustlist.verify_trust_list(
            token=trust,
            jwks=client.get("/jwks.json").json(),
            expected_iss=runtime.settings.issuer_url,
            now=now(),
        ).agencies
        for key in entry.jwks["keys"]
    }
    assert {old_kid, new_kid} <= kids
    for issued in (before, after):
        result = verify(client, headers, presentation=present(issued["credential"], "holder_name"))
        assert result["valid"] is True, result["checks"]


def test_verify_reports_every_check(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    issued = issue(client, runtime, headers)
    presentation = present(issued["credential"], "holder_name", "fields.birth_date")
    result = verify(client, headers, presentation=presentation)
    assert result["valid"] is True
    assert result["claims"]["holder_name"] == "张三"
    assert result["claims"]["fields"] == {"birth_date": "1990-03-07"}
    assert "holder_code" not in result["claims"]
    assert set(result["checks"]) >= {"signature", "issuer_trusted", "status", "disclosures"}
    assert result["license_id"] == issued["id"]

    client.post(
        f"/api/v1/licenses/{issued['id']}/revoke", json={"reason": "fraud"}, headers=headers
    )
    revoked = verify(client, headers, presentation=presentation)
    assert revoked["valid"] is False
    assert revoked["checks"]["status"]["outcome"] == "failed"
    assert "revoked" in revoked["checks"]["status"]["reason"]


def test_verify_follows_every_status_change_of_the_list(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    """Online verification keeps a status list verified once per list version; every
    change moves the version, whether through the API or by hand in the database."""
    issued = issue(client, runtime, headers)
    presentation = present(issued["credential"], "holder_name")
    ref = issued["status"]["status_list"]

    def status_check() -> dict[str, Any]:
        status: dict[str, Any] = verify(client, headers, presentation=presentation)["checks"][
            "status"
        ]
        return status

    def act(action: str) -> None:
        response = client.post(
            f"/api/v1/licenses/{issued['id']}/{action}", json={"reason": "t"}, headers=headers
        )
        assert response.status_code == 200, response.text

    assert status_check()["outcome"] == "passed"
    assert status_check()["outcome"] == "passed"  # the same version, again
    act("suspend")
    assert "suspended" in status_check()["reason"]
    act("reinstate")
    assert status_check()["outcome"] == "passed"

    # Another node or an operator's UPDATE: the entry set to INVALID (1) and the version
    # moved, as every writer of a list does.
    list_id = ref["uri"].rsplit("/", 1)[1]
    index = ref["idx"]
    with runtime.transaction() as session:
        row = session.scalars(select(StatusListRow).where(StatusListRow.list_id == list_id)).one()
        entries = statuslist.StatusList.from_bytes(row.bits, bits=2)
        entries.set(index, 1)
        session.execute(
            update(StatusListRow)
            .where(StatusListRow.list_id == list_id)
            .values(bits=entries.to_bytes(), version=StatusListRow.version + 1)
        )
    failed = status_check()
    assert failed["outcome"] == "failed"
    assert failed["code"] == "license-revoked"


def _resigned(runtime: Runtime, presentation: str, *, owner: str, **claims: object) -> str:
    """The presentation with its issuer-signed JWT's claims changed and signed by ``owner``."""
    jwt, rest = presentation.split("~", 1)
    header, payload, _ = jwt.split(".")
    header_json = json.loads(b64url_decode(header))
    payload_json = {**json.loads(b64url_decode(payload)), **claims}
    with runtime.transaction() as session:
        runtime.keystore.ensure(session, owner=owner, alg="ES256")
        signer = runtime.keystore.signer(session, owner=owner, alg="ES256")
    resigned = signer.sign_compact(
        header={"typ": header_json["typ"]}, payload=json.dumps(payload_json).encode()
    )
    return f"{resigned}~{rest}"


def test_verify_finds_the_agencies_a_credential_names_among_many(
    client: TestClient, runtime: Runtime, agency: dict[str, Any], headers: dict[str, str]
) -> None:
    """Online verification looks up the agency of the credential's iss and the agency owning
    its key, not the whole registry: with other agencies registered, a credential signed
    with another agency's key, or naming an unregistered agency, fails as it must."""
    other = make_agency(runtime, who=JILIN, types=(ID_CARD,))
    make_agency(runtime, who=HUNAN, types=(ID_CARD,))
    issued = issue(client, runtime, headers)
    presentation = present(issued["credential"], "holder_name")
    assert verify(client, headers, presentation=presentation)["valid"] is True

    with runtime.transaction() as session:
        other_owner = services.get_agency(session, agency_ref=other["agency_id"]).key_owner
    foreign_key = verify(
        client, headers, presentation=_resigned(runtime, presentation, owner=other_owner)
    )
    assert foreign_key["valid"] is False
    assert foreign_key["checks"]["signature"]["outcome"] == "passed"
    assert foreign_key["checks"]["issuer_trusted"]["outcome"] == "failed"
    assert (
        "signed with a key of 吉林省住房和城乡建设厅"
        in foreign_key["checks"]["issuer_trusted"]["reason"]
    )

    unknown_iss = registry_for(runtime).agency_issuer("91110000000000000X")
    unknown = verify(
        client,
        headers,
        presentation=_resigned(runtime, presentation, owner=other_owner, iss=unknown_iss),
    )
    assert unknown["checks"]["issuer_trusted"]["outcome"] == "failed"
    assert "is not in the trust list" in unknown["checks"]["issuer_trusted"]["reason"]

    not_an_agency = verify(
        client,
        headers,
        presentation=_resigned(runtime, presentation, owner="platform:test-not-an-agency"),
    )
    assert not_an_agency["checks"]["signature"]["outcome"] == "failed"
    assert "not in the trust list" in not_an_agency["checks"]["signature"]["reason"]

    # The issuer's own key, retired and then removed: no longer published, so not trusted.
    with runtime.transaction() as session:
        owner = services.get_agency(session, agency_ref=agency["agency_id"]).key_owner
        runtime.keystore.rotate(session, owner=owner, alg="ES256", retain_for=timedelta(0))
        runtime.keystore.prune(session)
    removed_key = verify(client, headers, presentation=presentation)
    assert removed_key["valid"] is False
    assert "not in the trust list" in removed_key["checks"]["signature"]["reason"]


def test_tampered_credentials_and_disclosures_are_rejected(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    issued = issue(client, runtime, headers)
    presentation = present(issued["credential"], "holder_name")
    jwt, *rest = presentation.split("~")
    header, payload, signature = jwt.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    bad_signature = verify(
        client, headers, presentation="~".join([f"{header}.{payload}.{flipped}", *rest])
    )
    assert bad_signature["valid"] is False
    assert bad_signature["checks"]["signature"]["outcome"] == "failed"

    foreign = sdjwt.Disclosure.create(salt=b"0123456789abcdef", name="holder_name", value="李四")
    smuggled = verify(client, headers, presentation=f"{jwt}~{foreign.encoded}~")
    assert smuggled["valid"] is False
    assert smuggled["checks"]["disclosures"]["outcome"] == "failed"
    assert "holder_name" not in smuggled.get("claims", {})

    garbage = verify(client, headers, presentation="not-a-presentation")
    assert garbage["valid"] is False
    assert garbage["checks"]["format"]["outcome"] == "failed"


def test_key_binding_audience_and_nonce(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    with runtime.transaction() as session:
        runtime.keystore.ensure(session, owner="holder:test", alg="ES256")
        holder = runtime.keystore.signer(session, owner="holder:test", alg="ES256")
        holder_jwk = runtime.keystore.public_jwk(session, kid=holder.kid)
    body = {"holder": {"id_number": "11010519491231002X", "name": "张三", "jwk": holder_jwk}}
    issued = issue(client, runtime, headers, **body)
    bound = present(
        issued["credential"], "holder_name", holder=holder, audience="counter-7", nonce="n-123"
    )
    ok = verify(client, headers, presentation=bound, audience="counter-7", nonce="n-123")
    assert ok["valid"] is True, ok["checks"]
    assert ok["checks"]["key_binding"]["outcome"] == "passed"
    wrong_nonce = verify(client, headers, presentation=bound, audience="counter-7", nonce="other")
    assert wrong_nonce["valid"] is False
    assert wrong_nonce["checks"]["key_binding"]["outcome"] == "failed"
    unbound = present(issued["credential"], "holder_name")
    missing = verify(client, headers, presentation=unbound, audience="counter-7", nonce="n-123")
    assert missing["valid"] is False


def test_offline_qr_text_is_verified_like_the_presentation(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    issued = issue(client, runtime, headers)
    presentation = present(issued["credential"], "holder_name")
    result = verify(client, headers, qr=qr.encode_offline(presentation))
    assert result["valid"] is True
    bad = client.post("/api/v1/verify", json={"qr": "GW1:%%%"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "qr"
    neither = client.post("/api/v1/verify", json={}, headers=headers)
    assert neither.status_code == 422
    assert client.post("/api/v1/verify", json={"presentation": presentation}).status_code == 401


def test_verify_names_the_verifiers_recognised_materials(
    client: TestClient, runtime: Runtime, agency: dict[str, Any], headers: dict[str, str]
) -> None:
    verifier = make_agency(runtime, who=JILIN, types=(QUALIFICATION,))
    with runtime.transaction() as session:
        import_catalogue_file(session)
        create_rule(
            session,
            rule={
                "verifier_credit_code": verifier["credit_code"],
                "license_type": ID_CARD,
                "material_code": "M-APPLICANT-ID",
                "issuer_regions": ["110000"],
            },
            actor="operator:test",
        )
    issued = issue(client, runtime, headers)
    presentation = present(issued["credential"], "holder_name")
    result = verify(client, bearer(client, verifier), presentation=presentation)
    assert result["valid"] is True
    assert [m["code"] for m in result["recognised_materials"]] == ["M-APPLICANT-ID"]
    # The issuing agency has no such rule: nothing recognised for it.
    assert verify(client, headers, presentation=presentation)["recognised_materials"] == []


def test_offline_verifier_with_cached_lists(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    """Fetch the trust list and status list once, then verify with no registry at all."""
    from licenses import verification

    issued = issue(client, runtime, headers)
    jwks = client.get("/jwks.json").json()
    trust = trustlist.verify_trust_list(
        token=client.get("/api/v1/trust-list").text,
        jwks=jwks,
        expected_iss=runtime.settings.issuer_url,
        now=now(),
    )
    uri = issued["status"]["status_list"]["uri"]
    cached = verification.CachedStatusLists()
    cached.add(
        statuslist.verify_status_list_token(
            token=client.get(uri).text, jwks=jwks, expected_sub=uri, now=now()
        )
    )
    presentation = present(issued["credential"], "holder_name")

    def offline(when: datetime) -> dict[str, Any]:
        return verification.verify_presentation(
            presentation=presentation,
            trust_list=trust,
            status_lists=cached,
            audience=None,
            nonce=None,
            now=when,
            key_binding_max_age=timedelta(minutes=5),
            require_key_binding=False,
        ).as_dict()

    assert offline(now())["valid"] is True
    # Half an hour later the cached list is stale but still usable, and says so.
    later = offline(now() + timedelta(minutes=30))
    assert later["valid"] is True
    assert later["status_list"]["stale"] is True
    # Two days later both cached lists have expired: the verifier must refresh them.
    stale = offline(now() + timedelta(days=2))
    assert stale["valid"] is False
    assert stale["trust_list"]["expired"] is True
