"""The one verification function: every check, every failure path, with its reason."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from licenses.jose import b64url_decode, b64url_encode
from licenses.sdjwt import Disclosure, parse_presentation
from licenses.statuslist import Status
from licenses.verification import (
    CHECKS,
    CachedStatusLists,
    StatusListSource,
    VerificationResult,
    verify_presentation,
)
from tests.support.credentials import (
    AGENCY_B_CODE,
    AUDIENCE,
    BUSINESS_LICENSE,
    DRIVING_LICENSE,
    LICENSE_ID,
    NONCE,
    NOW,
    PLATFORM,
    STATUS_URI,
    CredentialWorld,
    make_world,
    world_fixture,
)
from wallet_api.runtime import Runtime

world = world_fixture("verification")


def _verify(world: CredentialWorld, presentation: str, **overrides: Any) -> VerificationResult:
    options: dict[str, Any] = {
        "trust_list": world.trust_list(),
        "status_lists": world.status_lists(),
        "audience": AUDIENCE,
        "nonce": NONCE,
        "now": NOW,
        "key_binding_max_age": timedelta(minutes=5),
        "require_key_binding": True,
    }
    return verify_presentation(presentation=presentation, **{**options, **overrides})


def _outcomes(result: VerificationResult) -> dict[str, str]:
    return {name: check.outcome.value for name, check in result.checks.items()}


def _assert_failed(result: VerificationResult, check: str, code: str, reason_fragment: str) -> None:
    assert result.valid is False
    failed = result.checks[check]
    assert failed.outcome == "failed", _outcomes(result)
    assert failed.code == code
    assert failed.reason is not None
    assert reason_fragment in failed.reason


def _resign(
    issuer_jwt: str, change: Callable[[dict[str, Any]], object], *, key: ECKey, kid: str
) -> str:
    """The issuer-signed JWT with its payload changed and signed by ``key`` as ``kid``."""
    header, payload = (json.loads(b64url_decode(p)) for p in issuer_jwt.split(".")[:2])
    change(payload)
    return jws.serialize_compact(
        {**header, "kid": kid}, json.dumps(payload).encode(), key, algorithms=["ES256"]
    )


# -- the good case -----------------------------------------------------------------------------


def test_valid_presentation_passes_every_check(world: CredentialWorld) -> None:
    result = _verify(world, world.present(world.issue().credential))
    assert result.valid is True
    assert list(result.checks) == list(CHECKS)
    assert set(_outcomes(result).values()) == {"passed"}
    assert result.checks["key_binding"].details == {
        "format": "passed", "signature": "passed", "aud": "passed", "nonce": "passed",
        "iat": "passed", "sd_hash": "passed",
    }  # fmt: skip
    assert result.claims == {
        "license_id": LICENSE_ID,
        "holder_name": "张三",
        "license_number": "310115000123456",
        "fields": {"enterprise_name": "长沙示例科技有限公司"},
    }
    assert result.license_id == LICENSE_ID
    assert result.license_type == BUSINESS_LICENSE
    assert result.status == "valid"
    assert result.issuer is not None
    assert result.issuer.id == "agency-a"
    document = json.loads(json.dumps(result.as_dict()))
    assert document["valid"] is True
    assert document["checks"]["status"] == {"outcome": "passed"}
    assert document["issuer"]["credit_code"] == result.issuer.credit_code
    assert "jwks" not in document["issuer"]
    assert document["status_list"] == {
        "uri": STATUS_URI,
        "issued_at": (NOW - timedelta(minutes=5)).isoformat(),
        "expires_at": (NOW + timedelta(hours=1)).isoformat(),
        "age_seconds": 300,
        "stale": False,
        "expired": False,
    }
    assert document["trust_list"] == {
        "issued_at": (NOW - timedelta(hours=1)).isoformat(),
        "expires_at": (NOW + timedelta(days=1)).isoformat(),
        "age_seconds": 3600,
        "expired": False,
    }


def test_list_dates_are_reported_as_each_list_states_them(world: CredentialWorld) -> None:
    """Each list reports its own dates, an open-ended list none for its end, whichever
    lists were verified before it."""
    presentation = world.present(world.issue().credential)
    for hours in (1, 2):
        issued = NOW - timedelta(hours=hours)
        status_lists = world.status_lists(iat=issued, exp=None, ttl=None)
        trust_list = world.trust_list(iat=issued, exp=NOW + timedelta(days=hours))
        result = _verify(world, presentation, status_lists=status_lists, trust_list=trust_list)
        assert result.valid is True, _outcomes(result)
        assert result.status_list is not None
        assert result.status_list["issued_at"] == issued.isoformat()
        assert result.status_list["expires_at"] is None
        assert result.status_list["age_seconds"] == hours * 3600
        assert result.trust_list["issued_at"] == issued.isoformat()
        assert result.trust_list["expires_at"] == (NOW + timedelta(days=hours)).isoformat()


def test_with_keys_from_the_runtime_key_store_on_each_database(runtime: Runtime) -> None:
    """The same round trip with the suite's runtime (SQLite and PostgreSQL key stores)."""
    world = CredentialWorld(runtime=runtime)
    result = _verify(world, world.present(world.issue().credential))
    assert result.valid is True, _outcomes(result)


def test_cached_status_lists_conform_to_the_protocol() -> None:
    assert isinstance(CachedStatusLists(), StatusListSource)


def test_credential_signed_before_a_key_rotation_still_verifies(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    try:
        presentation = world.present(world.issue().credential)
        world.rotate("agency:a")
        result = _verify(world, presentation)
        assert result.valid is True, _outcomes(result)
        assert _verify(world, world.present(world.issue().credential)).valid is True
    finally:
        world.runtime.close()


# -- format ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "hello", "~", "a.b.c~", "x" * 300_000, "eyJ0eXAiOiJkYytzZC1qd3QifQ.e30.c2ln~"]
)
def test_malformed_input_is_a_failed_format_check_never_an_exception(
    world: CredentialWorld, text: str
) -> None:
    result = _verify(world, text)
    assert result.valid is False
    assert result.checks["format"].outcome == "failed"
    assert result.checks["format"].code == "malformed-presentation"
    assert {result.checks[name].outcome for name in CHECKS[1:]} == {"skipped"}
    assert result.claims == {}


def test_non_string_input_is_a_failed_format_check(world: CredentialWorld) -> None:
    result = _verify(world, None)  # type: ignore[arg-type]
    assert result.checks["format"].outcome == "failed"


# -- signature and issuer ----------------------------------------------------------------------


def test_tampered_payload_fails_the_signature(world: CredentialWorld) -> None:
    issued = world.issue()
    header, payload, signature = issued.issuer_jwt.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["exp"] += 10 * 365 * 86400
    forged = f"{header}.{b64url_encode(json.dumps(claims).encode())}.{signature}"
    result = _verify(world, world.present(issued.credential.replace(issued.issuer_jwt, forged)))
    _assert_failed(result, "signature", "invalid-signature", "does not verify")
    assert result.checks["issuer_trusted"].outcome == "passed"
    assert result.checks["validity_period"].outcome == "skipped"
    assert result.claims == {}
    assert result.issuer is None


def test_signature_by_a_wrong_key_claiming_the_agency_kid(world: CredentialWorld) -> None:
    issued = world.issue()
    kid = world.signer("agency:a").kid
    forged = _resign(issued.issuer_jwt, lambda p: None, key=ECKey.generate_key("P-256"), kid=kid)
    result = _verify(world, world.present(issued.credential.replace(issued.issuer_jwt, forged)))
    _assert_failed(result, "signature", "invalid-signature", "does not verify")


def test_signature_by_a_key_outside_the_trust_list(world: CredentialWorld) -> None:
    issued = world.issue()
    forged = _resign(issued.issuer_jwt, lambda p: None, key=ECKey.generate_key("P-256"), kid="k")
    result = _verify(world, world.present(issued.credential.replace(issued.issuer_jwt, forged)))
    _assert_failed(result, "signature", "untrusted-issuer", "not in the trust list")
    _assert_failed(result, "issuer_trusted", "untrusted-issuer", "not one of")


def test_untrusted_issuer(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential)
    only_b = world.trust_list([world.agency("b", license_types=(DRIVING_LICENSE,))])
    result = _verify(world, presentation, trust_list=only_b)
    _assert_failed(result, "issuer_trusted", "untrusted-issuer", "is not in the trust list")
    assert result.checks["signature"].outcome == "failed"
    assert result.checks["issuer_authorised"].outcome == "skipped"


def test_credential_naming_one_agency_signed_by_another(world: CredentialWorld) -> None:
    issued = world.issue(agency="b", iss=world.agency("a").iss)
    result = _verify(world, world.present(issued.credential))
    assert result.checks["signature"].outcome == "passed"
    _assert_failed(result, "issuer_trusted", "untrusted-issuer", "signed with a key of")


def test_issuer_not_authorised_for_the_type(world: CredentialWorld) -> None:
    issued = world.issue(agency="b", vct=BUSINESS_LICENSE)
    result = _verify(world, world.present(issued.credential))
    assert result.checks["issuer_trusted"].outcome == "passed"
    _assert_failed(
        result,
        "issuer_authorised",
        "issuer-not-authorised",
        f"not authorised to issue {BUSINESS_LICENSE}",
    )
    assert result.issuer is not None
    assert result.issuer.credit_code == AGENCY_B_CODE


def test_expired_trust_list_fails_issuer_trusted_and_says_how_old(world: CredentialWorld) -> None:
    stale = world.trust_list(
        iat=NOW - timedelta(days=3), exp=NOW - timedelta(days=1), allow_expired=True
    )
    result = _verify(world, world.present(world.issue().credential), trust_list=stale)
    _assert_failed(result, "issuer_trusted", "trust-list-expired", f"{3 * 86400} s old")
    assert result.as_dict()["trust_list"]["expired"] is True


# -- validity period ---------------------------------------------------------------------------


def test_expired_license(world: CredentialWorld) -> None:
    issued = world.issue(iat=NOW - timedelta(days=30), exp=NOW - timedelta(days=1))
    result = _verify(world, world.present(issued.credential))
    _assert_failed(result, "validity_period", "credential-expired", "expired at")


def test_license_not_yet_valid(world: CredentialWorld) -> None:
    issued = world.issue(nbf=NOW + timedelta(days=1))
    result = _verify(world, world.present(issued.credential))
    _assert_failed(result, "validity_period", "credential-not-yet-valid", "not valid before")


def test_license_without_end_date_is_valid(world: CredentialWorld) -> None:
    result = _verify(world, world.present(world.issue(exp=None).credential))
    assert result.valid is True


# -- status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code", "status"),
    [
        (Status.INVALID, "license-revoked", "invalid"),
        (Status.SUSPENDED, "license-suspended", "suspended"),
        (Status.APPLICATION_SPECIFIC, "invalid-status-list", "application_specific"),
    ],
)
def test_revoked_or_suspended_license(
    world: CredentialWorld, value: Status, code: str, status: str
) -> None:
    presentation = world.present(world.issue(idx=7).credential)
    result = _verify(world, presentation, status_lists=world.status_lists({7: value}))
    _assert_failed(result, "status", code, "")
    assert result.status == status
    # the clerk still sees whose license it is
    assert result.claims["holder_name"] == "张三"
    others = world.status_lists({6: value, 8: value})
    assert _verify(world, presentation, status_lists=others).valid is True


@pytest.mark.parametrize(
    ("value", "status", "reason"),
    [
        (0x0B, "application_specific", "unknown status value 11"),
        (0x0F, "application_specific", "unknown status value 15"),
        (0x04, None, "reserved value 0x04"),
        (0x0A, None, "reserved value 0x0a"),
        (0x10, None, "reserved value 0x10"),
        (0xFF, None, "reserved value 0xff"),
    ],
)
def test_status_beyond_the_named_ones_fails_the_check(
    world: CredentialWorld, value: int, status: str | None, reason: str
) -> None:
    """An 8-bit list may hold any byte: 0x0B-0x0F are application-specific, the rest
    reserved (Token Status List §7.1). Each fails the status check with its value; none
    makes the verification raise."""
    presentation = world.present(world.issue(idx=7).credential)
    lists = world.status_lists({7: value}, bits=8)
    result = _verify(world, presentation, status_lists=lists)
    _assert_failed(result, "status", "invalid-status-list", reason)
    assert result.status == status
    assert result.claims["holder_name"] == "张三"
    assert _verify(world, presentation, status_lists=world.status_lists({6: value}, bits=8)).valid


def test_expired_status_list_fails_with_its_age(world: CredentialWorld) -> None:
    stale = world.status_lists(iat=NOW - timedelta(hours=3), exp=NOW - timedelta(hours=1))
    result = _verify(world, world.present(world.issue().credential), status_lists=stale)
    _assert_failed(result, "status", "status-list-expired", f"{3 * 3600} s old")
    assert result.as_dict()["status_list"]["expired"] is True


def test_status_list_past_its_ttl_passes_but_is_reported_stale(world: CredentialWorld) -> None:
    old = world.status_lists(
        iat=NOW - timedelta(hours=2), exp=NOW + timedelta(hours=1), ttl=timedelta(minutes=30)
    )
    result = _verify(world, world.present(world.issue().credential), status_lists=old)
    assert result.valid is True
    assert result.status_list is not None
    assert result.status_list["stale"] is True
    assert result.status_list["age_seconds"] == 7200


def test_missing_status_list_offline(world: CredentialWorld) -> None:
    result = _verify(
        world, world.present(world.issue().credential), status_lists=CachedStatusLists()
    )
    _assert_failed(result, "status", "status-list-unavailable", "fetch it")


def test_status_index_outside_the_list(world: CredentialWorld) -> None:
    result = _verify(world, world.present(world.issue(idx=5000).credential))
    _assert_failed(result, "status", "status-index-out-of-range", "outside the list")


# -- disclosures -------------------------------------------------------------------------------


def _with_disclosures(presentation: str, disclosures: list[str]) -> str:
    parsed = parse_presentation(presentation)
    return "~".join([parsed.issuer_jwt, *disclosures]) + "~"


def test_tampered_disclosure(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, holder=None)
    parsed = parse_presentation(presentation)
    original = Disclosure.parse(parsed.disclosures[0])
    tampered = Disclosure.create(
        salt=b64url_decode(original.salt), name=original.name, value="李四"
    ).encoded
    result = _verify(
        world,
        _with_disclosures(presentation, [tampered, *parsed.disclosures[1:]]),
        require_key_binding=False,
    )
    _assert_failed(result, "disclosures", "unreferenced-disclosure", "not referenced")
    assert result.claims == {}


def test_duplicate_disclosure(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, holder=None)
    parsed = parse_presentation(presentation)
    doubled = [*parsed.disclosures, parsed.disclosures[0]]
    result = _verify(world, _with_disclosures(presentation, doubled), require_key_binding=False)
    _assert_failed(result, "disclosures", "duplicate-disclosure", "twice")


def test_undisclosed_claim_forgery(world: CredentialWorld) -> None:
    """A holder invents a disclosure for a claim the agency never signed."""
    presentation = world.present(world.issue().credential, holder=None)
    parsed = parse_presentation(presentation)
    forged = Disclosure.create(salt=b"x" * 16, name="holder_code", value="11010519491231002X")
    result = _verify(
        world,
        _with_disclosures(presentation, [*parsed.disclosures, forged.encoded]),
        require_key_binding=False,
    )
    _assert_failed(result, "disclosures", "unreferenced-disclosure", "'holder_code'")


def test_forged_digest_in_the_payload_breaks_the_signature(world: CredentialWorld) -> None:
    issued = world.issue()
    forged = Disclosure.create(salt=b"x" * 16, name="holder_code", value="11010519491231002X")
    header, payload, signature = issued.issuer_jwt.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["_sd"] = sorted([*claims["_sd"], forged.digest])
    jwt = f"{header}.{b64url_encode(json.dumps(claims).encode())}.{signature}"
    result = _verify(world, f"{jwt}~{forged.encoded}~", require_key_binding=False)
    _assert_failed(result, "signature", "invalid-signature", "does not verify")


def test_key_binding_signed_over_the_original_disclosures_catches_additions(
    world: CredentialWorld,
) -> None:
    presentation = world.present(world.issue().credential, disclose=["holder_name"])
    sd_jwt, _, kb_jwt = presentation.rpartition("~")
    extra = Disclosure.parse(parse_presentation(world.issue().credential).disclosures[0])
    result = _verify(world, f"{sd_jwt}~{extra.encoded}~{kb_jwt}")
    assert result.checks["disclosures"].outcome == "failed"
    _assert_failed(result, "key_binding", "key-binding-hash-mismatch", "sd_hash")


# -- key binding -------------------------------------------------------------------------------


def test_key_binding_missing_when_required(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, holder=None)
    _assert_failed(_verify(world, presentation), "key_binding", "key-binding-missing", "missing")


def test_key_binding_skipped_when_not_required(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, holder=None)
    result = _verify(world, presentation, require_key_binding=False)
    assert result.valid is True
    assert result.checks["key_binding"].outcome == "skipped"


def test_key_binding_wrong_audience(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, audience="https://evil.example")
    result = _verify(world, presentation)
    _assert_failed(result, "key_binding", "key-binding-audience-mismatch", "audience")
    assert result.checks["key_binding"].details is not None
    assert result.checks["key_binding"].details["aud"] == "failed"
    assert result.checks["key_binding"].details["nonce"] == "passed"


def test_key_binding_wrong_nonce(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, nonce="replayed")
    result = _verify(world, presentation)
    _assert_failed(result, "key_binding", "key-binding-nonce-mismatch", "nonce")
    assert result.checks["key_binding"].details is not None
    assert result.checks["key_binding"].details["nonce"] == "failed"


def test_key_binding_too_old(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, iat=NOW - timedelta(minutes=30))
    result = _verify(world, presentation)
    _assert_failed(result, "key_binding", "key-binding-not-fresh", "1800 s old")
    assert result.checks["key_binding"].details is not None
    assert result.checks["key_binding"].details["iat"] == "failed"


def test_key_binding_from_the_future(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, iat=NOW + timedelta(hours=1))
    _assert_failed(_verify(world, presentation), "key_binding", "key-binding-not-fresh", "future")


def _sd_hash(sd_jwt: str) -> str:
    return b64url_encode(hashlib.sha256(sd_jwt.encode()).digest())


@pytest.mark.parametrize("iat", [10**12, 2**63, 2**70])
def test_key_binding_dated_beyond_the_calendar_is_not_fresh(
    world: CredentialWorld, iat: int
) -> None:
    """A holder signs its own KB-JWT: an ``iat`` no calendar date has fails, never crashes."""
    sd_jwt = world.present(world.issue().credential, holder=None)
    claims = {"iat": iat, "aud": AUDIENCE, "nonce": NONCE, "sd_hash": _sd_hash(sd_jwt)}
    kb_jwt = world.signer("holder:1").sign_compact(
        header={"typ": "kb+jwt"}, payload=json.dumps(claims).encode()
    )
    result = _verify(world, sd_jwt + kb_jwt)
    _assert_failed(result, "key_binding", "key-binding-not-fresh", "iat")


def test_key_binding_bad_sd_hash(world: CredentialWorld) -> None:
    """A KB-JWT lifted from a presentation with other disclosures."""
    issued = world.issue()
    narrow = world.present(issued.credential, disclose=["holder_name"])
    wide = world.present(issued.credential, disclose=["holder_name", "holder_code"], holder=None)
    kb_jwt = narrow.rpartition("~")[2]
    result = _verify(world, wide + kb_jwt)
    assert result.checks["disclosures"].outcome == "passed"
    _assert_failed(result, "key_binding", "key-binding-hash-mismatch", "sd_hash")
    assert result.checks["key_binding"].details is not None
    assert result.checks["key_binding"].details["sd_hash"] == "failed"


def test_key_binding_signed_by_another_key(world: CredentialWorld) -> None:
    presentation = world.present(world.issue(holder="holder:1").credential, holder="holder:2")
    result = _verify(world, presentation)
    _assert_failed(result, "key_binding", "key-binding-signature-invalid", "does not verify")
    details = result.checks["key_binding"].details
    assert details is not None
    assert details["signature"] == "failed"
    assert details["sd_hash"] == "skipped"


def test_key_binding_on_an_unbound_credential(world: CredentialWorld) -> None:
    presentation = world.present(world.issue(holder=None).credential, holder="holder:1")
    _assert_failed(
        _verify(world, presentation), "key_binding", "key-binding-signature-invalid", "cnf"
    )


def test_key_binding_with_wrong_typ(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential, holder=None)
    kb = world.signer("holder:1").sign_jwt({"aud": AUDIENCE, "nonce": NONCE})
    result = _verify(world, presentation + kb)
    _assert_failed(result, "key_binding", "key-binding-malformed", "kb+jwt")


def test_audience_and_nonce_not_compared_when_the_verifier_has_none(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential)
    result = _verify(world, presentation, audience=None, nonce=None)
    assert result.valid is True
    assert result.checks["key_binding"].details is not None
    assert result.checks["key_binding"].details["aud"] == "skipped"
    assert result.checks["key_binding"].details["nonce"] == "skipped"


def test_works_offline_with_cached_lists_from_their_tokens(world: CredentialWorld) -> None:
    """What a verifier device holds: the two signed tokens and the platform JWKS."""
    from licenses.statuslist import verify_status_list_token
    from licenses.trustlist import verify_trust_list

    trust_token = world.trust_list_token()
    status = world.status_list({7: Status.VALID})
    platform_jwks = json.loads(json.dumps(world.jwks("provider")))
    trust_list = verify_trust_list(
        token=trust_token, jwks=platform_jwks, expected_iss=PLATFORM, now=NOW
    )
    cache = CachedStatusLists()
    cache.add(
        verify_status_list_token(
            token=status.token, jwks=platform_jwks, expected_sub=status.uri, now=NOW
        )
    )
    result = _verify(
        world, world.present(world.issue().credential), trust_list=trust_list, status_lists=cache
    )
    assert result.valid is True


def test_mutated_presentations_never_raise_and_never_pass(world: CredentialWorld) -> None:
    """Seeded random corruption anywhere in the text: always a result, never valid."""
    import random

    presentation = world.present(world.issue().credential)
    trust_list, status_lists = world.trust_list(), world.status_lists()
    rng = random.Random(20261124)
    for _ in range(300):
        text = list(presentation)
        for _ in range(rng.randint(1, 3)):
            text[rng.randrange(len(text))] = rng.choice('A~._-z0{}"')
        mutated = "".join(text)
        if mutated == presentation:
            continue
        result = _verify(world, mutated, trust_list=trust_list, status_lists=status_lists)
        assert result.valid is False, mutated


@pytest.mark.parametrize(
    "cnf", [{}, {"kty": "EC"}, "a string", {"kty": "oct", "k": "c2VjcmV0"}, {"kty": "RSA"}]
)
def test_garbage_holder_key_fails_key_binding_without_raising(
    world: CredentialWorld, cnf: dict[str, str] | str
) -> None:
    payload = {"iss": world.agency("a").iss, "vct": BUSINESS_LICENSE, "cnf": {"jwk": cnf}}
    payload["status"] = {
        "status_list": {"idx": 1, "uri": "https://gov.example/api/v1/status-lists/1"}
    }
    jwt = world.signer("agency:a").sign_compact(
        header={"typ": "dc+sd-jwt"}, payload=json.dumps(payload).encode()
    )
    kb_jwt = world.present(world.issue().credential).rpartition("~")[2]
    result = _verify(world, f"{jwt}~{kb_jwt}")
    assert result.checks["signature"].outcome == "passed"
    assert result.checks["key_binding"].outcome == "failed"


# -- input that made the verification raise (found by fuzzing verify_presentation) ------------


def _forged_header(token: str, header: bytes) -> str:
    """``token`` with its header replaced (the signature no longer matters: the header is
    checked first)."""
    return ".".join([b64url_encode(header), *token.split(".")[1:]])


def test_a_bad_crit_in_either_header_fails_a_check(world: CredentialWorld) -> None:
    issued = world.issue()
    presentation = world.present(issued.credential)
    kb_jwt = presentation.rpartition("~")[2]
    forged_kb = _forged_header(kb_jwt, b'{"alg":"ES256","typ":"kb+jwt","crit":1.5}')
    result = _verify(world, presentation.replace(kb_jwt, forged_kb))
    _assert_failed(result, "key_binding", "key-binding-signature-invalid", "'crit' in header")
    header = json.loads(b64url_decode(issued.issuer_jwt.split(".")[0]))
    forged_jwt = _forged_header(issued.issuer_jwt, json.dumps({**header, "crit": 1.5}).encode())
    result = _verify(world, presentation.replace(issued.issuer_jwt, forged_jwt))
    _assert_failed(result, "signature", "invalid-signature", "'crit' in header")


@pytest.mark.parametrize("where", ["issuer JWT", "disclosure", "key-binding JWT"])
def test_a_character_outside_ascii_is_malformed(world: CredentialWorld, where: str) -> None:
    presentation = world.present(world.issue().credential)
    parts = presentation.split("~")
    index = {"issuer JWT": 0, "disclosure": 1, "key-binding JWT": -1}[where]
    parts[index] = parts[index][:5] + "é" + parts[index][6:]
    result = _verify(world, "~".join(parts))
    _assert_failed(result, "format", "malformed-presentation", "outside base64url")


def test_a_holder_key_on_an_unknown_curve_fails_key_binding(world: CredentialWorld) -> None:
    """The agency signed a cnf.jwk joserfc cannot import: the key binding fails with why."""
    issued = world.issue()
    header, payload = (json.loads(b64url_decode(p)) for p in issued.issuer_jwt.split(".")[:2])
    payload["cnf"]["jwk"]["crv"] = "P-999"
    resigned = world.signer("agency:a").sign_compact(
        header=header, payload=json.dumps(payload).encode()
    )
    presentation = world.present(issued.credential.replace(issued.issuer_jwt, resigned))
    result = _verify(world, presentation)
    assert result.checks["signature"].outcome == "passed"
    _assert_failed(result, "key_binding", "key-binding-signature-invalid", "'P-999'")
