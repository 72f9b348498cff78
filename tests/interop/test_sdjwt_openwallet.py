"""Interoperability with an independent SD-JWT implementation, both ways.

The independent side is the OpenWallet Foundation's Python implementation (PyPI
``sd-jwt``, built on jwcrypto): its verifier must accept what govwallet issues and
presents; govwallet must accept presentations its holder makes, from credentials
govwallet issued and from credentials it issued itself.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sd_jwt.holder
from jwcrypto.jwk import JWK
from jwcrypto.jws import InvalidJWSSignature
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from licenses.jose import b64url_decode, b64url_encode
from licenses.sdjwt import issue_credential
from licenses.statuslist import status_claim
from licenses.trustlist import AgencyEntry, agency_issuer
from licenses.verification import VerificationResult, verify_presentation
from tests.support.credentials import (
    AUDIENCE,
    BUSINESS_LICENSE,
    LICENSE_ID,
    NONCE,
    NOW,
    PLATFORM,
    STATUS_URI,
    CredentialWorld,
    subject_claims,
    world_fixture,
)

#: A third agency whose credentials the independent implementation issues.
AGENCY_C_CODE = "11370800MB28559184"


world = world_fixture("interop")


@pytest.fixture
def frozen_holder_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The independent holder dates its KB-JWT with time.time(); pin it to the test's NOW."""
    monkeypatch.setattr(sd_jwt.holder, "time", NOW.timestamp)


@pytest.fixture(scope="module")
def foreign_issuer_key() -> JWK:
    return JWK.generate(kty="EC", crv="P-256")


@pytest.fixture(scope="module")
def foreign_holder_key() -> JWK:
    return JWK.generate(kty="EC", crv="P-256")


def _jwk(key: JWK, *, private: bool = False) -> JWK:
    return key if private else JWK(**key.export_public(as_dict=True))


def _agency_c(key: JWK) -> AgencyEntry:
    public = {**key.export_public(as_dict=True), "kid": key.thumbprint(), "alg": "ES256"}
    return AgencyEntry(
        id="agency-c",
        name="示例机构 C",
        credit_code=AGENCY_C_CODE,
        region_code="370800",
        iss=agency_issuer(PLATFORM, AGENCY_C_CODE),
        license_types=(BUSINESS_LICENSE,),
        jwks={"keys": [public]},
    )


def _govwallet_verify(
    world: CredentialWorld, presentation: str, *, foreign_key: JWK | None = None
) -> VerificationResult:
    agencies = [world.agency("a")]
    if foreign_key is not None:
        agencies.append(_agency_c(foreign_key))
    return verify_presentation(
        presentation=presentation,
        trust_list=world.trust_list(agencies),
        status_lists=world.status_lists(),
        audience=AUDIENCE,
        nonce=NONCE,
        now=NOW,
        key_binding_max_age=timedelta(minutes=5),
        require_key_binding=True,
    )


def _outcomes(result: VerificationResult) -> dict[str, str]:
    return {name: check.as_dict()["outcome"] for name, check in result.checks.items()}


def _foreign_credential(issuer_key: JWK, holder_public: JWK) -> str:
    """An SD-JWT VC issued by the independent implementation."""
    user_claims = {
        "iss": agency_issuer(PLATFORM, AGENCY_C_CODE),
        "iat": int((NOW - timedelta(days=1)).timestamp()),
        "exp": int((NOW + timedelta(days=365)).timestamp()),
        "vct": BUSINESS_LICENSE,
        "status": status_claim(uri=STATUS_URI, idx=3),
        "license_id": LICENSE_ID,
        SDObj("holder_name"): "王五",
        SDObj("license_number"): "370800000000001",
        SDObj("fields"): {SDObj("enterprise_name"): "济宁示例有限公司", "city": "济宁市"},
    }
    issuer = SDJWTIssuer(
        user_claims,
        issuer_key,
        holder_key=holder_public,
        sign_alg="ES256",
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt", "kid": issuer_key.thumbprint()},
    )
    issued: str = issuer.sd_jwt_issuance
    return issued


# -- the independent verifier accepts what govwallet issues and presents --------------------------


def _openwallet_verify(
    world: CredentialWorld, presentation: str, *, aud: str | None = None, nonce: str | None = None
) -> dict[str, Any]:
    public = world.public_jwk("agency:a")
    issuer_jwk = JWK(**public)

    def issuer_key(iss: str, header: dict[str, Any]) -> JWK:
        assert iss == world.agency("a").iss
        assert header["kid"] == public["kid"]
        return issuer_jwk

    verifier = SDJWTVerifier(presentation, issuer_key, expected_aud=aud, expected_nonce=nonce)
    payload: dict[str, Any] = verifier.get_verified_payload()
    return payload


def test_openwallet_verifies_a_govwallet_presentation_with_key_binding(
    world: CredentialWorld,
) -> None:
    presentation = world.present(
        world.issue().credential, disclose=["holder_name", "fields.enterprise_name"]
    )
    payload = _openwallet_verify(world, presentation, aud=AUDIENCE, nonce=NONCE)
    assert payload["holder_name"] == "张三"
    assert payload["fields"] == {"enterprise_name": "长沙示例科技有限公司"}
    assert "holder_code" not in payload
    assert payload["vct"] == BUSINESS_LICENSE
    assert payload["license_id"] == LICENSE_ID


def test_openwallet_verifies_the_whole_govwallet_credential(world: CredentialWorld) -> None:
    payload = _openwallet_verify(world, world.issue(decoys=2).credential)
    expected = subject_claims()
    assert {k: payload[k] for k in expected} == expected


def test_openwallet_rejects_a_tampered_govwallet_presentation(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential)
    with pytest.raises(ValueError, match="nonce"):
        _openwallet_verify(world, presentation, aud=AUDIENCE, nonce="other")
    issued = world.issue()
    signature = issued.issuer_jwt.rpartition(".")[2]
    # One character in the middle changed: still canonical base64url (only the last
    # character carries unused bits, which jwcrypto checks), so the signature is parsed
    # and must fail to verify. Reversing the string made a non-canonical last character
    # in 15 of 16 credentials, refused earlier as a malformed JWS.
    middle = len(signature) // 2
    other = "A" if signature[middle] != "A" else "B"
    forged = issued.credential.replace(
        signature, signature[:middle] + other + signature[middle + 1 :]
    )
    with pytest.raises(InvalidJWSSignature):
        _openwallet_verify(world, forged)


def test_openwallet_holder_presents_a_govwallet_credential(
    world: CredentialWorld, frozen_holder_clock: None
) -> None:
    holder_key = JWK.generate(kty="EC", crv="P-256")
    bound = issue_credential(
        signer=world.signer("agency:a"),
        iss=world.agency("a").iss,
        vct=BUSINESS_LICENSE,
        claims=subject_claims(),
        always_visible={"license_id": LICENSE_ID},
        iat=NOW - timedelta(days=1),
        nbf=NOW - timedelta(days=1),
        exp=NOW + timedelta(days=365),
        status=status_claim(uri=STATUS_URI, idx=7),
        cnf_jwk=holder_key.export_public(as_dict=True),
    )
    holder = SDJWTHolder(bound.credential)
    holder.create_presentation(
        {"holder_name": True, "fields": {"registered_capital": True}},
        nonce=NONCE,
        aud=AUDIENCE,
        holder_key=holder_key,
        sign_alg="ES256",
    )
    result = _govwallet_verify(world, holder.sd_jwt_presentation)
    assert result.valid is True, _outcomes(result)
    assert result.claims["holder_name"] == "张三"
    assert result.claims["fields"] == {"registered_capital": "100万元"}
    assert "holder_code" not in result.claims

    wrong_audience = SDJWTHolder(bound.credential)
    wrong_audience.create_presentation(
        {"holder_name": True}, nonce=NONCE, aud="https://elsewhere.example",
        holder_key=holder_key, sign_alg="ES256",
    )  # fmt: skip
    rejected = _govwallet_verify(world, wrong_audience.sd_jwt_presentation)
    assert rejected.checks["key_binding"].code == "key-binding-audience-mismatch"


# -- govwallet verifies and presents credentials the independent issuer made ---------------------


def test_govwallet_verifies_an_openwallet_issued_and_presented_credential(
    world: CredentialWorld,
    foreign_issuer_key: JWK,
    foreign_holder_key: JWK,
    frozen_holder_clock: None,
) -> None:
    credential = _foreign_credential(foreign_issuer_key, _jwk(foreign_holder_key))
    holder = SDJWTHolder(credential)
    holder.create_presentation(
        {"holder_name": True, "fields": {"enterprise_name": True}},
        nonce=NONCE,
        aud=AUDIENCE,
        holder_key=foreign_holder_key,
        sign_alg="ES256",
    )
    result = _govwallet_verify(world, holder.sd_jwt_presentation, foreign_key=foreign_issuer_key)
    assert result.valid is True, _outcomes(result)
    assert result.issuer is not None
    assert result.issuer.id == "agency-c"
    assert result.claims["holder_name"] == "王五"
    assert result.claims["fields"] == {"enterprise_name": "济宁示例有限公司", "city": "济宁市"}
    assert "license_number" not in result.claims


def test_govwallet_holder_presents_an_openwallet_issued_credential(
    world: CredentialWorld, foreign_issuer_key: JWK
) -> None:
    holder_public = JWK(**world.public_jwk("holder:1"))
    credential = _foreign_credential(foreign_issuer_key, holder_public)
    presentation = world.present(credential, disclose=["license_number", "fields.city"])
    result = _govwallet_verify(world, presentation, foreign_key=foreign_issuer_key)
    assert result.valid is True, _outcomes(result)
    assert result.claims["license_number"] == "370800000000001"
    assert result.claims["fields"] == {"city": "济宁市"}
    # and the independent verifier accepts govwallet's presentation of its own credential
    verifier = SDJWTVerifier(
        presentation,
        lambda iss, header: _jwk(foreign_issuer_key),
        expected_aud=AUDIENCE,
        expected_nonce=NONCE,
    )
    assert verifier.get_verified_payload()["license_number"] == "370800000000001"


def test_govwallet_rejects_a_tampered_openwallet_disclosure(
    world: CredentialWorld,
    foreign_issuer_key: JWK,
    foreign_holder_key: JWK,
    frozen_holder_clock: None,
) -> None:
    credential = _foreign_credential(foreign_issuer_key, _jwk(foreign_holder_key))
    holder = SDJWTHolder(credential)
    holder.create_presentation(
        {"holder_name": True}, nonce=NONCE, aud=AUDIENCE,
        holder_key=foreign_holder_key, sign_alg="ES256",
    )  # fmt: skip
    jwt, disclosure, kb = holder.sd_jwt_presentation.split("~")
    salt, name, _ = json.loads(b64url_decode(disclosure))
    tampered = b64url_encode(json.dumps([salt, name, "赵六"]).encode())
    result = _govwallet_verify(world, f"{jwt}~{tampered}~{kb}", foreign_key=foreign_issuer_key)
    assert result.checks["disclosures"].code == "unreferenced-disclosure"
    assert result.checks["key_binding"].code == "key-binding-hash-mismatch"
    assert result.valid is False
