"""OpenID Connect and OAuth 2.0 endpoints: discovery, authorize, token, userinfo,
introspection, revocation, end-session and dynamic registration.

Protocol errors on these endpoints are RFC 6749 §5.2 error objects (or redirects to a
validated redirect URI), rendered by Authlib; everything else is a problem document.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import Headers

from identity.models import Citizen
from identity.oidc import services as oidc_services
from identity.oidc.claims import userinfo_claims
from identity.oidc.errors import InvalidClientMetadata
from identity.oidc.memory_only import from_memory
from identity.oidc.models import IssuedToken, RevokedAccessToken
from identity.oidc.scopes import IDCARD, OPENID
from identity.oidc.tokens import REVOKED, AccessTokenClaims
from wallet_api.deps import ProviderDep, SessionDep, SettingsDep, SignInDep, provider_of
from wallet_api.direct_answers import DirectRequest
from wallet_api.oauth_bearer import bearer_in, bearer_token, extract_bearer, invalid_token
from wallet_api.oauth_documents import ProviderDocuments
from wallet_api.oauth_flow import authorize
from wallet_api.oauth_logout import rp_initiated_logout
from wallet_api.oauth_server import (
    StarletteOAuth2Request,
    StarletteProvider,
    invalid_request,
    oauth_request,
    read_json_request,
    read_request,
    run,
    token_response,
    urlencoded_form,
)
from wallet_api.problems import Problem
from wallet_api.responses import JSONResponse
from wallet_api.settings import Settings

router = APIRouter(tags=["openid"])


# The discovery, token, userinfo and introspection endpoints take only the request and
# answer a Response: wallet_api.hot_paths serves them without FastAPI's routing and
# dependency machinery (bench scenarios 1-3).


@router.get("/.well-known/openid-configuration", summary="OpenID Provider Metadata")
async def discovery(request: Request) -> Response:
    documents: ProviderDocuments = request.app.state.provider_documents
    return documents.discovery()


@router.get("/authorize", summary="Authorization endpoint (code flow with PKCE)")
async def authorization_endpoint(
    request: Request, session: SessionDep, provider: ProviderDep, settings: SettingsDep
) -> Response:
    return await authorize(request, session, provider, settings)


@router.post("/authorize", summary="The consent decision (decision=allow|deny)")
async def authorization_decision(
    request: Request, session: SessionDep, provider: ProviderDep, settings: SettingsDep
) -> Response:
    return await authorize(request, session, provider, settings, consent=True)


FromMemory = Callable[[StarletteProvider, StarletteOAuth2Request], Response | None]
DirectHandler = Callable[[StarletteProvider, DirectRequest], Response | None]


async def _from_memory_or_thread(
    request: Request,
    from_memory: FromMemory,
    in_thread: Callable[[StarletteProvider, StarletteOAuth2Request], Response],
) -> Response:
    """An OAuth endpoint answered on the event loop when it can be from memory, else in
    the thread pool (it reads the database)."""
    provider = provider_of(request)
    oauth = await read_request(request, None, issuer=provider.config.issuer)
    answer = from_memory(provider, oauth)
    return answer if answer is not None else await run(in_thread, provider, oauth)


@router.post("/token", summary="Token endpoint")
async def token_endpoint(request: Request) -> Response:
    return await _from_memory_or_thread(request, _client_credentials_from_memory, token_response)


def _client_credentials_from_memory(
    provider: StarletteProvider, oauth: StarletteOAuth2Request
) -> Response | None:
    """A ``client_credentials`` answer while the client and the signing key are cached:
    CPU only (the token is a JWT, nothing is written), so no thread-pool hop. None for
    any other grant, and when the database would be read (identity.oidc.memory_only)."""
    if oauth.payload.data.get("grant_type") != "client_credentials":
        return None
    return from_memory(token_response, provider, oauth)


@router.get("/userinfo", summary="UserInfo endpoint", operation_id="userinfo_get")
@router.post("/userinfo", summary="UserInfo endpoint (form)", operation_id="userinfo_post")
async def userinfo_endpoint(request: Request) -> Response:
    provider = provider_of(request)
    form_token = None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form_token = _text((await request.form(max_files=0, max_fields=10)).get("access_token"))
    token = extract_bearer(request, form_token)
    answer = _userinfo_from_memory(provider, token)
    if answer is not None:
        return answer
    return JSONResponse(await run(_userinfo, request, provider, form_token, token))


def userinfo_direct(provider: StarletteProvider, request: DirectRequest) -> Response | None:
    """A handler for wallet_api.direct_answers (``GET``, the token in the header)."""
    return _userinfo_from_memory(provider, bearer_in(Headers(raw=request.headers)))


def _userinfo_from_memory(provider: StarletteProvider, token: str | None) -> Response | None:
    """A token answered before, with nothing it depends on changed since (the cache is
    kept exact by invalidation: identity.oidc.token_state): no thread, no query."""
    cached = provider.token_state.get(token) if token else None
    if cached is not None and cached.userinfo is not None:
        return JSONResponse(cached.userinfo)
    return None


def _userinfo(
    request: Request, provider: StarletteProvider, form_token: str | None, token: str | None
) -> dict[str, Any]:
    generation = provider.token_state.generation  # before anything is read
    with provider.read_sessions() as session:
        claims, citizen = _userinfo_claims(request, session, provider, form_token)
        body = userinfo_claims(
            identity=provider.identity,
            citizen=citizen,
            subject=claims.subject,
            scopes=set(claims.scopes),
        )
    if token and IDCARD not in claims.scopes:  # an identity number is never kept in memory
        provider.token_state.put(
            token,
            claims=claims,
            userinfo=body,
            citizen_id=str(citizen.id),
            generation=generation,
        )
    return body


def _userinfo_claims(
    request: Request, session: Session, provider: StarletteProvider, form_token: str | None
) -> tuple[AccessTokenClaims, Citizen]:
    claims = bearer_token(
        request,
        session,
        provider,
        scopes=(OPENID,),
        scope_text=OPENID,
        form_token=form_token,
        revocation_checked_by_caller=True,
    )
    # One round trip: the token's row, its citizen and the revocation list together.
    found = session.execute(
        select(IssuedToken.revoked_at, RevokedAccessToken.jti.label("revoked_jti"), Citizen)
        .join(Citizen, Citizen.id == IssuedToken.citizen_id)
        .outerjoin(RevokedAccessToken, RevokedAccessToken.jti == IssuedToken.jti)
        .where(IssuedToken.jti == claims.jti)
    ).one_or_none()
    if found is not None and found.revoked_jti is not None:
        raise invalid_token(REVOKED)
    if found is None or found.revoked_at is not None:
        raise Problem(
            401,
            "invalid-token",
            "The access token does not belong to a citizen's session.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    #: OpenID Connect Core §5.3.2: "The sub Claim MUST always be returned".
    return claims, found.Citizen


@router.post("/introspect", summary="Token introspection (RFC 7662)")
async def introspection_endpoint(request: Request) -> Response:
    return await _from_memory_or_thread(request, _introspection_from_memory, _introspection)


def _introspection_from_memory(
    provider: StarletteProvider, oauth: StarletteOAuth2Request
) -> Response | None:
    """The answer when the token is in the token-state cache, known valid and unrevoked
    (identity.oidc.token_state), and the client is cached: no query, no thread. None
    when the database would be read (identity.oidc.memory_only)."""
    token = oauth.form.get("token")
    oauth.cached_token = provider.token_state.get(token) if token else None
    if oauth.cached_token is None:
        return None
    return from_memory(_introspection_response, provider, oauth)


def direct_oauth(answer_from_memory: FromMemory) -> DirectHandler:
    """A handler for wallet_api.direct_answers: the endpoint's ``answer_from_memory``,
    without an ASGI task; None sends the request through the application."""

    def handler(provider: StarletteProvider, request: DirectRequest) -> Response | None:
        oauth = _direct_oauth_request(provider, request)
        return None if oauth is None else answer_from_memory(provider, oauth)

    return handler


def _direct_oauth_request(
    provider: StarletteProvider, request: DirectRequest
) -> StarletteOAuth2Request | None:
    """Authlib's request for a direct answer; None for a body that is not url-encoded."""
    headers = Headers(raw=request.headers)
    form = urlencoded_form(headers, request.body)
    if form is None:
        return None
    return oauth_request(
        method=request.method,
        path=request.path,
        query_string="",
        headers=headers,
        form=form,
        db=None,
        issuer=provider.config.issuer,
    )


token_direct = direct_oauth(_client_credentials_from_memory)
introspection_direct = direct_oauth(_introspection_from_memory)


def _introspection(provider: StarletteProvider, oauth: StarletteOAuth2Request) -> Response:
    with provider.read_sessions() as session:
        oauth.db = session
        return _introspection_response(provider, oauth)


def _introspection_response(provider: StarletteProvider, oauth: StarletteOAuth2Request) -> Response:
    try:
        response: Response = provider.create_endpoint_response("introspection", oauth)
        return response
    except ValueError:
        return invalid_request("The request is malformed.")


@router.post("/revoke", summary="Token revocation (RFC 7009)")
async def revocation_endpoint(
    request: Request, session: SessionDep, provider: ProviderDep
) -> Response:
    oauth = await read_request(request, session, issuer=provider.config.issuer)
    try:
        response: Response = await run(provider.create_endpoint_response, "revocation", oauth)
    except ValueError:
        return invalid_request("The request is malformed.")
    if response.status_code == 200:
        session.commit()
    return response


@router.get("/end-session", summary="RP-initiated logout", operation_id="end_session_get")
@router.post("/end-session", summary="Logout confirmation", operation_id="end_session_post")
async def end_session_endpoint(
    request: Request,
    session: SessionDep,
    provider: ProviderDep,
    settings: SettingsDep,
    sign_in: SignInDep,
) -> Response:
    oauth = await read_request(request, session, issuer=provider.config.issuer)
    return await run(rp_initiated_logout, request, oauth, provider, settings, sign_in)


@router.post("/register", summary="Dynamic client registration (RFC 7591)", status_code=201)
async def registration_endpoint(
    request: Request, session: SessionDep, provider: ProviderDep, settings: SettingsDep
) -> Response:
    expected = provider.config.registration_token
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    #: RFC 7591 §3: the endpoint MAY be protected by an initial access token.
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(presented.strip().encode(), expected.encode())
    ):
        return JSONResponse(
            {
                "error": "invalid_token",
                "error_description": "A valid initial access token is required.",
            },
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    body = (await read_json_request(request, issuer=provider.config.issuer)).payload.data
    try:
        client, secret = await run(_register, session, settings, body)
    except InvalidClientMetadata as exc:
        error = (
            "invalid_redirect_uri"
            if exc.field_name.endswith("redirect_uris")
            else "invalid_client_metadata"
        )
        return JSONResponse({"error": error, "error_description": str(exc)}, status_code=400)
    return JSONResponse(oidc_services.registration_response(client, secret), status_code=201)


def _register(session: Session, settings: Settings, body: Any) -> tuple[Any, str | None]:
    client, secret = oidc_services.register_client(
        session, master=settings.master_secret, **oidc_services.rfc7591_arguments(body)
    )
    session.commit()
    return client, secret


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
