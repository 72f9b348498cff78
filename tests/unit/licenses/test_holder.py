"""Holder keys: a server-held key in keys/, and the seam a device-held key plugs into."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from licenses import issuance, sdjwt
from licenses.audit.services import append_entry
from licenses.holder import HolderKey, ServerHeldKey, holder_owner, same_key
from licenses.schemas import LicenseCreate
from licenses.services import get_agency
from licenses.wallet import services as wallet
from tests.support.license_factories import (
    HOLDER_ID,
    ID_CARD,
    JILIN,
    example_fields,
    make_agency,
    registry_for,
)
from wallet_api.runtime import Runtime

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def test_a_server_held_key_is_made_once_and_never_shows_its_private_part(
    runtime: Runtime,
) -> None:
    key = ServerHeldKey(keystore=runtime.keystore, stable_id="citizen-1")
    assert key.owner == "holder:citizen-1"
    with runtime.transaction() as session:
        first = key.public_jwk(session)
        again = key.public_jwk(session)
        signer = key.signer(session)
    assert first == again
    assert first["kty"] == "EC"
    assert first["crv"] == "P-256"
    assert not PRIVATE_MEMBERS & set(first)
    assert signer.alg == "ES256"
    other = ServerHeldKey(keystore=runtime.keystore, stable_id="citizen-2")
    with runtime.transaction() as session:
        assert not same_key(other.public_jwk(session), first)


def test_the_key_signs_what_its_public_jwk_verifies(runtime: Runtime) -> None:
    key = ServerHeldKey(keystore=runtime.keystore, stable_id="citizen-3")
    with runtime.transaction() as session:
        token = key.signer(session).sign_compact(header={"typ": "kb+jwt"}, payload=b"{}")
        public = ECKey.import_key(key.public_jwk(session))
    assert jws.deserialize_compact(token, public, algorithms=["ES256"]).payload == b"{}"


@pytest.mark.parametrize("stable_id", ["", "x" * 181])
def test_a_holder_needs_a_stable_id(stable_id: str) -> None:
    with pytest.raises(ValueError, match="stable id"):
        holder_owner(stable_id)


def test_same_key_compares_coordinates_only() -> None:
    jwk = {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}
    assert same_key(jwk, {**jwk, "kid": "k1", "use": "sig"})
    assert not same_key(jwk, {**jwk, "y": "c"})
    assert not same_key(None, jwk)


class DeviceHeldKey:
    """A stand-in for a phone's key: the private key never reaches the key store."""

    def __init__(self) -> None:
        self._key = ECKey.generate_key("P-256", auto_kid=True)
        self.alg = "ES256"

    def public_jwk(self, session: Session) -> dict[str, Any]:
        return dict(self._key.as_dict(private=False))

    def signer(self, session: Session) -> DeviceHeldKey:
        return self

    def sign_compact(self, *, header: dict[str, Any], payload: bytes) -> str:
        protected = {**header, "alg": self.alg}
        return jws.serialize_compact(protected, payload, self._key, algorithms=[self.alg])


def test_a_device_held_key_replaces_the_server_key(runtime: Runtime) -> None:
    make_agency(runtime, who=JILIN, types=(ID_CARD,))
    registry = registry_for(runtime)
    device: HolderKey = DeviceHeldKey()
    body: dict[str, Any] = {
        "type": ID_CARD,
        "holder": {"id_number": HOLDER_ID, "name": "张三"},
        "fields": example_fields(runtime, ID_CARD),
        "area_code": "220102",
    }
    with runtime.transaction() as session:
        agency = get_agency(session, agency_ref=JILIN[1])
        issuance.issue(session, registry=registry, agency=agency, request=LicenseCreate(**body))
    me = wallet.wallet_holder(registry, id_number=HOLDER_ID, key=device)
    with runtime.transaction() as session:
        row = wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)[0]
        made = wallet.present(
            session,
            registry=registry,
            links=wallet.OnlineLinks.create(
                master=runtime.settings.master_secret, platform_issuer=registry.platform_issuer
            ),
            holder=me,
            row=row,
            disclose=["holder_name"],
            preset=None,
            audience="any",
            nonce="device-nonce-1",
            lifetime=timedelta(minutes=5),
            online_lifetime=timedelta(minutes=3),
            audit=append_entry,
        )
    unverified = sdjwt.parse_presentation(made.presentation)
    report = sdjwt.check_key_binding(
        unverified,
        holder_jwk=unverified.unverified_claims["cnf"]["jwk"],
        audience=made.audience,
        nonce="device-nonce-1",
        now=datetime.now(UTC),
        max_age=timedelta(minutes=5),
        clock_skew=timedelta(seconds=60),
    )
    assert report.first_error is None
    assert set(report.outcomes) >= {"signature", "aud", "nonce", "sd_hash"}
    assert same_key(unverified.unverified_claims["cnf"]["jwk"], device.public_jwk(session))
