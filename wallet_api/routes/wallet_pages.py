"""The citizen portal's pages: my licenses, one license, a presentation's QR codes, print.

Server-rendered, work without JavaScript. The citizen is the one of the portal session
(``wallet_api.portal_auth``): the portal logged in through govwallet's own provider.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from licenses import qr
from licenses.audit.services import append_entry
from licenses.codes import RegistryError
from licenses.models import License
from licenses.services import Registry, list_agencies
from licenses.wallet import services as wallet
from wallet_api.deps import RegistryDep, RuntimeDep, SessionDep
from wallet_api.pages import render
from wallet_api.portal_auth import WALLET_PORTAL, WalletSignIn, login_router
from wallet_api.routes.wallet import (
    QrKind,
    holder_of,
    presentation_lifetimes,
    shown_qr_image,
)

router = APIRouter(prefix="/wallet", tags=["wallet pages"], include_in_schema=False)
auth_router = login_router(WALLET_PORTAL, logged_out_template="wallet/logged_out.html")
MAX_FORM_FIELDS = 120


def page_holder(
    signed_in: WalletSignIn, registry: RegistryDep, runtime: RuntimeDep
) -> wallet.WalletHolder:
    return holder_of(runtime, registry, signed_in.citizen)


PageHolder = Annotated[wallet.WalletHolder, Depends(page_holder)]


def _held(
    session: Session, registry: Registry, holder: wallet.WalletHolder, license_id: str
) -> License:
    return wallet.held_license(
        session, registry=registry, holder=holder, identifier=license_id, audit=append_entry
    )


def _license_context(
    session: Session, view: wallet.LicenseView, **extra: object
) -> dict[str, object]:
    agencies = [(agency.credit_code, agency.name) for agency in list_agencies(session)]
    return {"license": view, "agencies": agencies, **extra}


@router.get("")
def my_licenses(
    request: Request,
    signed_in: WalletSignIn,
    holder: PageHolder,
    session: SessionDep,
    registry: RegistryDep,
) -> Response:
    rows = wallet.claim_licenses(session, registry=registry, holder=holder, audit=append_entry)
    views = [
        wallet.render_license(session, registry=registry, holder=holder, row=row) for row in rows
    ]
    session.commit()
    return render(request, "wallet/index.html", {"licenses": views, "citizen": signed_in.citizen})


@router.get("/licenses/{license_id}")
def license_page(
    license_id: str,
    request: Request,
    holder: PageHolder,
    session: SessionDep,
    registry: RegistryDep,
) -> Response:
    row = _held(session, registry, holder, license_id)
    view = wallet.render_license(session, registry=registry, holder=holder, row=row)
    session.commit()
    return render(request, "wallet/license.html", _license_context(session, view))


@router.post("/licenses/{license_id}/present")
async def present(
    license_id: str,
    request: Request,
    holder: PageHolder,
    session: SessionDep,
    registry: RegistryDep,
    runtime: RuntimeDep,
) -> Response:
    """The form: preset or chosen fields, audience → the presentation's QR page."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    request.app.state.csrf.verify(request, _text(form.get("csrf_token")))
    row = _held(session, registry, holder, license_id)
    preset = _text(form.get("preset")) or None
    try:
        found = wallet.present(
            session,
            registry=registry,
            links=runtime.online_links,
            holder=holder,
            row=row,
            disclose=[v for v in form.getlist("disclose") if isinstance(v, str)],
            preset=None if preset == "custom" else preset,
            audience=_text(form.get("audience")) or None,
            nonce=_text(form.get("nonce")) or None,
            audit=append_entry,
            **presentation_lifetimes(runtime),
        )
    except RegistryError as exc:
        session.rollback()
        row = _held(session, registry, holder, license_id)
        view = wallet.render_license(session, registry=registry, holder=holder, row=row)
        context = _license_context(session, view, error=str(exc), error_field=exc.field)
        session.commit()  # keeps a binding made above; nothing of the refused presentation
        return render(request, "wallet/license.html", context, status_code=exc.status)
    session.commit()
    return RedirectResponse(
        f"/wallet/licenses/{row.identifier}/presentations/{found.id}", status_code=303
    )


@router.get("/licenses/{license_id}/presentations/{presentation_id}")
def presentation_page(
    license_id: str,
    presentation_id: str,
    request: Request,
    holder: PageHolder,
    session: SessionDep,
    registry: RegistryDep,
    runtime: RuntimeDep,
    print_view: Annotated[bool, Query(alias="print")] = False,
) -> Response:
    """The QR codes of a recent presentation (offline and online), or its printable page."""
    row = _held(session, registry, holder, license_id)
    text, url = wallet.shown_presentation(
        session,
        registry=registry,
        links=runtime.online_links,
        holder=holder,
        license_identifier=row.identifier,
        presentation_id=presentation_id,
    )
    context = {
        "license": wallet.render_license(session, registry=registry, holder=holder, row=row),
        "images": f"/wallet/licenses/{row.identifier}/presentations/{presentation_id}",
        "offline_text": qr.encode_offline(text),
        "online_url": url,
        "disclosed": wallet.disclosed_names(text),
    }
    session.commit()
    template = "wallet/print.html" if print_view else "wallet/presentation.html"
    return render(request, template, context)


@router.get("/licenses/{license_id}/presentations/{presentation_id}/qr.{fmt}")
def presentation_qr(
    license_id: str,
    presentation_id: str,
    fmt: Literal["png", "svg"],
    holder: PageHolder,
    session: SessionDep,
    registry: RegistryDep,
    runtime: RuntimeDep,
    kind: Annotated[QrKind, Query()] = "offline",
) -> Response:
    return shown_qr_image(
        session,
        registry=registry,
        runtime=runtime,
        holder=holder,
        license_id=license_id,
        presentation_id=presentation_id,
        kind=kind,
        fmt=fmt,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
