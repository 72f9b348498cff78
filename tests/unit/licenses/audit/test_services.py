"""The hash-chained audit log: appends, verification and every kind of tampering."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from licenses.audit.errors import InvalidAuditEntry, InvalidCheckpoint, SensitiveAuditValue
from licenses.audit.models import HEAD_ID, AuditEntry, AuditHead
from licenses.audit.schemas import ChainReport
from licenses.audit.services import (
    append_entry,
    compute_entry_hash,
    holder_reference,
    list_entries,
    seal,
    verify_chain,
)
from wallet_api.runtime import Runtime

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
LICENSE = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"


def _append(runtime: Runtime, count: int, *, start: int = 0, keystore: bool = False) -> None:
    with runtime.transaction() as session:
        for i in range(start, start + count):
            append_entry(
                session,
                actor="agency:11430000006122244L",
                action="license.issued" if i % 2 == 0 else "license.verified",
                subject=f"{LICENSE}-{i}",
                details={"n": i, "reason": "测试", "nested": {"b": [1, 2], "a": None}},
                now=T0 + timedelta(seconds=i),
                keystore=runtime.keystore if keystore else None,
            )


def _verify(runtime: Runtime, **kwargs: Any) -> ChainReport:
    with runtime.transaction() as session:
        return verify_chain(session, keystore=runtime.keystore, **kwargs)


def _sql(runtime: Runtime, statement: str, **params: object) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(text(statement), params)


def _seal(runtime: Runtime) -> str:
    with runtime.transaction() as session:
        checkpoint = seal(session, keystore=runtime.keystore)
        assert checkpoint is not None
        return checkpoint.jws


def test_an_untouched_chain_verifies(runtime: Runtime) -> None:
    _append(runtime, 5)
    _seal(runtime)
    _append(runtime, 2, start=5)
    report = _verify(runtime)
    assert report.ok, report.as_dict()
    assert (report.entries, report.last_seq, report.head_seq) == (7, 7, 7)
    assert report.checkpoint_seq == 5
    assert report.unsealed == 2


def test_empty_chain_verifies(runtime: Runtime) -> None:
    report = _verify(runtime)
    assert report.ok
    assert report.entries == 0
    with runtime.transaction() as session:
        assert seal(session, keystore=runtime.keystore) is None


def test_entries_link_and_are_listed_by_subject(runtime: Runtime) -> None:
    _append(runtime, 4)
    with runtime.transaction() as session:
        entries = list_entries(session)
        assert [e.seq for e in entries] == [1, 2, 3, 4]
        assert entries[0].prev_hash == "0" * 64
        assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
        assert entries[0].details == '{"n":0,"nested":{"a":null,"b":[1,2]},"reason":"测试"}'
        only = list_entries(session, subject=f"{LICENSE}-2")
        assert [e.seq for e in only] == [3]
        assert [e.seq for e in list_entries(session, action="license.verified")] == [2, 4]


def test_altered_entry_is_named(runtime: Runtime) -> None:
    _append(runtime, 6)
    _sql(runtime, "UPDATE licenses_audit_entry SET details = :d WHERE seq = 3", d='{"n":99}')
    report = _verify(runtime)
    assert not report.ok
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.kind) == (3, "altered")


def test_altered_actor_is_named(runtime: Runtime) -> None:
    _append(runtime, 4)
    _sql(runtime, "UPDATE licenses_audit_entry SET actor = 'operator:mallory' WHERE seq = 2")
    assert _verify(runtime).first_bad.seq == 2  # type: ignore[union-attr]


def test_deleted_middle_entry_is_named(runtime: Runtime) -> None:
    _append(runtime, 6)
    _sql(runtime, "DELETE FROM licenses_audit_entry WHERE seq = 4")
    report = _verify(runtime)
    assert not report.ok
    assert (report.first_bad.seq, report.first_bad.kind) == (4, "deleted")  # type: ignore[union-attr]


def test_deleted_tail_is_caught_by_the_head(runtime: Runtime) -> None:
    _append(runtime, 6)
    _sql(runtime, "DELETE FROM licenses_audit_entry WHERE seq >= 5")
    report = _verify(runtime)
    assert (report.first_bad.seq, report.first_bad.kind) == (5, "deleted")  # type: ignore[union-attr]


def test_deleted_tail_with_a_forged_head_is_caught_by_the_signed_checkpoint(
    runtime: Runtime,
) -> None:
    _append(runtime, 6, keystore=True)
    with runtime.transaction() as session:
        fourth = list_entries(session, after_seq=3, limit=1)[0]
    _sql(runtime, "DELETE FROM licenses_audit_entry WHERE seq >= 5")
    _sql(runtime, "UPDATE licenses_audit_head SET seq = 4, entry_hash = :h", h=fourth.entry_hash)
    report = _verify(runtime)
    assert not report.ok
    assert report.checkpoint_seq == 6
    assert (report.first_bad.seq, report.first_bad.kind) == (5, "deleted")  # type: ignore[union-attr]


def test_truncation_and_rollback_of_the_stored_checkpoint_is_caught_by_an_external_one(
    runtime: Runtime,
) -> None:
    _append(runtime, 4)
    _seal(runtime)
    _append(runtime, 2, start=4)
    external = _seal(runtime)
    with runtime.transaction() as session:
        fourth = list_entries(session, after_seq=3, limit=1)[0]
    # Everything inside the database is rolled back consistently to entry 4 …
    _sql(runtime, "DELETE FROM licenses_audit_entry WHERE seq > 4")
    _sql(runtime, "DELETE FROM licenses_audit_checkpoint WHERE seq > 4")
    _sql(runtime, "UPDATE licenses_audit_head SET seq = 4, entry_hash = :h", h=fourth.entry_hash)
    assert _verify(runtime).ok  # the documented limit of what the database alone proves
    # … but the checkpoint the operator kept elsewhere still covers entry 6.
    report = _verify(runtime, trusted_checkpoint=external)
    assert (report.first_bad.seq, report.first_bad.kind) == (5, "deleted")  # type: ignore[union-attr]


def _forge(runtime: Runtime, *, seq: int, prev_hash: str) -> None:
    """Write a well-formed entry straight into the table, past the chain head."""
    fields: dict[str, Any] = {
        "seq": seq,
        "occurred_at": T0,
        "actor": "system",
        "action": "license.read",
        "subject": "forged",
        "details": "{}",
        "prev_hash": prev_hash,
    }
    with runtime.transaction() as session:
        session.add(AuditEntry(**fields, entry_hash=compute_entry_hash(**fields)))


def test_inserted_entry_beyond_the_head_is_named(runtime: Runtime) -> None:
    _append(runtime, 3)
    with runtime.transaction() as session:
        last = list_entries(session)[-1]
    _forge(runtime, seq=4, prev_hash=last.entry_hash)
    report = _verify(runtime)
    assert (report.first_bad.seq, report.first_bad.kind) == (4, "inserted")  # type: ignore[union-attr]


def test_entry_inserted_in_the_middle_is_named(runtime: Runtime) -> None:
    _append(runtime, 5)
    with runtime.transaction() as session:
        second = list_entries(session, after_seq=1, limit=1)[0]
    # Make room after entry 2 and slip a well-formed entry in as number 3.
    for seq in (5, 4, 3):
        _sql(runtime, "UPDATE licenses_audit_entry SET seq = :n WHERE seq = :o", n=seq + 1, o=seq)
    _forge(runtime, seq=3, prev_hash=second.entry_hash)
    report = _verify(runtime)
    assert not report.ok
    assert (report.first_bad.seq, report.first_bad.kind) == (3, "inserted")  # type: ignore[union-attr]


def test_reordered_entries_are_named(runtime: Runtime) -> None:
    _append(runtime, 5)
    _sql(runtime, "UPDATE licenses_audit_entry SET seq = -1 WHERE seq = 2")
    _sql(runtime, "UPDATE licenses_audit_entry SET seq = 2 WHERE seq = 3")
    _sql(runtime, "UPDATE licenses_audit_entry SET seq = 3 WHERE seq = -1")
    report = _verify(runtime)
    assert not report.ok
    assert report.first_bad.seq == 2  # type: ignore[union-attr]


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(runtime: Runtime) -> None:
    """Recomputing every hash after a change is invisible without the signature."""
    _append(runtime, 4)
    _seal(runtime)
    with runtime.transaction() as session:
        entries = list_entries(session)
    prev = entries[0].entry_hash
    for entry in entries[1:]:
        details = '{"n":42}' if entry.seq == 2 else entry.details
        new_hash = compute_entry_hash(
            seq=entry.seq,
            occurred_at=entry.occurred_at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            details=details,
            prev_hash=prev,
        )
        _sql(
            runtime,
            "UPDATE licenses_audit_entry SET details = :d, prev_hash = :p, entry_hash = :h "
            "WHERE seq = :s",
            d=details,
            p=prev,
            h=new_hash,
            s=entry.seq,
        )
        prev = new_hash
    _sql(runtime, "UPDATE licenses_audit_head SET entry_hash = :h", h=prev)
    report = _verify(runtime)
    assert not report.ok
    assert report.first_bad.kind == "rewritten"  # type: ignore[union-attr]
    assert report.first_bad.seq == 4  # type: ignore[union-attr]


def test_a_forged_checkpoint_is_rejected(runtime: Runtime) -> None:
    _append(runtime, 2)
    _seal(runtime)
    _sql(runtime, "UPDATE licenses_audit_checkpoint SET jws = :j", j="eyJhbGciOiJFUzI1NiJ9.e30.AA")
    report = _verify(runtime)
    assert any(p.kind == "checkpoint-invalid" for p in report.problems)
    with runtime.transaction() as session, pytest.raises(InvalidCheckpoint):
        verify_chain(session, keystore=runtime.keystore, trusted_checkpoint="not a jws")


def test_concurrent_appends_keep_one_unbroken_chain(runtime: Runtime) -> None:
    threads, per_thread = 4, 15
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(per_thread):
                with runtime.transaction() as session:
                    append_entry(
                        session,
                        actor=f"agency:writer-{n}",
                        action="license.verified",
                        subject=f"{LICENSE}-{n}-{i}",
                        details={"writer": n, "i": i},
                    )
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    report = _verify(runtime)
    assert report.ok, report.as_dict()
    assert report.entries == report.last_seq == report.head_seq == threads * per_thread


def test_two_app_nodes_appending_at_once_keep_one_chain(runtime: Runtime) -> None:
    """Two runtimes (separate engines and pools) stand for two app nodes on one database."""
    other_node = Runtime(runtime.settings)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def node(node_runtime: Runtime, name: str) -> None:
        try:
            barrier.wait()
            for i in range(20):
                with node_runtime.transaction() as session:
                    append_entry(
                        session,
                        actor=f"system:{name}",
                        action="license.read",
                        subject=f"{name}-{i}",
                        details={"i": i},
                        keystore=node_runtime.keystore if i % 5 == 0 else None,
                    )
        except BaseException as exc:
            errors.append(exc)

    try:
        workers = [
            threading.Thread(target=node, args=(runtime, "a")),
            threading.Thread(target=node, args=(other_node, "b")),
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        other_node.close()
    assert errors == []
    report = _verify(runtime)
    assert report.ok, report.as_dict()
    assert report.last_seq == 40
    assert report.checkpoint_seq is not None


def test_an_entry_rolls_back_with_its_transaction(runtime: Runtime) -> None:
    _append(runtime, 2)

    def failing_change() -> None:
        with runtime.transaction() as session:
            append_entry(session, actor="system", action="license.read", subject="s", details={})
            raise RuntimeError("the recorded change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    _append(runtime, 1, start=2)
    report = _verify(runtime)
    assert report.ok
    assert report.last_seq == 3


def test_a_head_loaded_in_the_session_follows_its_appends(runtime: Runtime) -> None:
    _append(runtime, 1)
    with runtime.transaction() as session:
        head = session.get(AuditHead, HEAD_ID)
        assert head is not None
        assert head.seq == 1
        entry = append_entry(
            session, actor="system", action="license.read", subject="s", details={}
        )
        # The object this session holds, not a fresh read, shows the moved head.
        assert (head.seq, head.entry_hash) == (2, entry.entry_hash)
        stored = session.execute(text("SELECT seq, entry_hash FROM licenses_audit_head")).one()
        assert tuple(stored) == (2, entry.entry_hash)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"actor": ""}, "actor"),
        ({"action": "Issued"}, "action"),
        ({"subject": "x" * 201}, "subject"),
        ({"details": ["not", "an", "object"]}, "details"),
        ({"details": {"when": datetime(2026, 1, 1)}}, "details"),
        ({"details": {"ratio": float("nan")}}, "details"),
        ({"now": datetime(2026, 1, 1)}, "now"),
    ],
)
def test_bad_input_names_the_field(runtime: Runtime, kwargs: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {
        "actor": "system",
        "action": "license.read",
        "subject": "s",
        "details": {},
    }
    values.update(kwargs)
    with runtime.transaction() as session, pytest.raises(InvalidAuditEntry) as caught:
        append_entry(session, **values)
    assert caught.value.field == field
    assert caught.value.status == 422


@pytest.mark.parametrize("where", ["actor", "subject", "details"])
def test_identity_numbers_are_never_logged(runtime: Runtime, where: str) -> None:
    values: dict[str, Any] = {
        "actor": "system",
        "action": "license.read",
        "subject": "s",
        "details": {},
    }
    number = "11010519491231002X"
    if where == "details":
        values["details"] = {"holder": {"note": f"holder {number}"}}
    else:
        values[where] = f"citizen {number}"
    with runtime.transaction() as session, pytest.raises(SensitiveAuditValue) as caught:
        append_entry(session, **values)
    assert caught.value.field == where
    assert number not in str(caught.value)


def test_license_identifiers_and_holder_references_are_allowed(runtime: Runtime) -> None:
    reference = holder_reference(runtime.settings.master_secret, "11010519491231002X")
    assert "11010519491231002X" not in reference
    with runtime.transaction() as session:
        entry = append_entry(
            session,
            actor=reference,
            action="license.presented",
            subject="1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
            details={"serial": "110105194912310021"[:10]},
        )
        assert entry.seq == 1


def test_sealing_after_a_key_rotation_re_signs_the_head(runtime: Runtime) -> None:
    _append(runtime, 2)
    first = _seal(runtime)
    assert _seal(runtime) == first  # nothing new: the same checkpoint
    with runtime.transaction() as session:
        runtime.keystore.rotate(
            session, owner="provider", alg="ES256", retain_for=timedelta(seconds=0)
        )
    with runtime.transaction() as session:
        assert runtime.keystore.prune(session)  # the old key is gone for good
    assert not _verify(runtime).ok  # its checkpoint can no longer be checked …
    resealed = _seal(runtime)
    assert resealed != first
    report = _verify(runtime)  # … until the head is sealed again with the new key
    assert report.ok, report.as_dict()
    assert report.checkpoint_seq == 2
