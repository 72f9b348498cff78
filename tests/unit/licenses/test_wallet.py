"""licenses.wallet.services on SQLite and PostgreSQL: claiming (binding by re-issue),
rendering, presentations and their audit entries, one-time online links."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from licenses import catalogue, issuance, sdjwt
from licenses.audit.models import AuditEntry
from licenses.audit.services import append_entry
from licenses.holder import ServerHeldKey
from licenses.models import License, LicenseType
from licenses.schemas import LicenseCreate
from licenses.services import Registry, get_agency
from licenses.status import change_status
from licenses.wallet import services as wallet
from licenses.wallet.errors import (
    InvalidPresentationRequest,
    LicenseNotPresentable,
    NotYourLicense,
    OnlinePresentationGone,
    OnlinePresentationNotFound,
    UnknownAudience,
)
from tests.support.license_factories import (
    DRIVING,
    HOLDER_ID,
    ID_CARD,
    JILIN,
    example_fields,
    make_agency,
    registry_for,
)
from wallet_api.runtime import Runtime

OTHER_HOLDER = "11010219840406970X"
LIFETIMES = {"lifetime": timedelta(minutes=5), "online_lifetime": timedelta(minutes=3)}


@pytest.fixture
def registry(runtime: Runtime) -> Registry:
    make_agency(runtime, who=JILIN, types=(ID_CARD, DRIVING))
    return registry_for(runtime)


def issue_to(runtime: Runtime, registry: Registry, holder_id: str, **fields: Any) -> str:
    body: dict[str, Any] = {
        "type": ID_CARD,
        "holder": {"id_number": holder_id, "name": "张三"},
        "fields": {**example_fields(runtime, ID_CARD), **fields},
        "area_code": "220102",
    }
    with runtime.transaction() as session:
        agency = get_agency(session, agency_ref=JILIN[1])
        outcome = issuance.issue(
            session, registry=registry, agency=agency, request=LicenseCreate(**body)
        )
        return outcome.license.identifier


def holder(runtime: Runtime, registry: Registry, id_number: str = HOLDER_ID) -> wallet.WalletHolder:
    key = ServerHeldKey(keystore=runtime.keystore, stable_id=f"test-{id_number}")
    return wallet.wallet_holder(registry, id_number=id_number, key=key)


def links(runtime: Runtime, registry: Registry) -> wallet.OnlineLinks:
    return wallet.OnlineLinks.create(
        master=runtime.settings.master_secret, platform_issuer=registry.platform_issuer
    )


def present(
    session: Any, runtime: Runtime, registry: Registry, me: Any, row: License, **choice: Any
) -> wallet.Presentation:
    """``wallet.present`` with nothing chosen unless ``choice`` says so."""
    arguments = {
        "disclose": [],
        "preset": None,
        "audience": None,
        "nonce": None,
        **LIFETIMES,
        **choice,
    }
    return wallet.present(
        session,
        registry=registry,
        links=links(runtime, registry),
        holder=me,
        row=row,
        audit=append_entry,
        **arguments,
    )


def test_claiming_binds_each_license_once_by_reissue(runtime: Runtime, registry: Registry) -> None:
    first = issue_to(runtime, registry, HOLDER_ID)
    issue_to(runtime, registry, OTHER_HOLDER)
    me = holder(runtime, registry)
    with runtime.transaction() as session:
        claimed = wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)
        assert len(claimed) == 1  # only mine
        bound = claimed[0]
        assert bound.identifier.split(".")[-2] == "002"
        assert bound.holder_jwk == me.key.public_jwk(session)
        again = wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)
        assert [row.identifier for row in again] == [bound.identifier]  # no third version
        old = issuance.get_license(session, identifier=first)
        assert old.status == "revoked"
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "license.reissued")
        ).one()
        assert entry.actor == me.actor
        assert HOLDER_ID not in entry.actor
        unverified = sdjwt.parse_presentation(bound.credential)
        assert bound.holder_jwk is not None
        assert unverified.unverified_claims["cnf"]["jwk"]["x"] == bound.holder_jwk["x"]


def test_another_holders_license_is_not_yours(runtime: Runtime, registry: Registry) -> None:
    theirs = issue_to(runtime, registry, OTHER_HOLDER)
    with runtime.transaction() as session, pytest.raises(NotYourLicense):
        wallet.held_license(
            session,
            registry=registry,
            holder=holder(runtime, registry),
            identifier=theirs,
            audit=append_entry,
        )


def test_a_superseded_version_is_not_presentable(runtime: Runtime, registry: Registry) -> None:
    first = issue_to(runtime, registry, HOLDER_ID)
    me = holder(runtime, registry)
    with runtime.transaction() as session:
        wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)
    with runtime.transaction() as session, pytest.raises(LicenseNotPresentable):
        wallet.held_license(
            session, registry=registry, holder=me, identifier=first, audit=append_entry
        )


def test_rendering_uses_the_display_template_in_both_languages(
    runtime: Runtime, registry: Registry
) -> None:
    issue_to(runtime, registry, HOLDER_ID)
    me = holder(runtime, registry)
    with runtime.transaction() as session:
        row = wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)[0]
        view = wallet.render_license(session, registry=registry, holder=me, row=row)
    labels = {item.name: (item.label_zh, item.label_en) for item in view.fields}
    assert labels["id_number"] == ("公民身份号码", "Identity number")
    assert view.bound is True
    assert "fields.birth_date" in view.disclosable
    assert "age_over_18" in view.disclosable
    assert [preset.id for preset in view.presets] == ["identity", "age-over-18", "all"]
    assert json.dumps(view.as_dict(), ensure_ascii=False)  # serialisable as the API answers


def test_age_over_18_is_derived_at_issuance(runtime: Runtime, registry: Registry) -> None:
    with runtime.transaction() as session:
        card: LicenseType = catalogue.get_type(session, code=ID_CARD)
        business = catalogue.get_type(session, code="11100000000013214Q001")
        today = date(2026, 11, 24)
        assert issuance.age_over_18(card, {"birth_date": "2008-11-24"}, today=today) is True
        assert issuance.age_over_18(card, {"birth_date": "2008-11-25"}, today=today) is False
        assert issuance.age_over_18(business, {}, today=today) is None


def test_presentation_discloses_the_choice_and_is_audited_without_values(
    runtime: Runtime, registry: Registry
) -> None:
    issue_to(runtime, registry, HOLDER_ID)
    me = holder(runtime, registry)
    with runtime.transaction() as session:
        row = wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)[0]
        made = present(
            session,
            runtime,
            registry,
            me,
            row,
            disclose=["holder_name"],
            preset="age-over-18",
            audience="any",
        )
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "license.presented")
        ).one()
    assert made.disclosed == ["license_type_name", "age_over_18", "holder_name"]
    assert sorted(wallet.disclosed_names(made.presentation)) == sorted(made.disclosed)
    assert made.audience == f"{registry.platform_issuer}/api/v1/verify"
    assert made.expires_at - made.issued_at == timedelta(minutes=5)
    details = json.loads(entry.details)
    assert details == {"audience": made.audience, "disclosed": made.disclosed}
    assert "张三" not in entry.details
    assert entry.subject == row.identifier


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"disclose": ["no_such_claim"]}, InvalidPresentationRequest),
        ({"disclose": []}, InvalidPresentationRequest),
        ({"preset": "nope"}, InvalidPresentationRequest),
        ({"disclose": ["holder_name"], "nonce": "with space inside"}, InvalidPresentationRequest),
        ({"disclose": ["holder_name"], "audience": "nobody"}, UnknownAudience),
    ],
)
def test_bad_choices_are_refused(
    runtime: Runtime, registry: Registry, arguments: dict[str, Any], error: type[Exception]
) -> None:
    issue_to(runtime, registry, HOLDER_ID)
    me = holder(runtime, registry)
    with runtime.transaction() as session:
        row = wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)[0]
        with pytest.raises(error):
            present(session, runtime, registry, me, row, **arguments)


def test_a_revoked_license_cannot_be_presented(runtime: Runtime, registry: Registry) -> None:
    issue_to(runtime, registry, HOLDER_ID)
    me = holder(runtime, registry)
    with runtime.transaction() as session:
        row = wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)[0]
        change_status(session, registry=registry, license_row=row, action="revoke", reason="test")
        with pytest.raises(LicenseNotPresentable):
            present(session, runtime, registry, me, row, disclose=["holder_name"])


def _online(runtime: Runtime, registry: Registry, **lifetimes: timedelta) -> tuple[str, str]:
    issue_to(runtime, registry, HOLDER_ID)
    me = holder(runtime, registry)
    with runtime.transaction() as session:
        row = wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)[0]
        made = present(session, runtime, registry, me, row, disclose=["holder_name"], **lifetimes)
    token = links(runtime, registry).link_of(made.online_url)
    assert token is not None
    return token, made.presentation


def test_an_online_link_gives_its_presentation_once(runtime: Runtime, registry: Registry) -> None:
    token, presentation = _online(runtime, registry)
    online = links(runtime, registry)
    with runtime.transaction() as session:
        taken = wallet.take_online(session, registry=registry, links=online, token=token)
    assert taken == presentation
    with runtime.transaction() as session, pytest.raises(OnlinePresentationGone) as gone:
        wallet.take_online(session, registry=registry, links=online, token=token)
    assert gone.value.reason == "already-used"
    assert gone.value.status == 410


def test_a_late_online_link_has_expired(runtime: Runtime, registry: Registry) -> None:
    token, _ = _online(runtime, registry)
    later = Registry.create(
        keystore=runtime.keystore,
        master=runtime.settings.master_secret,
        platform_issuer=registry.platform_issuer,
        clock=lambda: datetime.now(UTC) + timedelta(minutes=4),
    )
    with runtime.transaction() as session, pytest.raises(OnlinePresentationGone) as gone:
        wallet.take_online(session, registry=later, links=links(runtime, registry), token=token)
    assert gone.value.reason == "expired"


@pytest.mark.parametrize("token", ["A" * 22, "short", "../../etc/passwd", "A" * 23])
def test_unknown_or_malformed_links_are_not_found(
    runtime: Runtime, registry: Registry, token: str
) -> None:
    with runtime.transaction() as session, pytest.raises(OnlinePresentationNotFound):
        wallet.take_online(session, registry=registry, links=links(runtime, registry), token=token)


def test_link_of_accepts_only_our_links(runtime: Runtime, registry: Registry) -> None:
    online = links(runtime, registry)
    good = "a" * 22
    assert online.link_of(f"{registry.platform_issuer}/p/{good}") == good
    assert online.link_of(f"https://elsewhere.example/p/{good}") is None
    assert online.link_of("GW1:ABC") is None
    assert online.link_of(f"{registry.platform_issuer}/p/{good}/x") is None


def test_every_license_version_is_kept(runtime: Runtime, registry: Registry) -> None:
    issue_to(runtime, registry, HOLDER_ID)
    me = holder(runtime, registry)
    with runtime.transaction() as session:
        wallet.claim_licenses(session, registry=registry, holder=me, audit=append_entry)
        versions = session.scalars(select(License.version).order_by(License.version)).all()
    assert versions == [1, 2]
