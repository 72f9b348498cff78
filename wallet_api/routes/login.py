"""The provider's pages: log in, second factor, and the account's sessions and platforms.

Plain HTML forms with CSRF protection, no JavaScript; field names follow the testing
contract (``username``, ``password``, ``otp``). The consent page and the logout
confirmation are rendered by the authorization and end-session endpoints.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from identity import services as accounts
from identity.errors import IdentityError, LoginThrottled
from identity.models import Citizen
from identity.oidc import services as oidc_services
from identity.oidc.errors import UnknownSession
from identity.oidc.sessions import (
    active_sessions,
    pending_login_token,
    read_pending_login,
    renew_session,
    session_by_sid,
    start_session,
)
from identity.oidc.tokens import utcnow
from wallet_api.deps import (
    CurrentCitizen,
    ProviderDep,
    RuntimeDep,
    SessionDep,
    SettingsDep,
    SignInDep,
)
from wallet_api.oauth_flow import current_sign_in
from wallet_api.oauth_logout import clear_session_cookie, set_session_cookie, sign_out
from wallet_api.oauth_server import StarletteProvider
from wallet_api.pages import render
from wallet_api.settings import Settings

router = APIRouter(tags=["login"], include_in_schema=False)

PENDING_COOKIE = "gw_pending_login"
DEFAULT_NEXT = "/account"


def safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect (``//evil``, ``/\\evil``, URLs)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return DEFAULT_NEXT
    if any(ord(ch) < 32 for ch in value) or len(value) > 4000:
        return DEFAULT_NEXT
    return value


def _hints(next_url: str) -> dict[str, str]:
    """``login_hint`` and ``ui_locales`` of the authorization request we came from."""
    query = parse_qs(urlsplit(next_url).query)
    return {key: query[key][0] for key in ("login_hint", "ui_locales") if key in query}


def _login_page(
    request: Request,
    next_url: str,
    *,
    error: str | None = None,
    status: int = 200,
    username: str = "",
) -> Response:
    hints = _hints(next_url)
    return render(
        request,
        "login/login.html",
        {
            "next": next_url,
            "username": username or hints.get("login_hint", ""),
            "error": error,
            "registered": request.query_params.get("registered") == "1",
        },
        status_code=status,
        ui_locales=hints.get("ui_locales"),
    )


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signed_in_response(
    request: Request,
    db: Session,
    provider: StarletteProvider,
    settings: Settings,
    *,
    citizen: Citizen,
    second_factor: bool,
    next_url: str,
) -> Response:
    """Start (or, for the same citizen in this browser, renew) the SSO session."""
    now = utcnow()
    acr = accounts.acr_for(citizen=citizen, second_factor=second_factor)
    amr = ["pwd", "otp"] if second_factor else ["pwd"]
    current = current_sign_in(request, db, provider, settings)
    if current is not None and current.citizen.id == citizen.id:
        cookie = renew_session(
            current.record,
            acr=acr,
            amr=amr,
            now=now,
            config=provider.config,
            digests=provider.digests,
        )
    else:
        # Another citizen was logged in in this browser: that session ends first.
        sign_out(db, provider, current.record if current else None)
        _, cookie = start_session(
            db,
            citizen_id=citizen.id,
            acr=acr,
            amr=amr,
            user_agent=request.headers.get("user-agent", ""),
            now=now,
            config=provider.config,
            digests=provider.digests,
        )
    db.commit()
    if current is not None and current.citizen.id != citizen.id:
        request.app.state.logout_loop.wake()
    response = RedirectResponse(next_url, status_code=303)
    response.delete_cookie(PENDING_COOKIE, path="/")
    return set_session_cookie(response, settings, cookie)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, safe_next(next))


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    provider: ProviderDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=4000)] = DEFAULT_NEXT,
) -> Response:
    request.app.state.csrf.verify(request, csrf_token)
    next_url = safe_next(next)
    t_key = "login.error.failed"
    try:
        citizen = accounts.authenticate(
            session,
            identity=runtime.identity,
            username=username,
            password=password,
            client_address=_client_address(request),
        )
    except LoginThrottled as exc:
        return _login_page(
            request,
            next_url,
            error=f"login.error.throttled:{exc.retry_after_minutes}",
            status=429,
            username=username,
        )
    except IdentityError:
        # One answer for unknown accounts, wrong passwords and malformed usernames.
        return _login_page(request, next_url, error=t_key, status=401, username=username)
    if citizen.totp_enabled:
        session.commit()
        response = RedirectResponse("/login/otp?" + _query({"next": next_url}), status_code=303)
        response.set_cookie(
            PENDING_COOKIE,
            pending_login_token(digests=provider.digests, citizen_id=citizen.id, now=utcnow()),
            max_age=300,
            path="/",
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
        )
        return response
    # The password's check and the new session are committed together.
    return _signed_in_response(
        request,
        session,
        provider,
        settings,
        citizen=citizen,
        second_factor=False,
        next_url=next_url,
    )


@router.get("/login/otp")
def otp_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login/otp.html", {"next": safe_next(next), "error": None})


@router.post("/login/otp")
def otp_submit(
    request: Request,
    session: SessionDep,
    provider: ProviderDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    otp: Annotated[str, Form(max_length=64)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=4000)] = DEFAULT_NEXT,
) -> Response:
    request.app.state.csrf.verify(request, csrf_token)
    next_url = safe_next(next)
    citizen_id = read_pending_login(
        digests=provider.digests, token=request.cookies.get(PENDING_COOKIE), now=utcnow()
    )
    citizen = session.get(Citizen, citizen_id) if citizen_id else None
    if citizen is None:
        return RedirectResponse("/login?" + _query({"next": next_url}), status_code=303)
    try:
        accounts.verify_second_factor(
            session,
            identity=runtime.identity,
            citizen=citizen,
            otp=otp,
            client_address=_client_address(request),
        )
    except LoginThrottled as exc:
        session.commit()
        return render(
            request,
            "login/otp.html",
            {"next": next_url, "error": f"login.error.throttled:{exc.retry_after_minutes}"},
            status_code=429,
        )
    except IdentityError:
        session.commit()
        return render(
            request,
            "login/otp.html",
            {"next": next_url, "error": "login.error.otp"},
            status_code=401,
        )
    return _signed_in_response(
        request, session, provider, settings, citizen=citizen, second_factor=True, next_url=next_url
    )


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    provider: ProviderDep,
    settings: SettingsDep,
    sign_in: SignInDep,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """The portal's own "log out" button: ends this browser's session everywhere."""
    request.app.state.csrf.verify(request, csrf_token)
    sign_out(session, provider, sign_in.record if sign_in else None)
    session.commit()
    request.app.state.logout_loop.wake()
    response = render(request, "login/logged_out.html")
    return clear_session_cookie(response, settings)


@router.get("/account/sessions")
def account_sessions(
    request: Request,
    session: SessionDep,
    provider: ProviderDep,
    citizen: CurrentCitizen,
    sign_in: SignInDep,
) -> Response:
    return render(
        request,
        "login/sessions.html",
        account_sessions_context(
            session, provider, citizen, sign_in.record.sid if sign_in else None
        ),
    )


def account_sessions_context(
    session: Session, provider: StarletteProvider, citizen: Citizen, current_sid: str | None
) -> dict[str, object]:
    """What ``login/account_sessions.html`` needs (the account page includes it)."""
    return {
        "sso_sessions": active_sessions(
            session,
            citizen_id=citizen.id,
            now=utcnow(),
            config=provider.config,
        ),
        "current_sid": current_sid,
        "platforms": oidc_services.connected_platforms(session, citizen_id=citizen.id),
    }


@router.post("/account/sessions/end")
def end_account_session(
    request: Request,
    session: SessionDep,
    provider: ProviderDep,
    settings: SettingsDep,
    citizen: CurrentCitizen,
    sid: Annotated[str, Form(max_length=64)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    request.app.state.csrf.verify(request, csrf_token)
    record = session_by_sid(session, sid=sid)
    if record is None or record.citizen_id != citizen.id:
        raise UnknownSession("No such session of yours.")
    sign_out(session, provider, record)
    session.commit()
    request.app.state.logout_loop.wake()
    response = RedirectResponse("/account/sessions", status_code=303)
    if request.cookies.get(settings.session_cookie_name) and record.ended_at is not None:
        own = provider.digests.session_cookie.matches(
            request.cookies[settings.session_cookie_name], record.cookie_digest
        )
        if own:
            clear_session_cookie(response, settings)
            response.headers["location"] = "/login"
    return response


@router.post("/account/consents/withdraw")
def withdraw_consent(
    request: Request,
    session: SessionDep,
    citizen: CurrentCitizen,
    client_id: Annotated[str, Form(max_length=64)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    request.app.state.csrf.verify(request, csrf_token)
    oidc_services.withdraw_consent(
        session, citizen_id=citizen.id, client_id=client_id, now=utcnow()
    )
    session.commit()
    return RedirectResponse("/account/sessions", status_code=303)


def _query(params: dict[str, str]) -> str:
    return urlencode(params)
