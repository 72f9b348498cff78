"""Filing licenses to the archive (电子证照归档) as self-verifying packages.

``export_package`` files every license version an agency issued before a date and
has not filed yet. Each filed license is kept by its type's schedule: until its
validity end (or issue date, for long-term licenses) plus the type's
``retention_years``. The package directory holds::

    records/<identifier>.json        the directory entry (holder by keyed digest only)
    credentials/<identifier>.sd-jwt  the signed credential exactly as issued
    audit/entries.jsonl              the audit entries about those licenses (hash-chained)
    keys.json                        the platform's public keys (JWKS)
    manifest.json                    the package description and every file's SHA-256
    manifest.jws                     a JWS by the platform's ES256 key over manifest.json

``verify_package`` checks the signature, that ``manifest.json`` is what was signed,
every listed file's hash, and that no file was added.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keys import KeyStore, KeyStoreError
from licenses.archive.errors import InvalidExportTarget, InvalidPackage
from licenses.archive.models import ArchiveFiling, ArchivePackage
from licenses.archive.schemas import ExportResult, Fulfilment, PackageReport
from licenses.audit.models import AuditEntry
from licenses.audit.schemas import entry_public
from licenses.audit.services import append_entry, hash_time
from licenses.catalogue import add_years
from licenses.models import Agency, License, LicenseType
from licenses.services import get_agency

PACKAGE_FORMAT = "govwallet-archive/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.jws"
KEYS = "keys.json"
MANIFEST_TYP = "govwallet-archive-manifest+jws"
PROVIDER_OWNER = "provider"
SIGNING_ALG = "ES256"
_IN_CHUNK = 500

KeyLookup = Callable[[str], dict[str, Any]]


def fulfilment(session: Session, *, agency_credit_code: str) -> Fulfilment:
    """The share of the agency's issued license versions that have been filed."""
    issued = session.scalar(
        select(func.count())
        .select_from(License)
        .join(Agency, License.agency_id == Agency.id)
        .where(Agency.credit_code == agency_credit_code)
    )
    filed = session.scalar(
        select(func.count())
        .select_from(ArchiveFiling)
        .where(ArchiveFiling.agency_credit_code == agency_credit_code)
    )
    return Fulfilment(agency_credit_code=agency_credit_code, issued=issued or 0, filed=filed or 0)


def _record(row: License, *, retention_years: int, retain_until: date) -> dict[str, Any]:
    """The directory entry as filed: never the identity number, only its keyed digest."""
    return {
        "identifier": row.identifier,
        "type_code": row.type_code,
        "type_name": row.type_name,
        "license_number": row.license_number,
        "serial": row.serial,
        "version": row.version,
        "issuer_name": row.issuer_name,
        "issuer_code": row.issuer_code,
        "defining_agency_name": row.defining_agency_name,
        "holder_name": row.holder_name,
        "holder_code_type": row.holder_code_type,
        "holder_digest": row.holder_digest,
        "issue_date": row.issue_date.isoformat(),
        "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "area_code": row.area_code,
        "service_item": row.service_item,
        "status": row.status,
        "status_reason": row.status_reason,
        "status_changed_at": (
            hash_time(row.status_changed_at) if row.status_changed_at is not None else None
        ),
        "retention_years": retention_years,
        "retain_until": retain_until.isoformat(),
    }


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


@dataclass(slots=True)
class _PackageWriter:
    """Writes files under a staging directory and remembers each one's hash."""

    root: Path
    files: list[dict[str, Any]] = field(default_factory=list)

    def write(self, relative: str, data: bytes, *, listed: bool = True) -> str:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(target, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as handle:
            handle.write(data)
        digest = hashlib.sha256(data).hexdigest()
        if listed:
            self.files.append({"path": relative, "sha256": digest, "bytes": len(data)})
        return digest


def _prepare_target(out_dir: Path) -> Path:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidExportTarget(
            f"out_dir: {out_dir} exists and is not an empty directory", field="out_dir"
        )
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
        staging.mkdir(mode=0o700)
    except OSError as exc:
        raise InvalidExportTarget(
            f"out_dir: cannot write {out_dir}: {exc}", field="out_dir"
        ) from exc
    return staging


def export_package(
    session: Session,
    *,
    keystore: KeyStore,
    agency: str,
    before: date,
    out_dir: Path,
    actor: str,
    now: datetime | None = None,
) -> ExportResult:
    """File the agency's unfiled licenses issued before ``before`` into ``out_dir``.

    The files are written to a staging directory and moved into place only when
    complete; the filing rows are added to the caller's transaction.
    """
    moment = now or datetime.now(UTC)
    issuer = get_agency(session, agency_ref=agency)
    filed_already = select(ArchiveFiling.license_identifier)
    rows = list(
        session.scalars(
            select(License)
            .where(
                License.agency_id == issuer.id,
                License.issue_date < before,
                License.identifier.not_in(filed_already),
            )
            .order_by(License.issue_date, License.identifier)
        )
    )
    retention = {
        t.code: t.retention_years
        for t in session.scalars(
            select(LicenseType).where(LicenseType.code.in_({r.type_code for r in rows}))
        )
    }
    staging = _prepare_target(out_dir)
    try:
        package_id = uuid.uuid4()
        writer = _PackageWriter(staging)
        filings: list[ArchiveFiling] = []
        listed: list[dict[str, Any]] = []
        for row in rows:
            years = retention.get(row.type_code, 30)
            retain_until = add_years(row.valid_until or row.issue_date, years)
            writer.write(
                f"records/{row.identifier}.json",
                _json_bytes(_record(row, retention_years=years, retain_until=retain_until)),
            )
            writer.write(f"credentials/{row.identifier}.sd-jwt", row.credential.encode("ascii"))
            listed.append(
                {
                    "identifier": row.identifier,
                    "type_code": row.type_code,
                    "retention_years": years,
                    "retain_until": retain_until.isoformat(),
                }
            )
            filings.append(
                ArchiveFiling(
                    license_identifier=row.identifier,
                    agency_credit_code=issuer.credit_code,
                    type_code=row.type_code,
                    retention_years=years,
                    retain_until=retain_until,
                    filed_at=moment,
                    package_id=package_id,
                )
            )
        entries = _audit_entries(session, [row.identifier for row in rows])
        writer.write(
            "audit/entries.jsonl",
            "".join(
                json.dumps(entry_public(e, time=hash_time(e.occurred_at)), ensure_ascii=False)
                + "\n"
                for e in entries
            ).encode(),
        )
        writer.write(KEYS, _json_bytes(keystore.jwks(session, owner=PROVIDER_OWNER)))

        current = fulfilment(session, agency_credit_code=issuer.credit_code)
        after = Fulfilment(
            agency_credit_code=issuer.credit_code,
            issued=current.issued,
            filed=current.filed + len(filings),
        )
        manifest = {
            "format": PACKAGE_FORMAT,
            "package_id": str(package_id),
            "agency": {
                "credit_code": issuer.credit_code,
                "name": issuer.name,
                "region_code": issuer.region_code,
            },
            "before": before.isoformat(),
            "created_at": hash_time(moment),
            "created_by": actor,
            "licenses": listed,
            "audit_entries": len(entries),
            "fulfilment": after.as_dict(),
            "files": writer.files,
        }
        manifest_bytes = _json_bytes(manifest)
        manifest_sha256 = writer.write(MANIFEST, manifest_bytes, listed=False)
        signer = keystore.signer(session, owner=PROVIDER_OWNER, alg=SIGNING_ALG)
        token = signer.sign_compact(header={"typ": MANIFEST_TYP}, payload=manifest_bytes)
        writer.write(SIGNATURE, token.encode("ascii") + b"\n", listed=False)

        session.add(
            ArchivePackage(
                id=package_id,
                agency_credit_code=issuer.credit_code,
                before=before,
                created_at=moment,
                created_by=actor,
                license_count=len(filings),
                manifest_sha256=manifest_sha256,
            )
        )
        session.flush()
        session.add_all(filings)
        session.flush()
        append_entry(
            session,
            actor=actor,
            action="archive.exported",
            subject=f"agency:{issuer.credit_code}",
            details={
                "package_id": str(package_id),
                "before": before.isoformat(),
                "licenses": len(filings),
                "manifest_sha256": manifest_sha256,
            },
            now=moment,
            keystore=keystore,
        )
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(
        package_id=str(package_id),
        directory=out_dir,
        before=before,
        license_count=len(filings),
        audit_entries=len(entries),
        manifest_sha256=manifest_sha256,
        fulfilment=after,
    )


def _audit_entries(session: Session, identifiers: list[str]) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for chunk in _chunks(identifiers):
        entries.extend(session.scalars(select(AuditEntry).where(AuditEntry.subject.in_(chunk))))
    return sorted(entries, key=lambda e: e.seq)


# -- verification ---------------------------------------------------------------------


def _package_key(directory: Path, kid: str) -> dict[str, Any]:
    keys = json.loads((directory / KEYS).read_text(encoding="utf-8"))
    for jwk in keys.get("keys", []):
        if jwk.get("kid") == kid:
            return dict(jwk)
    raise KeyError(kid)


def _safe_path(directory: Path, relative: Any) -> Path | None:
    if not isinstance(relative, str) or not relative:
        return None
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts:
        return None
    return directory.joinpath(*pure.parts)


def verify_package(
    directory: Path,
    *,
    key_lookup: KeyLookup | None = None,
    jwks: dict[str, Any] | None = None,
) -> PackageReport:
    """Check a package: the signature (key from ``key_lookup``, a pinned ``jwks``, or —
    weakest — the package's own ``keys.json``), the manifest, every file, nothing extra."""
    report = PackageReport(directory=directory)
    try:
        token = (directory / SIGNATURE).read_text(encoding="ascii").strip()
        manifest_bytes = (directory / MANIFEST).read_bytes()
        unverified_header = jws.extract_compact(token.encode("ascii")).headers()
    except (OSError, UnicodeError, JoseError, ValueError) as exc:
        raise InvalidPackage(
            f"directory: {directory} is not a readable archive package ({exc})",
            field="directory",
        ) from exc
    report.kid = str(unverified_header.get("kid", ""))
    try:
        if key_lookup is not None:
            report.key_source = "key store"
            jwk = key_lookup(report.kid)
        elif jwks is not None:
            report.key_source = "pinned JWKS"
            jwk = next(k for k in jwks.get("keys", []) if k.get("kid") == report.kid)
        else:
            report.key_source = "package keys.json (not pinned)"
            jwk = _package_key(directory, report.kid)
        verified = jws.deserialize_compact(token, ECKey.import_key(jwk), algorithms=[SIGNING_ALG])
    except (StopIteration, KeyError, KeyStoreError, OSError, ValueError, JoseError) as exc:
        report.problems.append(f"{SIGNATURE}: the signature does not verify ({exc!r})")
        return report
    if verified.headers().get("typ") != MANIFEST_TYP:
        report.problems.append(f"{SIGNATURE}: wrong typ header")
    if verified.payload != manifest_bytes:
        report.problems.append(f"{MANIFEST}: differs from the signed manifest")
    try:
        manifest = json.loads(verified.payload)
        files = list(manifest["files"])
    except (ValueError, KeyError, TypeError) as exc:
        report.problems.append(f"{MANIFEST}: not a package manifest ({exc})")
        return report
    expected = {MANIFEST, SIGNATURE}
    for entry in files:
        path = _safe_path(directory, entry.get("path") if isinstance(entry, dict) else None)
        if path is None:
            report.problems.append(f"{MANIFEST}: a file entry has an unsafe path: {entry!r}")
            continue
        relative = str(entry["path"])
        expected.add(relative)
        try:
            data = path.read_bytes()
        except OSError:
            report.problems.append(f"{relative}: missing")
            continue
        report.files_checked += 1
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            report.problems.append(f"{relative}: SHA-256 differs from the manifest")
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if relative not in expected:
            report.problems.append(f"{relative}: not listed in the manifest")
    return report
