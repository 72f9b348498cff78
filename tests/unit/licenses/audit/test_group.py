"""licenses.audit.group: concurrent appends share transactions and every one is durable."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import NoReturn

import pytest
from sqlalchemy import func, select

from licenses.audit.group import AuditWriteFailed, GroupCommit, group_commit_for
from licenses.audit.models import AuditEntry
from licenses.audit.services import CheckedEntry, check_entry, verify_chain
from wallet_api.runtime import Runtime


def _entry(n: int) -> CheckedEntry:
    return check_entry(
        actor="agency:12110000400777687U",
        action="license.verified",
        subject=f"license-{n}",
        details={"valid": True, "failed": []},
        now=datetime.now(UTC),
    )


def test_concurrent_appends_are_all_committed_in_one_chain(runtime: Runtime) -> None:
    group = group_commit_for(runtime, runtime.sessions)
    assert group_commit_for(runtime, runtime.sessions) is group
    errors: list[BaseException] = []

    def worker(start: int) -> None:
        try:
            for n in range(start, start + 5):
                group.append([_entry(n)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i * 100,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 30
        subjects = set(session.scalars(select(AuditEntry.subject)))
        assert subjects == {f"license-{i * 100 + n}" for i in range(6) for n in range(5)}
        report = verify_chain(session, keystore=runtime.keystore)
        assert report.problems == []
        assert report.head_seq == report.last_seq == 30


def test_a_failed_group_is_reported_to_its_callers(runtime: Runtime) -> None:
    def broken_session() -> NoReturn:
        raise RuntimeError("database down")

    with pytest.raises(AuditWriteFailed, match="database down"):
        GroupCommit(broken_session).append([_entry(1)])
    GroupCommit(runtime.sessions).append([])  # nothing to write, nothing written
