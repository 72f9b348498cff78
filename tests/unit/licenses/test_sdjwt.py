"""SD-JWT VC (RFC 9901, draft-ietf-oauth-sd-jwt-vc): issuer, holder and verifier steps."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from keys import Signer
from licenses import sdjwt
from licenses.errors import (
    ClaimNameCollision,
    DuplicateDigest,
    DuplicateDisclosure,
    InvalidCredentialInput,
    InvalidDisclosure,
    InvalidSignature,
    KeyBindingAudienceMismatch,
    KeyBindingMissing,
    MalformedPresentation,
    ReservedClaimName,
    UnknownClaim,
    UnreferencedDisclosure,
    UnsupportedDigestAlgorithm,
)
from licenses.jose import b64url_decode, b64url_encode
from licenses.sdjwt import Disclosure, VerifiedPresentation, disclosed_claims, parse_presentation
from licenses.statuslist import status_claim
from tests.support.credentials import (
    AUDIENCE,
    BUSINESS_LICENSE,
    NONCE,
    NOW,
    STATUS_URI,
    CredentialWorld,
    subject_claims,
    world_fixture,
)

world = world_fixture("sdjwt")


def _segment(jwt: str, index: int) -> dict[str, Any]:
    segment: dict[str, Any] = json.loads(b64url_decode(jwt.split(".")[index]))
    return segment


def _sha256_b64(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


# -- issuer ------------------------------------------------------------------------------------


def test_issued_credential_shape(world: CredentialWorld) -> None:
    issued = world.issue()
    header = _segment(issued.issuer_jwt, 0)
    payload = _segment(issued.issuer_jwt, 1)
    assert header == {"typ": "dc+sd-jwt", "alg": "ES256", "kid": world.signer("agency:a").kid}
    assert issued.credential == issued.issuer_jwt + "~" + "".join(
        d.encoded + "~" for d in issued.disclosures
    )
    # iss, iat, nbf, exp, vct, status, cnf are never selectively disclosable; license_id is
    # passed as always visible; every subject claim hides behind a digest.
    assert set(payload) == {
        "iss", "iat", "nbf", "exp", "vct", "status", "cnf", "license_id", "_sd", "_sd_alg",
    }  # fmt: skip
    assert payload["vct"] == BUSINESS_LICENSE
    assert payload["_sd_alg"] == "sha-256"
    assert payload["status"] == {"status_list": {"idx": 7, "uri": STATUS_URI}}
    assert payload["cnf"]["jwk"] == world.public_jwk("holder:1")
    assert payload["_sd"] == sorted(payload["_sd"])
    assert len(payload["_sd"]) == len(subject_claims())


def test_every_subject_claim_is_a_disclosure_nested_objects_recursively(
    world: CredentialWorld,
) -> None:
    issued = world.issue()
    names = [d.name for d in issued.disclosures]
    # 14 top-level claims, 4 properties of "fields", 2 of "fields.address".
    assert len(names) == 20
    assert set(subject_claims()) <= set(names)
    assert {"enterprise_name", "registered_capital", "address", "city", "street"} <= set(names)
    fields = next(d for d in issued.disclosures if d.name == "fields")
    assert set(fields.value) == {"_sd"}
    assert len(fields.value["_sd"]) == 4


def test_disclosures_follow_rfc9901_encoding_and_salt_size(world: CredentialWorld) -> None:
    for disclosure in world.issue().disclosures:
        array = json.loads(b64url_decode(disclosure.encoded))
        assert array == [disclosure.salt, disclosure.name, disclosure.value]
        assert len(b64url_decode(disclosure.salt)) == 16  # 128-bit salts
        assert disclosure.digest == _sha256_b64(disclosure.encoded)


def test_salts_are_fresh_for_every_issuance(world: CredentialWorld) -> None:
    first, second = world.issue(), world.issue()
    assert {d.salt for d in first.disclosures}.isdisjoint(d.salt for d in second.disclosures)


def test_decoy_digests_pad_every_sd_array(world: CredentialWorld) -> None:
    issued = world.issue(decoys=3)
    payload = _segment(issued.issuer_jwt, 1)
    assert len(payload["_sd"]) == len(subject_claims()) + 3
    verified = sdjwt.verify(
        issued.credential,
        issuer_jwk=world.public_jwk("agency:a"),
        audience=None,
        nonce=None,
        now=NOW,
        key_binding_max_age=timedelta(minutes=5),
        require_key_binding=False,
    )
    assert verified.claims["holder_name"] == "张三"
    assert verified.claims["fields"]["address"] == {"city": "长沙市", "street": "岳麓大道 1 号"}


@pytest.mark.parametrize("name", ["iss", "nbf", "exp", "iat", "cnf", "vct", "status", "_sd"])
def test_registered_claims_cannot_be_passed_as_subject_claims(
    world: CredentialWorld, name: str
) -> None:
    with pytest.raises(ReservedClaimName):
        world.issue(claims={**subject_claims(), name: "x"})


def test_reserved_digest_names_are_refused_anywhere(world: CredentialWorld) -> None:
    with pytest.raises(ReservedClaimName):
        world.issue(claims={"fields": {"inner": {"...": 1}}})
    with pytest.raises(ReservedClaimName):
        world.issue(claims={"tags": [{"_sd": []}]})


def test_issuer_refuses_bad_inputs(world: CredentialWorld) -> None:
    signer = world.signer("agency:a")
    common: dict[str, Any] = {
        "signer": signer,
        "iss": "https://gov.example/agencies/x",
        "vct": BUSINESS_LICENSE,
        "claims": {"a": 1},
        "always_visible": {},
        "iat": NOW,
        "nbf": None,
        "exp": None,
        "status": status_claim(uri=STATUS_URI, idx=0),
        "cnf_jwk": None,
    }
    sdjwt.issue_credential(**common)  # the baseline is fine
    with pytest.raises(InvalidCredentialInput):
        sdjwt.issue_credential(**{**common, "status": {"status_list": {"idx": -1, "uri": "u"}}})
    with pytest.raises(InvalidCredentialInput):
        sdjwt.issue_credential(**{**common, "vct": ""})
    with pytest.raises(InvalidCredentialInput):
        sdjwt.issue_credential(**{**common, "cnf_jwk": {"kty": "EC", "d": "secret"}})
    with pytest.raises(InvalidCredentialInput):
        sdjwt.issue_credential(**{**common, "always_visible": {"a": 2}})
    with pytest.raises(ReservedClaimName):
        sdjwt.issue_credential(**{**common, "always_visible": {"status": {}}})


# -- holder ------------------------------------------------------------------------------------


def _disclosed_names(presentation: str) -> list[str]:
    parsed = parse_presentation(presentation)
    return sorted(Disclosure.parse(d).name or "[]" for d in parsed.disclosures)


def test_present_keeps_only_the_chosen_disclosures(world: CredentialWorld) -> None:
    issued = world.issue()
    presentation = world.present(issued.credential, disclose=["holder_name", "license_number"])
    assert _disclosed_names(presentation) == ["holder_name", "license_number"]


def test_present_a_nested_claim_discloses_its_parents_only(world: CredentialWorld) -> None:
    issued = world.issue()
    presentation = world.present(issued.credential, disclose=["fields.address.city"])
    assert _disclosed_names(presentation) == ["address", "city", "fields"]


def test_present_an_object_discloses_its_whole_subtree(world: CredentialWorld) -> None:
    issued = world.issue()
    presentation = world.present(issued.credential, disclose=["fields"])
    assert _disclosed_names(presentation) == [
        "address", "business_scope", "city", "enterprise_name", "fields", "registered_capital",
        "street",
    ]  # fmt: skip


def test_present_unknown_claim_is_refused(world: CredentialWorld) -> None:
    with pytest.raises(UnknownClaim):
        world.present(world.issue().credential, disclose=["shoe_size"])


def test_key_binding_jwt_follows_rfc9901_section_4_3(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, disclose=["holder_name"])
    sd_jwt, _, kb_jwt = presentation.rpartition("~")
    header, claims = _segment(kb_jwt, 0), _segment(kb_jwt, 1)
    assert header["typ"] == "kb+jwt"
    assert header["alg"] == "ES256"
    assert claims == {
        "iat": int((NOW - timedelta(seconds=10)).timestamp()),
        "aud": AUDIENCE,
        "nonce": NONCE,
        "sd_hash": _sha256_b64(sd_jwt + "~"),
    }


def test_presentation_without_holder_has_no_key_binding(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, holder=None)
    assert presentation.endswith("~")
    assert parse_presentation(presentation).key_binding_jwt is None


def test_key_store_signer_is_a_holder_signer(world: CredentialWorld) -> None:
    assert isinstance(world.signer("holder:1"), Signer)
    assert isinstance(world.signer("holder:1"), sdjwt.HolderSigner)


class DeviceKey:
    """A holder key that never enters the key store (what a phone's secure element offers)."""

    alg = "ES256"

    def __init__(self) -> None:
        self._key = ECKey.generate_key("P-256")

    @property
    def public_jwk(self) -> dict[str, Any]:
        return self._key.as_dict(private=False)

    def sign_compact(self, *, header: dict[str, Any], payload: bytes) -> str:
        return jws.serialize_compact({**header, "alg": "ES256"}, payload, self._key)


def test_a_device_held_key_can_bind_presentations(world: CredentialWorld) -> None:
    device = DeviceKey()
    assert isinstance(device, sdjwt.HolderSigner)
    issued = sdjwt.issue_credential(
        signer=world.signer("agency:a"),
        iss="https://gov.example/agencies/x",
        vct=BUSINESS_LICENSE,
        claims=subject_claims(),
        always_visible={},
        iat=NOW,
        nbf=None,
        exp=None,
        status=status_claim(uri=STATUS_URI, idx=0),
        cnf_jwk=device.public_jwk,
    )
    presentation = sdjwt.present(
        credential=issued.credential,
        disclose=["holder_name"],
        holder=device,
        audience=AUDIENCE,
        nonce=NONCE,
        iat=NOW,
    )
    verified = _verify(world, presentation)
    assert verified.claims["holder_name"] == "张三"
    assert verified.key_binding is not None
    assert verified.key_binding["nonce"] == NONCE


# -- verifier ----------------------------------------------------------------------------------


def _verify(world: CredentialWorld, presentation: str, **overrides: Any) -> VerifiedPresentation:
    options: dict[str, Any] = {
        "issuer_jwk": world.public_jwk("agency:a"),
        "audience": AUDIENCE,
        "nonce": NONCE,
        "now": NOW,
        "key_binding_max_age": timedelta(minutes=5),
        "require_key_binding": True,
    }
    return sdjwt.verify(presentation, **{**options, **overrides})


def test_verify_round_trip(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential)
    verified = _verify(world, presentation)
    assert verified.claims["holder_name"] == "张三"
    assert verified.claims["fields"] == {"enterprise_name": "长沙示例科技有限公司"}
    assert "holder_code" not in verified.claims
    assert "_sd" not in verified.claims
    assert "_sd_alg" not in verified.claims
    assert verified.key_binding is not None
    assert verified.key_binding["aud"] == AUDIENCE


def test_verify_with_the_wrong_issuer_key_fails(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential)
    with pytest.raises(InvalidSignature):
        _verify(world, presentation, issuer_jwk=world.public_jwk("agency:b"))


def test_verify_requires_key_binding_when_asked(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, holder=None)
    with pytest.raises(KeyBindingMissing):
        _verify(world, presentation)
    assert _verify(world, presentation, require_key_binding=False).key_binding is None


def test_verify_key_binding_audience(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, audience="https://other.example")
    with pytest.raises(KeyBindingAudienceMismatch):
        _verify(world, presentation)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no '~'"),
        ("eyJhbGciOiJFUzI1NiJ9.e30.sig", "no '~'"),
        ("a.b~", "compact JWS"),
        ("!!!.e30.sig~", "well-formed"),
    ],
)
def test_parse_rejects_what_is_not_an_sd_jwt(text: str, fragment: str) -> None:
    with pytest.raises(MalformedPresentation, match=fragment):
        parse_presentation(text)


def test_parse_rejects_wrong_typ_none_alg_and_empty_disclosures(world: CredentialWorld) -> None:
    issued = world.issue()
    payload = issued.issuer_jwt.split(".")[1]

    def forged(header: dict[str, Any]) -> str:
        return f"{b64url_encode(json.dumps(header).encode())}.{payload}.c2ln~"

    with pytest.raises(MalformedPresentation, match="typ"):
        parse_presentation(forged({"alg": "ES256", "typ": "JWT"}))
    with pytest.raises(MalformedPresentation, match="ES256"):
        parse_presentation(forged({"alg": "none", "typ": "dc+sd-jwt"}))
    with pytest.raises(MalformedPresentation, match="empty disclosure"):
        parse_presentation(issued.issuer_jwt + "~~" + issued.disclosures[0].encoded + "~")
    with pytest.raises(MalformedPresentation, match="key-binding"):
        parse_presentation(issued.credential + "not-a-jwt")


# -- RFC 9901 §7.1 digest processing, case by case ---------------------------------------------


def _disclosure(name: str, value: Any, salt: bytes = b"0123456789abcdef") -> Disclosure:
    return Disclosure.create(salt=salt, name=name, value=value)


def test_disclosed_claims_replaces_digests_and_drops_decoys() -> None:
    a, b = _disclosure("a", 1), _disclosure("b", {"c": 2})
    payload = {"_sd": sorted([a.digest, b.digest, "decoy-digest"]), "_sd_alg": "sha-256", "x": 0}
    assert disclosed_claims(payload, [a.encoded]) == {"a": 1, "x": 0}
    assert disclosed_claims(payload, [a.encoded, b.encoded]) == {"a": 1, "b": {"c": 2}, "x": 0}
    # _sd_alg is the top level's instruction; below it, a member of that name is a claim.
    nested = {"o": {"_sd": [a.digest], "_sd_alg": "x"}, "_sd_alg": "sha-256"}
    assert disclosed_claims(nested, [a.encoded]) == {"o": {"a": 1, "_sd_alg": "x"}}


def test_array_element_disclosures() -> None:
    element = Disclosure.create(salt=b"s" * 16, name=None, value="DE")
    payload = {"nationalities": [{"...": element.digest}, "FR"]}
    assert disclosed_claims(payload, [element.encoded]) == {"nationalities": ["DE", "FR"]}
    assert disclosed_claims(payload, []) == {"nationalities": ["FR"]}
    with pytest.raises(InvalidDisclosure, match="array-element"):
        disclosed_claims({"_sd": [element.digest]}, [element.encoded])
    named = _disclosure("n", 1)
    with pytest.raises(InvalidDisclosure, match="array element"):
        disclosed_claims({"list": [{"...": named.digest}]}, [named.encoded])


def test_duplicate_disclosure_is_rejected() -> None:
    a = _disclosure("a", 1)
    with pytest.raises(DuplicateDisclosure):
        disclosed_claims({"_sd": [a.digest]}, [a.encoded, a.encoded])


def test_duplicate_digest_is_rejected() -> None:
    a = _disclosure("a", 1)
    with pytest.raises(DuplicateDigest):
        disclosed_claims({"_sd": [a.digest], "o": {"_sd": [a.digest]}}, [a.encoded])


def test_unreferenced_disclosure_is_rejected() -> None:
    a, forged = _disclosure("a", 1), _disclosure("admin", True, salt=b"f" * 16)
    with pytest.raises(UnreferencedDisclosure, match="'admin'"):
        disclosed_claims({"_sd": [a.digest]}, [a.encoded, forged.encoded])


def test_claim_name_collision_is_rejected() -> None:
    a = _disclosure("a", 1)
    with pytest.raises(ClaimNameCollision):
        disclosed_claims({"_sd": [a.digest], "a": 0}, [a.encoded])


@pytest.mark.parametrize("name", ["_sd", "..."])
def test_reserved_disclosure_names_are_rejected(name: str) -> None:
    bad = _disclosure(name, 1)
    with pytest.raises(ReservedClaimName):
        disclosed_claims({"_sd": [bad.digest]}, [bad.encoded])


@pytest.mark.parametrize("name", ["iss", "exp", "cnf", "vct", "status"])
def test_vc_envelope_claims_must_not_be_disclosed(name: str) -> None:
    bad = _disclosure(name, "x")
    with pytest.raises(ReservedClaimName, match="must not be selectively disclosed"):
        disclosed_claims({"_sd": [bad.digest]}, [bad.encoded])


def test_unsupported_digest_algorithm_is_rejected() -> None:
    with pytest.raises(UnsupportedDigestAlgorithm):
        disclosed_claims({"_sd_alg": "sha-512"}, [])


@pytest.mark.parametrize(
    "encoded",
    [
        "not base64!",
        b64url_encode(b"{}"),
        b64url_encode(b'["only-salt"]'),
        b64url_encode(b'[1, "name", "value"]'),
        b64url_encode(b'["salt", 7, "value"]'),
    ],
)
def test_malformed_disclosures_are_rejected(encoded: str) -> None:
    with pytest.raises(InvalidDisclosure):
        Disclosure.parse(encoded)
