"""Agency license API: issue, batch issue, read, re-issue and change status.

Agencies authenticate with OAuth client credentials; each route names the scope it needs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Response

from licenses import bulk, issuance, status
from licenses.audit.services import append_entry
from licenses.schemas import LicenseBatch, LicenseCreate, LicenseIssued, Reissue, StatusChange
from wallet_api.deps import (
    IssuingAgency,
    ReadingAgency,
    RegistryDep,
    RevokingAgency,
    SessionDep,
)
from wallet_api.problems import Problem

router = APIRouter(prefix="/api/v1/licenses", tags=["licenses"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
StatusAction = Literal["suspend", "reinstate", "revoke", "cancel", "withdraw"]


def _issued(row: Any, registry: Any) -> dict[str, Any]:
    return {
        "id": row.identifier,
        "credential": row.credential,
        "status": issuance.status_public(row, registry),
    }


@router.post("", status_code=201, response_model=LicenseIssued)
def issue_license(
    body: LicenseCreate,
    response: Response,
    session: SessionDep,
    registry: RegistryDep,
    agency: IssuingAgency,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Issue one license; a retry with the same ``Idempotency-Key`` returns the same one."""
    outcome = issuance.issue(
        session,
        registry=registry,
        agency=agency,
        request=body,
        idempotency_key=idempotency_key,
        audit=append_entry,
    )
    session.commit()
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _issued(outcome.license, registry)


@router.post("/batch", status_code=201)
def issue_batch(
    body: LicenseBatch,
    response: Response,
    session: SessionDep,
    registry: RegistryDep,
    agency: IssuingAgency,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Issue up to 500 licenses, all or nothing; a refusal names ``licenses[i].<field>``."""
    issued = []
    for position, item in enumerate(body.licenses):
        outcome = bulk.issue_one(
            session,
            registry=registry,
            agency=agency,
            body=item,
            idempotency_key=f"{idempotency_key}:{position}" if idempotency_key else None,
            audit=append_entry,
            field_prefix=f"licenses[{position}].",
        )
        if isinstance(outcome, bulk.LineFailure):
            session.rollback()
            raise Problem(422, "invalid-license-batch", outcome.detail, field=outcome.field)
        issued.append(outcome)
    session.commit()
    if issued and all(outcome.replayed for outcome in issued):
        response.headers["Idempotent-Replayed"] = "true"
    return {"licenses": [_issued(outcome.license, registry) for outcome in issued]}


@router.get("/{license_id}")
def read_license(
    license_id: str,
    session: SessionDep,
    registry: RegistryDep,
    agency: ReadingAgency,
) -> dict[str, Any]:
    """The directory entry and credential of one of the agency's licenses (audited)."""
    row = issuance.get_license(session, identifier=license_id, agency=agency)
    append_entry(
        session,
        actor=f"agency:{agency.credit_code}",
        action="license.read",
        subject=row.identifier,
        details={"purpose": "agency-api"},
    )
    session.commit()
    return issuance.license_public(row, registry, for_issuer=True)


@router.post("/{license_id}/reissue", status_code=201, response_model=LicenseIssued)
def reissue_license(
    license_id: str,
    body: Reissue,
    session: SessionDep,
    registry: RegistryDep,
    agency: IssuingAgency,
) -> dict[str, Any]:
    """A new version with the same serial; the previous version is revoked."""
    row = issuance.get_license(session, identifier=license_id, agency=agency)
    new_row = issuance.reissue(
        session, registry=registry, agency=agency, license_row=row, request=body, audit=append_entry
    )
    session.commit()
    return _issued(new_row, registry)


@router.post("/{license_id}/{action}")
def change_license_status(
    license_id: str,
    action: StatusAction,
    body: StatusChange,
    session: SessionDep,
    registry: RegistryDep,
    agency: RevokingAgency,
) -> dict[str, Any]:
    """Suspend, reinstate, revoke, cancel or withdraw, with a reason; the list changes at once."""
    row = issuance.get_license(session, identifier=license_id, agency=agency)
    status.change_status(
        session,
        registry=registry,
        license_row=row,
        action=action,
        reason=body.reason,
        audit=append_entry,
    )
    session.commit()
    return {"id": row.identifier, "status": issuance.status_public(row, registry)}
