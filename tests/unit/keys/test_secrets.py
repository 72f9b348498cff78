"""``KeyedDigest``: HMAC-SHA256 under an HKDF-derived, purpose-bound subkey (RFC 2104,
RFC 5869), checked against ``cryptography``'s own HMAC and HKDF."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keys import KeyedDigest, MasterSecret

SECRET = "an operator secret that is long enough 0123456789"


def _independent(purpose: str, value: bytes) -> str:
    subkey = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"govwallet/hkdf/v1",
        info=f"govwallet/digest/{purpose}".encode(),
    ).derive(SECRET.encode())
    mac = HMAC(subkey, hashes.SHA256())
    mac.update(value)
    return mac.finalize().hex()


def test_digest_is_hmac_sha256_under_the_purpose_subkey() -> None:
    digest = KeyedDigest(MasterSecret(SECRET), "oidc/client-secret")
    for value in (b"", b"s3cret", "身份证号码".encode(), b"x" * 10_000):
        assert digest.digest(value) == _independent("oidc/client-secret", value)


def test_every_call_starts_from_the_key_alone() -> None:
    digest = KeyedDigest(MasterSecret(SECRET), "oidc/authorization-code")
    first = digest.digest("code-1")
    digest.digest("something else in between")
    assert digest.digest("code-1") == first == _independent("oidc/authorization-code", b"code-1")
    assert digest.digest("code-1") == digest.digest(b"code-1")  # str is UTF-8


def test_purposes_give_independent_digests() -> None:
    master = MasterSecret(SECRET)
    values = {KeyedDigest(master, purpose).digest("same") for purpose in ("a", "b", "c")}
    assert len(values) == 3


def test_concurrent_digests_agree() -> None:
    digest = KeyedDigest(MasterSecret(SECRET), "oidc/refresh-token")
    values = [f"token-{n}" for n in range(2_000)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(digest.digest, values))
    assert results == [_independent("oidc/refresh-token", v.encode()) for v in values]


def test_matches_compares_with_the_stored_digest() -> None:
    digest = KeyedDigest(MasterSecret(SECRET), "oidc/client-secret")
    stored = digest.digest("right")
    assert digest.matches("right", stored)
    assert not digest.matches("wrong", stored)
