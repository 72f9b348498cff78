"""Logout: ending SSO sessions and OpenID Back-Channel Logout 1.0 delivery.

https://openid.net/specs/openid-connect-backchannel-1_0.html

Ending a session writes one outbox row per client of the session that registered a
``backchannel_logout_uri``, in the same transaction, so no logout is lost when a
relying platform is down: a delivery loop posts the logout tokens and retries failures
with exponential backoff until they are accepted.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.oidc.clients import ClientRegistry
from identity.oidc.models import LogoutDelivery, SsoSession
from identity.oidc.sessions import session_clients
from identity.oidc.tokens import PROVIDER_OWNER, aware, revoke_for_session
from keys import KeyStore

logger = logging.getLogger("govwallet.oidc.logout")

#: §2.4: "the event identifier http://schemas.openid.net/event/backchannel-logout".
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: §2.4: explicit typing, "logout+jwt" (recommended by RFC 8725 §3.11).
LOGOUT_TOKEN_TYP = "logout+jwt"  # noqa: S105
LOGOUT_TOKEN_TTL = 120
MAX_BACKOFF_SECONDS = 3600
DELIVERY_TIMEOUT_SECONDS = 5.0
BATCH_SIZE = 50


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at an hour; the delivery is never given up."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def end_session(
    session: Session, *, record: SsoSession, clients: ClientRegistry, now: datetime
) -> int:
    """End ``record``: revoke its tokens and queue a logout token for each client to tell.

    Returns how many deliveries were queued.
    """
    if record.ended_at is not None:
        return 0
    record.ended_at = now
    revoke_for_session(session, sid=record.sid, now=now)
    queued = 0
    for member in session_clients(session, record=record):
        client = clients.get(member.client_id)
        if client is None or not client.backchannel_logout_uri:
            continue
        session.add(
            LogoutDelivery(
                client_id=client.client_id,
                backchannel_logout_uri=client.backchannel_logout_uri,
                subject=member.subject,
                sid=record.sid,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        queued += 1
    session.flush()
    return queued


def logout_token_claims(
    *, issuer: str, client_id: str, subject: str, sid: str
) -> dict[str, object]:
    """§2.4 Logout Token claims: iss, sub and/or sid, aud, iat, exp, jti, events; no nonce."""
    now = int(time.time())
    return {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": uuid.uuid4().hex,
        "sid": sid,
        #: §2.4: "events ... MUST contain the member name
        #: http://schemas.openid.net/event/backchannel-logout ... value MUST be a JSON object".
        "events": {BACKCHANNEL_EVENT: {}},
    }


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    delivered: int
    failed: int


def deliver_due(
    *,
    sessions: Callable[[], Session],
    keystore: KeyStore,
    issuer: str,
    http: httpx.Client,
    now: Callable[[], datetime],
    only_due: bool = True,
) -> DeliveryReport:
    """Post every due logout token once; reschedule failures with backoff."""
    delivered = failed = 0
    with sessions() as session:
        stmt = select(LogoutDelivery).where(LogoutDelivery.delivered_at.is_(None))
        if only_due:
            stmt = stmt.where(LogoutDelivery.next_attempt_at <= now())
        # Several app nodes run the loop: a row being delivered by one is skipped by the
        # others (PostgreSQL; SQLite has a single writer anyway).
        stmt = stmt.order_by(LogoutDelivery.next_attempt_at).limit(BATCH_SIZE)
        rows = list(session.scalars(stmt.with_for_update(skip_locked=True)))
        for row in rows:
            signer = keystore.signer(session, owner=PROVIDER_OWNER, alg="RS256")
            token = signer.sign_jwt(
                logout_token_claims(
                    issuer=issuer, client_id=row.client_id, subject=row.subject, sid=row.sid
                ),
                header={"typ": LOGOUT_TOKEN_TYP},
            )
            error = _post(http, row.backchannel_logout_uri, token)
            row.attempts += 1
            if error is None:
                row.delivered_at = now()
                row.last_error = None
                delivered += 1
            else:
                row.last_error = error[:255]
                row.next_attempt_at = now() + backoff(row.attempts)
                failed += 1
                logger.warning(
                    "back-channel logout delivery failed",
                    extra={"client_id": row.client_id, "attempts": row.attempts, "error": error},
                )
        session.commit()
    return DeliveryReport(delivered=delivered, failed=failed)


def pending_count(session: Session) -> int:
    return len(
        list(
            session.scalars(select(LogoutDelivery.id).where(LogoutDelivery.delivered_at.is_(None)))
        )
    )


def _post(http: httpx.Client, uri: str, token: str) -> str | None:
    """§2.5: the RP responds 200 OK (204 tolerated); anything else is a failure to retry."""
    try:
        response = http.post(
            uri,
            data={"logout_token": token},
            timeout=DELIVERY_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}"
    if response.status_code in (200, 204):
        return None
    return f"HTTP {response.status_code}"


def next_due(session: Session) -> datetime | None:
    value = session.scalars(
        select(LogoutDelivery.next_attempt_at)
        .where(LogoutDelivery.delivered_at.is_(None))
        .order_by(LogoutDelivery.next_attempt_at)
        .limit(1)
    ).first()
    return aware(value) if value is not None else None
