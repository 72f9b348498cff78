"""The signed trust list: build, verify, look up agencies by iss and by kid."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from licenses.errors import TrustListError, TrustListExpired
from licenses.jose import b64url_decode, b64url_encode
from licenses.trustlist import (
    AgencyEntry,
    TrustList,
    agency_issuer,
    build_trust_list,
    verify_trust_list,
)
from tests.support.credentials import (
    AGENCY_A_CODE,
    BUSINESS_LICENSE,
    DRIVING_LICENSE,
    NOW,
    PLATFORM,
    CredentialWorld,
    make_world,
    world_fixture,
)

world = world_fixture("trustlist")


def _verify(world: CredentialWorld, token: str, **overrides: Any) -> TrustList:
    options: dict[str, Any] = {"jwks": world.jwks("provider"), "expected_iss": PLATFORM, "now": NOW}
    return verify_trust_list(token=token, **{**options, **overrides})


def test_agency_issuer_convention() -> None:
    assert agency_issuer("https://gov.example/", AGENCY_A_CODE) == (
        f"https://gov.example/agencies/{AGENCY_A_CODE}"
    )


def test_token_header_and_payload(world: CredentialWorld) -> None:
    token = world.trust_list_token()
    header, payload = (json.loads(b64url_decode(part)) for part in token.split(".")[:2])
    assert header == {"typ": "trustlist+jwt", "alg": "ES256", "kid": world.signer("provider").kid}
    assert payload["iss"] == PLATFORM
    agency = payload["agencies"][0]
    assert set(agency) == {
        "id", "name", "credit_code", "region_code", "iss", "license_types", "jwks",
    }  # fmt: skip
    assert agency["jwks"] == world.jwks("agency:a")
    assert all("d" not in key for key in agency["jwks"]["keys"])


def test_verified_trust_list_lookups(world: CredentialWorld) -> None:
    trust_list = _verify(world, world.trust_list_token())
    agency_a = trust_list.by_iss(agency_issuer(PLATFORM, AGENCY_A_CODE))
    assert agency_a is not None
    assert agency_a.credit_code == AGENCY_A_CODE
    assert BUSINESS_LICENSE in agency_a.license_types
    kid = world.signer("agency:a").kid
    found = trust_list.by_kid(kid)
    assert found is not None
    assert found[0] == agency_a
    assert found[1]["kid"] == kid
    agency_b = trust_list.by_kid(world.signer("agency:b").kid)
    assert agency_b is not None
    assert agency_b[0].license_types == (DRIVING_LICENSE,)
    assert trust_list.by_iss("https://elsewhere.example") is None
    assert trust_list.by_kid("no-such-kid") is None
    assert trust_list.issued_at == NOW - timedelta(hours=1)
    assert trust_list.expires_at == NOW + timedelta(days=1)
    assert trust_list.age(NOW) == timedelta(hours=1)


def test_retired_keys_stay_in_the_trust_list(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    try:
        old_kid = world.signer("agency:a").kid
        new_kid = world.rotate("agency:a").kid
        trust_list = _verify(world, world.trust_list_token())
        old = trust_list.by_kid(old_kid)
        assert old is not None
        assert old[0].id == "agency-a"
        new = trust_list.by_kid(new_kid)
        assert new is not None
        assert new[0].id == "agency-a"
    finally:
        world.runtime.close()


def test_trust_list_signed_by_another_key_is_rejected(world: CredentialWorld) -> None:
    token = world.trust_list_token(signer_owner="agency:a")
    with pytest.raises(TrustListError, match="does not publish"):
        _verify(world, token)


def test_tampered_trust_list_is_rejected(world: CredentialWorld) -> None:
    header, payload, signature = world.trust_list_token().split(".")
    claims = json.loads(b64url_decode(payload))
    claims["agencies"][1]["license_types"].append(BUSINESS_LICENSE)
    forged = f"{header}.{b64url_encode(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(TrustListError, match="signature"):
        _verify(world, forged)


def test_trust_list_of_another_platform_is_rejected(world: CredentialWorld) -> None:
    with pytest.raises(TrustListError, match="iss"):
        _verify(world, world.trust_list_token(), expected_iss="https://other.example")


def test_expired_trust_list(world: CredentialWorld) -> None:
    token = world.trust_list_token(iat=NOW - timedelta(days=2), exp=NOW - timedelta(days=1))
    with pytest.raises(TrustListExpired):
        _verify(world, token)
    kept = _verify(world, token, allow_expired=True)
    assert kept.is_expired(NOW)
    assert kept.age(NOW) == timedelta(days=2)


def test_duplicate_issuers_or_keys_are_rejected(world: CredentialWorld) -> None:
    agency = world.agency("a")
    twin = AgencyEntry(**{**agency.as_dict(), "id": "twin", "license_types": ()})
    with pytest.raises(TrustListError, match="share the issuer"):
        _verify(world, world.trust_list_token([agency, twin]))
    other_iss = AgencyEntry(**{**twin.as_dict(), "iss": "https://gov.example/agencies/x"})
    with pytest.raises(TrustListError, match="publish the key"):
        _verify(world, world.trust_list_token([agency, other_iss]))


@pytest.mark.parametrize(
    "entry",
    [
        "not an object",
        {"id": "x"},
        {"id": "x", "name": "n", "credit_code": "c", "region_code": "r", "iss": "i",
         "license_types": "T", "jwks": {"keys": []}},
        {"id": "x", "name": "n", "credit_code": "c", "region_code": "r", "iss": "i",
         "license_types": [], "jwks": {"keys": [{"kty": "EC", "kid": "k", "d": "private"}]}},
    ],
)  # fmt: skip
def test_malformed_agency_entries_are_rejected(
    world: CredentialWorld, entry: dict[str, Any]
) -> None:
    token = world.signer("provider").sign_compact(
        header={"typ": "trustlist+jwt"},
        payload=json.dumps(
            {"iss": PLATFORM, "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60,
             "agencies": [entry]}
        ).encode(),
    )  # fmt: skip
    with pytest.raises(TrustListError):
        _verify(world, token)


def test_build_refuses_a_non_es256_signer(world: CredentialWorld) -> None:
    with world.session() as session:
        rs256 = world.runtime.keystore.signer(session, owner="provider", alg="RS256")
    with pytest.raises(TrustListError):
        build_trust_list(signer=rs256, iss=PLATFORM, agencies=[], iat=NOW, exp=NOW)
