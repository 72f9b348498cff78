"""Scenarios 1–3: discovery and JWKS, client-credentials tokens, userinfo and introspection.

govwallet and the peer run side by side with the same workers, clients and algorithms;
each figure is compared at every concurrency level.
"""

from __future__ import annotations

import base64
import secrets
from urllib.parse import urlencode

import httpx

from bench.context import BenchContext
from bench.load import WrkRequest
from bench.results import Row
from bench.scenarios import login_flow
from bench.servers import Govwallet, Peer, floor_server, govwallet, peer

PEER = "oidc-provider"
SCOPE = "licenses:verify"
CITIZEN = "11010519491231002X"
PASSWORD = "Bench-password-2026!"


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _compare(
    ctx: BenchContext,
    scenario: str,
    ours: list[Row],
    theirs: list[Row],
    *,
    floor: Row | None = None,
) -> None:
    ratios = [o.value / t.value for o, t in zip(ours, theirs, strict=True) if t.value]
    worst = min(ratios) if ratios else None
    p99_ok = all(
        (o.p99_ms or 0) <= (t.p99_ms or 0) * 1.0 for o, t in zip(ours, theirs, strict=True)
    )
    detail = ", ".join(
        f"c{o.concurrency}: {o.value:,.0f} vs {t.value:,.0f} req/s, "
        f"p99 {o.p99_ms:.1f} vs {t.p99_ms:.1f} ms"
        for o, t in zip(ours, theirs, strict=True)
    )
    if all(row.server_cpu_us for row in (*ours, *theirs)):
        detail += "; server cpu per request " + ", ".join(
            f"c{o.concurrency}: {o.server_cpu_us:,.0f} vs {t.server_cpu_us:,.0f} µs"
            for o, t in zip(ours, theirs, strict=True)
        )
    if floor is not None:
        peer_c1 = next((t.value for t in theirs if t.concurrency == 1 and t.value), None)
        if peer_c1:
            detail += (
                f"; at c1 a bare uvloop server writing fixed bytes answers {floor.value:,.0f} "
                f"req/s, {floor.value / peer_c1:.2f}x the peer: the most a Python server on uvloop "
                "can reach here"
            )
    ctx.report.goal(
        scenario,
        f"throughput >= 1.5x {PEER} at every concurrency, p99 no worse",
        worst,
        target=1.5 if p99_ok else float("inf"),
        detail=detail + ("" if p99_ok else "; p99 worse somewhere"),
    )


def run(ctx: BenchContext, *, workers: int, login: bool = True, oidc: bool = True) -> None:
    secret = secrets.token_urlsafe(32)
    web_secret = secrets.token_urlsafe(32)
    userinfo_token = secrets.token_urlsafe(32)
    peer_config = {
        "scopes": ["openid", "profile", "offline_access", SCOPE],
        "clients": [
            {
                "client_id": "bench-agency",
                "client_secret": secret,
                "grant_types": ["client_credentials"],
                "redirect_uris": [],
                "response_types": [],
                "token_endpoint_auth_method": "client_secret_basic",
                "scope": SCOPE,
            },
            {
                "client_id": "bench-web",
                "client_secret": web_secret,
                "redirect_uris": ["http://127.0.0.1:9/callback"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        ],
        "userinfo_token": {
            "client_id": "bench-web",
            "account": "citizen-1",
            "token": userinfo_token,
        },
    }
    setup = [
        [
            "client",
            "add",
            "--name",
            "bench-agency",
            "--grant-type",
            "client_credentials",
            "--scope",
            SCOPE,
            "--json",
        ],
        [
            "client",
            "add",
            "--name",
            "bench-web",
            "--redirect-uri",
            "http://127.0.0.1:9/callback",
            "--scope",
            "openid",
            "--scope",
            "profile",
            "--json",
        ],
        [
            "citizen",
            "add",
            "--id-number",
            CITIZEN,
            "--name",
            "张三",
            "--password",
            PASSWORD,
            "--json",
        ],
    ]
    with govwallet(ctx.work_dir, workers=workers, database_url=ctx.postgres_url, setup=setup) as gw:
        if login:
            login_flow.run(
                ctx,
                gw_base=gw.base_url,
                client=gw.clients["bench-web"],
                username=CITIZEN,
                password=PASSWORD,
                workers=workers,
                server_pid=gw.pid,
            )
        if oidc:
            with (
                peer(ctx.work_dir, workers=workers, config=peer_config) as pr,
                ctx.watching({"govwallet": gw.pid, PEER: pr.pid}),
            ):
                _oidc(
                    ctx, gw, pr, secret=secret, web_secret=web_secret, userinfo_token=userinfo_token
                )


def _oidc(
    ctx: BenchContext, gw: Govwallet, pr: Peer, *, secret: str, web_secret: str, userinfo_token: str
) -> None:
    agency = gw.clients["bench-agency"]
    web = gw.clients["bench-web"]
    gw_meta = httpx.get(f"{gw.base_url}/.well-known/openid-configuration").json()
    pr_meta = httpx.get(f"{pr.base_url}/.well-known/openid-configuration").json()

    # 1. discovery and JWKS documents
    _side_by_side(
        ctx,
        "1",
        "discovery",
        {"url": f"{gw.base_url}/.well-known/openid-configuration"},
        {"url": f"{pr.base_url}/.well-known/openid-configuration"},
        label="1 discovery",
    )
    floor = _floors(ctx, httpx.get(gw_meta["jwks_uri"]).content)
    _side_by_side(
        ctx,
        "1",
        "jwks",
        {"url": gw_meta["jwks_uri"]},
        {"url": pr_meta["jwks_uri"]},
        label="1 jwks",
        floor=floor,
    )

    # 2. token endpoint, client_credentials
    body = urlencode({"grant_type": "client_credentials", "scope": SCOPE})
    _side_by_side(
        ctx,
        "2",
        "token client_credentials",
        {
            "url": gw_meta["token_endpoint"],
            "method": "POST",
            "body": body,
            "authorization": _basic(agency["client_id"], agency["client_secret"]),
        },
        {
            "url": pr_meta["token_endpoint"],
            "method": "POST",
            "body": body,
            "authorization": _basic("bench-agency", secret),
        },
        label="2 token",
    )

    # 3. userinfo and introspection with a valid access token
    citizen_token = login_flow.obtain_citizen_token(
        gw.base_url,
        client=web,
        username=CITIZEN,
        password=PASSWORD,
        scope="openid profile",
    )
    _side_by_side(
        ctx,
        "3",
        "userinfo",
        {"url": gw_meta["userinfo_endpoint"], "authorization": f"Bearer {citizen_token}"},
        {"url": pr_meta["userinfo_endpoint"], "authorization": f"Bearer {userinfo_token}"},
        label="3 userinfo",
    )
    _side_by_side(
        ctx,
        "3",
        "introspection",
        {
            "url": gw_meta["introspection_endpoint"],
            "method": "POST",
            "body": urlencode({"token": citizen_token}),
            "authorization": _basic(web["client_id"], web["client_secret"]),
        },
        {
            "url": pr_meta["introspection_endpoint"],
            "method": "POST",
            "body": urlencode({"token": userinfo_token}),
            "authorization": _basic("bench-web", web_secret),
        },
        label="3 introspection",
    )


def _side_by_side(
    ctx: BenchContext,
    scenario: str,
    measure: str,
    ours: WrkRequest,
    theirs: WrkRequest,
    *,
    label: str,
    floor: Row | None = None,
) -> None:
    """govwallet and the peer at every concurrency, their rounds taken in turn."""
    our_rows, their_rows = [], []
    for c in ctx.concurrencies:
        mine, peer_row = ctx.load_pair(
            scenario=scenario,
            measure=measure,
            concurrency=c,
            ours=("govwallet", ours),
            theirs=(PEER, theirs),
        )
        our_rows.append(mine)
        their_rows.append(peer_row)
    _compare(ctx, label, our_rows, their_rows, floor=floor)


def _floors(ctx: BenchContext, body: bytes) -> Row:
    """The floors at one connection (:mod:`bench.floor`), their rounds taken in turn:
    uvloop writing fixed bytes (returned) and node:http answering them. At c = 1 a
    request is a round trip between two processes; this is what the machine allows."""
    uvloop, node = "bare uvloop (no HTTP parsing)", "bare node:http"
    with (
        floor_server(ctx.work_dir, platform="uvloop", body=body) as (uvloop_url, uvloop_pid),
        floor_server(ctx.work_dir, platform="node", body=body) as (node_url, node_pid),
        ctx.watching({uvloop: uvloop_pid, node: node_pid}),
    ):
        uvloop_row, _ = ctx.load_pair(
            scenario="1",
            measure="floor: fixed answer, one process",
            concurrency=1,
            ours=(uvloop, {"url": uvloop_url}),
            theirs=(node, {"url": node_url}),
        )
    return uvloop_row
