"""Token Status List (draft-ietf-oauth-status-list): bit layout, compression, signed tokens."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta
from typing import Any

import pytest

from licenses.errors import StatusIndexOutOfRange, StatusListError, StatusListExpired
from licenses.jose import b64url_decode, b64url_encode
from licenses.statuslist import (
    Status,
    StatusList,
    VerifiedStatusList,
    build_status_list_token,
    status_claim,
    status_reference,
    verify_status_list_token,
)
from tests.support.credentials import NOW, STATUS_URI, CredentialWorld, world_fixture

#: The draft's §4.1 examples: statuses by index and the resulting bytes and lst.
ONE_BIT = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
ONE_BIT_BYTES = bytes([0xB9, 0xA3])
ONE_BIT_LST = "eNrbuRgAAhcBXQ"
TWO_BITS = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
TWO_BITS_BYTES = bytes([0xC9, 0x44, 0xF9])
TWO_BITS_LST = "eNo76fITAAPfAgc"


world = world_fixture("statuslist")


@pytest.mark.parametrize(
    ("bits", "statuses", "data", "lst"),
    [(1, ONE_BIT, ONE_BIT_BYTES, ONE_BIT_LST), (2, TWO_BITS, TWO_BITS_BYTES, TWO_BITS_LST)],
    ids=["1-bit", "2-bit"],
)
def test_draft_examples_round_trip(bits: int, statuses: list[int], data: bytes, lst: str) -> None:
    built = StatusList(bits=bits)
    for idx, value in enumerate(statuses):
        built.set(idx, value)
    assert built.to_bytes() == data
    assert built.encode() == {"bits": bits, "lst": lst}
    decoded = StatusList.decode({"bits": bits, "lst": lst})
    assert decoded == built
    assert [decoded.get(i) for i in range(len(statuses))] == statuses


def test_lst_is_zlib_deflate_rfc1950() -> None:
    encoded = StatusList(size=100).encode()
    raw = b64url_decode(encoded["lst"])
    assert raw[0] == 0x78  # zlib header: CM=8 (DEFLATE), 32K window
    assert zlib.decompress(raw) == bytes(25)


def test_set_grows_the_list_and_new_entries_are_valid() -> None:
    status_list = StatusList(size=4)
    assert status_list.size == 4
    status_list.set(1000, Status.SUSPENDED)
    assert status_list.size >= 1001
    assert status_list.get(1000) == Status.SUSPENDED
    assert status_list.get(999) == Status.VALID
    status_list.set(1000, Status.INVALID)
    assert status_list.get(1000) == Status.INVALID


def test_set_leaves_the_neighbours_alone() -> None:
    status_list = StatusList(size=8)
    for idx in range(8):
        status_list.set(idx, 3)
    status_list.set(5, 0)
    assert [status_list.get(i) for i in range(8)] == [3, 3, 3, 3, 3, 0, 3, 3]


def test_out_of_range_and_bad_values() -> None:
    status_list = StatusList(size=4)
    with pytest.raises(StatusIndexOutOfRange):
        status_list.get(4)
    with pytest.raises(StatusIndexOutOfRange):
        status_list.get(-1)
    with pytest.raises(StatusListError):
        status_list.set(0, 4)
    with pytest.raises(StatusListError):
        StatusList(bits=3)


@pytest.mark.parametrize(
    "claim",
    [
        None,
        {"bits": 2},
        {"bits": 3, "lst": TWO_BITS_LST},
        {"bits": True, "lst": ONE_BIT_LST},
        {"bits": 2, "lst": "not base64!"},
        {"bits": 2, "lst": b64url_encode(b"not zlib")},
        {"bits": 2, "lst": b64url_encode(zlib.compress(bytes(100))[:-3])},
    ],
)
def test_decode_rejects_malformed_lists(claim: object) -> None:
    with pytest.raises(StatusListError):
        StatusList.decode(claim)


def test_decode_refuses_a_compression_bomb() -> None:
    bomb = b64url_encode(zlib.compress(bytes(64 * 1024 * 1024), level=9))
    with pytest.raises(StatusListError, match="larger"):
        StatusList.decode({"bits": 2, "lst": bomb})


def test_status_claim_shape() -> None:
    claim = status_claim(uri=STATUS_URI, idx=42)
    assert claim == {"status_list": {"idx": 42, "uri": STATUS_URI}}
    assert status_reference({"status": claim}) == (STATUS_URI, 42)
    bad: dict[str, Any]
    for bad in ({}, {"status": {}}, {"status": {"status_list": {"idx": -1, "uri": "u"}}}):
        with pytest.raises(StatusListError):
            status_reference(bad)


# -- the signed Status List Token --------------------------------------------------------------


def _token(world: CredentialWorld, entries: StatusList | None = None, **overrides: Any) -> str:
    options: dict[str, Any] = {
        "signer": world.signer("provider"),
        "sub": STATUS_URI,
        "status_list": entries or StatusList(size=16),
        "iat": NOW - timedelta(minutes=1),
        "exp": NOW + timedelta(hours=1),
        "ttl": timedelta(minutes=30),
    }
    return build_status_list_token(**{**options, **overrides})


def _verify(world: CredentialWorld, token: str, **overrides: Any) -> VerifiedStatusList:
    options: dict[str, Any] = {
        "jwks": world.jwks("provider"),
        "expected_sub": STATUS_URI,
        "now": NOW,
    }
    return verify_status_list_token(token=token, **{**options, **overrides})


def test_token_header_and_claims(world: CredentialWorld) -> None:
    entries = StatusList()
    entries.set(3, Status.INVALID)
    token = _token(world, entries)
    header, payload = (json.loads(b64url_decode(part)) for part in token.split(".")[:2])
    assert header == {"typ": "statuslist+jwt", "alg": "ES256", "kid": world.signer("provider").kid}
    assert payload == {
        "sub": STATUS_URI,
        "iat": int((NOW - timedelta(minutes=1)).timestamp()),
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
        "ttl": 1800,
        "status_list": entries.encode(),
    }
    verified = _verify(world, token)
    assert verified.status(3) is Status.INVALID
    assert verified.status(2) is Status.VALID
    assert verified.uri == STATUS_URI
    assert verified.age(NOW) == timedelta(minutes=1)
    assert not verified.is_stale(NOW)
    assert verified.is_stale(NOW + timedelta(minutes=30))
    assert not verified.is_expired(NOW)


def test_token_for_another_uri_is_rejected(world: CredentialWorld) -> None:
    with pytest.raises(StatusListError, match="sub"):
        _verify(world, _token(world), expected_sub=STATUS_URI + "0")


def test_token_signed_by_an_unpublished_key_is_rejected(world: CredentialWorld) -> None:
    token = _token(world, signer=world.signer("agency:a"))
    with pytest.raises(StatusListError, match="does not publish"):
        _verify(world, token)


def test_tampered_token_is_rejected(world: CredentialWorld) -> None:
    header, payload, signature = _token(world).split(".")
    claims = json.loads(b64url_decode(payload))
    claims["status_list"] = StatusList(size=1024).encode()
    forged = f"{header}.{b64url_encode(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(StatusListError, match="signature"):
        _verify(world, forged)


def test_expired_token_is_rejected_unless_allowed(world: CredentialWorld) -> None:
    token = _token(world, iat=NOW - timedelta(hours=2), exp=NOW - timedelta(hours=1))
    with pytest.raises(StatusListExpired):
        _verify(world, token)
    kept = _verify(world, token, allow_expired=True)
    assert kept.is_expired(NOW)
    assert kept.age(NOW) == timedelta(hours=2)


def test_token_from_the_future_is_rejected(world: CredentialWorld) -> None:
    with pytest.raises(StatusListError, match="future"):
        _verify(world, _token(world, iat=NOW + timedelta(hours=1), exp=NOW + timedelta(hours=2)))


def test_wrong_typ_is_rejected(world: CredentialWorld) -> None:
    token = world.signer("provider").sign_jwt({"sub": STATUS_URI, "iat": 1})
    with pytest.raises(StatusListError, match="statuslist"):
        _verify(world, token)


def test_ttl_must_be_positive(world: CredentialWorld) -> None:
    with pytest.raises(StatusListError):
        _token(world, ttl=timedelta(0))
