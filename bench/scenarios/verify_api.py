"""Scenario 6: ``POST /api/v1/verify`` over HTTP, against the in-process rate of scenario 5.

A real agency (client credentials, ``licenses:verify``) verifies a presentation of a
license that the same server issued: five disclosed fields, status list and trust list
from the server itself.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from bench.context import BenchContext
from bench.servers import govwallet
from bench.synthetic import AGENCY_CREDIT_CODE, AGENCY_REGION, TYPE_CODE, license_body

DISCLOSE = ("holder_name", "license_number", "issuing_agency_name", "valid_from", "valid_until")


def run(ctx: BenchContext, *, workers: int, in_process_rate: float | None = None) -> None:
    from licenses import sdjwt

    setup = [
        [
            "agency",
            "add",
            "--name",
            "湖南省住房和城乡建设厅",
            "--credit-code",
            AGENCY_CREDIT_CODE,
            "--region",
            AGENCY_REGION,
            "--license-type",
            TYPE_CODE,
            "--json",
        ]
    ]
    with govwallet(ctx.work_dir, workers=workers, database_url=ctx.postgres_url, setup=[]) as gw:
        agency = json.loads(gw.cli(*setup[0]))
        meta = httpx.get(f"{gw.base_url}/.well-known/openid-configuration").json()
        token = (
            httpx.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "client_credentials",
                    "scope": "licenses:issue licenses:verify",
                },
                auth=(agency["client_id"], agency["client_secret"]),
            )
            .raise_for_status()
            .json()["access_token"]
        )
        response = httpx.post(
            f"{gw.base_url}/api/v1/licenses",
            json=license_body(1),
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 201:
            raise SystemExit(f"bench: issuing the benchmark license failed: {response.text[:800]}")
        issued = response.json()
        presentation = sdjwt.present(
            credential=issued["credential"],
            disclose=DISCLOSE,
            holder=None,
            audience="",
            nonce="",
            iat=datetime.now(UTC),
        )
        body = json.dumps({"presentation": presentation})
        check = httpx.post(
            f"{gw.base_url}/api/v1/verify",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        if check.status_code != 200 or not check.json().get("valid"):
            raise SystemExit(
                f"bench: the verify API refused the benchmark presentation: {check.text[:500]}"
            )
        with ctx.watching({"govwallet": gw.pid}):
            rows = [
                ctx.load(
                    scenario="6",
                    measure="POST /api/v1/verify",
                    system="govwallet",
                    url=f"{gw.base_url}/api/v1/verify",
                    concurrency=c,
                    method="POST",
                    body=body,
                    authorization=f"Bearer {token}",
                    content_type="application/json",
                )
                for c in ctx.concurrencies
            ]
        best = max(r.value for r in rows)
        if in_process_rate:
            ctx.report.goal(
                "6",
                "HTTP verify vs in-process verification on the same cores (informative)",
                best / (in_process_rate * workers),
                target=0.5,
                detail=f"{best:,.0f} req/s vs {in_process_rate * workers:,.0f} in process",
            )
