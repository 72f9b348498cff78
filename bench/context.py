"""What every scenario is given: the report, the round count, durations, a work directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Unpack

from bench.load import LoadResult, WrkRequest, run_wrk
from bench.process_cpu import available as process_cpu_available
from bench.process_cpu import tree_cpu_seconds
from bench.results import Report, Row, median_of


@dataclass
class BenchContext:
    report: Report
    work_dir: Path
    rounds: int
    seconds: float
    concurrencies: tuple[int, ...]
    smoke: bool
    postgres_url: str | None
    #: system → the root process of the server under load, while it is watched
    servers: dict[str, int] = field(default_factory=dict)
    #: CPU microseconds per request of each run, for the row being made
    _cpu: dict[str, list[float]] = field(default_factory=dict)

    @contextmanager
    def watching(self, servers: dict[str, int]) -> Iterator[None]:
        """Measure the CPU per request of these servers (system → pid) while inside:
        their whole process trees (:mod:`bench.process_cpu`), PostgreSQL not counted."""
        if not process_cpu_available():
            yield
            return
        self.servers.update(servers)
        try:
            yield
        finally:
            for system in servers:
                self.servers.pop(system, None)

    def load(
        self,
        *,
        scenario: str,
        measure: str,
        system: str,
        concurrency: int,
        **request: Unpack[WrkRequest],
    ) -> Row:
        """Median of ``rounds`` wrk runs; refuses a run that answered errors."""
        results = [self._once(system, measure, concurrency, request) for _ in range(self.rounds)]
        return self._row(scenario, measure, system, concurrency, results)

    def load_pair(
        self,
        *,
        scenario: str,
        measure: str,
        concurrency: int,
        ours: tuple[str, WrkRequest],
        theirs: tuple[str, WrkRequest],
    ) -> tuple[Row, Row]:
        """Two systems' medians of ``rounds`` wrk runs, taken in turn (ours, theirs, ours,
        ...): a slow spell of a shared machine falls on both, not on one system's rounds.

        ``ours`` and ``theirs`` are ``(system, request)``.
        """
        both: dict[str, list[LoadResult]] = {ours[0]: [], theirs[0]: []}
        for _ in range(self.rounds):
            for system, request in (ours, theirs):
                both[system].append(self._once(system, measure, concurrency, request))
        return (
            self._row(scenario, measure, ours[0], concurrency, both[ours[0]]),
            self._row(scenario, measure, theirs[0], concurrency, both[theirs[0]]),
        )

    def _once(self, system: str, measure: str, concurrency: int, request: WrkRequest) -> LoadResult:
        pid = self.servers.get(system)
        cpu_before = tree_cpu_seconds(pid) if pid else 0.0
        result = run_wrk(connections=concurrency, seconds=self.seconds, **request)
        if pid and result.requests:
            used = tree_cpu_seconds(pid) - cpu_before
            self._cpu.setdefault(system, []).append(used / result.requests * 1e6)
        if result.non_2xx or result.errors:
            raise SystemExit(
                f"bench: {system} {measure} answered {result.non_2xx} non-2xx and "
                f"{result.errors} socket errors of {result.requests}: not a valid measurement"
            )
        return result

    def _row(
        self,
        scenario: str,
        measure: str,
        system: str,
        concurrency: int,
        results: list[LoadResult],
    ) -> Row:
        rps = [r.requests_per_second for r in results]
        notes = f"wrk cpu {median_of([r.loadgen_cpu_share for r in results]):.2f} core"
        cpu = self._cpu.pop(system, [])
        server_cpu_us = median_of(cpu) if cpu else None
        if server_cpu_us is not None:
            notes += f"; server cpu {server_cpu_us:,.0f} µs/request"
        return self.report.add(
            Row(
                scenario=scenario,
                measure=measure,
                system=system,
                value=median_of(rps),
                unit="req/s",
                concurrency=concurrency,
                p50_ms=median_of([r.p50_ms for r in results]),
                p99_ms=median_of([r.p99_ms for r in results]),
                notes=notes,
                server_cpu_us=server_cpu_us,
                rounds=rps,
            )
        )
