"""Key generation, life cycle, JWKS, signing cache and encryption at rest."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws, jwt
from joserfc.jwk import ECKey, KeySet, KeySetSerialization, OKPKey, RSAKey
from sqlalchemy import select

from keys import AesGcmKeyWrapper, KeyStore, MasterSecret, NoActiveKey, SigningKey, UnknownKey
from keys.errors import KeyDecryptionFailed, UnsupportedAlgorithm
from keys.interfaces import KeyWrapper
from wallet_api.runtime import Runtime

DAY = timedelta(days=1)


class RecordingWrapper:
    """Delegates to the real AES-GCM wrapper and remembers what it wrapped and unwrapped."""

    def __init__(self, inner: AesGcmKeyWrapper) -> None:
        self.inner = inner
        self.key_id = inner.key_id
        self.plaintexts: list[bytes] = []
        self.unwraps = 0

    def wrap(self, plaintext: bytes, *, aad: bytes) -> bytes:
        self.plaintexts.append(plaintext)
        return self.inner.wrap(plaintext, aad=aad)

    def unwrap(self, blob: bytes, *, aad: bytes) -> bytes:
        self.unwraps += 1
        return self.inner.unwrap(blob, aad=aad)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wrapper(runtime: Runtime) -> RecordingWrapper:
    return RecordingWrapper(AesGcmKeyWrapper(runtime.settings.master_secret))


@pytest.fixture
def store(wrapper: RecordingWrapper, clock: Clock) -> KeyStore:
    return KeyStore(wrapper=wrapper, clock=clock)


def test_the_software_wrapper_conforms_to_the_protocol(runtime: Runtime) -> None:
    assert isinstance(AesGcmKeyWrapper(runtime.settings.master_secret), KeyWrapper)


@pytest.mark.parametrize(
    ("alg", "key_type"), [("RS256", RSAKey), ("ES256", ECKey), ("Ed25519", OKPKey)]
)
def test_generated_keys_have_the_right_type_size_and_thumbprint_kid(
    runtime: Runtime, store: KeyStore, alg: str, key_type: type[RSAKey | ECKey | OKPKey]
) -> None:
    with runtime.transaction() as session:
        store.ensure(session, owner="agency:test", alg=alg)
        jwks = store.jwks(session, owner="agency:test")
    assert len(jwks["keys"]) == 2  # active + next
    for jwk in jwks["keys"]:
        assert jwk["alg"] == alg
        assert jwk["use"] == "sig"
        assert "d" not in jwk
        assert "p" not in jwk
        public = key_type.import_key({k: v for k, v in jwk.items() if k not in {"kid"}})
        assert jwk["kid"] == public.thumbprint()  # RFC 7638
        if alg == "RS256":
            n = base64.urlsafe_b64decode(jwk["n"] + "==")
            assert len(n) * 8 == 3072
        if alg == "ES256":
            assert jwk["crv"] == "P-256"
        if alg == "Ed25519":
            assert jwk["crv"] == "Ed25519"


@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])  # EdDSA: deprecated by RFC 9864
def test_unsupported_algorithm_is_refused(runtime: Runtime, store: KeyStore, alg: str) -> None:
    with runtime.transaction() as session, pytest.raises(UnsupportedAlgorithm):
        store.ensure(session, owner="x", alg=alg)


def test_rotation_promotes_next_retires_active_and_keeps_it_published(
    runtime: Runtime, store: KeyStore, clock: Clock
) -> None:
    with runtime.transaction() as session:
        store.ensure(session, owner="o", alg="ES256")
        before = {k.state: k.kid for k in store.list_keys(session, owner="o")}
        new_active = store.rotate(session, owner="o", alg="ES256", retain_for=DAY)
        after = {k.kid: k for k in store.list_keys(session, owner="o")}

    assert new_active.kid == before["next"]
    assert after[before["active"]].state == "retired"
    assert after[before["active"]].retain_until == clock.now + DAY
    assert after[before["next"]].state == "active"
    assert sum(1 for k in after.values() if k.state == "next") == 1
    with runtime.transaction() as session:
        published = {k["kid"] for k in store.jwks(session, owner="o")["keys"]}
    assert published == set(after)  # next, active and retired are all published


def test_prune_removes_only_expired_retired_keys_and_erases_them(
    runtime: Runtime, store: KeyStore, clock: Clock
) -> None:
    with runtime.transaction() as session:
        store.ensure(session, owner="o", alg="ES256")
        old = store.signer(session, owner="o", alg="ES256").kid
        store.rotate(session, owner="o", alg="ES256", retain_for=DAY)
        assert store.prune(session) == []  # still within retention
    clock.now += DAY + timedelta(seconds=1)
    with runtime.transaction() as session:
        removed = store.prune(session)
        assert [k.kid for k in removed] == [old]
        assert old not in {k["kid"] for k in store.jwks(session, owner="o")["keys"]}
        row = session.scalars(select(SigningKey).where(SigningKey.kid == old)).one()
        assert row.state == "removed"
        assert row.encrypted_private_key == b""
        with pytest.raises(UnknownKey):
            store.public_jwk(session, kid=old)


def test_signatures_verify_with_the_published_jwks_across_rotation(
    runtime: Runtime, store: KeyStore
) -> None:
    with runtime.transaction() as session:
        store.ensure(session, owner="o", alg="ES256")
        token_before = store.signer(session, owner="o", alg="ES256").sign_jwt({"n": 1})
        store.rotate(session, owner="o", alg="ES256", retain_for=DAY)
        token_after = store.signer(session, owner="o", alg="ES256").sign_jwt({"n": 2})
        keyset = KeySet.import_key_set(cast(KeySetSerialization, store.jwks(session, owner="o")))
    for token, n in ((token_before, 1), (token_after, 2)):
        decoded = jwt.decode(token, keyset, algorithms=["ES256"])
        assert decoded.claims["n"] == n
    assert (
        jwt.decode(token_before, keyset).header["kid"]
        != jwt.decode(token_after, keyset).header["kid"]
    )


@pytest.mark.parametrize("alg", ["ES256", "RS256", "Ed25519"])
def test_compact_serializations_verify_independently(
    runtime: Runtime, store: KeyStore, alg: str
) -> None:
    """The signer assembles RFC 7515 §7.1 itself around joserfc's algorithm: joserfc's own
    verifier reads what it makes, header members and payload intact, for every header
    shape (encoded headers are kept per header; a header with a list value is not)."""
    with runtime.transaction() as session:
        store.ensure(session, owner="o", alg=alg)
        signer = store.signer(session, owner="o", alg=alg)
        keyset = KeySet.import_key_set(cast(KeySetSerialization, store.jwks(session, owner="o")))
    claims = {"sub": "张三", "n": 2**40, "nested": {"a": [1, "b", None]}}
    first = signer.sign_jwt(claims, header={"typ": "at+jwt"})
    again = signer.sign_jwt({"n": 3}, header={"typ": "at+jwt"})  # the kept encoded header
    listed = signer.sign_compact(header={"typ": "x+jwt", "x5c": ["TUlJ"]}, payload=b"raw")
    decoded = jwt.decode(first, keyset, algorithms=[alg])
    assert decoded.claims == claims
    assert decoded.header == {"typ": "at+jwt", "alg": alg, "kid": signer.kid}
    assert jwt.decode(again, keyset, algorithms=[alg]).claims == {"n": 3}
    assert first.split(".")[0] == again.split(".")[0]
    verified = jws.deserialize_compact(listed, keyset, algorithms=[alg])
    assert verified.payload == b"raw"
    assert verified.protected["x5c"] == ["TUlJ"]
    default = jwt.decode(signer.sign_jwt({"n": 1}), keyset, algorithms=[alg])
    assert default.header["typ"] == "JWT"
    with pytest.raises(TypeError):  # as with json: no silent encoding of a datetime
        signer.sign_jwt({"exp": datetime.now(UTC)})


def test_signing_does_not_decrypt_per_call_and_rotation_invalidates_the_cache(
    runtime: Runtime, store: KeyStore, wrapper: RecordingWrapper
) -> None:
    with runtime.transaction() as session:
        store.ensure(session, owner="o", alg="RS256")
        first = store.signer(session, owner="o", alg="RS256")
        for _ in range(20):
            store.signer(session, owner="o", alg="RS256").sign_jwt({"x": 1})
        assert wrapper.unwraps == 1
        store.rotate(session, owner="o", alg="RS256", retain_for=DAY)
        second = store.signer(session, owner="o", alg="RS256")
        assert second.kid != first.kid
        assert wrapper.unwraps == 2


def test_no_active_key_is_a_clear_error(runtime: Runtime, store: KeyStore) -> None:
    with runtime.transaction() as session, pytest.raises(NoActiveKey, match="nobody"):
        store.signer(session, owner="nobody", alg="ES256")
    with runtime.transaction() as session, pytest.raises(UnknownKey):
        store.rotate(session, owner="nobody", alg="ES256", retain_for=DAY)


def test_a_different_master_secret_cannot_unwrap(runtime: Runtime, store: KeyStore) -> None:
    with runtime.transaction() as session:
        store.ensure(session, owner="o", alg="ES256")
    other = KeyStore(wrapper=AesGcmKeyWrapper(MasterSecret("z" * 40)))
    with runtime.transaction() as session, pytest.raises(KeyDecryptionFailed):
        other.signer(session, owner="o", alg="ES256")


def test_tampered_ciphertext_is_detected(runtime: Runtime, store: KeyStore) -> None:
    with runtime.transaction() as session:
        store.ensure(session, owner="o", alg="ES256")
        row = session.scalars(
            select(SigningKey).where(SigningKey.owner == "o", SigningKey.state == "active")
        ).one()
        blob = bytearray(row.encrypted_private_key)
        blob[-1] ^= 0x01
        row.encrypted_private_key = bytes(blob)
    fresh = KeyStore(wrapper=AesGcmKeyWrapper(runtime.settings.master_secret))
    with runtime.transaction() as session, pytest.raises(KeyDecryptionFailed):
        fresh.signer(session, owner="o", alg="ES256")


def _private_forms(der: bytes) -> list[bytes]:
    """The ways a leaked private key could appear: DER, PEM body, JWK private members."""
    key = serialization.load_der_private_key(der, password=None)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forms = [der, b"".join(pem.splitlines()[1:-1]), base64.b64encode(der)]
    alg = "RS256" if b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01" in der else "ES256"
    jose = RSAKey.import_key(key) if alg == "RS256" else ECKey.import_key(key)  # type: ignore[arg-type]
    forms.append(json.dumps(jose.as_dict(private=True)["d"]).strip('"').encode())
    return forms


def test_no_private_key_is_stored_in_plaintext(
    runtime: Runtime, store: KeyStore, wrapper: RecordingWrapper, tmp_path: Path
) -> None:
    with runtime.transaction() as session:
        for alg in ("RS256", "ES256"):
            store.ensure(session, owner="leak-check", alg=alg)
            store.rotate(session, owner="leak-check", alg=alg, retain_for=DAY)
    assert len(wrapper.plaintexts) == 6
    forms = [form for der in wrapper.plaintexts for form in _private_forms(der)]

    # Everything the database holds, read back through SQL …
    with runtime.transaction() as session:
        rows = session.scalars(select(SigningKey)).all()
        stored = b"".join(
            r.encrypted_private_key + r.public_jwk.encode() + r.kid.encode() for r in rows
        )
    # … and every byte under the data directory and the test's temp dir (SQLite, WAL, secrets).
    for path in tmp_path.rglob("*"):
        if path.is_file():
            stored += path.read_bytes()
    for form in forms:
        assert form not in stored
