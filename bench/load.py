"""Load from outside the server process: ``wrk`` with one Lua script for every request shape.

wrk's own CPU use is measured for every run (children's rusage), so the report shows
whether the load generator, rather than the server, was the bottleneck.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Required, TypedDict

LUA = Path(__file__).parent / "lua" / "request.lua"


class WrkRequest(TypedDict, total=False):
    """One request shape for :func:`run_wrk`: the URL and its options."""

    url: Required[str]
    method: str
    body: str
    authorization: str
    content_type: str


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int
    loadgen_cpu_share: float  # wrk's CPU seconds per wall second (1.0 = one core busy)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk); `make bench` does it")
    return path


def _ms(value: str, unit: str) -> float:
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
    return float(value) * factor


def run_wrk(
    url: str,
    *,
    connections: int,
    seconds: float,
    method: str = "GET",
    body: str = "",
    authorization: str = "",
    content_type: str = "application/x-www-form-urlencoded",
    threads: int = 1,
) -> LoadResult:
    out, cpu_share = run_wrk_script(
        url,
        script=LUA,
        env={
            "BENCH_METHOD": method,
            "BENCH_BODY": body,
            "BENCH_AUTHORIZATION": authorization,
            "BENCH_CONTENT_TYPE": content_type,
        },
        connections=connections,
        threads=threads,
        seconds=seconds,
    )
    return parse_wrk(out, loadgen_cpu_share=cpu_share)


def run_wrk_script(
    url: str,
    *,
    script: Path,
    env: dict[str, str],
    connections: int,
    threads: int,
    seconds: float,
    timeout: float | None = None,
) -> tuple[str, float]:
    """Run wrk with a Lua script; its output, and its CPU seconds per wall second.

    ``env`` is added to this process's environment (the scripts read their settings
    there); ``timeout`` is wrk's per-request socket timeout (wrk's default is 2 s).
    """
    threads = max(1, min(threads, connections))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [
            require_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            *([f"--timeout={max(1, round(timeout))}s"] if timeout else []),
            "--latency",
            "-s",
            str(script),
            url,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60 + (timeout or 0),
    ).stdout
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, cpu / wall if wall else 0.0


def script_values(out: str) -> dict[str, str]:
    """The ``BENCH_NAME value`` lines a script's ``done()`` wrote, by name."""
    return dict(re.findall(r"^BENCH_(\w+) (.*)$", out, flags=re.MULTILINE))


def parse_wrk(out: str, *, loadgen_cpu_share: float = 0.0) -> LoadResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, flags=re.MULTILINE))

    def pct(key: str) -> float:
        match = re.match(r"([\d.]+)(us|ms|s|m)$", percentiles.get(key, "0ms"))
        return _ms(match.group(1), match.group(2)) if match else 0.0

    # The script's count of non-2xx answers, and wrk's own count of non-2xx-or-3xx ones.
    counted = script_values(out).get("NON_2XX")
    by_wrk = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    non_2xx = max(int(counted or 0), int(by_wrk.group(1)) if by_wrk else 0)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return LoadResult(
        requests_per_second=rps,
        p50_ms=pct("50"),
        p99_ms=pct("99"),
        requests=total,
        non_2xx=non_2xx,
        errors=sum(int(x) for x in errors.groups()) if errors else 0,
        loadgen_cpu_share=loadgen_cpu_share,
    )
