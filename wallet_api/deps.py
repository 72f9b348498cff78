"""FastAPI dependencies, declared once as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated
from urllib.parse import urlencode

from anyio import CancelScope, to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from identity.models import Citizen
from identity.oidc.tokens import AccessTokenClaims
from keys import KeyStore
from licenses.models import Agency
from licenses.services import Registry, agency_for_client
from wallet_api.oauth_bearer import bearer_token
from wallet_api.oauth_flow import SignedIn, current_sign_in
from wallet_api.oauth_server import StarletteProvider
from wallet_api.problems import Problem
from wallet_api.runtime import Runtime
from wallet_api.settings import Settings

# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in the
# thread pool, one hop there and back per dependency and request (a generator: two).


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_keystore(runtime: RuntimeDep) -> KeyStore:
    return runtime.keystore


async def get_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    """A session for the request; routes commit what they change, the rest is rolled back.

    Opening a session does no I/O (it connects on first use). Closing one that still holds
    a transaction rolls it back on its connection: that is done in the thread pool, never
    on the event loop.
    """
    session = runtime.sessions()
    failed = False
    try:
        yield session
    except BaseException:
        failed = True
        raise
    finally:
        if failed or session.in_transaction():
            # Shielded: a request cancelled (its client gone) still returns the connection.
            with CancelScope(shield=True):
                await to_thread.run_sync(_end, session, failed)
        else:
            session.close()


def _end(session: Session, failed: bool) -> None:
    try:
        if failed:
            session.rollback()
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
KeyStoreDep = Annotated[KeyStore, Depends(get_keystore)]
SessionDep = Annotated[Session, Depends(get_session)]


async def get_registry(runtime: RuntimeDep) -> Registry:
    """The license registry's context: key store, holder digests and ciphers, issuer URL."""
    return runtime.registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


# -- the OpenID provider (identity/oidc) -------------------------------------------------


def provider_of(request: Request) -> StarletteProvider:
    """The provider, for endpoints served by ``wallet_api.hot_paths`` (no dependencies)."""
    provider: StarletteProvider = request.app.state.provider
    return provider


async def get_provider(request: Request) -> StarletteProvider:
    # async: resolved on the event loop, no thread-pool hop
    return provider_of(request)


ProviderDep = Annotated[StarletteProvider, Depends(get_provider)]


def get_sign_in(
    request: Request, session: SessionDep, provider: ProviderDep, settings: SettingsDep
) -> SignedIn | None:
    """The SSO session of this browser and its citizen, or ``None``."""
    return current_sign_in(request, session, provider, settings)


SignInDep = Annotated[SignedIn | None, Depends(get_sign_in)]


def get_current_citizen(request: Request, sign_in: SignInDep) -> Citizen:
    """The logged-in citizen; pages without a session are sent to the login page."""
    if sign_in is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # A browser is sent to the login form; an API caller gets a plain 401.
        status = 303 if "text/html" in request.headers.get("accept", "") else 401
        raise Problem(
            status,
            "not-signed-in",
            "Log in to see this page.",
            headers={"Location": "/login?" + urlencode({"next": target})},
        )
    return sign_in.citizen


CurrentCitizen = Annotated[Citizen, Depends(get_current_citizen)]


def require_scopes(*scopes: str) -> Callable[..., AccessTokenClaims]:
    """A dependency: a valid bearer access token carrying every one of ``scopes``.

    RFC 6750 §3: failures answer ``WWW-Authenticate: Bearer`` with ``invalid_token``
    (401) or ``insufficient_scope`` (403) beside the problem document.
    """
    wanted = " ".join(scopes)

    def dependency(
        request: Request, session: SessionDep, provider: ProviderDep
    ) -> AccessTokenClaims:
        return bearer_token(request, session, provider, scopes=scopes, scope_text=wanted)

    return dependency


def agency_with_scopes(*scopes: str) -> Callable[..., Agency]:
    """A dependency: the agency whose client-credentials token carries ``scopes``.

    The token and the agency in one dependency: one thread-pool hop for both, not one each.
    """
    token_of = require_scopes(*scopes)

    def dependency(request: Request, session: SessionDep, provider: ProviderDep) -> Agency:
        token = token_of(request, session, provider)  # called, not a dependency: no hop
        if not token.is_client_token:
            raise Problem(403, "agency-token-required", "This API takes an agency's client token.")
        return agency_for_client(session, client_id=token.client_id)

    return dependency


IssuingAgency = Annotated[Agency, Depends(agency_with_scopes("licenses:issue"))]
RevokingAgency = Annotated[Agency, Depends(agency_with_scopes("licenses:revoke"))]
ReadingAgency = Annotated[Agency, Depends(agency_with_scopes("licenses:read"))]
VerifyingAgency = Annotated[Agency, Depends(agency_with_scopes("licenses:verify"))]
