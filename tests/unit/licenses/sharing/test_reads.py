"""licenses.sharing.services.read_shared on SQLite and PostgreSQL: presentations of exactly
the approved fields, key-bound to the platform; access history; withdrawal; bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from licenses import sdjwt
from licenses.audit.services import append_entry, list_entries
from licenses.holder import ServerHeldKey
from licenses.services import Registry
from licenses.sharing import services as sharing
from licenses.sharing.errors import InvalidShareRequest, SharedLicenseGone, ShareWithdrawn
from licenses.sharing.models import SharingGrant
from licenses.wallet import services as wallet
from tests.support.license_factories import (
    DRIVING,
    HOLDER_ID,
    ID_CARD,
    JILIN,
    make_agency,
    registry_for,
)
from tests.unit.licenses.test_wallet import issue_to
from wallet_api.runtime import Runtime

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ASKED = [
    {"license_type": ID_CARD, "fields": ["holder_name", "age_over_18", "fields.address"]},
    {"license_type": DRIVING, "fields": ["license_number"]},
]


@pytest.fixture
def registry(runtime: Runtime) -> Registry:
    make_agency(runtime, who=JILIN, types=(ID_CARD, DRIVING))
    registry = registry_for(runtime)
    issue_to(runtime, registry, HOLDER_ID)
    return registry


def _holder(runtime: Runtime, registry: Registry) -> wallet.WalletHolder:
    key = ServerHeldKey(keystore=runtime.keystore, stable_id="test-sharing")
    return wallet.wallet_holder(registry, id_number=HOLDER_ID, key=key)


def _grant(runtime: Runtime, registry: Registry, approved: list[str]) -> Any:
    with runtime.transaction() as session:
        items = sharing.consent_items(
            session,
            registry=registry,
            holder=_holder(runtime, registry),
            requested=ASKED,
            audit=append_entry,
        )
        # The citizen holds an ID card but no driving license: only the card is offered.
        assert [item.license_identifier is not None for item in items] == [True, False]
        grant = sharing.record_grant(
            session,
            citizen_subject="sub-1",
            client_id="platform-1",
            client_name="Platform",
            items=items,
            approved=approved,
            now=NOW,
            audit=append_entry,
        )
        return grant.id


def _read(
    runtime: Runtime, registry: Registry, grant_id: Any, **kwargs: Any
) -> list[sharing.SharedPresentation]:
    with runtime.transaction() as session:
        grant = session.get(SharingGrant, grant_id)
        assert grant is not None
        return sharing.read_shared(
            session,
            registry=registry,
            holder=_holder(runtime, registry),
            grant=grant,
            client_id="platform-1",
            audit=append_entry,
            **kwargs,
        )


def test_reads_disclose_exactly_the_approved_fields_to_the_platform(
    runtime: Runtime, registry: Registry
) -> None:
    approved = [f"{ID_CARD}|holder_name", f"{ID_CARD}|age_over_18"]
    grant_id = _grant(runtime, registry, approved)
    [shared] = _read(runtime, registry, grant_id, nonce="nonce-123456")
    parts = sdjwt.parse_presentation(shared.presentation)
    names = {sdjwt.Disclosure.parse(d).name for d in parts.disclosures}
    assert names == {"holder_name", "age_over_18"}
    assert shared.fields == ["holder_name", "age_over_18"]
    assert parts.key_binding_jwt is not None
    with runtime.transaction() as session:
        [share] = session.get_one(SharingGrant, grant_id).shares
        assert [a.license_identifier for a in share.accesses] == [shared.license_identifier]
        reads = list_entries(session, action="license.share.read")
        assert [entry.actor for entry in reads] == ["platform:platform-1"]
        assert "张三" not in reads[0].details  # no field values in the log


def test_a_withdrawn_share_stops_reads_and_bad_nonces_are_refused(
    runtime: Runtime, registry: Registry
) -> None:
    grant_id = _grant(runtime, registry, [f"{ID_CARD}|holder_name"])
    with pytest.raises(InvalidShareRequest) as caught:
        _read(runtime, registry, grant_id, nonce="short")
    assert caught.value.field == "nonce"
    with runtime.transaction() as session:
        share = session.get_one(SharingGrant, grant_id).shares[0]
        sharing.withdraw(
            session, citizen_subject="sub-1", share_id=str(share.id), now=NOW, audit=append_entry
        )
    with pytest.raises(ShareWithdrawn):
        _read(runtime, registry, grant_id, nonce=None)


def test_a_license_gone_from_the_registry_is_reported(runtime: Runtime, registry: Registry) -> None:
    grant_id = _grant(runtime, registry, [f"{ID_CARD}|holder_name"])
    with runtime.transaction() as session:
        share = session.get_one(SharingGrant, grant_id).shares[0]
        share.license_identifier = "1.2.156.3005.2.gone"
    with pytest.raises(SharedLicenseGone):
        _read(runtime, registry, grant_id, nonce=None)
