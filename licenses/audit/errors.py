"""Errors of the audit log (RFC 9457 problems naming the field at fault)."""

from __future__ import annotations

from licenses.codes import RegistryError


class AuditError(RegistryError):
    """Base of the audit log's errors."""

    code = "audit-error"
    status = 400


class InvalidAuditEntry(AuditError):
    code = "invalid-audit-entry"
    status = 422


class SensitiveAuditValue(InvalidAuditEntry):
    """An identity number (or what looks like one) was about to be logged in clear."""

    code = "sensitive-audit-value"


class InvalidCheckpoint(AuditError):
    """A checkpoint (stored or kept outside the database) does not verify."""

    code = "invalid-audit-checkpoint"
    status = 422
