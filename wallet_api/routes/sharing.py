"""License sharing with relying platforms: the consent hook of the authorization endpoint
and ``GET /api/v1/shared-licenses`` (RFC 9396 ``authorization_details``; docs/sharing.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from identity.models import Citizen, LevelOfAssurance
from identity.oidc.authorization_details import LicenseRequest
from identity.oidc.clients import RegisteredClient
from identity.oidc.models import AuthorizationCode, IssuedToken
from identity.oidc.tokens import utcnow
from licenses.audit.services import append_entry
from licenses.services import Registry
from licenses.sharing import services as sharing
from licenses.sharing.errors import NoSharedLicenses
from licenses.sharing.models import SharingGrant
from licenses.sharing.schemas import SharedLicensePublic, SharedLicenses
from licenses.wallet.services import WalletHolder
from wallet_api.deps import ProviderDep, RegistryDep, RuntimeDep, SessionDep
from wallet_api.oauth_bearer import bearer_token
from wallet_api.oauth_server import StarletteProvider
from wallet_api.pages import render
from wallet_api.problems import Problem
from wallet_api.routes.wallet import holder_of
from wallet_api.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["sharing"])

#: The consent form's checkbox name: one value per approved (license type, field).
APPROVAL_FIELD = "share"


def _holder(runtime: Runtime, registry: Registry, citizen: Citizen) -> WalletHolder | None:
    if citizen.loa < LevelOfAssurance.REAL_NAME:
        return None  # licenses are matched to verified real names only
    return holder_of(runtime, registry, citizen)


def _items(
    request: Request, db: Session, citizen: Citizen, requests: Sequence[LicenseRequest]
) -> list[sharing.ConsentItem]:
    runtime: Runtime = request.app.state.runtime
    registry = runtime.registry
    return sharing.consent_items(
        db,
        registry=registry,
        holder=_holder(runtime, registry, citizen),
        requested=[item.as_dict() for item in requests],
        audit=append_entry,
    )


def consent_page(
    request: Request,
    db: Session,
    *,
    client: RegisteredClient,
    citizen: Citizen,
    requests: Sequence[LicenseRequest],
    scopes: list[str],
    params: list[tuple[str, str]],
    ui_locales: str | None,
) -> Response:
    """The consent page of a request with ``authorization_details``: each license and
    field asked for, why, and a checkbox for each (plain HTML form, CSRF)."""
    items = _items(request, db, citizen, requests)
    db.commit()  # claiming may have bound licenses to the holder key
    return render(
        request,
        "sharing/consent.html",
        {
            "client_name": client.name,
            "citizen_name": citizen.name,
            "scopes": scopes,
            "items": items,
            "params": params,
            "approval_field": APPROVAL_FIELD,
            "approval_value": sharing.approval_value,
        },
        ui_locales=ui_locales,
    )


def record_consent(
    request: Request,
    db: Session,
    *,
    client: RegisteredClient,
    citizen: Citizen,
    requests: Sequence[LicenseRequest],
    approved: Sequence[str],
) -> SharingGrant:
    """Store what the citizen approved (shares) before the code is issued."""
    items = _items(request, db, citizen, requests)
    return sharing.record_grant(
        db,
        citizen_subject=citizen.subject,
        client_id=client.client_id,
        client_name=client.name,
        items=items,
        approved=approved,
        now=utcnow(),
        audit=append_entry,
    )


def bind_issued_code(
    db: Session, provider: StarletteProvider, grant: SharingGrant, response: Response
) -> None:
    """Tie the grant to the authorization code in the redirect, so the token endpoint
    returns the granted ``authorization_details`` (RFC 9396 §7)."""
    location = response.headers.get("location", "")
    code = parse_qs(urlsplit(location).query).get("code", [None])[0]
    if code is None:
        return
    code_id = db.scalars(
        select(AuthorizationCode.id).where(
            AuthorizationCode.code_digest == provider.digests.code.digest(code)
        )
    ).one()
    sharing.bind_code(db, grant=grant, code_id=code_id)


@router.get(
    "/shared-licenses",
    summary="The licenses the citizen shared with this platform, as SD-JWT presentations",
    response_model=SharedLicenses,
)
def shared_licenses(
    request: Request,
    session: SessionDep,
    provider: ProviderDep,
    runtime: RuntimeDep,
    registry: RegistryDep,
    nonce: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    token = bearer_token(request, session, provider)
    issued = session.scalars(select(IssuedToken).where(IssuedToken.jti == token.jti)).first()
    grant = (
        sharing.grant_for_code(session, code_id=issued.authorization_code_id)
        if issued is not None and issued.authorization_code_id is not None
        else None
    )
    if grant is None or grant.client_id != token.client_id or not grant.shares:
        raise NoSharedLicenses("The citizen shared no license with this access token.")
    citizen = session.get(Citizen, issued.citizen_id) if issued is not None else None
    if citizen is None:
        raise Problem(401, "invalid-token", "The access token's citizen is gone.")
    found = sharing.read_shared(
        session,
        registry=registry,
        holder=holder_of(runtime, registry, citizen),
        grant=grant,
        client_id=token.client_id,
        nonce=nonce,
        audit=append_entry,
    )
    session.commit()
    return SharedLicenses(
        client_id=token.client_id,
        audience=token.client_id,
        nonce=nonce,
        licenses=[
            SharedLicensePublic(
                share_id=str(item.share_id),
                license_id=item.license_identifier,
                license_type=item.license_type,
                fields=item.fields,
                presentation=item.presentation,
            )
            for item in found
        ],
    )
