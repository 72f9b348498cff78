"""Archive filing: signed, self-verifying packages, tamper detection, filing fulfilment."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from licenses.archive.errors import InvalidExportTarget, InvalidPackage
from licenses.archive.models import ArchiveFiling
from licenses.archive.schemas import ExportResult, PackageReport
from licenses.archive.services import export_package, fulfilment, verify_package
from licenses.audit.services import append_entry, list_entries
from licenses.codes import RegistryError
from licenses.issuance import issue
from licenses.schemas import LicenseCreate
from licenses.services import Registry, get_agency
from tests.support.license_factories import (
    BEIJING,
    HOLDER_ID,
    ID_CARD,
    JILIN,
    license_body,
    make_agency,
)
from wallet_api.runtime import Runtime

ISSUED_ON = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _issue(runtime: Runtime, who: tuple[str, str, str], *, when: datetime = ISSUED_ON) -> str:
    registry = Registry.create(
        keystore=runtime.keystore,
        master=runtime.settings.master_secret,
        platform_issuer=runtime.settings.issuer_url,
        clock=lambda: when,
    )
    body = license_body(runtime, valid_from=when.date())
    with runtime.transaction() as session:
        agency = get_agency(session, agency_ref=who[1])
        row = issue(
            session, registry=registry, agency=agency, request=LicenseCreate(**body)
        ).license
        append_entry(
            session,
            actor=f"agency:{who[1]}",
            action="license.issued",
            subject=row.identifier,
            details={"type": row.type_code},
        )
        return row.identifier


@pytest.fixture
def agencies(runtime: Runtime) -> None:
    make_agency(runtime, who=BEIJING, types=(ID_CARD,))
    make_agency(runtime, who=JILIN, types=(ID_CARD,))


def _export(
    runtime: Runtime,
    out: Path,
    *,
    before: date = date(2026, 1, 1),
    who: tuple[str, str, str] = BEIJING,
) -> ExportResult:
    with runtime.transaction() as session:
        return export_package(
            session,
            keystore=runtime.keystore,
            agency=who[1],
            before=before,
            out_dir=out,
            actor="operator:test",
        )


def _verify(runtime: Runtime, directory: Path) -> PackageReport:
    with runtime.transaction() as session:
        return verify_package(
            directory, key_lookup=lambda kid: runtime.keystore.public_jwk(session, kid=kid)
        )


def test_export_files_records_credentials_and_audit_entries(
    runtime: Runtime, agencies: None, tmp_path: Path
) -> None:
    first = _issue(runtime, BEIJING)
    second = _issue(runtime, BEIJING, when=ISSUED_ON + timedelta(days=30))
    later = _issue(runtime, BEIJING, when=datetime(2026, 2, 1, tzinfo=UTC))  # after the cut-off
    _issue(runtime, JILIN)

    result = _export(runtime, tmp_path / "pkg")
    assert result.license_count == 2
    package = tmp_path / "pkg"
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    assert [item["identifier"] for item in manifest["licenses"]] == [first, second]
    assert manifest["agency"]["credit_code"] == BEIJING[1]
    # The shipped catalogue keeps identity cards 30 years past their validity end.
    record = json.loads((package / "records" / f"{first}.json").read_text(encoding="utf-8"))
    assert record["retention_years"] == 30
    assert (
        record["retain_until"]
        == date.fromisoformat(record["valid_until"])
        .replace(year=date.fromisoformat(record["valid_until"]).year + 30)
        .isoformat()
    )
    assert HOLDER_ID not in (package / "records" / f"{first}.json").read_text(encoding="utf-8")
    with runtime.transaction() as session:
        stored = session.scalars(
            select(ArchiveFiling).where(ArchiveFiling.license_identifier == first)
        ).one()
        assert stored.retain_until.isoformat() == record["retain_until"]
    credential = (package / "credentials" / f"{first}.sd-jwt").read_text(encoding="ascii")
    assert credential.count("~") >= 2  # an SD-JWT with its disclosures
    audit_lines = (package / "audit" / "entries.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["subject"] for line in audit_lines) == sorted([first, second])
    assert later not in json.dumps(manifest)

    report = _verify(runtime, package)
    assert report.ok, report.problems
    assert report.files_checked == len(manifest["files"])
    assert report.key_source == "key store"

    # Filing fulfilment: 2 of Beijing's 3 licenses; Jilin filed nothing yet.
    assert result.fulfilment.as_dict()["filing_fulfilment_ratio"] == round(2 / 3, 4)
    with runtime.transaction() as session:
        assert fulfilment(session, agency_credit_code=JILIN[1]).ratio == 0.0
        exported = list_entries(session, action="archive.exported")
        assert len(exported) == 1
        assert json.loads(exported[0].details)["licenses"] == 2


def test_a_license_is_filed_once(runtime: Runtime, agencies: None, tmp_path: Path) -> None:
    _issue(runtime, BEIJING)
    assert _export(runtime, tmp_path / "one").license_count == 1
    again = _export(runtime, tmp_path / "two", before=date(2027, 1, 1))
    assert again.license_count == 0
    assert again.fulfilment.ratio == 1.0
    assert _verify(runtime, tmp_path / "two").ok
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ArchiveFiling)) == 1


@pytest.mark.parametrize(
    "tamper", ["record", "credential", "extra", "missing", "manifest", "audit"]
)
def test_a_tampered_package_is_detected(
    runtime: Runtime, agencies: None, tmp_path: Path, tamper: str
) -> None:
    identifier = _issue(runtime, BEIJING)
    package = tmp_path / "pkg"
    _export(runtime, package)
    record = package / "records" / f"{identifier}.json"
    if tamper == "record":
        record.write_text(
            record.read_text(encoding="utf-8").replace("张三", "李四"), encoding="utf-8"
        )
        expected = f"records/{identifier}.json: SHA-256 differs"
    elif tamper == "credential":
        path = package / "credentials" / f"{identifier}.sd-jwt"
        path.write_text(path.read_text(encoding="ascii")[:-3] + "~", encoding="ascii")
        expected = f"credentials/{identifier}.sd-jwt: SHA-256 differs"
    elif tamper == "extra":
        (package / "records" / "smuggled.json").write_text("{}", encoding="utf-8")
        expected = "records/smuggled.json: not listed"
    elif tamper == "missing":
        record.unlink()
        expected = f"records/{identifier}.json: missing"
    elif tamper == "manifest":
        manifest = package / "manifest.json"
        manifest.write_text(
            manifest.read_text(encoding="utf-8").replace(
                '"retention_years": 30', '"retention_years": 1'
            ),
            encoding="utf-8",
        )
        expected = "manifest.json: differs from the signed manifest"
    else:
        (package / "audit" / "entries.jsonl").write_text("", encoding="utf-8")
        expected = "audit/entries.jsonl: SHA-256 differs"
    report = _verify(runtime, package)
    assert not report.ok
    assert any(problem.startswith(expected) for problem in report.problems), report.problems


def test_a_package_signed_by_another_key_is_rejected(
    runtime: Runtime, agencies: None, tmp_path: Path
) -> None:
    _issue(runtime, BEIJING)
    package = tmp_path / "pkg"
    _export(runtime, package)
    signature = package / "manifest.jws"
    header, payload, sig = signature.read_text(encoding="ascii").strip().split(".")
    signature.write_text(f"{header}.{payload}.{sig[:-4]}AAAA", encoding="ascii")
    report = _verify(runtime, package)
    assert not report.ok
    assert report.problems[0].startswith("manifest.jws: the signature does not verify")


def test_export_refuses_a_used_directory_and_an_unknown_agency(
    runtime: Runtime, agencies: None, tmp_path: Path
) -> None:
    _issue(runtime, BEIJING)
    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("x")
    with pytest.raises(InvalidExportTarget) as caught:
        _export(runtime, used)
    assert caught.value.field == "out_dir"
    with pytest.raises(RegistryError) as unknown:
        _export(runtime, tmp_path / "x", who=("?", "11430000006122244L", "430000"))
    assert unknown.value.field == "agency"
    # Nothing half-written: no filing, no staging directory left behind.
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ArchiveFiling)) == 0
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith((".x", "x", ".used"))]
    assert leftovers == []


def test_verify_refuses_what_is_not_a_package(tmp_path: Path) -> None:
    with pytest.raises(InvalidPackage) as caught:
        verify_package(tmp_path)
    assert caught.value.field == "directory"
