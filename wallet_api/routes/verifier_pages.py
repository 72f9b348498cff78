"""The counter clerks' verifier page: scan or upload a license QR code, see at once if it holds.

Clerks log in through govwallet's own provider like every first-party page
(``wallet_api.portal_auth``, :data:`CLERK_PORTAL`); the page then acts for the clerk's
agency (``licenses.clerks``): the verification is audited under it and the result names
which of its service-item materials the license stands in for. The camera path runs in
the browser (``static/verifier.js`` posts the QR text to ``POST /verifier/verify``); the
upload form works without JavaScript (the server reads the image with the configured
:class:`~wallet_api.qr_decoder.QrDecoder`). Offline, the page verifies in the browser
against the lists it cached (``static/offline-verify.js``, ``GET /verifier/offline-kit``).
"""

from __future__ import annotations

import base64
import functools
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from licenses import clerks, qr, services
from licenses.audit.services import append_entry
from licenses.codes import RegistryError
from licenses.models import Agency, StatusList
from licenses.schemas import VerifyRequest
from licenses.services import Registry
from wallet_api.csrf import CSRF_FIELD
from wallet_api.deps import RegistryDep, RuntimeDep, SessionDep, SettingsDep
from wallet_api.pages import render
from wallet_api.portal_auth import CLERK_PORTAL, PortalSignIn, login_router, signed_in
from wallet_api.problems import Problem
from wallet_api.qr_decoder import MAX_IMAGE_BYTES, QrDecoder, qr_decoder
from wallet_api.responses import JSONResponse
from wallet_api.routes.verify import presentation_of
from wallet_api.runtime import Runtime

router = APIRouter(tags=["verifier page"], include_in_schema=False)
router.include_router(login_router(CLERK_PORTAL, logged_out_template="verifier/logged_out.html"))

ClerkSignIn = Annotated[PortalSignIn, Depends(signed_in(CLERK_PORTAL))]
SERVICE_WORKER = Path(__file__).resolve().parents[1] / "static" / "verifier-sw.js"
CSRF_HEADER = "X-CSRF-Token"
#: Claims the page labels in the clerk's language (docs/license-credential.md); others show
#: their name.
CLAIM_NAMES = (
    "license_id",
    "license_type_name",
    "license_number",
    "holder_name",
    "holder_code",
    "holder_code_type",
    "issuing_agency_name",
    "issuing_agency_code",
    "defining_agency",
    "issue_date",
    "valid_from",
    "valid_until",
    "area_code",
    "service_item",
    "fields",
    "age_over_18",
)


class PageVerifyRequest(BaseModel):
    """What ``static/verifier.js`` posts: the QR text exactly as read."""

    model_config = ConfigDict(extra="forbid")

    qr: str = Field(min_length=1, max_length=200_000)


@functools.cache
def _decoder(name: str) -> QrDecoder:
    """One decoder per name for the process (the development one warns once)."""
    return qr_decoder(name)


def get_decoder(settings: SettingsDep) -> QrDecoder:
    return _decoder(settings.qr_decoder)


DecoderDep = Annotated[QrDecoder, Depends(get_decoder)]


def _clerk_agency(session: Session, sign_in: PortalSignIn, agency: str | None) -> Agency | None:
    """The agency this clerk acts for (the one named, else its first); ``None``: no clerk."""
    try:
        return clerks.clerk_agency(session, subject=sign_in.citizen.subject, agency_ref=agency)
    except clerks.NotAClerk:
        return None


def _forbidden(request: Request, sign_in: PortalSignIn) -> HTMLResponse:
    return render(request, "verifier/forbidden.html", {"citizen": sign_in.citizen}, status_code=403)


def _verify(
    session: Session, *, registry: Registry, runtime: Runtime, agency: Agency, text: str
) -> dict[str, Any]:
    """Verify offline QR text or an online QR link as ``POST /api/v1/verify`` does, under the
    clerk's agency (audited); commit the audit entry and the used-up online link."""
    settings = runtime.settings
    links = runtime.online_links
    presentation = presentation_of(
        VerifyRequest(qr=text), session=session, registry=registry, links=links
    )
    result = services.verify_online(
        session,
        registry=registry,
        presentation=presentation,
        audience=None,
        nonce=None,
        verifier=agency,
        audit=append_entry,
        key_binding_max_age=timedelta(seconds=settings.wallet_presentation_lifetime_seconds),
    )
    session.commit()
    return result


def _page(
    request: Request,
    session: Session,
    sign_in: PortalSignIn,
    agency: Agency,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    error_key: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "citizen": sign_in.citizen,
        "agency": agency,
        "agencies": clerks.clerk_agencies(session, subject=sign_in.citizen.subject),
        "result": result,
        "error": error,
        "error_key": error_key,
        "portal": CLERK_PORTAL,
        "claim_names": CLAIM_NAMES,
    }
    return render(request, "verifier/index.html", context, status_code=status_code)


@router.get("/verifier", response_class=HTMLResponse)
def verifier_page(
    request: Request, session: SessionDep, sign_in: ClerkSignIn, agency: str | None = None
) -> HTMLResponse:
    """The page: camera scanner, upload fallback, result area."""
    row = _clerk_agency(session, sign_in, agency)
    if row is None:
        return _forbidden(request, sign_in)
    return _page(request, session, sign_in, row)


@router.post("/verifier/verify")
def verify_from_page(
    request: Request,
    body: PageVerifyRequest,
    session: SessionDep,
    registry: RegistryDep,
    runtime: RuntimeDep,
    sign_in: ClerkSignIn,
    agency: str | None = None,
) -> dict[str, Any]:
    """The QR text the page's camera read → the verification result (JSON, CSRF header)."""
    request.app.state.csrf.verify(request, request.headers.get(CSRF_HEADER))
    row = _clerk_agency(session, sign_in, agency)
    if row is None:
        raise Problem(403, "not-a-clerk", "This account is not a clerk of any agency.")
    return _verify(session, registry=registry, runtime=runtime, agency=row, text=body.qr)


@router.post("/verifier/upload", response_class=HTMLResponse)
async def verify_upload(
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    runtime: RuntimeDep,
    sign_in: ClerkSignIn,
    decoder: DecoderDep,
    image: Annotated[UploadFile | None, File()] = None,
    csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
    agency: str | None = None,
) -> HTMLResponse:
    """The no-JavaScript fallback: a photo of the QR code, decoded on the server."""
    request.app.state.csrf.verify(request, csrf_token)
    row = _clerk_agency(session, sign_in, agency)
    if row is None:
        return _forbidden(request, sign_in)
    if image is None or not image.filename:
        return _page(
            request, session, sign_in, row, error_key="verifier.error.no_image", status_code=422
        )
    data = await image.read(MAX_IMAGE_BYTES + 1)
    try:
        text = decoder.decode(data)
        result = _verify(session, registry=registry, runtime=runtime, agency=row, text=text)
    except (qr.QrError, RegistryError) as exc:  # unreadable image, used-up online link
        return _page(request, session, sign_in, row, error=str(exc), status_code=exc.status)
    except Problem as exc:  # the QR text is not an offline presentation
        return _page(request, session, sign_in, row, error=exc.detail, status_code=exc.status)
    return _page(request, session, sign_in, row, result=result)


@router.get("/verifier/offline-kit")
def offline_kit(
    session: SessionDep, registry: RegistryDep, settings: SettingsDep, sign_in: ClerkSignIn
) -> JSONResponse:
    """What the page caches to verify offline: where the signed lists are, the GW1 dictionary.

    The lists themselves are fetched from their public, signed endpoints and verified in
    the browser (static/offline-verify.js) before they are stored.
    """
    if _clerk_agency(session, sign_in, None) is None:
        raise Problem(403, "not-a-clerk", "This account is not a clerk of any agency.")
    list_ids = session.scalars(select(StatusList.list_id).order_by(StatusList.list_id))
    return JSONResponse(
        {
            "issuer": settings.issuer_url,
            "jwks_url": "/jwks.json",
            "trust_list_url": "/api/v1/trust-list",
            "status_lists": [
                {"uri": registry.status_list_uri(list_id), "url": f"/api/v1/status-lists/{list_id}"}
                for list_id in list_ids
            ],
            "gw1_dictionary": base64.b64encode(qr.GW1_DICTIONARY).decode("ascii"),
            "gw1_max_frame_bytes": qr.MAX_FRAME_BYTES,
            "key_binding_max_age": settings.wallet_presentation_lifetime_seconds,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/verifier-sw.js")
def service_worker() -> Response:
    """The page's service worker, at the root so that its scope may be ``/verifier``."""
    return FileResponse(
        SERVICE_WORKER,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/verifier"},
    )
