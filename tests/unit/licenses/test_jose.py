"""licenses.jose: the strict base64url and JWS parsing the verifier relies on."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import ECKey
from joserfc.jws import JWSRegistry

from licenses.errors import InvalidSignature, MalformedPresentation
from licenses.jose import (
    ALGORITHMS,
    UnverifiedJWS,
    b64url_decode,
    b64url_encode,
    import_public_jwk,
    read_compact,
    read_json,
    verify_compact,
)


@pytest.mark.parametrize("size", range(40))
def test_b64url_round_trip(size: int) -> None:
    data = os.urandom(size)
    text = b64url_encode(data)
    assert text == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    assert b64url_decode(text) == data


@pytest.mark.parametrize("text", ["QQ==", "Q", "a+b/", "ab cd", "ab\n", "éé", "=", "a.b"])
def test_b64url_decode_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(text)


@pytest.fixture(scope="module")
def key() -> ECKey:
    return ECKey.generate_key("P-256")


def _token(key: ECKey, header: dict[str, Any], payload: bytes = b'{"a":1}') -> str:
    return jws.serialize_compact({"alg": "ES256", **header}, payload, key)


def _read(token: str) -> UnverifiedJWS:
    return read_compact(token, error=MalformedPresentation, what="JWT")


def _signed(key: ECKey, header: bytes, payload: bytes = b'{"a":1}') -> str:
    """A token over exactly these header bytes (joserfc will not sign every header)."""
    signing_input = f"{b64url_encode(header)}.{b64url_encode(payload)}"
    signature = JWSRegistry.algorithms["ES256"].sign(signing_input.encode(), key)
    return f"{signing_input}.{b64url_encode(signature)}"


def _verify(key: ECKey, token: str) -> dict[str, Any]:
    return verify_compact(
        _read(token),
        public_jwk=key.as_dict(private=False),
        algorithms=ALGORITHMS,
        error=InvalidSignature,
        what="JWT",
    )


def test_read_compact_then_verify(key: ECKey) -> None:
    unverified = _read(_token(key, {"typ": "x"}))
    assert unverified.unverified_header == {"alg": "ES256", "typ": "x"}
    claims = verify_compact(
        unverified,
        public_jwk=key.as_dict(private=False),
        algorithms=ALGORITHMS,
        error=InvalidSignature,
        what="JWT",
    )
    assert claims == {"a": 1}


def test_a_tampered_or_undecodable_signature_does_not_verify(key: ECKey) -> None:
    token = _token(key, {})
    head, payload, _ = token.split(".")
    other = _token(key, {}, b'{"a":2}').split(".")[2]
    for forged in (f"{head}.{payload}.{other}", f"{head}.{payload}.!!", f"{head}.{payload}."):
        with pytest.raises(InvalidSignature, match="does not verify"):
            _verify(key, forged)


def test_unknown_critical_header_does_not_verify(key: ECKey) -> None:
    # joserfc will not sign such a header: sign the bytes directly.
    with pytest.raises(InvalidSignature, match="does not verify"):
        _verify(key, _signed(key, b'{"alg":"ES256","crit":["urn:x"],"urn:x":1}'))


def test_read_compact_refuses_malformed_parts(key: ECKey) -> None:
    token = _token(key, {})
    head, payload, signature = token.split(".")
    no_alg = b64url_encode(b'{"typ":"x"}')
    unencoded = b64url_encode(b'{"alg":"ES256","b64":false,"crit":["b64"]}')
    nan = b64url_encode(b'{"a":NaN}')
    # "QR" decodes like "QQ" but has unused bits set: not canonical.
    for bad in (
        f"{no_alg}.{payload}.{signature}",
        f"{unencoded}.{payload}.{signature}",
        f"{head}.{nan}.{signature}",
        f"{head}.{payload[:-2]}QR.{signature}" if len(payload) % 4 == 2 else f"{head}.QR.sig",
        f"{head}.{b64url_encode(b'[1]')}.{signature}",
        f"{head}.{payload}=.{signature}",
    ):
        with pytest.raises(MalformedPresentation):
            _read(bad)


def test_read_json_is_strict() -> None:
    assert read_json(b'{"a":[1,"\xe5\xbc\xa0"]}') == {"a": [1, "张"]}
    for bad in (b"NaN", b'["\\ud800"]', b"\xef\xbb\xbf[1]", b"\xff"):
        with pytest.raises(ValueError, match=r"\w"):
            read_json(bad)


def test_imported_keys_are_cached_by_value_and_private_keys_refused(key: ECKey) -> None:
    public = key.as_dict(private=False)
    assert import_public_jwk(dict(public)) is import_public_jwk(dict(reversed(public.items())))
    with pytest.raises(ValueError, match="private"):
        import_public_jwk(key.as_dict(private=True))
    with_list = {**public, "key_ops": ["verify"]}
    assert import_public_jwk(with_list) is import_public_jwk(dict(with_list))


def test_a_header_that_passed_does_not_let_a_lookalike_pass(key: ECKey) -> None:
    """Headers that passed joserfc's check are remembered; a header with the same members
    but a value of another type (1 for "1", true for "true"), or with a member joserfc does
    not support, is checked afresh and refused, every time."""
    assert _verify(key, _signed(key, b'{"alg":"ES256","kid":"1","typ":"x"}')) == {"a": 1}
    assert _verify(key, _signed(key, b'{"alg":"ES256","kid":"1","typ":"x"}')) == {"a": 1}
    for header in (
        b'{"alg":"ES256","kid":1,"typ":"x"}',
        b'{"alg":"ES256","kid":"1","typ":true}',
        b'{"alg":"ES256","kid":"1","typ":"x","urn:unknown":"y"}',
    ):
        for _ in range(2):
            with pytest.raises(InvalidSignature, match="does not verify"):
                _verify(key, _signed(key, header))


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ("header", "Header size exceeds 512 bytes"),
        ("payload", "Payload size exceeds 128000 bytes"),
        ("signature", "Signature of exceeds 1024 bytes"),
    ],
)
def test_parts_over_joserfcs_limits_are_refused_with_its_reason(
    key: ECKey, part: str, message: str
) -> None:
    head, payload, signature = _token(key, {}).split(".")
    parts = {"header": head, "payload": payload, "signature": signature}
    padding = {"header": b'"x":"' + b"y" * 600 + b'"', "payload": b"z" * 96_400}
    if part == "header":
        parts["header"] = b64url_encode(b'{"alg":"ES256",' + padding["header"] + b"}")
    elif part == "payload":
        parts["payload"] = b64url_encode(b'{"a":"' + padding["payload"] + b'"}')
    else:
        parts["signature"] = b64url_encode(b"s" * 800)
    with pytest.raises(MalformedPresentation, match=message):
        _read(".".join(parts.values()))


@pytest.mark.parametrize("crit", ["1.5", "[]", "[1]", '["urn:x",{}]', '"urn:x"', "null"])
def test_a_crit_that_is_not_a_list_of_names_does_not_verify(key: ECKey, crit: str) -> None:
    """RFC 7515 §4.1.11: a non-empty array of names. joserfc iterated other shapes and
    raised TypeError: a 500 from the verify API, for a header anyone can write."""
    header = b'{"alg":"ES256","crit":' + crit.encode() + b',"urn:x":"1"}'
    with pytest.raises(InvalidSignature, match="'crit' in header must be a non-empty list"):
        _verify(key, _signed(key, header))


@pytest.mark.parametrize("crv", ["P-999", "EC", "Ed25519"])
def test_a_jwk_on_a_curve_joserfc_does_not_know_is_unusable(key: ECKey, crv: str) -> None:
    public = {**key.as_dict(private=False), "crv": crv}
    with pytest.raises(ValueError, match=f"does not know: '{crv}'"):
        import_public_jwk(public)
    token = _token(key, {})
    with pytest.raises(InvalidSignature, match=f"unusable: .*'{crv}'"):
        verify_compact(
            _read(token),
            public_jwk=public,
            algorithms=ALGORITHMS,
            error=InvalidSignature,
            what="JWT",
        )
    missing = {k: v for k, v in key.as_dict(private=False).items() if k != "x"}
    with pytest.raises(InvalidSignature, match="unusable: key_parameter: 'x' is required"):
        verify_compact(
            _read(token),
            public_jwk=missing,
            algorithms=ALGORITHMS,
            error=InvalidSignature,
            what="JWT",
        )


def _joserfc_outcome(jwk: dict[str, Any]) -> object:
    """What joserfc's own import makes of ``jwk``: the public numbers, or the error."""
    from joserfc.jwk import JWKRegistry

    try:
        imported = JWKRegistry.import_key(dict(jwk))
    except Exception as exc:  # joserfc raises several types for bad keys
        return type(exc)
    public_key = imported.public_key
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    return public_key.public_numbers(), imported.dict_value


def _our_outcome(jwk: dict[str, Any]) -> object:
    import licenses.jose

    licenses.jose._import_public_jwk.cache_clear()
    try:
        imported = import_public_jwk(dict(jwk))
    except Exception as exc:
        return type(exc)
    public_key = imported.public_key
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    return public_key.public_numbers(), imported.dict_value


def _odd_p256_keys() -> list[dict[str, Any]]:
    """P-256 public JWKs of every shape near the usual one (RFC 7518 §6.2.1)."""
    keys: list[dict[str, Any]] = []
    for _ in range(40):  # each size of leading zero bytes is rare: try many keys
        public = ECKey.generate_key("P-256").as_dict(private=False)
        keys.append(public)
        keys.append({**public, "kid": "k", "use": "sig", "alg": "ES256"})
    usual = keys[0]
    x: str = usual["x"]
    off_curve = b64url_encode(bytes(31) + b"\x01")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    #: the same 32 bytes with one of the last character's two unused bits set
    loose = x[:-1] + alphabet[alphabet.index(x[-1]) | 1]
    keys += [
        {**usual, "x": off_curve},  # not a point on the curve
        {**usual, "x": loose},  # not canonical base64url: joserfc refuses it
        {**usual, "x": x[:-1]},  # 42 characters
        {**usual, "x": x + "A"},  # 44 characters
        {**usual, "x": "A" + x[1:]},  # another point (most likely off the curve)
        {**usual, "x": x.replace(x[5], "+", 1)},  # standard alphabet
        {**usual, "x": "é" * 43},
        {**usual, "x": b64url_encode(bytes(32))},  # zero
        {**usual, "x": b64url_encode(b"\xff" * 32)},  # beyond the field
        {**usual, "kid": 5},  # a member of the wrong type
        {**usual, "use": "enc"},
        {**usual, "key_ops": ["sign"]},
        {**usual, "crv": "P-384"},
    ]
    return keys


def test_p256_keys_import_exactly_as_joserfc_imports_them() -> None:
    """The P-256 path (licenses.jose._p256_public) makes the same key as joserfc's
    import, with the same members, and refuses what joserfc refuses."""
    for jwk in _odd_p256_keys():
        assert _our_outcome(jwk) == _joserfc_outcome(jwk), jwk


def test_a_holder_key_is_checked_to_be_on_the_curve() -> None:
    off_curve = {**ECKey.generate_key("P-256").as_dict(private=False)}
    off_curve["y"] = b64url_encode(bytes(31) + b"\x07")
    with pytest.raises(ValueError, match="not on the curve"):
        import_public_jwk(off_curve)
