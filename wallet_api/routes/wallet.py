"""The wallet API for any wallet app (ARCHITECTURE.md "Testing contract"): the citizen's
licenses, presentations and their QR codes, with a code-flow access token of scope ``wallet``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from identity import services as identity_services
from identity.models import Citizen, LevelOfAssurance
from identity.oidc.tokens import AccessTokenClaims
from licenses import qr, qr_images
from licenses.audit.services import append_entry
from licenses.holder import ServerHeldKey
from licenses.models import License
from licenses.services import Registry
from licenses.wallet import services as wallet
from wallet_api.deps import RegistryDep, RuntimeDep, SessionDep, require_scopes
from wallet_api.portal_auth import citizen_of_token
from wallet_api.problems import Problem
from wallet_api.runtime import Runtime

router = APIRouter(prefix="/api/v1/wallet", tags=["wallet"])

WalletToken = Annotated[AccessTokenClaims, Depends(require_scopes("wallet"))]
QrKind = Literal["offline", "online"]


# -- shared with the portal pages ----------------------------------------------------


def holder_of(runtime: Runtime, registry: Registry, citizen: Citizen) -> wallet.WalletHolder:
    """The wallet holder for an authenticated, real-name-verified citizen."""
    if citizen.loa < LevelOfAssurance.REAL_NAME:
        raise Problem(
            403,
            "real-name-required",
            "Licenses are shown to citizens whose real name was verified against the "
            "population register.",
        )
    id_number = identity_services.citizen_id_number(identity=runtime.identity, citizen=citizen)
    key = ServerHeldKey(keystore=runtime.keystore, stable_id=citizen.subject)
    return wallet.wallet_holder(registry, id_number=id_number, key=key)


def presentation_lifetimes(runtime: Runtime) -> dict[str, timedelta]:
    settings = runtime.settings
    return {
        "lifetime": timedelta(seconds=settings.wallet_presentation_lifetime_seconds),
        "online_lifetime": timedelta(seconds=settings.wallet_online_qr_seconds),
    }


def shown_qr_image(
    session: Session,
    *,
    registry: Registry,
    runtime: Runtime,
    holder: wallet.WalletHolder,
    license_id: str,
    presentation_id: str,
    kind: QrKind,
    fmt: Literal["png", "svg"],
) -> Response:
    """The QR image of a recent presentation (kept a few minutes): offline text or link."""
    text, url = wallet.shown_presentation(
        session,
        registry=registry,
        links=runtime.online_links,
        holder=holder,
        license_identifier=license_id,
        presentation_id=presentation_id,
    )
    payload = url if kind == "online" else qr.encode_offline(text)
    image = qr_images.render_png(payload) if fmt == "png" else qr_images.render_svg(payload)
    return Response(
        image.content,
        media_type=image.media_type,
        headers={"Cache-Control": "no-store", "X-QR-Version": str(image.version)},
    )


def presentation_body(found: wallet.Presentation, *, base: str) -> dict[str, Any]:
    images = f"{base}/presentations/{found.id}"
    return {
        "id": str(found.id),
        "license_id": found.license_identifier,
        "presentation": found.presentation,
        "qr": {
            "offline": found.offline_qr,
            "online": found.online_url,
            "images": {
                "offline_png": f"{images}/qr.png?kind=offline",
                "offline_svg": f"{images}/qr.svg?kind=offline",
                "online_png": f"{images}/qr.png?kind=online",
                "online_svg": f"{images}/qr.svg?kind=online",
            },
        },
        "audience": found.audience,
        "nonce": found.nonce,
        "disclosed": found.disclosed,
        "issued_at": found.issued_at.isoformat(),
        "expires_at": found.expires_at.isoformat(),
        "online_expires_at": found.online_expires_at.isoformat(),
    }


# -- API -------------------------------------------------------------------------------


def get_holder(
    token: WalletToken, session: SessionDep, runtime: RuntimeDep, registry: RegistryDep
) -> wallet.WalletHolder:
    citizen = citizen_of_token(session, token=token)
    if citizen is None or token.is_client_token:
        raise Problem(
            401,
            "invalid-token",
            "The access token does not belong to a citizen's session.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return holder_of(runtime, registry, citizen)


HolderDep = Annotated[wallet.WalletHolder, Depends(get_holder)]


class PresentationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disclose: list[str] = Field(default_factory=list, max_length=100)
    preset: str | None = Field(default=None, max_length=40)
    #: A registered agency's credit code (or its issuer URL), or "any".
    audience: str | None = Field(default=None, max_length=2000)
    nonce: str | None = Field(default=None, max_length=200)


def _held(
    session: Session, registry: Registry, holder: wallet.WalletHolder, license_id: str
) -> License:
    return wallet.held_license(
        session, registry=registry, holder=holder, identifier=license_id, audit=append_entry
    )


@router.get("/licenses", summary="Every license issued to the citizen's identity number")
def list_licenses(session: SessionDep, registry: RegistryDep, holder: HolderDep) -> dict[str, Any]:
    rows = wallet.claim_licenses(session, registry=registry, holder=holder, audit=append_entry)
    views = [
        wallet.render_license(session, registry=registry, holder=holder, row=row) for row in rows
    ]
    session.commit()
    return {"licenses": [view.as_dict() for view in views]}


@router.get("/licenses/{license_id}", summary="One license of the citizen, rendered")
def show_license(
    license_id: str, session: SessionDep, registry: RegistryDep, holder: HolderDep
) -> dict[str, Any]:
    row = _held(session, registry, holder, license_id)
    view = wallet.render_license(session, registry=registry, holder=holder, row=row)
    session.commit()
    return view.as_dict()


@router.post(
    "/licenses/{license_id}/presentations",
    status_code=201,
    summary="A presentation of chosen fields for an audience, with its QR forms",
)
def create_presentation(
    license_id: str,
    body: PresentationRequest,
    session: SessionDep,
    registry: RegistryDep,
    runtime: RuntimeDep,
    holder: HolderDep,
) -> dict[str, Any]:
    row = _held(session, registry, holder, license_id)
    found = wallet.present(
        session,
        registry=registry,
        links=runtime.online_links,
        holder=holder,
        row=row,
        disclose=body.disclose,
        preset=body.preset,
        audience=body.audience,
        nonce=body.nonce,
        audit=append_entry,
        **presentation_lifetimes(runtime),
    )
    session.commit()
    return presentation_body(found, base=f"/api/v1/wallet/licenses/{row.identifier}")


@router.get("/licenses/{license_id}/presentations/{presentation_id}/qr.{fmt}")
def presentation_qr(
    license_id: str,
    presentation_id: str,
    fmt: Literal["png", "svg"],
    session: SessionDep,
    registry: RegistryDep,
    runtime: RuntimeDep,
    holder: HolderDep,
    kind: Annotated[QrKind, Query()] = "offline",
) -> Response:
    """The QR image of a recent presentation (kept a few minutes): offline text or online link."""
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
