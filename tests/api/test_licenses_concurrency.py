"""Concurrent issuance: distinct status-list entries, one license per idempotency key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select
from stdnum.iso7064 import mod_11_2

from licenses import issuance, services, status
from licenses.models import License, StatusList
from licenses.schemas import LicenseCreate
from tests.support.license_factories import license_body, make_agency, registry_for
from wallet_api.runtime import Runtime


def _holder(i: int) -> str:
    body = f"33010619900101{i:03d}"
    return body + mod_11_2.calc_check_digit(body)


def _issue(runtime: Runtime, agency_id: str, body: dict[str, Any], key: str | None) -> str:
    registry = registry_for(runtime)
    with runtime.transaction() as session:
        agency = services.get_agency(session, agency_ref=agency_id)
        outcome = issuance.issue(
            session,
            registry=registry,
            agency=agency,
            request=LicenseCreate.model_validate(body),
            idempotency_key=key,
        )
        return outcome.license.identifier


def test_parallel_issuance_gets_distinct_entries(runtime: Runtime) -> None:
    agency = make_agency(runtime)
    bodies = [license_body(runtime, holder_id=_holder(i)) for i in range(16)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda b: _issue(runtime, agency["agency_id"], b, None), bodies))
    assert len(set(ids)) == 16
    with runtime.transaction() as session:
        entries = session.execute(select(License.status_list_id, License.status_index)).all()
        lists = session.scalars(select(StatusList)).all()
    assert len(set(entries)) == 16
    assert sum(row.next_index for row in lists) == 16


def test_parallel_retries_with_one_key_issue_one_license(runtime: Runtime) -> None:
    agency = make_agency(runtime)
    body = license_body(runtime)
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(
            pool.map(lambda _: _issue(runtime, agency["agency_id"], body, "same-key"), range(8))
        )
    assert len(set(ids)) == 1
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(License)) == 1


def test_parallel_status_changes_on_one_list_lose_no_update(runtime: Runtime) -> None:
    agency = make_agency(runtime)
    ids = [
        _issue(runtime, agency["agency_id"], license_body(runtime, holder_id=_holder(i)), None)
        for i in range(12)
    ]
    registry = registry_for(runtime)

    def suspend(identifier: str) -> None:
        with runtime.transaction() as session:
            row = issuance.get_license(session, identifier=identifier)
            status.change_status(
                session, registry=registry, license_row=row, action="suspend", reason="audit"
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(suspend, ids))
    with runtime.transaction() as session:
        rows = session.scalars(select(License)).all()
        values = {
            row.identifier: status.list_value(row.status_list, row.status_index) for row in rows
        }
        versions = sum(lst.version for lst in session.scalars(select(StatusList)))
    assert set(values.values()) == {status.SUSPENDED}
    # One version per list, plus one per issuance and one per suspension.
    assert versions == 1 + 12 + 12


def test_racing_reissues_of_one_version_make_one_new_version(runtime: Runtime) -> None:
    from licenses.schemas import Reissue
    from licenses.status import InvalidStatusTransition

    agency = make_agency(runtime)
    identifier = _issue(runtime, agency["agency_id"], license_body(runtime), None)
    registry = registry_for(runtime)

    def reissue(_: int) -> str:
        with runtime.transaction() as session:
            row = issuance.get_license(session, identifier=identifier)
            try:
                new = issuance.reissue(
                    session,
                    registry=registry,
                    agency=row.agency,
                    license_row=row,
                    request=Reissue(reason="claimed by the wallet"),
                )
            except InvalidStatusTransition:
                return "refused"
            return new.identifier

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(reissue, range(4)))
    assert outcomes.count("refused") == 3
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(License)) == 2
