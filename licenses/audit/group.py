"""Group commit for audit entries that record reads (``license.verified``).

Every append locks the one chain head until its transaction commits, so on a busy
verify API the requests queue on that lock and each pays its own commit (a WAL flush
on PostgreSQL). :class:`GroupCommit` lets concurrent requests share one transaction:
the first caller to find no write under way becomes the leader, chains every entry
queued so far with :func:`licenses.audit.services.append_checked` (three statements
however many entries), commits, and wakes the others; callers that arrived meanwhile
form the next group.

It is as durable as appending in the request's own transaction: :meth:`GroupCommit.append`
returns only once the caller's entry is committed, and raises when it could not be, so a
route hands out no answer whose read is not on record. Entries are checked
(:func:`licenses.audit.services.check_entry`) in the caller's thread first, so one bad
entry never fails the group.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from licenses.audit.services import CheckedEntry, append_checked


class AuditWriteFailed(RuntimeError):
    """The group holding the caller's entries could not be committed."""


@dataclass(eq=False)
class _Waiting:
    entries: Sequence[CheckedEntry]
    done: bool = False
    error: BaseException | None = field(default=None)


class GroupCommit:
    """Append checked entries durably, sharing transactions between concurrent callers."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions
        self._cond = threading.Condition()
        self._queue: list[_Waiting] = []
        self._writing = False

    def append(self, entries: Sequence[CheckedEntry]) -> None:
        """Return once ``entries`` are committed (in order, in one transaction)."""
        if not entries:
            return
        waiting = _Waiting(entries)
        with self._cond:
            self._queue.append(waiting)
            while not waiting.done and self._writing:
                self._cond.wait()
            if waiting.done:
                return self._outcome(waiting)
            group, self._queue = self._queue, []
            self._writing = True
        error: BaseException | None = None
        try:
            self._write(group)
        except BaseException as exc:  # every waiter must learn the outcome
            error = exc
        with self._cond:
            for member in group:
                member.done, member.error = True, error
            self._writing = False
            self._cond.notify_all()
        return self._outcome(waiting)

    def _write(self, group: list[_Waiting]) -> None:
        with self._sessions() as session:
            append_checked(session, [entry for member in group for entry in member.entries])
            session.commit()

    @staticmethod
    def _outcome(waiting: _Waiting) -> None:
        if waiting.error is not None:
            raise AuditWriteFailed(
                f"the audit entry could not be recorded: {waiting.error}"
            ) from waiting.error


_groups: weakref.WeakKeyDictionary[object, GroupCommit] = weakref.WeakKeyDictionary()
_groups_lock = threading.Lock()


def group_commit_for(owner: object, sessions: Callable[[], Session]) -> GroupCommit:
    """The one :class:`GroupCommit` of ``owner`` (the runtime whose database it writes)."""
    with _groups_lock:
        group = _groups.get(owner)
        if group is None:
            group = _groups[owner] = GroupCommit(sessions)
        return group
