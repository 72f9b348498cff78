""" "Who read my licenses": every platform a citizen shared a license with, the fields,
when it was granted and each read; a share can be withdrawn (plain HTML, CSRF)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from identity.oidc.tokens import utcnow
from licenses import catalogue
from licenses.audit.services import append_entry
from licenses.sharing import services as sharing
from wallet_api.deps import CurrentCitizen, SessionDep
from wallet_api.pages import render

router = APIRouter(tags=["sharing"], include_in_schema=False)


@router.get("/account/shares")
def shares_page(request: Request, session: SessionDep, citizen: CurrentCitizen) -> Response:
    shares = sharing.shares_of(session, citizen_subject=citizen.subject)
    types = {
        code: catalogue.get_type(session, code=code) for code in {s.license_type for s in shares}
    }
    labels = {code: sharing.field_labels(row) for code, row in types.items()}
    return render(
        request,
        "sharing/shares.html",
        {"shares": shares, "labels": labels, "types": types},
    )


@router.post("/account/shares/{share_id}/withdraw")
def withdraw_share(
    request: Request,
    share_id: str,
    session: SessionDep,
    citizen: CurrentCitizen,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    request.app.state.csrf.verify(request, csrf_token)
    sharing.withdraw(
        session,
        citizen_subject=citizen.subject,
        share_id=share_id,
        now=utcnow(),
        audit=append_entry,
    )
    session.commit()
    return RedirectResponse("/account/shares", status_code=303)
