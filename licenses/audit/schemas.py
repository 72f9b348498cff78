"""What the audit log reports: entries as shown, and the outcome of a chain verification."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from licenses.audit.models import AuditEntry


def entry_public(entry: AuditEntry, *, time: str) -> dict[str, Any]:
    """An entry as the CLI and the API show it (``time`` is the hashed form)."""
    return {
        "seq": entry.seq,
        "id": str(entry.id),
        "time": time,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": json.loads(entry.details),
        "prev_hash": entry.prev_hash,
        "hash": entry.entry_hash,
    }


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One thing wrong with the chain; ``seq`` is the first entry it concerns, if any."""

    kind: str
    detail: str
    seq: int | None = None
    entry_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seq": self.seq,
            "entry_id": self.entry_id,
            "detail": self.detail,
        }


@dataclass(slots=True)
class ChainReport:
    """The result of :func:`licenses.audit.services.verify_chain`."""

    entries: int = 0
    last_seq: int = 0
    head_seq: int = 0
    checkpoint_seq: int | None = None
    checkpoint_signed_at: datetime | None = None
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> ChainProblem | None:
        """The problem at the lowest entry number (problems without one come last)."""
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: (p.seq is None, p.seq or 0))

    @property
    def unsealed(self) -> int:
        """Entries after the latest signed checkpoint (protected only by the head row)."""
        return max(0, self.last_seq - (self.checkpoint_seq or 0))

    def as_dict(self) -> dict[str, Any]:
        first = self.first_bad
        return {
            "ok": self.ok,
            "entries": self.entries,
            "last_seq": self.last_seq,
            "head_seq": self.head_seq,
            "checkpoint_seq": self.checkpoint_seq,
            "checkpoint_signed_at": (
                self.checkpoint_signed_at.isoformat() if self.checkpoint_signed_at else None
            ),
            "unsealed": self.unsealed,
            "first_bad": first.as_dict() if first else None,
            "problems": [p.as_dict() for p in self.problems],
        }
