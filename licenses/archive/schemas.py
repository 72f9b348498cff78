"""Results of archive export and package verification."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """An agency's filing fulfilment: the share of the licenses it issued that are filed."""

    agency_credit_code: str
    issued: int
    filed: int

    @property
    def ratio(self) -> float:
        return round(self.filed / self.issued, 4) if self.issued else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency_credit_code,
            "issued": self.issued,
            "filed": self.filed,
            "filing_fulfilment_ratio": self.ratio,
        }


@dataclass(frozen=True, slots=True)
class ExportResult:
    package_id: str
    directory: Path
    before: date
    license_count: int
    audit_entries: int
    manifest_sha256: str
    fulfilment: Fulfilment

    def as_dict(self) -> dict[str, Any]:
        return {
            "package_id": self.package_id,
            "directory": str(self.directory),
            "before": self.before.isoformat(),
            "licenses": self.license_count,
            "audit_entries": self.audit_entries,
            "manifest_sha256": self.manifest_sha256,
            "fulfilment": self.fulfilment.as_dict(),
        }


@dataclass(slots=True)
class PackageReport:
    """The outcome of checking a package: signature, every listed file, nothing extra."""

    directory: Path
    kid: str | None = None
    key_source: str | None = None
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "directory": str(self.directory),
            "kid": self.kid,
            "key_source": self.key_source,
            "files_checked": self.files_checked,
            "problems": list(self.problems),
        }
