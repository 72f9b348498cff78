"""Mutual recognition rules, the service-item catalogue and the paper-avoided report."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from licenses.audit.services import list_entries
from licenses.codes import DATA_DIR, RegistryError
from licenses.recognition.errors import (
    DuplicateRecognitionRule,
    ForeignRecognitionRule,
    InvalidCatalogue,
    InvalidHeldLicense,
    InvalidRecognitionRule,
    RecognitionRuleNotFound,
    ServiceItemNotFound,
)
from licenses.recognition.models import RecognitionRule
from licenses.recognition.services import (
    create_rule,
    delete_rule,
    get_service_item,
    import_catalogue,
    import_catalogue_file,
    list_rules,
    list_service_items,
    paper_avoided,
    region_covers,
    satisfied_materials,
)
from wallet_api.runtime import Runtime

ID_CARD = "111000000000130013001"
DRIVING = "111000000000130013002"
MARRIAGE = "11100000000013120P001"
TITLE = "11100000MB03271699022"
#: Agencies by credit code (valid GB 32100 codes from tests/vectors/credit_codes.csv).
BEIJING_AGENCY = "11110000000021135M"
BEIJING_HOUSING = "12110000400777687U"
HUNAN_AGENCY = "11430000006122244L"
HANGZHOU_AGENCY = "11330105002500287C"
JINING_AGENCY = "11370800MB28559184"


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    with runtime.transaction() as session:
        import_catalogue_file(session)
        yield session


def _rule(session: Session, **overrides: Any) -> RecognitionRule:
    spec: dict[str, Any] = {
        "verifier_region": "440000",
        "license_type": ID_CARD,
        "material_code": "M-APPLICANT-ID",
        "issuer_regions": ["110000"],
    }
    spec.update(overrides)
    return create_rule(session, rule=spec, actor="operator:test")


def _satisfied(session: Session, **overrides: str) -> list[str]:
    query = {
        "verifier_credit_code": JINING_AGENCY,
        "verifier_region": "440305",
        "license_type": ID_CARD,
        "issuer_credit_code": BEIJING_AGENCY,
        "issuer_region": "110105",
    }
    query.update(overrides)
    return [m.code for m in satisfied_materials(session, **query)]


# -- the catalogue --------------------------------------------------------------------


def test_shipped_catalogue_uses_the_registry_type_codes() -> None:
    catalogue = json.loads((DATA_DIR / "service_items.json").read_text(encoding="utf-8"))
    types = json.loads((DATA_DIR / "license_types.json").read_text(encoding="utf-8"))
    type_codes = {t["code"] for t in types["license_types"]}
    used = {code for m in catalogue["materials"] for code in m["license_types"]}
    assert used <= type_codes
    assert len(catalogue["service_items"]) >= 5
    assert any(not m["license_types"] for m in catalogue["materials"])  # paper-only ones too


def test_catalogue_import_is_idempotent(session: Session) -> None:
    before = [item.code for item in list_service_items(session)]
    summary = import_catalogue_file(session)
    assert summary.service_items == len(before)
    assert [item.code for item in list_service_items(session)] == before
    item = get_service_item(session, code="440300-GG-0003")
    assert [m.code for m in item.materials] == [
        "M-APPLICANT-ID",
        "M-PROPERTY-TITLE",
        "M-MARRIAGE",
        "M-BANK-CARD",
    ]


def test_service_items_filter_by_region_and_type(session: Session) -> None:
    shenzhen = {i.code for i in list_service_items(session, region="440300")}
    assert "440300-GG-0003" in shenzhen
    assert not any(code.startswith("110") for code in shenzhen)
    with_driving = {i.code for i in list_service_items(session, license_type=DRIVING)}
    assert with_driving == {"110000-XK-0002"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda c: c["materials"][0].update(license_types=["bad"]),
            "materials[0].license_types[0]",
        ),
        (lambda c: c["materials"][0].pop("name"), "materials[0].name"),
        (
            lambda c: c["service_items"][0]["materials"].append("M-NOPE"),
            "service_items[0].materials[3]",
        ),
        (
            lambda c: c["service_items"][0]["handler"].update(region="999999"),
            "service_items[0].handler.region",
        ),
        (
            lambda c: c["service_items"][1]["handler"].update(credit_code="11110000000021135X"),
            "service_items[1].handler.credit_code",
        ),
        (lambda c: c["service_items"].append(dict(c["service_items"][0])), "service_items[9].code"),
    ],
)
def test_a_bad_catalogue_is_refused_naming_the_field(
    runtime: Runtime, change: Any, field: str
) -> None:
    catalogue = json.loads((DATA_DIR / "service_items.json").read_text(encoding="utf-8"))
    change(catalogue)
    with runtime.transaction() as session, pytest.raises(InvalidCatalogue) as caught:
        import_catalogue(session, catalogue=catalogue)
    assert caught.value.field == field
    assert caught.value.status == 422


# -- rules and what they recognise ---------------------------------------------------


def test_region_codes_cover_their_subdivisions() -> None:
    assert region_covers("440000", "440305")
    assert region_covers("440300", "440305")
    assert region_covers("440305", "440305")
    assert not region_covers("440300", "440100")
    assert not region_covers("440305", "440300")
    assert not region_covers("110000", "440000")


def test_a_region_wide_rule_recognises_licenses_from_the_named_regions(session: Session) -> None:
    _rule(session)
    assert _satisfied(session) == ["M-APPLICANT-ID"]
    materials = satisfied_materials(
        session,
        verifier_credit_code=JINING_AGENCY,
        verifier_region="440300",
        license_type=ID_CARD,
        issuer_credit_code=BEIJING_AGENCY,
        issuer_region="110000",
    )
    # The result names the verifier's own service items that require the material.
    assert materials[0].service_items == ["440300-GG-0003", "440300-QR-0007"]
    assert materials[0].name_en == "Applicant's identity card"


def test_the_service_items_named_are_those_the_verifier_handles(session: Session) -> None:
    _rule(session, verifier_region="110000", issuer_regions=["430000"])

    def items(verifier: str, region: str) -> list[str]:
        (material,) = satisfied_materials(
            session,
            verifier_credit_code=verifier,
            verifier_region=region,
            license_type=ID_CARD,
            issuer_credit_code=HUNAN_AGENCY,
            issuer_region="430000",
        )
        assert material.code == "M-APPLICANT-ID"
        return material.service_items

    # 110000-XK-0002 is handled by one Beijing agency; 110000-QR-0005 by every agency of
    # Beijing, districts included; Shenzhen's items needing the card are not Beijing's.
    assert items(BEIJING_AGENCY, "110000") == ["110000-QR-0005", "110000-XK-0002"]
    assert items(BEIJING_HOUSING, "110000") == ["110000-QR-0005"]
    assert items(BEIJING_HOUSING, "110105") == ["110000-QR-0005"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"issuer_region": "430000", "issuer_credit_code": HUNAN_AGENCY},  # issuer elsewhere
        {"verifier_region": "110000"},  # verifier outside the rule's region
        {"verifier_region": "450100"},  # a neighbouring province is not Guangdong
        {"license_type": DRIVING},  # another license type
    ],
)
def test_a_region_wide_rule_does_not_reach_further(
    session: Session, overrides: dict[str, Any]
) -> None:
    _rule(session)
    assert _satisfied(session, **overrides) == []


def test_an_agency_rule_applies_to_that_agency_and_those_issuers_only(session: Session) -> None:
    _rule(
        session,
        verifier_region=None,
        verifier_credit_code=BEIJING_AGENCY,
        license_type=DRIVING,
        material_code="M-DRIVING-LICENSE",
        issuer_regions=[],
        issuer_credit_codes=[HUNAN_AGENCY],
    )
    base = {
        "verifier_credit_code": BEIJING_AGENCY,
        "verifier_region": "110000",
        "license_type": DRIVING,
        "issuer_credit_code": HUNAN_AGENCY,
        "issuer_region": "430000",
    }
    assert _satisfied(session, **base) == ["M-DRIVING-LICENSE"]
    # Another agency in the same region, or another issuer in the same region: no.
    assert _satisfied(session, **{**base, "verifier_credit_code": BEIJING_HOUSING}) == []
    assert _satisfied(session, **{**base, "issuer_credit_code": JINING_AGENCY}) == []


def test_satisfied_materials_checks_its_input(session: Session) -> None:
    with pytest.raises(RegistryError) as caught:
        _satisfied(session, issuer_region="12345")
    assert caught.value.field == "issuer_region"
    with pytest.raises(RegistryError) as caught:
        _satisfied(session, verifier_credit_code="11110000000021135X")
    assert caught.value.field == "verifier_credit_code"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"verifier_credit_code": BEIJING_AGENCY}, "verifier_credit_code"),  # both given
        ({"verifier_region": None}, "verifier_credit_code"),  # neither given
        ({"verifier_region": "4400"}, "verifier_region"),
        (
            {"verifier_region": None, "verifier_credit_code": "11110000000021135X"},
            "verifier_credit_code",
        ),
        ({"license_type": "nope"}, "license_type"),
        ({"license_type": DRIVING}, "license_type"),  # the catalogue does not accept it
        ({"material_code": "M-NOPE"}, "material_code"),
        ({"material_code": "M-BANK-CARD"}, "license_type"),  # paper only
        ({"issuer_regions": []}, "issuer_regions"),
        ({"issuer_regions": ["110000", "99"]}, "issuer_regions[1]"),
        ({"issuer_credit_codes": ["11110000000021135X"]}, "issuer_credit_codes[0]"),
        ({"unexpected": 1}, "unexpected"),
        ({"issuer_regions": "110000"}, "issuer_regions"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(
    session: Session, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRecognitionRule) as caught:
        _rule(session, **overrides)
    assert caught.value.field == field
    assert caught.value.status == 422
    assert list_rules(session) == []


def test_duplicate_foreign_and_unknown_rules(session: Session) -> None:
    rule = _rule(session, issuer_regions=["110000", "440000"])
    with pytest.raises(DuplicateRecognitionRule):
        _rule(session, issuer_regions=["440000", "110000", "440000"])
    with pytest.raises(ForeignRecognitionRule):
        create_rule(
            session,
            rule={
                "verifier_credit_code": BEIJING_AGENCY,
                "license_type": ID_CARD,
                "material_code": "M-APPLICANT-ID",
                "issuer_regions": ["110000"],
            },
            actor=f"agency:{HUNAN_AGENCY}",
            acting_credit_code=HUNAN_AGENCY,
        )
    with pytest.raises(ForeignRecognitionRule):
        delete_rule(session, rule_id=rule.id, actor="agency:x", acting_credit_code=HUNAN_AGENCY)
    with pytest.raises(RecognitionRuleNotFound):
        delete_rule(session, rule_id=uuid.uuid4(), actor="operator:test")


def test_rule_changes_are_audited(session: Session) -> None:
    rule = _rule(session)
    delete_rule(session, rule_id=rule.id, actor="operator:test")
    assert _satisfied(session) == []
    entries = list_entries(session, subject=f"recognition-rule:{rule.id}")
    assert [e.action for e in entries] == ["recognition.rule_created", "recognition.rule_deleted"]
    assert json.loads(entries[0].details)["material_code"] == "M-APPLICANT-ID"


# -- the paper-avoided report --------------------------------------------------------


def _held(license_type: str, issuer: str, region: str) -> dict[str, str]:
    return {"license_type": license_type, "issuer_credit_code": issuer, "issuer_region": region}


def test_paper_avoided_counts_recognised_materials(session: Session) -> None:
    # Guangdong accepts Beijing identity cards; Shenzhen accepts Guangdong titles and
    # marriage certificates.
    _rule(session)
    _rule(
        session,
        verifier_region="440300",
        license_type=TITLE,
        material_code="M-PROPERTY-TITLE",
        issuer_regions=["440000"],
    )
    _rule(
        session,
        verifier_region="440300",
        license_type=MARRIAGE,
        material_code="M-MARRIAGE",
        issuer_regions=["440000"],
    )
    held = [
        _held(ID_CARD, BEIJING_AGENCY, "110105"),
        _held(TITLE, JINING_AGENCY, "440304"),
        _held(MARRIAGE, HUNAN_AGENCY, "430000"),  # from Hunan: not recognised
    ]
    report = paper_avoided(session, service_item_code="440300-GG-0003", held_licenses=held)
    outcomes = {m.code: m.outcome for m in report.materials}
    assert outcomes == {
        "M-APPLICANT-ID": "electronic",
        "M-PROPERTY-TITLE": "electronic",
        "M-MARRIAGE": "not-recognised",
        "M-BANK-CARD": "paper-only",
    }
    assert (report.total, report.electronic, report.paper) == (4, 2, 2)
    assert report.paper_avoided_share == 0.5
    assert report.materials[0].satisfied_by is not None
    assert report.materials[0].satisfied_by.issuer_credit_code == BEIJING_AGENCY

    _rule(
        session,
        verifier_region="440300",
        license_type=MARRIAGE,
        material_code="M-MARRIAGE",
        issuer_regions=["430000"],
    )
    again = paper_avoided(session, service_item_code="440300-GG-0003", held_licenses=held)
    assert again.electronic == 3
    assert again.paper_avoided_share == 0.75

    nothing = paper_avoided(session, service_item_code="440300-GG-0003", held_licenses=[])
    assert [m.outcome for m in nothing.materials] == [
        "not-held",
        "not-held",
        "not-held",
        "paper-only",
    ]
    assert nothing.paper_avoided_share == 0.0


def test_paper_avoided_for_an_item_handled_by_one_agency(session: Session) -> None:
    held = [_held(ID_CARD, HUNAN_AGENCY, "430000"), _held(DRIVING, HUNAN_AGENCY, "430000")]
    # A rule of another Beijing agency does not help the handler of 110000-XK-0002 …
    _rule(
        session,
        verifier_region=None,
        verifier_credit_code=BEIJING_HOUSING,
        license_type=DRIVING,
        material_code="M-DRIVING-LICENSE",
        issuer_regions=["430000"],
    )
    report = paper_avoided(session, service_item_code="110000-XK-0002", held_licenses=held)
    assert report.electronic == 0
    # … the handler's own rule and a Beijing-wide rule do.
    _rule(
        session,
        verifier_region=None,
        verifier_credit_code=BEIJING_AGENCY,
        license_type=DRIVING,
        material_code="M-DRIVING-LICENSE",
        issuer_regions=["430000"],
    )
    _rule(session, verifier_region="110000", issuer_regions=["430000"])
    report = paper_avoided(session, service_item_code="110000-XK-0002", held_licenses=held)
    assert [m.outcome for m in report.materials] == [
        "electronic",
        "electronic",
        "paper-only",
        "paper-only",
    ]
    assert report.paper_avoided_share == 0.5


def test_paper_avoided_refuses_bad_input(session: Session) -> None:
    with pytest.raises(ServiceItemNotFound) as missing:
        paper_avoided(session, service_item_code="NOPE", held_licenses=[])
    assert missing.value.status == 404
    with pytest.raises(InvalidHeldLicense) as caught:
        paper_avoided(
            session,
            service_item_code="440300-GG-0003",
            held_licenses=[
                _held(ID_CARD, BEIJING_AGENCY, "110105"),
                _held(ID_CARD, BEIJING_AGENCY, "1101"),
            ],
        )
    assert caught.value.field == "held_licenses[1].issuer_region"
    with pytest.raises(InvalidHeldLicense) as caught:
        paper_avoided(
            session, service_item_code="440300-GG-0003", held_licenses=[{"license_type": ID_CARD}]
        )
    assert caught.value.field == "held_licenses[0].issuer_credit_code"
