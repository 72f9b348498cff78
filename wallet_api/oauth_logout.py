"""Signing out: ending the SSO session and delivering back-channel logout tokens.

The outbox rows are written in the request's transaction
(:func:`identity.oidc.logout.end_session`); :class:`LogoutDeliveryLoop` runs in the
application's lifespan, wakes when a session ends (or every few seconds) and posts
what is due, so a relying platform that is down gets its logout token once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx
from authlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from identity.oidc.logout import DeliveryReport, deliver_due, end_session
from identity.oidc.models import SsoSession
from identity.oidc.sessions import session_by_sid
from identity.oidc.tokens import prune, utcnow
from wallet_api.oauth_flow import SignedIn
from wallet_api.oauth_server import (
    StarletteOAuth2Request,
    StarletteProvider,
    error_response,
    invalid_request,
)
from wallet_api.pages import render
from wallet_api.settings import Settings

logger = logging.getLogger("govwallet.oidc.logout")
#: Expired codes, revoked jtis and used client assertions are deleted this often.
PRUNE_INTERVAL_SECONDS = 600.0
#: How long shutdown waits for a running delivery round (each post times out after 5 s).
STOP_TIMEOUT_SECONDS = 30.0


class LogoutDeliveryLoop:
    """Delivers due logout tokens in the background of one application process.

    Stopping is graceful: a round that is running (in a worker thread, holding a
    database transaction) is allowed to finish before the application closes its engine.
    """

    def __init__(self, provider: StarletteProvider, *, interval: float) -> None:
        self._provider = provider
        self._interval = interval
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._http = httpx.Client(headers={"User-Agent": "govwallet-backchannel-logout"})

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                self._task.cancel()
        self._http.close()

    def prune_once(self) -> None:
        with self._provider.sessions() as session:
            prune(session, now=utcnow())
            session.commit()

    def deliver_once(self) -> DeliveryReport:
        return deliver_due(
            sessions=self._provider.sessions,
            keystore=self._provider.keystore,
            issuer=self._provider.config.issuer,
            http=self._http,
            now=utcnow,
        )

    async def _run(self) -> None:
        next_prune = time.monotonic() + PRUNE_INTERVAL_SECONDS
        while not self._stopping:
            self._wake.clear()  # a wake-up during the round below starts another one
            try:
                await run_in_threadpool(self.deliver_once)
                if time.monotonic() >= next_prune and not self._stopping:
                    await run_in_threadpool(self.prune_once)
                    next_prune = time.monotonic() + PRUNE_INTERVAL_SECONDS
            except Exception:
                logger.exception("back-channel logout delivery round failed")
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)


def sign_out(db: Session, provider: StarletteProvider, record: SsoSession | None) -> int:
    """End ``record`` (queues logout tokens); the caller commits and then wakes the loop."""
    if record is None:
        return 0
    return end_session(db, record=record, clients=provider.clients, now=utcnow())


def clear_session_cookie(response: Response, settings: Settings) -> Response:
    response.delete_cookie(
        settings.session_cookie_name,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite=settings.cookie_samesite,
    )
    return response


def set_session_cookie(response: Response, settings: Settings, value: str) -> Response:
    response.set_cookie(
        settings.session_cookie_name,
        value,
        max_age=settings.session_lifetime_seconds,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite=settings.cookie_samesite,
    )
    return response


def rp_initiated_logout(
    request: Request,
    oauth: StarletteOAuth2Request,
    provider: StarletteProvider,
    settings: Settings,
    sign_in: SignedIn | None,
) -> Response:
    """OpenID Connect RP-Initiated Logout 1.0 §2–§3 (validation by Authlib's endpoint)."""
    confirmed = oauth.method == "POST" and oauth.form.get("confirm") == "yes"
    if confirmed:
        request.app.state.csrf.verify(request, oauth.form.get("csrf_token"))
        oauth.confirmed = True
    try:
        ended = provider.validate_endpoint_request("end_session", oauth)
    except OAuth2Error as error:
        return error_response(error)
    except ValueError:
        return invalid_request("The request is malformed.")
    claims = ended.id_token_claims
    #: §2: without a valid id_token_hint the OP "SHOULD ask the End-User whether to log
    #: out" — a cross-site GET alone never ends a session.
    if claims is None and not confirmed:
        return render(
            request,
            "login/logout_confirm.html",
            {"params": [(k, v) for k, v in oauth.payload.data.items() if k != "csrf_token"]},
            ui_locales=ended.ui_locales,
        )
    record = sign_in.record if sign_in is not None else None
    hinted_sid = claims.get("sid") if claims is not None else None
    if hinted_sid and (record is None or record.sid != hinted_sid):
        # The ID token names its own session: that one ends (the RP is logging it out).
        record = session_by_sid(oauth.required_db, sid=str(hinted_sid))
    sign_out(oauth.required_db, provider, record)
    oauth.required_db.commit()
    request.app.state.logout_loop.wake()
    if ended.redirect_uri:
        response: Response = RedirectResponse(ended.redirect_uri, status_code=303)
    else:
        response = render(request, "login/logged_out.html", ui_locales=ended.ui_locales)
    return clear_session_cookie(response, settings)
