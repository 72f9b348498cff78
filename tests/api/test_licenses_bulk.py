"""Bulk import: streamed in chunks, interrupted and resumed with nothing lost or doubled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from licenses import bulk
from licenses.models import ImportJob, License
from tests.support.license_factories import license_body, make_agency, registry_for


class Crash(Exception):
    """Stands for the process dying half-way through a chunk."""


def _write(path: Path, bodies: list[dict]) -> Path:
    path.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in bodies), "utf-8")
    return path


def _holders(n: int) -> list[str]:
    from stdnum.iso7064 import mod_11_2

    numbers = []
    for i in range(n):
        body = f"11010519800101{i:03d}"
        numbers.append(body + mod_11_2.calc_check_digit(body))
    return numbers


def _count(runtime) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(License))


def test_import_interrupted_mid_chunk_resumes_without_duplicates(runtime, tmp_path) -> None:
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


def test_limit_stops_and_the_next_run_continues(runtime, tmp_path) -> None:
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


def test_bad_lines_are_reported_with_their_field(runtime, tmp_path) -> None:
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


def test_missing_file_is_refused(runtime, tmp_path) -> None:
    agency = make_agency(runtime)
    with pytest.raises(bulk.ImportFileError, match="not a readable file"):
        bulk.import_file(
            runtime.sessions,
            registry=registry_for(runtime),
            agency_id=agency["agency_id"],
            path=tmp_path / "absent.jsonl",
        )
