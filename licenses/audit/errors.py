"""Errors of the audit log (rendered as RFC 9457 problems)."""

from __future__ import annotations

from typing import Any


class AuditError(Exception):
    """Base of the audit log's errors; ``field`` names the input at fault."""

    code = "audit-error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def extensions(self) -> dict[str, Any]:
        return {"field": self.field} if self.field else {}


class InvalidAuditEntry(AuditError):
    code = "invalid-audit-entry"
    status = 422


class SensitiveAuditValue(InvalidAuditEntry):
    """An identity number (or what looks like one) was about to be logged in clear."""

    code = "sensitive-audit-value"


class InvalidCheckpoint(AuditError):
    """A checkpoint kept outside the database could not be read."""

    code = "invalid-audit-checkpoint"
    status = 422
