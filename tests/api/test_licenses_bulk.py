"""Bulk import: streamed in chunks, interrupted and resumed with nothing lost or doubled."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from identity.oidc.tokens import aware
from licenses import batch, bulk, issuance, services, status
from licenses.audit import services as audit_services
from licenses.audit.models import AuditEntry
from licenses.audit.services import append_entry
from licenses.batch import BatchItem
from licenses.models import IdempotencyKey, ImportJob, License
from licenses.schemas import LicenseCreate
from tests.support.license_factories import license_body, make_agency, registry_for
from wallet_api.cli.license import issue_license
from wallet_api.runtime import Runtime


class Crash(Exception):
    """Stands for the process dying half-way through a chunk."""


def _write(path: Path, bodies: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in bodies), "utf-8")
    return path


def _holders(n: int) -> list[str]:
    from stdnum.iso7064 import mod_11_2

    numbers = []
    for i in range(n):
        body = f"11010519800101{i:03d}"
        numbers.append(body + mod_11_2.calc_check_digit(body))
    return numbers


def _import_audited(
    runtime: Runtime, agency: dict[str, Any], path: Path, *, chunk_lines: int
) -> bulk.ImportReport:
    """``path`` imported for the agency with the registry's own audit hook."""
    return bulk.import_file(
        runtime.sessions,
        registry=registry_for(runtime),
        agency_id=agency["agency_id"],
        path=path,
        audit=append_entry,
        chunk_lines=chunk_lines,
    )


def _count(runtime: Runtime) -> int:
    with runtime.transaction() as session:
        count = session.scalar(select(func.count()).select_from(License))
        assert count is not None
        return count


def test_import_interrupted_mid_chunk_resumes_without_duplicates(
    runtime: Runtime, tmp_path: Path
) -> None:
    agency = make_agency(runtime)
    holders = _holders(25)
    bodies = [license_body(runtime, holder_id=h) for h in holders]
    bodies[7]["fields"]["sex"] = "unknown"  # refused: schema enum
    path = _write(tmp_path / "register.jsonl", bodies)
    registry = registry_for(runtime)

    def crash_at_17(done: int, _total: int) -> None:
        if done == 17:
            raise Crash

    with pytest.raises(Crash):
        bulk.import_file(
            runtime.sessions,
            registry=registry,
            agency_id=agency["agency_id"],
            path=path,
            progress=crash_at_17,
            chunk_lines=10,
        )
    # Lines 1-10 were committed (one refused), the chunk 11-17 rolled back entirely.
    assert _count(runtime) == 9
    report = bulk.import_file(
        runtime.sessions,
        registry=registry,
        agency_id=agency["agency_id"],
        path=path,
        chunk_lines=10,
    )
    assert report.resumed_from == 10
    assert report.state == "done"
    assert (report.issued, report.failed, report.last_line) == (24, 1, 25)
    assert report.failures[0]["line"] == 8
    assert report.failures[0]["field"] == "fields.sex"
    with runtime.transaction() as session:
        digests = session.scalars(select(License.holder_digest)).all()
    assert len(digests) == 24 == len(set(digests))
    # Running it again changes nothing.
    again = bulk.import_file(
        runtime.sessions, registry=registry, agency_id=agency["agency_id"], path=path
    )
    assert again.resumed_from == 25
    assert _count(runtime) == 24


def test_limit_stops_and_the_next_run_continues(runtime: Runtime, tmp_path: Path) -> None:
    agency = make_agency(runtime)
    bodies = [license_body(runtime, holder_id=h) for h in _holders(12)]
    path = _write(tmp_path / "register.jsonl", bodies)
    registry = registry_for(runtime)
    seen: list[int] = []
    first = bulk.import_file(
        runtime.sessions,
        registry=registry,
        agency_id=agency["agency_id"],
        path=path,
        limit=5,
        progress=lambda done, total: seen.append(done),
    )
    assert (first.state, first.last_line, first.issued) == ("running", 5, 5)
    assert seen == [1, 2, 3, 4, 5]
    second = bulk.import_file(
        runtime.sessions, registry=registry, agency_id=agency["agency_id"], path=path
    )
    assert (second.state, second.resumed_from, second.issued) == ("done", 5, 12)
    assert _count(runtime) == 12


def test_bad_lines_are_reported_with_their_field(runtime: Runtime, tmp_path: Path) -> None:
    agency = make_agency(runtime)
    good = license_body(runtime)
    lines = [
        "not json\n",
        json.dumps({**good, "type": "11100000000013338W011"}) + "\n",  # not authorised
        json.dumps({**good, "holder": {"id_number": "110105194912310021", "name": "x"}}) + "\n",
        json.dumps({k: v for k, v in good.items() if k != "area_code"}) + "\n",
        "\n",
        json.dumps(good) + "\n",
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(lines), "utf-8")
    report = bulk.import_file(
        runtime.sessions, registry=registry_for(runtime), agency_id=agency["agency_id"], path=path
    )
    assert (report.issued, report.failed) == (1, 4)
    assert [f["field"] for f in report.failures] == [
        "line",
        "type",
        "holder.id_number",
        "area_code",
    ]
    with runtime.transaction() as session:
        job = session.scalars(select(ImportJob)).one()
        assert job.state == "done"
    assert _count(runtime) == 1


def test_missing_file_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    agency = make_agency(runtime)
    with pytest.raises(bulk.ImportFileError, match="not a readable file"):
        bulk.import_file(
            runtime.sessions,
            registry=registry_for(runtime),
            agency_id=agency["agency_id"],
            path=tmp_path / "absent.jsonl",
        )


def _status_slots(runtime: Runtime) -> list[tuple[uuid.UUID, int]]:
    with runtime.transaction() as session:
        return list(session.execute(select(License.status_list_id, License.status_index)).all())


def test_a_bad_line_inside_a_chunk_is_reported_and_the_rest_land(
    runtime: Runtime, tmp_path: Path
) -> None:
    agency = make_agency(runtime)
    bodies = [license_body(runtime, holder_id=h) for h in _holders(9)]
    bodies[4]["fields"]["sex"] = "unknown"  # refused by the schema, in the middle of the chunk
    bodies[6]["holder"]["id_number"] = "110105194912310021"  # refused: bad check digit
    path = _write(tmp_path / "register.jsonl", bodies)
    report = bulk.import_file(
        runtime.sessions, registry=registry_for(runtime), agency_id=agency["agency_id"], path=path
    )
    assert (report.issued, report.failed, report.state) == (7, 2, "done")
    assert [(f["line"], f["field"]) for f in report.failures] == [
        (5, "fields.sex"),
        (7, "holder.id_number"),
    ]
    assert report.failures[0]["detail"].startswith("line 5: fields.sex: ")
    assert _count(runtime) == 7
    slots = _status_slots(runtime)
    assert len(set(slots)) == 7  # every license its own status entry
    with runtime.transaction() as session:
        audited = session.scalar(select(func.count()).select_from(AuditEntry))
    assert audited == 0  # import_file was given no audit hook


def test_the_import_writes_one_audit_entry_per_license_in_one_chain(
    runtime: Runtime, tmp_path: Path
) -> None:
    agency = make_agency(runtime)
    bodies = [license_body(runtime, holder_id=h) for h in _holders(7)]
    path = _write(tmp_path / "register.jsonl", bodies)
    report = _import_audited(runtime, agency, path, chunk_lines=3)
    assert report.issued == 7
    with runtime.transaction() as session:
        subjects = session.scalars(
            select(AuditEntry.subject).where(AuditEntry.action == "license.issued")
        ).all()
        identifiers = session.scalars(select(License.identifier)).all()
        assert audit_services.verify_chain(session, keystore=runtime.keystore).ok
    assert sorted(subjects) == sorted(identifiers)


def test_each_issued_entry_carries_its_licenses_time_actor_and_details(
    runtime: Runtime, tmp_path: Path
) -> None:
    """The entries are checked before the writer takes the chain's head, at the chunk's
    time: the time the license rows carry too."""
    agency = make_agency(runtime)
    bodies = [license_body(runtime, holder_id=h) for h in _holders(5)]
    path = _write(tmp_path / "register.jsonl", bodies)
    _import_audited(runtime, agency, path, chunk_lines=2)
    with runtime.transaction() as session:
        licenses = {row.identifier: row for row in session.scalars(select(License))}
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "license.issued").order_by(AuditEntry.seq)
        ).all()
    assert sorted(entry.subject for entry in entries) == sorted(licenses)
    for entry in entries:
        issued = licenses[entry.subject]
        assert aware(entry.occurred_at) == aware(issued.created_at)
        assert entry.actor == f"agency:{issued.issuer_code}"
        assert json.loads(entry.details) == {
            "type": issued.type_code,
            "version": 1,
            "status_index": issued.status_index,
        }
    times = [aware(entry.occurred_at) for entry in entries]
    assert times == sorted(times)


def test_rerunning_a_file_whose_progress_was_lost_issues_nothing_twice(
    runtime: Runtime, tmp_path: Path
) -> None:
    agency = make_agency(runtime)
    bodies = [license_body(runtime, holder_id=h) for h in _holders(6)]
    path = _write(tmp_path / "register.jsonl", bodies)
    registry = registry_for(runtime)
    first = bulk.import_file(
        runtime.sessions, registry=registry, agency_id=agency["agency_id"], path=path
    )
    assert first.issued == 6
    with runtime.transaction() as session:  # as if the job's bookkeeping were lost
        job = session.scalars(select(ImportJob)).one()
        job.last_line, job.issued, job.state = 0, 0, "running"
    again = bulk.import_file(
        runtime.sessions, registry=registry, agency_id=agency["agency_id"], path=path
    )
    # Every line's idempotency key answers with the license it already issued.
    assert (again.issued, again.failed, again.state) == (6, 0, "done")
    assert _count(runtime) == 6


def test_identical_lines_in_one_chunk_are_separate_licenses(
    runtime: Runtime, tmp_path: Path
) -> None:
    agency = make_agency(runtime)
    body = license_body(runtime)
    path = _write(tmp_path / "twice.jsonl", [body, body, body])
    report = bulk.import_file(
        runtime.sessions, registry=registry_for(runtime), agency_id=agency["agency_id"], path=path
    )
    assert (report.issued, report.failed) == (3, 0)
    assert len(set(_status_slots(runtime))) == 3
    with runtime.transaction() as session:
        assert len(set(session.scalars(select(License.identifier)).all())) == 3


def _batch_items(runtime: Runtime, keys: list[str | None], holders: list[str]) -> list[BatchItem]:
    return [
        BatchItem(LicenseCreate.model_validate(license_body(runtime, holder_id=h)), key)
        for key, h in zip(keys, holders, strict=True)
    ]


def test_one_key_twice_in_a_batch_issues_once(runtime: Runtime) -> None:
    agency = make_agency(runtime)
    holders = _holders(3)
    items = _batch_items(runtime, ["k-1", "k-1", "k-1"], [holders[0], holders[0], holders[1]])
    with runtime.transaction() as session:
        agency_row = services.get_agency(session, agency_ref=agency["agency_id"])
        results = batch.issue_many(
            session, registry=registry_for(runtime), agency=agency_row, items=items
        )
    # The first issues, the same body again replays it, another body is refused.
    assert results[:2] == [None, None]
    assert isinstance(results[2], issuance.IdempotencyKeyReused)
    assert _count(runtime) == 1


def test_a_constraint_failing_in_a_batch_falls_back_to_one_by_one(runtime: Runtime) -> None:
    agency = make_agency(runtime)
    holders = _holders(4)
    registry = registry_for(runtime)
    earlier = issue_license(runtime, agency_ref=agency["agency_id"], body=license_body(runtime))
    items = _batch_items(runtime, ["a", "b", "c"], holders[:3])
    with runtime.transaction() as session:
        agency_row = services.get_agency(session, agency_ref=agency["agency_id"])
        checked = batch.check_batch(session, registry=registry, agency=agency_row, items=items)
        # Another request takes key "b" after the batch looked its keys up.
        with runtime.transaction() as other:
            other.add(
                IdempotencyKey(
                    agency_id=agency_row.id,
                    key="b",
                    request_hash="0" * 64,
                    license_id=other.scalars(
                        select(License.id).where(License.identifier == earlier["id"])
                    ).one(),
                    created_at=registry.now(),
                )
            )
        entries = status.allocate(session, now=registry.now(), count=len(checked.todo))
        batch.sign_batch(
            session, registry=registry, agency=agency_row, batch=checked, entries=entries
        )
        results = batch.write_batch(session, registry=registry, agency=agency_row, batch=checked)
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], issuance.IdempotencyKeyReused)
    assert _count(runtime) == 3  # the earlier license and the two good ones
