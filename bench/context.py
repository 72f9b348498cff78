"""What every scenario is given: the report, the round count, durations, a work directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.load import LoadResult, run_wrk
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

    def load(
        self,
        *,
        scenario: str,
        measure: str,
        system: str,
        url: str,
        concurrency: int,
        **request: str,
    ) -> Row:
        """Median of ``rounds`` wrk runs; refuses a run that answered errors."""
        results = [
            self._once(system, measure, url, concurrency, request) for _ in range(self.rounds)
        ]
        return self._row(scenario, measure, system, concurrency, results)

    def load_pair(
        self,
        *,
        scenario: str,
        measure: str,
        concurrency: int,
        ours: tuple[str, dict[str, str]],
        theirs: tuple[str, dict[str, str]],
    ) -> tuple[Row, Row]:
        """Two systems' medians of ``rounds`` wrk runs, taken in turn (ours, theirs, ours,
        ...): a slow spell of a shared machine falls on both, not on one system's rounds.

        ``ours`` and ``theirs`` are ``(system, request)``, the request holding ``url`` and
        what :func:`bench.load.run_wrk` takes besides.
        """
        both: dict[str, list[LoadResult]] = {ours[0]: [], theirs[0]: []}
        for _ in range(self.rounds):
            for system, request in (ours, theirs):
                options = dict(request)
                url = options.pop("url")
                both[system].append(self._once(system, measure, url, concurrency, options))
        return (
            self._row(scenario, measure, ours[0], concurrency, both[ours[0]]),
            self._row(scenario, measure, theirs[0], concurrency, both[theirs[0]]),
        )

    def _once(
        self, system: str, measure: str, url: str, concurrency: int, request: dict[str, str]
    ) -> LoadResult:
        result = run_wrk(url, connections=concurrency, seconds=self.seconds, **request)
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
                notes=f"wrk cpu {median_of([r.loadgen_cpu_share for r in results]):.2f} core",
                rounds=rps,
            )
        )
