"""The single sign-on session at the provider.

The browser holds only a random cookie value; the server keeps the record (who, when,
how: ``auth_time``, ``acr``, ``amr``), its ``sid`` (OpenID Back-Channel Logout 1.0
§2.1) and its expiry (absolute lifetime and idle timeout).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.insert_if_absent import insert_if_absent
from identity.models import Citizen
from identity.oidc.config import ProviderConfig, ProviderDigests
from identity.oidc.inputs import storable
from identity.oidc.models import SessionClient, SsoSession
from identity.oidc.tokens import aware

#: Touch ``last_seen_at`` at most this often (no write on every page view).
TOUCH_INTERVAL = timedelta(seconds=60)


def start_session(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    acr: str,
    amr: list[str],
    user_agent: str,
    now: datetime,
    config: ProviderConfig,
    digests: ProviderDigests,
) -> tuple[SsoSession, str]:
    """A new SSO session; returns the record and the cookie value (shown once)."""
    cookie = secrets.token_urlsafe(32)
    record = SsoSession(
        sid=secrets.token_urlsafe(24),
        cookie_digest=digests.session_cookie.digest(cookie),
        citizen_id=citizen_id,
        auth_time=now,
        acr=acr,
        amr=amr,
        user_agent=user_agent[:255],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=config.session_lifetime),
    )
    session.add(record)
    session.flush()
    return record, cookie


def renew_session(
    record: SsoSession,
    *,
    acr: str,
    amr: list[str],
    now: datetime,
    config: ProviderConfig,
    digests: ProviderDigests,
) -> str:
    """The same citizen authenticated again in this browser (``prompt=login``, ``max_age``,
    step-up): keep the ``sid`` (so every platform of the session is still told at logout),
    record the new authentication, and rotate the cookie. Returns the new cookie value."""
    cookie = secrets.token_urlsafe(32)
    record.cookie_digest = digests.session_cookie.digest(cookie)
    record.auth_time = now
    record.acr = acr
    record.amr = amr
    record.last_seen_at = now
    record.expires_at = now + timedelta(seconds=config.session_lifetime)
    return cookie


def is_active(record: SsoSession, *, now: datetime, config: ProviderConfig) -> bool:
    if record.ended_at is not None or aware(record.expires_at) <= now:
        return False
    return aware(record.last_seen_at) + timedelta(seconds=config.session_idle) > now


def find_session(
    session: Session,
    *,
    cookie: str | None,
    now: datetime,
    config: ProviderConfig,
    digests: ProviderDigests,
) -> tuple[SsoSession, Citizen] | None:
    """The active session named by the cookie, touched, and its citizen (one query);
    ``None`` when absent or over."""
    if not cookie or len(cookie) > 128:
        return None
    found = session.execute(
        select(SsoSession, Citizen)
        .join(Citizen, Citizen.id == SsoSession.citizen_id)
        .where(SsoSession.cookie_digest == digests.session_cookie.digest(cookie))
    ).one_or_none()
    if found is None:
        return None
    record, citizen = found
    if not is_active(record, now=now, config=config):
        return None
    if aware(record.last_seen_at) + TOUCH_INTERVAL < now:
        record.last_seen_at = now
    return record, citizen


def session_by_sid(session: Session, *, sid: str) -> SsoSession | None:
    if not storable(sid, 64):
        return None
    return session.scalars(select(SsoSession).where(SsoSession.sid == sid)).one_or_none()


def active_sessions(
    session: Session, *, citizen_id: uuid.UUID, now: datetime, config: ProviderConfig
) -> list[SsoSession]:
    rows = session.scalars(
        select(SsoSession)
        .where(SsoSession.citizen_id == citizen_id, SsoSession.ended_at.is_(None))
        .order_by(SsoSession.created_at.desc())
    )
    return [row for row in rows if is_active(row, now=now, config=config)]


def remember_client(
    session: Session, *, record: SsoSession, client_id: str, subject: str, now: datetime
) -> None:
    """Note that ``client_id`` was logged in through this session (for logout); once,
    however many authorizations of the session race (two tabs, a double click)."""
    insert_if_absent(
        session,
        SessionClient,
        {"session_id": record.id, "client_id": client_id, "subject": subject, "created_at": now},
        unique=("session_id", "client_id"),
    )


def session_clients(session: Session, *, record: SsoSession) -> list[SessionClient]:
    return list(session.scalars(select(SessionClient).where(SessionClient.session_id == record.id)))


#: How long a citizen has to enter the second factor after the password.
PENDING_LOGIN_SECONDS = 300


def pending_login_token(*, digests: ProviderDigests, citizen_id: uuid.UUID, now: datetime) -> str:
    """A signed, short-lived value naming the citizen whose password was just checked."""
    value = f"{citizen_id}.{int(now.timestamp()) + PENDING_LOGIN_SECONDS}"
    return f"{value}.{digests.pending_login.digest(value)}"


def read_pending_login(
    *, digests: ProviderDigests, token: str | None, now: datetime
) -> uuid.UUID | None:
    if not token or token.count(".") != 2 or len(token) > 200:
        return None
    citizen, expires, mac = token.split(".")
    if not digests.pending_login.matches(f"{citizen}.{expires}", mac):
        return None
    try:
        if int(expires) < now.timestamp():
            return None
        return uuid.UUID(citizen)
    except ValueError:
        return None
