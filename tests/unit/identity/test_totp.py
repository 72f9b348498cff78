"""RFC 6238 helpers: enrolment URI and QR code, window, replay, recovery codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp

from identity import totp

NOW = datetime(2026, 11, 24, 4, 0, 15, tzinfo=UTC)


def test_provisioning_uri_follows_the_key_uri_format() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32  # 160 bits of base32
    uri = totp.provisioning_uri(secret, account_label="张三")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth"
    assert parsed.netloc == "totp"
    query = parse_qs(parsed.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["govwallet"]
    assert pyotp.parse_uri(uri).secret == secret


def test_qr_images_are_svg_and_png() -> None:
    uri = totp.provisioning_uri(totp.new_secret(), account_label="a")
    assert totp.qr_svg(uri).lstrip().startswith(("<svg", "<?xml"))
    assert totp.qr_png(uri).startswith(b"\x89PNG\r\n\x1a\n")


def test_code_of_the_current_and_adjacent_step_is_accepted() -> None:
    secret = totp.new_secret()
    step = pyotp.TOTP(secret).timecode(NOW)
    assert totp.matching_step(secret, totp.code_at(secret, NOW), now=NOW, after_step=None) == step
    earlier = totp.code_at(secret, NOW - timedelta(seconds=30))
    assert totp.matching_step(secret, earlier, now=NOW, after_step=None) == step - 1
    too_old = totp.code_at(secret, NOW - timedelta(seconds=90))
    assert totp.matching_step(secret, too_old, now=NOW, after_step=None) is None


def test_a_code_is_not_accepted_twice() -> None:
    secret = totp.new_secret()
    code = totp.code_at(secret, NOW)
    step = totp.matching_step(secret, code, now=NOW, after_step=None)
    assert step is not None
    assert totp.matching_step(secret, code, now=NOW, after_step=step) is None
    later = NOW + timedelta(seconds=30)
    assert totp.matching_step(secret, code, now=later, after_step=step) is None


def test_malformed_codes_are_refused() -> None:
    secret = totp.new_secret()
    for code in ("", "12345", "1234567", "abcdef"):
        assert totp.matching_step(secret, code, now=NOW, after_step=None) is None


def test_recovery_codes_are_distinct_and_normalise() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code) == 11 and code[5] == "-" for code in codes)
    assert totp.normalise_recovery_code(codes[0].lower().replace("-", " ")) == codes[0].replace(
        "-", ""
    )
