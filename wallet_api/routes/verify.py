"""``POST /api/v1/verify``: one presentation (or offline QR text) checked, every check reported."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from licenses import qr, services
from licenses.audit.services import append_entry
from licenses.schemas import VerifyRequest
from wallet_api.deps import RegistryDep, SessionDep, VerifyingAgency
from wallet_api.problems import Problem

router = APIRouter(prefix="/api/v1/verify", tags=["verification"])


def presentation_of(body: VerifyRequest) -> str:
    """The presentation itself, or the one carried by offline QR text."""
    if body.presentation is not None:
        return body.presentation
    if body.qr is None:
        raise Problem(
            422,
            "validation-error",
            "presentation: give a presentation or qr text",
            field="presentation",
        )
    try:
        return qr.decode_offline(body.qr.strip())
    except qr.QrError as exc:
        raise Problem(422, "invalid-qr", f"qr: {exc}", field="qr") from exc


@router.post("")
def verify(
    body: VerifyRequest,
    session: SessionDep,
    registry: RegistryDep,
    agency: VerifyingAgency,
) -> dict[str, Any]:
    """``valid``, one entry per check with its outcome and reason, and the disclosed claims."""
    result = services.verify_online(
        session,
        registry=registry,
        presentation=presentation_of(body),
        audience=body.audience,
        nonce=body.nonce,
        verifier=agency,
        audit=append_entry,
    )
    session.commit()
    return result
