"""``POST /api/v1/verify``: one presentation (or offline QR text) checked, every check reported."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from licenses import qr, services
from licenses.audit.group import AuditWriteFailed, group_commit_for
from licenses.audit.services import CheckedEntry, check_entry
from licenses.schemas import VerifyRequest
from licenses.services import Registry
from licenses.wallet import services as wallet
from wallet_api.deps import RegistryDep, RuntimeDep, SessionDep, VerifyingAgency
from wallet_api.problems import Problem

router = APIRouter(prefix="/api/v1/verify", tags=["verification"])


def presentation_of(
    body: VerifyRequest,
    *,
    session: Session | None = None,
    registry: Registry | None = None,
    links: wallet.OnlineLinks | None = None,
) -> str:
    """The presentation itself, the one carried by offline QR text, or (given the session,
    registry and links) the one held behind an online QR link — taken once."""
    if body.presentation is not None:
        return body.presentation
    if body.qr is None:
        raise Problem(
            422,
            "validation-error",
            "presentation: give a presentation or qr text",
            field="presentation",
        )
    if session is not None and registry is not None and links is not None:
        token = links.link_of(body.qr.strip())
        if token is not None:
            return wallet.take_online(session, registry=registry, links=links, token=token)
    try:
        return qr.decode_offline(body.qr.strip())
    except qr.QrError as exc:
        raise Problem(422, "invalid-qr", f"qr: {exc}", field="qr") from exc


# No response model: FastAPI would validate the answer against ``dict[str, Any]`` (the
# return annotation) in the thread pool, one more hop for a check that cannot fail.
@router.post("", response_model=None)
def verify(
    body: VerifyRequest,
    session: SessionDep,
    registry: RegistryDep,
    agency: VerifyingAgency,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """``valid``, one entry per check with its outcome and reason, and the disclosed claims.

    The read is audited (``license.verified`` under the agency) before the answer goes
    out: the entry is committed in a group with those of concurrent requests
    (:mod:`licenses.audit.group`), and without it there is no answer (503).
    """
    links = runtime.online_links
    reads: list[CheckedEntry] = []

    def record(_session: Session, **entry: Any) -> None:
        reads.append(check_entry(**entry))

    result = services.verify_online(
        session,
        registry=registry,
        presentation=presentation_of(body, session=session, registry=registry, links=links),
        audience=body.audience,
        nonce=body.nonce,
        verifier=agency,
        audit=record,
        key_binding_max_age=timedelta(
            seconds=runtime.settings.wallet_presentation_lifetime_seconds
        ),
    )
    session.commit()
    try:
        group_commit_for(runtime, runtime.sessions).append(reads)
    except AuditWriteFailed as exc:
        raise Problem(
            503, "audit-unavailable", "the read could not be recorded in the audit log; retry"
        ) from exc
    return result
