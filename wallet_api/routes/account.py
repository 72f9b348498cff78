"""Citizens' account pages (registration, account, TOTP) and the registration API.

Server-rendered, Simplified Chinese and English, no JavaScript; every form carries
the CSRF token. The pages that need the logged-in citizen use
``wallet_api.deps.CurrentCitizen`` (the OpenID provider's SSO-session dependency);
the account page includes the provider's sessions and connected-platforms section.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from identity import services, totp
from identity.errors import IdentityError, LoginThrottled, WeakPassword
from identity.models import Citizen
from identity.schemas import CitizenCreate, CitizenCreated
from wallet_api.deps import CurrentCitizen, ProviderDep, RuntimeDep, SessionDep, SignInDep
from wallet_api.i18n import negotiate, translator
from wallet_api.pages import render
from wallet_api.routes.login import account_sessions_context
from wallet_api.runtime import Runtime

router = APIRouter(tags=["accounts"])

CsrfField = Annotated[str, Form(alias="csrf_token")]
NO_STORE = {"Cache-Control": "no-store"}


def _error(
    request: Request, exc: IdentityError | None, *, code: str | None = None
) -> dict[str, str | None]:
    """What a form shows for an error: the field it is about and a translated message."""
    t = translator(negotiate(request))
    params: dict[str, Any] = {}
    if isinstance(exc, WeakPassword):
        key, params = f"account.error.weak-password.{exc.rule}", exc.params
    elif isinstance(exc, LoginThrottled):
        key, params = "account.error.login-throttled", {"minutes": exc.retry_after_minutes}
    else:
        key = f"account.error.{code or (exc.code if exc else '')}"
    message = t(key, **params)
    if message == key and exc is not None:
        message = str(exc)
    return {"field": exc.field if exc else "password_confirm", "message": message}


@router.get("/account/register", response_class=HTMLResponse, include_in_schema=False)
def register_form(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return render(request, "account/register.html", _register_context(runtime, {}, None))


def _register_context(
    runtime: Runtime, values: dict[str, str], error: dict[str, str | None] | None
) -> dict[str, Any]:
    return {
        "values": values,
        "error": error,
        "min_length": runtime.identity.passwords.policy.min_length,
    }


@router.post("/account/register", response_class=HTMLResponse, include_in_schema=False)
def register_submit(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    csrf_token: CsrfField = "",
    id_number: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_confirm: Annotated[str, Form(max_length=1024)] = "",
) -> HTMLResponse:
    request.app.state.csrf.verify(request, csrf_token)
    values = {"id_number": id_number, "name": name, "phone": phone}
    if password != password_confirm:
        error = _error(request, None, code="password-mismatch")
        context = _register_context(runtime, values, error)
        return render(request, "account/register.html", context, status_code=422)
    try:
        citizen = services.register_citizen(
            session,
            identity=runtime.identity,
            id_number=id_number,
            name=name,
            password=password,
            phone=phone or None,
        )
        session.commit()
    except IdentityError as exc:
        session.rollback()
        context = _register_context(runtime, values, _error(request, exc))
        return render(request, "account/register.html", context, status_code=exc.status)
    return render(request, "account/registered.html", {"loa": citizen.loa}, status_code=201)


@router.post(
    "/api/v1/accounts",
    status_code=201,
    summary="Register a citizen (real-name verified when the population register agrees)",
    responses={
        409: {"description": "An account with this identity number or phone exists"},
        422: {"description": "A field breaks a rule; the problem names the field and rule"},
    },
)
def register_api(body: CitizenCreate, session: SessionDep, runtime: RuntimeDep) -> CitizenCreated:
    citizen = services.register_citizen(
        session,
        identity=runtime.identity,
        id_number=body.id_number,
        name=body.name,
        password=body.password,
        phone=body.phone,
    )
    session.commit()
    return CitizenCreated(sub=citizen.subject, loa=citizen.loa)


# -- pages for the logged-in citizen ----------------------------------------------------


def _mask(value: str | None, keep_start: int, keep_end: int) -> str | None:
    if value is None:
        return None
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(
    request: Request,
    citizen: CurrentCitizen,
    session: SessionDep,
    runtime: RuntimeDep,
    provider: ProviderDep,
    sign_in: SignInDep,
) -> HTMLResponse:
    identity = runtime.identity
    context = {
        "citizen": citizen,
        "masked_id_number": _mask(
            services.citizen_id_number(identity=identity, citizen=citizen), 3, 4
        ),
        "masked_phone": _mask(services.citizen_phone(identity=identity, citizen=citizen), 3, 4),
        "codes_left": services.unused_recovery_codes(citizen=citizen),
        # Active sessions and connected platforms: the OpenID provider's section.
        **account_sessions_context(
            session, provider, citizen, sign_in.record.sid if sign_in else None
        ),
    }
    response = render(request, "account/index.html", context)
    session.commit()  # the SSO session's last-seen time
    response.headers.update(NO_STORE)
    return response


def _totp_page(
    request: Request,
    runtime: Runtime,
    citizen: Citizen,
    *,
    error: dict[str, str | None] | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "citizen": citizen,
        "enrolment": services.pending_totp_enrolment(identity=runtime.identity, citizen=citizen),
        "codes_left": services.unused_recovery_codes(citizen=citizen),
        "error": error,
    }
    response = render(request, "account/totp.html", context, status_code=status)
    response.headers.update(NO_STORE)
    return response


@router.get("/account/totp", response_class=HTMLResponse, include_in_schema=False)
def totp_page(request: Request, citizen: CurrentCitizen, runtime: RuntimeDep) -> HTMLResponse:
    return _totp_page(request, runtime, citizen)


@router.get("/account/totp/qr.png", include_in_schema=False)
def totp_qr_png(citizen: CurrentCitizen, runtime: RuntimeDep) -> Response:
    enrolment = services.pending_totp_enrolment(identity=runtime.identity, citizen=citizen)
    if enrolment is None:
        return Response(status_code=404, headers=NO_STORE)
    return Response(totp.qr_png(enrolment.uri), media_type="image/png", headers=NO_STORE)


@router.post("/account/totp/start", include_in_schema=False)
def totp_start(
    request: Request,
    citizen: CurrentCitizen,
    session: SessionDep,
    runtime: RuntimeDep,
    csrf_token: CsrfField = "",
) -> Response:
    request.app.state.csrf.verify(request, csrf_token)
    try:
        services.begin_totp_enrolment(session, identity=runtime.identity, citizen=citizen)
    except IdentityError as exc:
        return _totp_page(request, runtime, citizen, error=_error(request, exc), status=exc.status)
    session.commit()
    return RedirectResponse("/account/totp", status_code=303)


def _otp_action(
    request: Request,
    citizen: Citizen,
    session: Session,
    runtime: Runtime,
    csrf_token: str,
    otp: str,
    action: Callable[..., list[str] | None],
) -> Response:
    """Run ``action`` (which checks ``otp``); show recovery codes or the form with the error."""
    request.app.state.csrf.verify(request, csrf_token)
    try:
        codes = action(session, identity=runtime.identity, citizen=citizen, otp=otp)
        session.commit()
    except IdentityError as exc:
        session.commit()  # a spent code stays spent; the throttle counts in its own transaction
        return _totp_page(request, runtime, citizen, error=_error(request, exc), status=exc.status)
    if codes is None:
        return RedirectResponse("/account", status_code=303)
    response = render(request, "account/recovery_codes.html", {"codes": codes})
    response.headers.update(NO_STORE)
    return response


OtpField = Annotated[str, Form(max_length=32)]


def _otp_route(path: str, action: Callable[..., list[str] | None]) -> None:
    """``POST path``: check the CSRF token and the ``otp`` field, then run ``action``."""

    @router.post(path, response_class=HTMLResponse, include_in_schema=False)
    def handler(
        request: Request,
        citizen: CurrentCitizen,
        session: SessionDep,
        runtime: RuntimeDep,
        csrf_token: CsrfField = "",
        otp: OtpField = "",
    ) -> Response:
        return _otp_action(request, citizen, session, runtime, csrf_token, otp, action)


#: Confirm enrolment → recovery codes; new recovery codes; turn TOTP off → the account page.
_otp_route("/account/totp/confirm", services.confirm_totp_enrolment)
_otp_route("/account/totp/recovery-codes", services.regenerate_recovery_codes)
_otp_route("/account/totp/disable", services.disable_totp)
