"""The offline QR codec (docs/qr-format.md): Base45 RFC 9285 vectors, byte-exact round trips,
one error class per decoding failure, and the online link."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from licenses import qr, sdjwt
from licenses.base45 import Base45Error, b45decode, b45encode
from licenses.qr import (
    GW1_DICTIONARY,
    InvalidOnlineUrl,
    InvalidQrBase45,
    InvalidQrCompression,
    MalformedQrFrame,
    PresentationNotEncodable,
    QrFormatError,
    TruncatedQrFrame,
    UnknownQrPrefix,
    UnsupportedQrVersion,
    decode_offline,
    encode_offline,
    encode_online,
    is_offline_payload,
)
from tests.support.credentials import AUDIENCE, NONCE, NOW, CredentialWorld, make_world

DOC = Path(__file__).resolve().parents[3] / "docs" / "qr-format.md"
QR_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]*")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(text: str) -> str:
    return b64(hashlib.sha256(text.encode()).digest())


def json_b64(value: object) -> str:
    return b64(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


# -- Base45, RFC 9285 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"AB", "BB8"),  # RFC 9285 §4.3
        (b"Hello!!", "%69 VD92EX0"),  # §4.3
        (b"base-45", "UJCLQE7W581"),  # §4.3
        (b"ietf!", "QED8WEX0"),  # §4.4 (decoding example)
        (b"", ""),
        (b"\x00", "00"),
        (b"\xff\xff", "FGW"),  # the largest triplet, 65535
    ],
)
def test_base45_rfc9285_examples(data: bytes, text: str) -> None:
    assert b45encode(data) == text
    assert b45decode(text) == data


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("GGW", "65536"),  # RFC 9285 §6: a triplet above 65535 is invalid
        ("::", "2024"),  # a final pair above 255
        ("bb8", "'b'"),  # lower case is not in the alphabet
        ("BB#", "'#'"),
        ("BB8A", "3k + 1"),
        ("A", "3k + 1"),
    ],
)
def test_base45_rejects_invalid_text(text: str, reason: str) -> None:
    with pytest.raises(Base45Error, match=re.escape(reason)):
        b45decode(text)


def test_base45_round_trips_every_byte_pair() -> None:
    data = bytes(range(256)) + bytes(reversed(range(256)))
    assert b45decode(b45encode(data)) == data
    assert b45decode(b45encode(data[:-1])) == data[:-1]


def test_base45_text_never_ends_in_a_space() -> None:
    """docs/qr-format.md §2: trimming a scanned payload is harmless."""
    last = {b45encode(n.to_bytes(2, "big"))[-1] for n in range(65536)}
    last |= {b45encode(bytes([n]))[-1] for n in range(256)}
    assert " " not in last
    assert max(last, key="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".index) == "W"


# -- presentations to encode ----------------------------------------------------------------------


def synthetic_presentation(rng: random.Random, *, disclosures: int, key_binding: bool) -> str:
    """An SD-JWT-shaped presentation with random salts, digests, signatures and values."""

    def token(n: int) -> str:
        return b64(rng.randbytes(n))

    encoded = [
        json_b64([token(16), f"claim_{i}", rng.choice(["张三", "2036-11-23", i, None, {"a": [1]}])])
        for i in range(disclosures)
    ]
    digests = [digest(d) for d in encoded] + [token(32) for _ in range(rng.randrange(0, 12))]
    header = json_b64({"typ": "dc+sd-jwt", "alg": "ES256", "kid": token(32)})
    payload = json_b64(
        {
            "iss": "https://gov.example/agencies/11430000006122244L",
            "iat": rng.randrange(1_700_000_000, 1_900_000_000),
            "vct": "11100000000013338W011",
            "cnf": {"jwk": {"kty": "EC", "crv": "P-256", "x": token(32), "y": token(32)}},
            "_sd": sorted(rng.sample(digests, len(digests))),
            "_sd_alg": "sha-256",
        }
    )
    sd_jwt = f"{header}.{payload}.{token(64)}~" + "".join(d + "~" for d in encoded)
    if not key_binding:
        return sd_jwt
    kb_header = json_b64({"typ": "kb+jwt", "alg": "ES256"})
    kb_payload = json_b64(
        {"iat": 1_795_500_000, "aud": AUDIENCE, "nonce": token(16), "sd_hash": digest(sd_jwt)}
    )
    return sd_jwt + f"{kb_header}.{kb_payload}.{token(64)}"


def raw_presentation(*segments: bytes, disclosures: list[bytes], kb: bool) -> str:
    issuer = ".".join(b64(s) for s in segments[:3])
    text = issuer + "~" + "".join(b64(d) + "~" for d in disclosures)
    return text + (".".join(b64(s) for s in segments[3:6]) if kb else "")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CredentialWorld]:
    built = make_world(tmp_path_factory.mktemp("qr"))
    yield built
    built.runtime.close()


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_synthetic_presentations_round_trip_byte_for_byte(seed: int) -> None:
    rng = random.Random(seed)
    presentation = synthetic_presentation(
        rng, disclosures=rng.choice([0, 1, 2, 5, 14]), key_binding=seed % 2 == 0
    )
    text = encode_offline(presentation)
    assert text.startswith("GW1:")
    assert QR_ALPHANUMERIC.fullmatch(text)
    assert decode_offline(text) == presentation


def test_real_presentations_round_trip_and_still_verify(world: CredentialWorld) -> None:
    credential = world.issue().credential
    cases = [
        world.present(credential),
        world.present(credential, disclose=("fields",)),  # nested disclosures refer to others
        world.present(credential, disclose=()),  # zero disclosures, with a KB-JWT
        world.present(credential, holder=None),  # no key-binding JWT: ends in "~"
        world.present(credential, disclose=(), holder=None),  # "<jwt>~" alone
        credential,  # the issuance itself: every disclosure, no KB-JWT
    ]
    for presentation in cases:
        decoded = decode_offline(encode_offline(presentation))
        assert decoded == presentation
        verified = sdjwt.verify(
            decoded,
            issuer_jwk=world.public_jwk("agency:a"),
            audience=AUDIENCE,
            nonce=NONCE,
            now=NOW,
            key_binding_max_age=timedelta(minutes=5),
            require_key_binding=False,
        )
        assert verified.payload["license_id"]


@pytest.mark.parametrize(
    ("segments", "disclosures", "kb"),
    [
        # raw 0x01 bytes (never in JSON) must be escaped and come back
        ((b"\x01", b'{"a":"\x01\xf1\x10"}', b"\x01\x01"), [b"\x01\xff", b"\x01"], False),
        # empty segments (an unsigned JWT has an empty signature)
        ((b"", b"", b""), [], False),
        ((b"{}", b"{}", b""), [b""], True),
        # a quoted base64url string of 4k+1 characters is not base64url: stays text
        ((b"{}", b'{"v":"' + b"A" * 25 + b'"}', b"s"), [], False),
        # non-canonical base64url inside the JSON (pad bits set) stays text
        ((b"{}", b'{"v":"' + b"A" * 21 + b'B"}', b"s"), [], False),
        # longer than the 255 bytes a pooled value holds: stays text
        ((b"{}", b'{"v":"' + b"A" * 400 + b'"}', b"s"), [], False),
        # the same random value twice stays text for deflate to match
        ((b'{"k":"' + b"Q" * 43 + b'"}', b'{"x":"' + b"Q" * 43 + b'"}', b"s"), [], False),
    ],
)
def test_unusual_bytes_round_trip(
    segments: tuple[bytes, ...], disclosures: list[bytes], kb: bool
) -> None:
    kb_segments = (b'{"typ":"kb+jwt"}', b'{"sd_hash":"x"}', b"sig") if kb else ()
    presentation = raw_presentation(*segments, *kb_segments, disclosures=disclosures, kb=kb)
    assert decode_offline(encode_offline(presentation)) == presentation


def test_more_disclosures_than_digest_references_round_trip() -> None:
    rng = random.Random(7)
    presentation = synthetic_presentation(rng, disclosures=300, key_binding=True)
    assert decode_offline(encode_offline(presentation)) == presentation


def test_a_disclosure_that_holds_the_digest_of_a_later_one_round_trips() -> None:
    later = json_b64(["c2FsdHNhbHRzYWx0c2FsdA", "b", 2])
    first = json_b64(["c2FsdHNhbHRzYWx0c2FsdB", "a", {"_sd": [digest(later)]}])
    presentation = raw_presentation(
        b"{}",
        json.dumps({"_sd": [digest(first), digest(later)]}).encode(),
        b"s",
        disclosures=[unb64(first), unb64(later)],
        kb=False,
    )
    assert decode_offline(encode_offline(presentation)) == presentation


def test_derived_values_are_not_carried(world: CredentialWorld) -> None:
    """Digests of the carried disclosures and the KB-JWT's sd_hash are rebuilt, not sent."""
    credential = world.issue().credential
    presentation = world.present(credential)
    frame = zlib.decompressobj(zdict=GW1_DICTIONARY).decompress(
        b45decode(encode_offline(presentation)[4:])
    )
    sd_jwt, kb_jwt = presentation.rsplit("~", 1)
    for disclosure in sd_jwt.split("~")[1:-1]:
        assert digest(disclosure).encode() not in frame
    sd_hash = json.loads(unb64(kb_jwt.split(".")[1]))["sd_hash"]
    assert sd_hash.encode() not in frame
    assert b"\x01\xf0" in frame


def test_encoding_is_deterministic(world: CredentialWorld) -> None:
    presentation = world.present(world.issue().credential)
    assert encode_offline(presentation) == encode_offline(presentation)


# -- encoding refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("presentation", "reason"),
    [
        ("eyJ9.e30.c2ln", "at least one '~'"),
        ("e30.e30~", "2 dot-separated parts"),
        ("e30.e30.c2ln.x~", "4 dot-separated parts"),
        ("e30.e30.c2ln~e30.e30", "key-binding JWT has 2"),
        ("e30.e30.c2ln~AB~", "disclosure 1"),  # pad bits set: not canonical
        ("e30.e30.c2ln~e30=~", "disclosure 1"),  # padding
        ("e30.e30.c2ln~e+0~", "disclosure 1"),  # base64, not base64url
        ("e30.e30.c2ln~AAAAA~", "disclosure 1"),  # 4k+1 characters
        ("e30.e30.c2l~", "signature"),
        ("e30.e30.c2ln~张三~", "ASCII"),
    ],
)
def test_encoder_refuses_what_it_cannot_reproduce(presentation: str, reason: str) -> None:
    with pytest.raises(PresentationNotEncodable, match=re.escape(reason)):
        encode_offline(presentation)


# -- decoding failures: one class each -----------------------------------------------------------


def gw1(frame: bytes, *, zdict: bytes = GW1_DICTIONARY) -> str:
    compressor = zlib.compressobj(9, zdict=zdict)
    return "GW1:" + b45encode(compressor.compress(frame) + compressor.flush())


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def segment(data: bytes) -> bytes:
    return varint(len(data)) + data


def test_a_frame_written_from_the_spec_decodes() -> None:
    """An independent writer of docs/qr-format.md §3-§4 (not the module's encoder)."""
    disclosure = b'["c2FsdA","holder_name","\xe5\xbc\xa0\xe4\xb8\x89"]'
    salt = bytes(range(16))
    frame = (
        b"\x00"  # flags: no key-binding JWT
        + varint(1)
        + segment(b'["\x01\xf1\x10","holder_name","\xe5\xbc\xa0\xe4\xb8\x89"]')
        + segment(b'{"alg":"ES256"}')
        + segment(b'{"_sd":["\x01\x00"],"v":"\x01\xff"}')
        + segment(b"\x99" * 64)
        + salt
    )
    expected_disclosure = disclosure.replace(b"c2FsdA", b64(salt).encode())
    expected = (
        b64(b'{"alg":"ES256"}')
        + "."
        + b64(f'{{"_sd":["{digest(b64(expected_disclosure))}"],"v":"\x01"}}'.encode())
        + "."
        + b64(b"\x99" * 64)
        + "~"
        + b64(expected_disclosure)
        + "~"
    )
    assert decode_offline(gw1(frame)) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", UnknownQrPrefix),
        ("HC1:6BFOXN%TS3DH", UnknownQrPrefix),
        ("gw1:BB8", UnknownQrPrefix),
        ("https://gov.example/p/abc", UnknownQrPrefix),
        ("eyJhbGciOiJFUzI1NiJ9.e30.c2ln~", UnknownQrPrefix),
        ("GW2:BB8", UnsupportedQrVersion),
        ("GW10:BB8", UnsupportedQrVersion),
        ("GW0:BB8", UnsupportedQrVersion),
        ("GW1:bb8", InvalidQrBase45),
        ("GW1:BB8A", InvalidQrBase45),
        ("GW1:GGW", InvalidQrBase45),
        ("GW1:", InvalidQrCompression),
        ("GW1:" + b45encode(b"not a zlib stream"), InvalidQrCompression),
    ],
)
def test_decoding_failures_have_one_class_each(text: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        decode_offline(text)
    assert isinstance(caught.value, QrFormatError)


def test_compression_failures(world: CredentialWorld) -> None:
    good = b45decode(encode_offline(world.present(world.issue().credential))[4:])
    assert decode_offline("GW1:" + b45encode(good))
    for broken, reason in [(good[:-5], "incomplete"), (good + b"\x00", "1 bytes follow")]:
        with pytest.raises(InvalidQrCompression, match=reason):
            decode_offline("GW1:" + b45encode(broken))
    corrupted = good[:40] + bytes(b ^ 0x55 for b in good[40:60]) + good[60:]
    with pytest.raises(InvalidQrCompression):  # bad codes, or the Adler-32 check fails
        decode_offline("GW1:" + b45encode(corrupted))
    # a zlib stream that asks for another preset dictionary (DICTID mismatch)
    with pytest.raises(InvalidQrCompression):
        decode_offline(gw1(b"\x00\x00\x00\x00\x00", zdict=b"another dictionary"))
    # a small payload that would inflate beyond the frame limit (a zip bomb)
    with pytest.raises(InvalidQrCompression, match="inflates beyond"):
        decode_offline(gw1(b"\x00" * (qr.MAX_FRAME_BYTES + 1)))


JWT_TEXT = segment(b"{}") + segment(b"{}")


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "flags byte"),
        (b"\x00", "disclosure count"),
        (b"\x00\x01", "disclosure 1"),
        (b"\x00\x01\x05ab", "disclosure 1"),
        (b"\x00\x00" + segment(b"{}"), "issuer-signed JWT payload"),
        (b"\x00\x00" + JWT_TEXT, "issuer-signed JWT signature"),
        (b"\x01\x00" + JWT_TEXT + JWT_TEXT + segment(b"s"), "key-binding JWT signature"),
        (b"\x00\x00" + JWT_TEXT + b"\x40s", "issuer-signed JWT signature"),
        # a pooled value announced but missing from the byte pool
        (b"\x00\x00" + segment(b"{}") + segment(b'"\x01\xf1\x10"') + segment(b"s"), "byte pool"),
    ],
)
def test_truncated_frames(frame: bytes, reason: str) -> None:
    with pytest.raises(TruncatedQrFrame, match=reason):
        decode_offline(gw1(frame))


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x02\x00" + JWT_TEXT + segment(b"s"), "reserved flag bits"),
        (b"\x80\x00" + JWT_TEXT + segment(b"s"), "reserved flag bits"),
        (b"\x00\x80\x00" + JWT_TEXT + segment(b"s"), "not a minimal varint"),
        (b"\x00\xff\xff\xff\x01" + JWT_TEXT + segment(b"s"), "longer than 3"),
        (b"\x00\x00" + JWT_TEXT + segment(b"s") + b"extra", "5 bytes of the byte pool"),
        # references a reader cannot resolve
        (b"\x00\x00" + segment(b"{}") + segment(b"\x01") + segment(b"s"), "inside a reference"),
        (b"\x00\x00" + segment(b"{}") + segment(b"\x01\xf5") + segment(b"s"), "0xf5"),
        (b"\x00\x00" + segment(b"{}") + segment(b"\x01\x00") + segment(b"s"), "0x00"),
        (b"\x00\x00" + segment(b"{}") + segment(b"\x01\xf0") + segment(b"s"), "0xf0"),
        (b"\x00\x00" + segment(b"{}") + segment(b"\x01\xf1") + segment(b"s"), "without a length"),
        (b"\x00\x00" + segment(b"\x01\xf1\x00") + segment(b"{}") + segment(b"s"), "length"),
        # a disclosure may refer only to the digests of disclosures before it
        (b"\x00\x01" + segment(b"\x01\x00") + JWT_TEXT + segment(b"s"), "disclosure 1"),
    ],
)
def test_malformed_frames(frame: bytes, reason: str) -> None:
    with pytest.raises(MalformedQrFrame, match=reason):
        decode_offline(gw1(frame))


def test_every_error_class_has_its_own_code() -> None:
    classes = [
        UnknownQrPrefix,
        UnsupportedQrVersion,
        InvalidQrBase45,
        InvalidQrCompression,
        TruncatedQrFrame,
        MalformedQrFrame,
    ]
    assert all(issubclass(c, QrFormatError) and c.status == 422 for c in classes)
    assert len({c.code for c in classes}) == len(classes)


def test_offline_payload_detection() -> None:
    assert is_offline_payload("GW1:ABC")
    assert is_offline_payload("GW2:ABC")
    assert not is_offline_payload("https://gov.example/p/GW1:")
    assert not is_offline_payload("gw1:abc")


# -- the online link -----------------------------------------------------------------------------


def test_online_qr_is_the_url_itself() -> None:
    url = "https://gov.example/p/3Jk9_x"
    assert encode_online(url) == url


@pytest.mark.parametrize(
    "url",
    ["/p/abc", "ftp://gov.example/p", "https:///p", "https://gov.example/p q", "javascript:x"],
)
def test_online_qr_refuses_what_is_not_an_absolute_http_url(url: str) -> None:
    with pytest.raises(InvalidOnlineUrl):
        encode_online(url)


# -- the format document is the code ------------------------------------------------------------


def test_the_format_document_states_the_dictionary_the_code_uses() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert hashlib.sha256(GW1_DICTIONARY).hexdigest() in text
    assert f"{zlib.adler32(GW1_DICTIONARY):08x}" in text.lower()
    assert f"{len(GW1_DICTIONARY)} bytes" in text


def test_the_worked_example_in_the_format_document_decodes() -> None:
    text = DOC.read_text(encoding="utf-8")
    presentation_match = re.search(r"```text presentation\n(.+?)\n```", text, re.S)
    assert presentation_match is not None
    presentation = presentation_match.group(1)
    payload_match = re.search(r"```text gw1\n(.+?)\n```", text, re.S)
    assert payload_match is not None
    payload = payload_match.group(1)
    frame_hex_match = re.search(r"```text frame-hex\n(.+?)\n```", text, re.S)
    assert frame_hex_match is not None
    frame_hex = frame_hex_match.group(1)
    assert decode_offline(payload) == presentation
    assert encode_offline(presentation) == payload
    inflated = zlib.decompressobj(zdict=GW1_DICTIONARY).decompress(b45decode(payload[4:]))
    assert inflated.hex() == "".join(frame_hex.split())
