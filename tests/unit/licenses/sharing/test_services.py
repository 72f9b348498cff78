"""License sharing services: what may be asked for, consent decisions, withdrawal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from licenses import catalogue
from licenses.audit.services import append_entry, list_entries
from licenses.sharing import services as sharing
from licenses.sharing.errors import InvalidShareRequest, ShareNotFound
from wallet_api.runtime import Runtime

ID_CARD = "111000000000130013001"
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _item(identifier: str | None = "1.2.156.3005.2.x") -> sharing.ConsentItem:
    return sharing.ConsentItem(
        license_type=ID_CARD,
        type_name_zh="居民身份证",
        type_name_en="Resident identity card",
        fields=[
            sharing.RequestedField("holder_name", "持证主体", "Holder"),
            sharing.RequestedField("fields.birth_date", "出生", "Date of birth"),
        ],
        purpose="identity check",
        service_item=None,
        service_item_zh=None,
        service_item_en=None,
        license_identifier=identifier,
        license_number="N1" if identifier else None,
        issuer_name="Agency" if identifier else None,
    )


def test_requestable_fields_cover_directory_claims_subject_fields_and_age(
    runtime: Runtime,
) -> None:
    with runtime.transaction() as session:
        catalogue.ensure_shipped(session, now=NOW)
        fields = sharing.requestable_fields(session, license_type=ID_CARD)
        assert fields is not None
        assert {"holder_name", "age_over_18", "fields.birth_date", "fields.address"} <= set(fields)
        assert "fields" not in fields  # the whole object cannot be asked for at once
        assert sharing.requestable_fields(session, license_type="111000000000130013999") is None
        assert sharing.requestable_fields(session, license_type="x" * 500) is None
        assert sharing.service_item_exists(session, code="") is False


def test_grant_keeps_only_the_approved_fields_and_audits_them(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        grant = sharing.record_grant(
            session,
            citizen_subject="sub-1",
            client_id="platform-1",
            client_name="Platform",
            items=[_item()],
            approved=[sharing.approval_value(ID_CARD, "holder_name")],
            now=NOW,
            audit=append_entry,
        )
        assert grant.granted == [
            {
                "type": "govwallet_license",
                "license_type": ID_CARD,
                "fields": ["holder_name"],
                "purpose": "identity check",
            }
        ]
        assert grant.requested[0]["fields"] == ["holder_name", "fields.birth_date"]
        [share] = grant.shares
        assert share.fields == ["holder_name"]
        code_id = uuid.uuid4()
        sharing.bind_code(session, grant=grant, code_id=code_id)
        assert sharing.GrantedDetails().granted(session, code_id=code_id) == grant.granted
        assert sharing.GrantedDetails().granted(session, code_id=uuid.uuid4()) is None
        entries = list_entries(session, action="license.share.granted")
        assert [entry.subject for entry in entries] == [share.license_identifier]


def test_nothing_approved_means_no_share(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        grant = sharing.record_grant(
            session,
            citizen_subject="sub-1",
            client_id="platform-1",
            client_name="Platform",
            items=[_item()],
            approved=[],
            now=NOW,
            audit=append_entry,
        )
        assert grant.granted == []
        assert grant.shares == []


@pytest.mark.parametrize(
    ("item", "value"),
    [
        (_item(), f"{ID_CARD}|holder_code"),  # a field not asked for
        (_item(), "11100000000013214Q001|holder_name"),  # a type not asked for
        (_item(identifier=None), f"{ID_CARD}|holder_name"),  # a license the citizen lacks
    ],
)
def test_an_approval_not_offered_is_refused(
    runtime: Runtime, item: sharing.ConsentItem, value: str
) -> None:
    with runtime.transaction() as session, pytest.raises(InvalidShareRequest) as caught:
        sharing.record_grant(
            session,
            citizen_subject="sub-1",
            client_id="platform-1",
            client_name="Platform",
            items=[item],
            approved=[value],
            now=NOW,
            audit=append_entry,
        )
    assert caught.value.field == "share"


def test_only_the_citizen_can_withdraw_their_share(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        grant = sharing.record_grant(
            session,
            citizen_subject="sub-1",
            client_id="platform-1",
            client_name="Platform",
            items=[_item()],
            approved=[sharing.approval_value(ID_CARD, "holder_name")],
            now=NOW,
            audit=append_entry,
        )
        share_id = str(grant.shares[0].id)
        for subject, wanted in (("sub-2", share_id), ("sub-1", "not-a-uuid")):
            with pytest.raises(ShareNotFound):
                sharing.withdraw(
                    session, citizen_subject=subject, share_id=wanted, now=NOW, audit=append_entry
                )
        share = sharing.withdraw(
            session, citizen_subject="sub-1", share_id=share_id, now=NOW, audit=append_entry
        )
        assert share.withdrawn_at is not None
        # Withdrawing twice changes nothing and audits once.
        sharing.withdraw(
            session, citizen_subject="sub-1", share_id=share_id, now=NOW, audit=append_entry
        )
        assert len(list_entries(session, action="license.share.withdrawn")) == 1
        assert [s.id for s in sharing.shares_of(session, citizen_subject="sub-1")] == [share.id]
        assert sharing.shares_of(session, citizen_subject="sub-2") == []
