"""Mutual-recognition rules: a verifying agency manages what it accepts as which material.

Agencies act with their client-credentials token (scope ``licenses:verify``) and only
for themselves; region-wide rules are an operator's, through ``govwallet recognition``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from licenses.recognition import services
from licenses.recognition.schemas import RuleCreate, RulePublic
from wallet_api.deps import KeyStoreDep, SessionDep, VerifyingAgency

router = APIRouter(prefix="/api/v1/recognition-rules", tags=["recognition"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a rule for the calling agency")
def create_rule(
    body: RuleCreate, agency: VerifyingAgency, session: SessionDep, keystore: KeyStoreDep
) -> RulePublic:
    if body.verifier_credit_code is None and body.verifier_region is None:
        body = body.model_copy(update={"verifier_credit_code": agency.credit_code})
    row = services.create_rule(
        session,
        rule=body,
        actor=f"agency:{agency.credit_code}",
        acting_credit_code=agency.credit_code,
        keystore=keystore,
    )
    session.commit()
    return RulePublic.model_validate(row)


@router.get("", summary="List recognition rules (public policy)")
def list_rules(
    session: SessionDep,
    verifier_credit_code: Annotated[str | None, Query(max_length=18)] = None,
    license_type: Annotated[str | None, Query(max_length=21)] = None,
    material_code: Annotated[str | None, Query(max_length=64)] = None,
) -> list[RulePublic]:
    rows = services.list_rules(
        session,
        verifier_credit_code=verifier_credit_code,
        license_type=license_type,
        material_code=material_code,
    )
    return [RulePublic.model_validate(row) for row in rows]


@router.delete(
    "/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete one of the agency's rules"
)
def delete_rule(
    rule_id: uuid.UUID, agency: VerifyingAgency, session: SessionDep, keystore: KeyStoreDep
) -> Response:
    services.delete_rule(
        session,
        rule_id=rule_id,
        actor=f"agency:{agency.credit_code}",
        acting_credit_code=agency.credit_code,
        keystore=keystore,
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
