"""The interactive part of the authorization endpoint: SSO session, login, consent.

OpenID Connect Core 1.0 §3.1.2 (https://openid.net/specs/openid-connect-core-1_0.html#AuthorizationEndpoint).
Authlib validates the request (client, exact redirect URI, response type, scope,
PKCE, ``prompt=none`` without a session); this module decides whether the citizen
must log in again (``prompt=login``, ``max_age``, ``acr_values``), whether consent
is needed, and adds the RFC 9207 ``iss`` parameter to every authorization response.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidRequestError, OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from identity.models import Citizen, LevelOfAssurance
from identity.oidc import services as oidc_services
from identity.oidc.authorization_details import allowed_types, parse_authorization_details
from identity.oidc.claims import loa_of, required_loa
from identity.oidc.errors import UnmetAuthenticationRequirements
from identity.oidc.grants.base import AuthenticatedCitizen
from identity.oidc.inputs import storable
from identity.oidc.models import SsoSession
from identity.oidc.scopes import CONSENT_SCOPES, scope_list
from identity.oidc.sessions import find_session, remember_client
from identity.oidc.tokens import aware, utcnow
from wallet_api.oauth_server import StarletteOAuth2Request, StarletteProvider, read_request, run
from wallet_api.pages import render
from wallet_api.problems import Problem
from wallet_api.settings import Settings

#: Parameter our login redirect adds: the citizen authenticated after this moment, so
#: ``prompt=login`` and ``max_age`` are satisfied when they come back.
AUTH_AFTER = "auth_after"
#: Form fields of our own pages that are not part of the authorization request.
OWN_FIELDS = {"csrf_token", "decision", "share"}


@dataclass(frozen=True, slots=True)
class SignedIn:
    record: SsoSession
    citizen: Citizen

    def as_user(self) -> AuthenticatedCitizen:
        return AuthenticatedCitizen(
            citizen_id=self.citizen.id,
            citizen_subject=self.citizen.subject,
            sid=self.record.sid,
            auth_time=aware(self.record.auth_time),
            acr=self.record.acr,
            amr=list(self.record.amr),
        )


def current_sign_in(
    request: Request, db: Session, provider: StarletteProvider, settings: Settings
) -> SignedIn | None:
    found = find_session(
        db,
        cookie=request.cookies.get(settings.session_cookie_name),
        now=utcnow(),
        config=provider.config,
        digests=provider.digests,
    )
    if found is None:
        return None
    record, citizen = found
    return SignedIn(record=record, citizen=citizen)


def with_iss(response: Response, issuer: str) -> Response:
    """RFC 9207 §2: "the authorization server MUST indicate its identity by including
    the iss parameter in the response" — success and error responses alike."""
    location = response.headers.get("location")
    if location:
        response.headers["location"] = add_params_to_uri(location, [("iss", issuer)])
    return response


def authorization_error(
    request: Request, error: OAuth2Error, *, state: str | None, issuer: str
) -> Response:
    """Redirect the error to a validated redirect URI, else show it (never redirect blind)."""
    if error.redirect_uri:
        error.state = state
        status, _, headers = error()
        return with_iss(Response(status_code=status, headers=dict(headers)), issuer)
    return render(
        request,
        "login/error.html",
        {"error": error.error, "description": error.description or ""},
        status_code=400,
    )


def _request_params(oauth: StarletteOAuth2Request) -> list[tuple[str, str]]:
    return [
        (key, value)
        for key, values in oauth.payload.datalist.items()
        if key not in OWN_FIELDS
        for value in values
    ]


def _login_redirect(oauth: StarletteOAuth2Request) -> Response:
    params = [(k, v) for k, v in _request_params(oauth) if k != AUTH_AFTER]
    params.append((AUTH_AFTER, str(int(time.time()))))
    target = "/authorize?" + urlencode(params)
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def _fresh_login(data: dict[str, str], record: SsoSession) -> bool:
    """Did the citizen log in after our login redirect of this very request?"""
    try:
        after = int(data.get(AUTH_AFTER, ""))
    except ValueError:
        return False
    return int(aware(record.auth_time).timestamp()) >= after


def _needs_login(data: dict[str, str], signed_in: SignedIn | None) -> tuple[bool, str | None]:
    """(must log in again, why) — ``prompt=login``, ``max_age`` or an ``acr_values`` step-up."""
    if signed_in is None:
        return True, None
    record = signed_in.record
    fresh = _fresh_login(data, record)
    prompts = set(data.get("prompt", "").split())
    if "login" in prompts and not fresh:
        return True, "login"
    if "max_age" in data:
        max_age = int(data["max_age"])
        #: Core §3.1.2.1: "If the elapsed time is greater than this value, the OP MUST
        #: attempt to actively re-authenticate the End-User."
        if time.time() - aware(record.auth_time).timestamp() > max_age and not fresh:
            return True, "max_age"
    wanted = required_loa(data.get("acr_values"))
    have = loa_of(record.acr) or 0
    if wanted is not None and have < wanted:
        reachable = (
            signed_in.citizen.loa >= LevelOfAssurance.REAL_NAME and signed_in.citizen.totp_enabled
            if wanted == LevelOfAssurance.REAL_NAME_SECOND_FACTOR
            else signed_in.citizen.loa >= wanted
        )
        if fresh or not reachable:
            raise UnmetAuthenticationRequirements(
                "The citizen cannot reach the requested level of assurance."
            )
        return True, "acr"
    return False, None


def _consent_needed(
    db: Session,
    signed_in: SignedIn,
    client_id: str,
    wanted: set[str],
    *,
    prompts: set[str],
    details: bool,
) -> bool:
    """Whether to show the consent page: ``prompt=consent``, licenses asked for (asked
    each time), or scopes not consented to yet (the record is read only then)."""
    if "consent" in prompts or details:
        return True
    return bool(
        wanted
        - oidc_services.consented_scopes(db, citizen_id=signed_in.citizen.id, client_id=client_id)
    )


async def authorize(
    request: Request,
    db: Session,
    provider: StarletteProvider,
    settings: Settings,
    *,
    consent: bool = False,
) -> Response:
    """Read the request, then decide in the thread pool (database, Authlib, templates).

    ``consent``: this is the consent form's POST (CSRF-checked, ``decision=allow|deny``).
    """
    oauth = await read_request(request, db, issuer=provider.config.issuer)
    decision = None
    if consent:
        request.app.state.csrf.verify(request, oauth.form.get("csrf_token"))
        decision = oauth.form.get("decision")
        if decision not in {"allow", "deny"}:
            raise Problem(
                422, "validation-error", "decision: must be allow or deny", field="decision"
            )
    return await run(_authorize, request, oauth, provider, settings, decision)


def _authorize(
    request: Request,
    oauth: StarletteOAuth2Request,
    provider: StarletteProvider,
    settings: Settings,
    decision: str | None,
) -> Response:
    issuer = provider.config.issuer
    db = oauth.required_db
    data = oauth.payload.data
    state = data.get("state")
    signed_in = current_sign_in(request, db, provider, settings)
    try:
        grant = provider.get_consent_grant(oauth, signed_in.as_user() if signed_in else None)
    except OAuth2Error as error:
        return authorization_error(request, error, state=state, issuer=issuer)
    except ValueError:
        return authorization_error(
            request, InvalidRequestError("The request is malformed."), state=state, issuer=issuer
        )
    redirect_uri = grant.redirect_uri
    prompts = set(data.get("prompt", "").split())
    try:
        #: RFC 9396 §5: unknown or malformed details answer invalid_authorization_details.
        details = (
            parse_authorization_details(
                data.get("authorization_details"),
                session=db,
                catalogue=provider.license_catalogue,
                client_types=allowed_types(grant.client.client_metadata),
            )
            if provider.license_catalogue is not None
            else []
        )
        if "max_age" in data and not data["max_age"].isdigit():
            raise InvalidRequestError("max_age must be a non-negative integer.")
        if "nonce" in data and not storable(data["nonce"], 255):
            raise InvalidRequestError("nonce must be 1 to 255 characters.")
        must_login, _why = _needs_login(data, signed_in)
        if must_login:
            if "none" in prompts:
                raise LoginRequiredError()
            return _login_redirect(oauth)
        assert signed_in is not None
        client = grant.client
        wanted = {s for s in scope_list(oauth.scope) if s in CONSENT_SCOPES}
        if decision is None and _consent_needed(
            db, signed_in, client.client_id, wanted, prompts=prompts, details=bool(details)
        ):
            if "none" in prompts:
                raise ConsentRequiredError()
            if details:
                # License sharing is asked for each time (wallet_api/routes/sharing.py).
                from wallet_api.routes import sharing  # deferred: sharing imports deps

                return sharing.consent_page(
                    request,
                    db,
                    client=client,
                    citizen=signed_in.citizen,
                    requests=details,
                    scopes=sorted(wanted, key=CONSENT_SCOPES.index),
                    params=_request_params(oauth),
                    ui_locales=data.get("ui_locales"),
                )
            return render(
                request,
                "login/consent.html",
                {
                    "client_name": client.name,
                    "scopes": sorted(wanted, key=CONSENT_SCOPES.index),
                    "params": _request_params(oauth),
                    "citizen_name": signed_in.citizen.name,
                },
                ui_locales=data.get("ui_locales"),
            )
        if decision == "deny":
            raise AccessDeniedError()
        if decision == "allow" and wanted:
            oidc_services.remember_consent(
                db,
                citizen_id=signed_in.citizen.id,
                client_id=client.client_id,
                scopes=wanted,
                now=utcnow(),
            )
        shared = None
        if decision == "allow" and details:
            from wallet_api.routes import sharing  # deferred: sharing imports deps

            shared = sharing.record_consent(
                request,
                db,
                client=client,
                citizen=signed_in.citizen,
                requests=details,
                approved=oauth.payload.datalist.get(sharing.APPROVAL_FIELD, []),
            )
    except OAuth2Error as error:
        error.redirect_uri = redirect_uri
        return authorization_error(request, error, state=state, issuer=issuer)
    user = signed_in.as_user()
    remember_client(
        db,
        record=signed_in.record,
        client_id=client.client_id,
        subject=provider.subject_for(client, user),
        now=utcnow(),
    )
    response = provider.create_authorization_response(oauth, user, grant)
    if shared is not None:
        from wallet_api.routes import sharing  # deferred: sharing imports deps

        sharing.bind_issued_code(db, provider, shared, response)
    db.commit()
    return with_iss(response, issuer)
