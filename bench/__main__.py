"""``python -m bench``: run every scenario and write the report to ``bench/results/``.

python -m bench                 # full run: 3 rounds of 10 s at concurrency 1, 16, 64
python -m bench --smoke         # every scenario for about a second (the harness test)
python -m bench --only 2 5      # some scenarios
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench.context import BenchContext
from bench.load import require_wrk
from bench.results import Report

ALL = ("1-3", "4", "5", "6", "7", "8")


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="every scenario for about a second")
    parser.add_argument("--only", nargs="*", default=list(ALL), choices=ALL)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--bulk", type=int, default=100_000, help="licenses for scenario 7")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "GOVWALLET_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.seconds, args.bulk = 1, 1.0, 500
    require_wrk()
    concurrencies = (1, 4) if args.smoke else (1, 16, 64)
    report = Report(
        settings={
            "rounds": args.rounds,
            "seconds": args.seconds,
            "workers": args.workers,
            "concurrency": "/".join(map(str, concurrencies)),
            "bulk": args.bulk,
            "database": "postgresql" if args.postgres_url else "sqlite",
        }
    )
    with tempfile.TemporaryDirectory(prefix="govwallet-bench-") as tmp:
        ctx = BenchContext(
            report=report,
            work_dir=Path(tmp),
            rounds=args.rounds,
            seconds=args.seconds,
            concurrencies=concurrencies,
            smoke=args.smoke,
            postgres_url=args.postgres_url or None,
        )
        from bench.scenarios import bulk, oidc_http, qr, verification, verify_api

        if "1-3" in args.only or "4" in args.only:
            oidc_http.run(
                ctx, workers=args.workers, login="4" in args.only, oidc="1-3" in args.only
            )
        fixture = verification.run(ctx) if {"5", "6", "8"} & set(args.only) else None
        if "6" in args.only:
            in_process = next((r.value for r in report.rows if r.scenario == "5"), None)
            verify_api.run(ctx, workers=args.workers, in_process_rate=in_process)
        if "7" in args.only:
            bulk.run(ctx, count=args.bulk)
        if "8" in args.only and fixture is not None:
            qr.run(ctx, presentation=fixture.presentation)
        md, js = report.write(tag="smoke" if args.smoke else "")
    print(md.read_text())
    print(f"written: {md} and {js}")
    return md


if __name__ == "__main__":
    main()
