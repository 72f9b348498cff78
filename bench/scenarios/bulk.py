"""Scenario 7: bulk issuance into PostgreSQL and SQLite — licenses/s and peak memory.

``govwallet license import`` runs in a fresh process per measurement, with its default
signing processes for long files (one per core). The process reports its own
peak RSS plus that of its largest signing process, so "memory flat as the batch grows"
is the ratio of that sum at the full batch to the sum at a fifth of it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from bench.context import BenchContext
from bench.databases import fresh_postgres_schema
from bench.results import Row
from bench.servers import REPO_ROOT
from bench.synthetic import AGENCY_CREDIT_CODE, AGENCY_REGION, TYPE_CODE, write_jsonl
from licenses.bulk_signing import default_processes

_RUNNER = """
import resource, sys, json
from wallet_api.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    signer = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("BENCH_MAXRSS_KB", own + signer, file=sys.stderr)
"""


#: Signing processes beside the importer: ``license import``'s default for long files.
SIGNERS = default_processes()


def _env(work: Path, database_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "GOVWALLET_DATA_DIR": str(work / "data"),
        "GOVWALLET_KEY_ENCRYPTION_SECRET": secrets.token_hex(32),
        "GOVWALLET_LOG_LEVEL": "WARNING",
    }
    if database_url:
        env["GOVWALLET_DATABASE_URL"] = database_url
    return env


def _run(env: dict[str, str], *args: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=7200,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: govwallet {' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
    rss = next(
        int(line.split()[1])
        for line in done.stderr.splitlines()
        if line.startswith("BENCH_MAXRSS_KB")
    )
    return done.stdout, rss


def _import(work: Path, database_url: str | None, count: int) -> tuple[float, int]:
    work.mkdir(parents=True)
    env = _env(work, database_url)
    out, _ = _run(
        env,
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
    )
    agency_id = json.loads(out)["agency_id"]
    data = write_jsonl(work / "licenses.jsonl", count)
    started = time.perf_counter()
    _, rss = _run(
        env,
        "license",
        "import",
        "--agency",
        agency_id,
        str(data),
        "--signers",
        str(SIGNERS),
        "--json",
    )
    return count / (time.perf_counter() - started), rss


def run(ctx: BenchContext, *, count: int) -> None:
    for database in ("postgresql", "sqlite"):
        rates, peaks = [], {}
        for fraction in (5, 1):
            n = max(100, count // fraction)
            with fresh_postgres_schema(
                ctx.postgres_url if database == "postgresql" else None
            ) as url:
                work = ctx.work_dir / f"bulk-{database}-{n}-{secrets.token_hex(3)}"
                rate, rss = _import(work, url, n)
            peaks[n] = rss
            if fraction == 1:
                rates.append(rate)
        full, part = max(peaks), min(peaks)
        growth = peaks[full] / peaks[part]
        ctx.report.add(
            Row(
                "7",
                f"bulk issuance into {database}",
                "govwallet",
                rates[0],
                "licenses/s",
                notes=f"{full:,} licenses, {SIGNERS} signing process(es)",
            )
        )
        ctx.report.add(
            Row(
                "7",
                f"peak memory, {database}",
                "govwallet",
                peaks[full] / 1024,
                "MiB",
                notes=f"{peaks[part] / 1024:.0f} MiB at {part:,}; "
                f"x{growth:.2f} for {full // part}x the batch",
            )
        )
        if database == "postgresql":
            ctx.report.goal(
                "7",
                ">= 2,000 licenses/s into PostgreSQL",
                rates[0] / 2000,
                target=1.0,
                detail=f"{rates[0]:,.0f} licenses/s for {full:,}",
            )
        ctx.report.goal(
            "7",
            f"memory flat as the batch grows ({database})",
            1.2 / growth,
            target=1.0,
            detail=f"peak x{growth:.2f} from {part:,} to {full:,} licenses",
        )
