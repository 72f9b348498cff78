"""A relying-party login for govwallet's own pages, through govwallet's own OpenID provider.

The citizen portal (``/wallet``) — and any other first-party page set, such as the
clerks' verifier page — is an ordinary confidential client of the provider: no side
door into the SSO session. The flow is OpenID Connect Core 1.0 §3.1 (authorization
code, https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth) with
RFC 7636 PKCE (S256), ``state`` and ``nonce``.

The code is exchanged **in process**: the callback hands a token request to the same
Authlib server object ``POST /token`` uses (client authentication, PKCE check, code
single use, token issue and storage are the provider's own code). Nothing goes over
the network, so it works the same under the test client, one worker or many, and
behind a proxy whose public issuer URL the server itself cannot reach.

After the exchange the ID token is validated against the provider's JWKS (signature,
``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``at_hash``); the portal then keeps a
server-side session (its own cookie, apart from the provider's SSO cookie) holding
the access token. Every request re-validates that access token — so when the citizen
logs out at the provider, or the token expires, the portal session ends with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, cast
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response

from identity.models import Citizen
from identity.oidc import services as oidc_services
from identity.oidc.errors import InvalidClientMetadata, UnknownClient
from identity.oidc.models import IssuedToken
from identity.oidc.server import half_hash
from identity.oidc.tokens import AccessTokenClaims, InvalidAccessToken, aware, utcnow
from keys import FieldCipher, KeyedDigest, MasterSecret
from wallet_api.deps import ProviderDep, SessionDep, SettingsDep
from wallet_api.models import PortalSession
from wallet_api.oauth_server import StarletteOAuth2Request, StarletteProvider, run
from wallet_api.pages import render
from wallet_api.problems import Problem
from wallet_api.runtime import Runtime
from wallet_api.settings import Settings

logger = logging.getLogger("govwallet.portal")

#: How long a started login may take (login form, second factor, consent).
LOGIN_TIMEOUT = timedelta(minutes=15)
ID_TOKEN_ALGORITHMS = ["RS256", "ES256"]
#: Clock leeway for the ID token's ``iat`` / ``exp``.
LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class PortalClient:
    """One first-party relying platform: its fixed client id, paths and scopes."""

    client_id: str
    name: str
    #: Paths of the login routes (``login_router``); the redirect URI is issuer + callback.
    login_path: str
    callback_path: str
    logout_path: str
    logged_out_path: str
    #: Where a login without ``next`` lands.
    home_path: str
    scopes: tuple[str, ...]
    #: The portal session's cookie (never the provider's ``gw_session``).
    cookie_name: str

    def redirect_uri(self, issuer: str) -> str:
        return issuer + self.callback_path

    def post_logout_redirect_uri(self, issuer: str) -> str:
        return issuer + self.logged_out_path

    def client_secret(self, master: MasterSecret) -> str:
        """Derived from the master secret: every app node knows it, nothing stores it."""
        return KeyedDigest(master, "portal/client-secret").digest(self.client_id)

    def ciphers(self, master: MasterSecret) -> tuple[FieldCipher, FieldCipher]:
        """(pending-login cookie cipher, stored-token cipher)."""
        return (
            FieldCipher(master, f"portal/login/{self.client_id}"),
            FieldCipher(master, f"portal/tokens/{self.client_id}"),
        )

    def cookie_digest(self, master: MasterSecret) -> KeyedDigest:
        return KeyedDigest(master, f"portal/session/{self.client_id}")


#: The citizen portal: the wallet pages under ``/wallet``.
WALLET_PORTAL = PortalClient(
    client_id="govwallet-wallet",
    name="govwallet 证照钱包 · citizen wallet",
    login_path="/wallet/login",
    callback_path="/wallet/callback",
    logout_path="/wallet/logout",
    logged_out_path="/wallet/logged-out",
    home_path="/wallet",
    scopes=("openid", "profile", "wallet"),
    cookie_name="gw_wallet",
)

#: The counter clerks' verifier page under ``/verifier`` (docs/verifier.md).
CLERK_PORTAL = PortalClient(
    client_id="govwallet-verifier",
    name="govwallet 证照核验 · license verifier",
    login_path="/verifier/login",
    callback_path="/verifier/callback",
    logout_path="/verifier/logout",
    logged_out_path="/verifier/logged-out",
    home_path="/verifier",
    scopes=("openid", "profile"),
    cookie_name="gw_verifier",
)

#: Every first-party portal registered by ``Runtime.bootstrap`` (add yours here).
PORTALS: tuple[PortalClient, ...] = (WALLET_PORTAL, CLERK_PORTAL)


# -- registration (start-up) -----------------------------------------------------


def ensure_client(session: Session, *, portal: PortalClient, settings: Settings) -> bool:
    """Register the portal's client once; on later starts bring its URIs and secret up to
    date (the issuer may have changed). Flushes, never commits. ``False`` when the
    provider refuses the redirect URI (a plain-http issuer that is not loopback)."""
    issuer = settings.issuer_url
    master = settings.master_secret
    secret_digest = oidc_services.client_secret_digest(master).digest(portal.client_secret(master))
    try:
        metadata = oidc_services.validate_client_metadata(
            name=portal.name,
            redirect_uris=[portal.redirect_uri(issuer)],
            grant_types=["authorization_code"],
            scopes=portal.scopes,
            post_logout_redirect_uris=[portal.post_logout_redirect_uri(issuer)],
            subject_type="pairwise",
        )
    except InvalidClientMetadata as exc:
        logger.warning("portal %s not registered: %s", portal.client_id, exc)
        return False
    try:
        row = oidc_services.get_client_row(session, client_id=portal.client_id)
    except UnknownClient:
        row, _ = oidc_services.register_client(
            session,
            name=portal.name,
            redirect_uris=metadata["redirect_uris"],
            post_logout_redirect_uris=metadata["post_logout_redirect_uris"],
            grant_types=("authorization_code",),
            scopes=portal.scopes,
            master=master,
        )
        row.client_id = portal.client_id
    if row.client_metadata != metadata or row.client_secret_digest != secret_digest:
        row.client_metadata = metadata
        row.client_secret_digest = secret_digest
        row.updated_at = utcnow()
    session.flush()
    return True


def ensure_clients(runtime: Runtime) -> None:
    """Called by ``Runtime.bootstrap``: every portal of :data:`PORTALS`, idempotently."""
    with runtime.transaction() as session:
        for portal in PORTALS:
            ensure_client(session, portal=portal, settings=runtime.settings)


# -- the login ---------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def safe_next(value: str | None, *, default: str) -> str:
    """A same-site path only (no scheme, no host, no ``//``): never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _login_cookie(portal: PortalClient) -> str:
    return portal.cookie_name + "_login"


def start_login(request: Request, *, portal: PortalClient, next_path: str | None) -> Response:
    """Redirect to the provider's authorization endpoint with PKCE, ``state`` and ``nonce``;
    the three secrets and ``next`` wait in an encrypted, short-lived cookie."""
    settings: Settings = request.app.state.runtime.settings
    issuer = settings.issuer_url
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    #: RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(ASCII(code_verifier))).
    challenge = _b64(hashlib.sha256(verifier.encode("ascii")).digest())
    pending = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": safe_next(next_path, default=portal.home_path),
        "exp": int(time.time() + LOGIN_TIMEOUT.total_seconds()),
    }
    login_cipher, _ = portal.ciphers(settings.master_secret)
    sealed = _b64(login_cipher.encrypt_text(json.dumps(pending), aad=portal.client_id))
    query = {
        "response_type": "code",
        "client_id": portal.client_id,
        "redirect_uri": portal.redirect_uri(issuer),
        "scope": " ".join(portal.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if (lang := request.query_params.get("lang")) in {"zh-CN", "en"}:
        query["ui_locales"] = lang
    response = RedirectResponse("/authorize?" + urlencode(query), status_code=303)
    response.set_cookie(
        _login_cookie(portal),
        sealed,
        max_age=int(LOGIN_TIMEOUT.total_seconds()),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",  # the callback is a top-level GET redirect from our own provider
        path=portal.callback_path,
    )
    return response


class PortalLoginFailed(Problem):
    """The callback could not complete the login; the citizen may simply start again."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, "portal-login-failed", detail)


def _pending(request: Request, *, portal: PortalClient, master: MasterSecret) -> dict[str, Any]:
    sealed = request.cookies.get(_login_cookie(portal))
    if not sealed:
        raise PortalLoginFailed("No login was started in this browser (or it took too long).")
    login_cipher, _ = portal.ciphers(master)
    try:
        pending: dict[str, Any] = json.loads(
            login_cipher.decrypt_text(_unb64(sealed), aad=portal.client_id)
        )
    except Exception as exc:  # a forged or damaged cookie: any decoding error
        raise PortalLoginFailed("The login cookie is not valid; start again.") from exc
    if int(pending.get("exp", 0)) < time.time():
        raise PortalLoginFailed("The login took too long; start again.")
    return pending


async def _exchange_code(
    session: Session,
    *,
    provider: StarletteProvider,
    portal: PortalClient,
    code: str,
    settings: Settings,
    verifier: str,
) -> dict[str, Any]:
    """RFC 6749 §4.1.3 token request, run by the provider's own token endpoint code."""
    issuer = settings.issuer_url
    basic = base64.b64encode(
        f"{portal.client_id}:{portal.client_secret(settings.master_secret)}".encode()
    ).decode("ascii")
    oauth = StarletteOAuth2Request(
        method="POST",
        uri=provider.config.token_endpoint,
        headers=Headers(
            {
                "authorization": f"Basic {basic}",
                "content-type": "application/x-www-form-urlencoded",
            }
        ),
        query=[],
        form=[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", portal.redirect_uri(issuer)),
            ("code_verifier", verifier),
        ],
        db=session,
    )
    response = await run(provider.create_token_response, oauth)
    body: dict[str, Any] = json.loads(bytes(response.body) or b"{}")
    if response.status_code != 200:
        raise PortalLoginFailed(
            f"The provider refused the code: {body.get('error_description') or body.get('error')}"
        )
    session.commit()
    return body


def validate_id_token(
    id_token: str,
    *,
    jwks: dict[str, Any],
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str,
) -> dict[str, Any]:
    """OpenID Connect Core §3.1.3.7, every option explicit."""
    try:
        unverified_token = jwt.decode(
            id_token, KeySet.import_key_set(cast(KeySetSerialization, jwks)), ID_TOKEN_ALGORITHMS
        )
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            #: §3.1.3.7 (2): "The Issuer Identifier ... MUST exactly match the value of the
            #: iss (issuer) Claim."
            iss={"essential": True, "value": issuer},
            #: (3): "The Client MUST validate that the aud (audience) Claim contains its
            #: client_id value".
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            #: (11): "The value of the nonce Claim MUST be checked to verify that it is the
            #: same value as the one that was sent in the Authentication Request."
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(unverified_token.claims)
    except (JoseError, ValueError) as exc:
        raise PortalLoginFailed(f"The ID token is not valid: {exc}") from exc
    claims: dict[str, Any] = dict(unverified_token.claims)
    #: §3.1.3.8: at_hash, when present, MUST match the access token.
    if "at_hash" in claims and claims["at_hash"] != half_hash(access_token):
        raise PortalLoginFailed("The ID token's at_hash does not match the access token.")
    return claims


async def complete_login(
    request: Request, session: Session, *, portal: PortalClient, provider: StarletteProvider
) -> Response:
    """The redirect URI: check ``state``, exchange the code, validate the ID token, start the
    portal session, go to ``next``."""
    settings: Settings = request.app.state.runtime.settings
    master = settings.master_secret
    pending = _pending(request, portal=portal, master=master)
    params = request.query_params
    #: RFC 6749 §10.12: the state binds the response to this browser's request.
    if not secrets.compare_digest(str(params.get("state", "")), str(pending["state"])):
        raise PortalLoginFailed("The login response does not belong to this browser's login.")
    #: RFC 9207 §2.4: the iss parameter, when present, must be our issuer (mix-up defence).
    if "iss" in params and params["iss"] != settings.issuer_url:
        raise PortalLoginFailed("The login response came from another issuer.")
    if error := params.get("error"):
        if error == "access_denied":
            raise Problem(403, "portal-login-denied", "You declined the login at the provider.")
        raise PortalLoginFailed(f"The provider answered {error}.")
    code = params.get("code")
    if not code:
        raise PortalLoginFailed("The login response carries no code.")
    tokens = await _exchange_code(
        session,
        provider=provider,
        portal=portal,
        code=code,
        settings=settings,
        verifier=str(pending["verifier"]),
    )
    claims = validate_id_token(
        str(tokens.get("id_token", "")),
        jwks=provider.public_jwks(),
        issuer=settings.issuer_url,
        client_id=portal.client_id,
        nonce=str(pending["nonce"]),
        access_token=str(tokens["access_token"]),
    )
    cookie = secrets.token_urlsafe(32)
    digest = portal.cookie_digest(master).digest(cookie)
    _, token_cipher = portal.ciphers(master)
    now = utcnow()
    session.add(
        PortalSession(
            cookie_digest=digest,
            client_id=portal.client_id,
            sid=claims.get("sid"),
            access_token_encrypted=token_cipher.encrypt_text(tokens["access_token"], aad=digest),
            id_token_encrypted=token_cipher.encrypt_text(tokens["id_token"], aad=digest),
            created_at=now,
            expires_at=now + timedelta(seconds=int(tokens.get("expires_in", 600))),
        )
    )
    session.execute(delete(PortalSession).where(PortalSession.expires_at < now))
    session.commit()
    response = RedirectResponse(str(pending["next"]), status_code=303)
    response.delete_cookie(_login_cookie(portal), path=portal.callback_path)
    response.set_cookie(
        portal.cookie_name,
        cookie,
        httponly=True,
        secure=settings.secure_cookies,
        samesite=settings.cookie_samesite,
        path="/",
    )
    return response


# -- the signed-in citizen -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortalSignIn:
    """A live portal session: its row, the validated access token and the citizen."""

    record: PortalSession
    access_token: str
    token: AccessTokenClaims
    citizen: Citizen


def citizen_of_token(session: Session, *, token: AccessTokenClaims) -> Citizen | None:
    """The citizen behind a code-flow access token (docs/identity-api.md: ``IssuedToken``)."""
    row = session.scalars(select(IssuedToken).where(IssuedToken.jti == token.jti)).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return session.get(Citizen, row.citizen_id)


def current_sign_in(
    request: Request, session: Session, *, portal: PortalClient, provider: StarletteProvider
) -> PortalSignIn | None:
    settings: Settings = request.app.state.runtime.settings
    cookie = request.cookies.get(portal.cookie_name)
    if not cookie or len(cookie) > 200:
        return None
    digest = portal.cookie_digest(settings.master_secret).digest(cookie)
    record = session.scalars(
        select(PortalSession).where(
            PortalSession.cookie_digest == digest, PortalSession.client_id == portal.client_id
        )
    ).one_or_none()
    if record is None or aware(record.expires_at) <= utcnow():
        return None
    _, token_cipher = portal.ciphers(settings.master_secret)
    access_token = token_cipher.decrypt_text(record.access_token_encrypted, aad=digest)
    try:
        token = provider.access_tokens.validate(session, access_token)
    except InvalidAccessToken:
        return None  # expired or revoked at the provider (logout elsewhere)
    citizen = citizen_of_token(session, token=token)
    if citizen is None:
        return None
    return PortalSignIn(record=record, access_token=access_token, token=token, citizen=citizen)


def signed_in(portal: PortalClient) -> Callable[..., PortalSignIn]:
    """A dependency: the portal's signed-in citizen; otherwise a browser is sent to the
    portal's login (which goes through the provider), an API caller gets 401."""

    def dependency(request: Request, session: SessionDep, provider: ProviderDep) -> PortalSignIn:
        found = current_sign_in(request, session, portal=portal, provider=provider)
        if found is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            status = 303 if "text/html" in request.headers.get("accept", "") else 401
            raise Problem(
                status,
                "not-signed-in",
                "Log in to see this page.",
                headers={"Location": portal.login_path + "?" + urlencode({"next": target})},
            )
        return found

    return dependency


def logout(
    request: Request,
    session: Session,
    *,
    portal: PortalClient,
    settings: Settings,
    csrf_token: str | None,
) -> Response:
    """End the portal session, then RP-initiated logout at the provider (ends the SSO
    session and, by back-channel, every other platform's)."""
    request.app.state.csrf.verify(request, csrf_token)
    master = settings.master_secret
    cookie = request.cookies.get(portal.cookie_name) or ""
    digest = portal.cookie_digest(master).digest(cookie)
    record = session.scalars(
        select(PortalSession).where(PortalSession.cookie_digest == digest)
    ).one_or_none()
    query = {
        "client_id": portal.client_id,
        "post_logout_redirect_uri": portal.post_logout_redirect_uri(settings.issuer_url),
    }
    if record is not None:
        _, token_cipher = portal.ciphers(master)
        query["id_token_hint"] = token_cipher.decrypt_text(record.id_token_encrypted, aad=digest)
        session.delete(record)
        session.commit()
    response = RedirectResponse("/end-session?" + urlencode(query), status_code=303)
    response.delete_cookie(portal.cookie_name, path="/")
    return response


def login_router(portal: PortalClient, *, logged_out_template: str) -> APIRouter:
    """The portal's login, callback, logout and logged-out routes."""
    router = APIRouter(tags=["portal"], include_in_schema=False)

    @router.get(portal.login_path)
    def login(request: Request, next: str | None = None) -> Response:
        return start_login(request, portal=portal, next_path=next)

    @router.get(portal.callback_path)
    async def callback(request: Request, session: SessionDep, provider: ProviderDep) -> Response:
        return await complete_login(request, session, portal=portal, provider=provider)

    @router.post(portal.logout_path)
    async def logout_route(
        request: Request, session: SessionDep, settings: SettingsDep
    ) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        token = form.get("csrf_token")
        return logout(
            request,
            session,
            portal=portal,
            settings=settings,
            csrf_token=token if isinstance(token, str) else None,
        )

    @router.get(portal.logged_out_path)
    def logged_out(request: Request) -> Response:
        return render(request, logged_out_template, {"portal": portal})

    return router


WalletSignIn = Annotated[PortalSignIn, Depends(signed_in(WALLET_PORTAL))]
