"""identity.oidc.logout: the back-channel logout outbox and its delivery with backoff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import cast

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy import select

from identity.models import Citizen
from identity.oidc.logout import (
    BACKCHANNEL_EVENT,
    DeliveryReport,
    backoff,
    deliver_due,
    end_session,
)
from identity.oidc.models import LogoutDelivery, OAuthClient
from identity.oidc.sessions import remember_client, start_session
from identity.oidc.tokens import utcnow
from wallet_api.oauth_server import StarletteProvider
from wallet_api.runtime import PROVIDER_OWNER, Runtime


def _ended_session(
    runtime: Runtime,
    provider: StarletteProvider,
    make_citizen: Callable[..., Citizen],
    make_client: Callable[..., tuple[OAuthClient, str | None]],
    *,
    with_uri: bool = True,
) -> tuple[OAuthClient, str, int, int]:
    citizen = make_citizen()
    told, _ = make_client(backchannel_logout_uri="https://rp.example/bcl" if with_uri else None)
    silent, _ = make_client()
    now = utcnow()
    with runtime.transaction() as session:
        record, _ = start_session(
            session,
            citizen_id=citizen.id,
            acr="urn:govwallet:loa:1",
            amr=["pwd"],
            user_agent="test",
            now=now,
            config=provider.config,
            digests=provider.digests,
        )
        for client in (told, silent):
            remember_client(
                session, record=record, client_id=client.client_id, subject="s", now=now
            )
        queued = end_session(session, record=record, clients=provider.clients, now=now)
        again = end_session(session, record=record, clients=provider.clients, now=now)
        sid = record.sid
    return told, sid, queued, again


def test_only_clients_with_a_logout_uri_are_queued_once(
    runtime: Runtime,
    provider: StarletteProvider,
    make_citizen: Callable[..., Citizen],
    make_client: Callable[..., tuple[OAuthClient, str | None]],
) -> None:
    _, _, queued, again = _ended_session(runtime, provider, make_citizen, make_client)
    assert queued == 1
    assert again == 0


def test_failed_delivery_is_retried_with_backoff_then_delivered(
    runtime: Runtime,
    provider: StarletteProvider,
    make_citizen: Callable[..., Citizen],
    make_client: Callable[..., tuple[OAuthClient, str | None]],
) -> None:
    told, sid, _, _ = _ended_session(runtime, provider, make_citizen, make_client)
    seen: list[str] = []
    up = {"value": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if not up["value"]:
            return httpx.Response(503)
        seen.append(request.content.decode())
        return httpx.Response(200)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    clock = {"now": utcnow()}

    def deliver() -> DeliveryReport:
        return deliver_due(
            sessions=runtime.sessions,
            keystore=runtime.keystore,
            issuer=runtime.settings.issuer_url,
            http=http,
            now=lambda: clock["now"],
        )

    assert deliver().failed == 1
    assert deliver().failed == 0  # not due yet: backoff
    with runtime.sessions() as session:
        row = session.scalars(select(LogoutDelivery)).one()
        assert row.attempts == 1
        assert row.last_error == "HTTP 503"
    up["value"] = True
    clock["now"] += timedelta(seconds=5)
    report = deliver()
    assert report.delivered == 1
    token = seen[0].removeprefix("logout_token=")
    with runtime.sessions() as session:
        jwks = KeySet.import_key_set(
            cast(KeySetSerialization, runtime.keystore.jwks(session, owner=PROVIDER_OWNER))
        )
    decoded = jwt.decode(token, jwks, algorithms=["RS256"])
    assert decoded.header["typ"] == "logout+jwt"
    assert decoded.claims["aud"] == told.client_id
    assert decoded.claims["sid"] == sid
    assert decoded.claims["events"] == {BACKCHANNEL_EVENT: {}}
    assert deliver().delivered == 0  # delivered once, never again


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(40).total_seconds() == 3600
