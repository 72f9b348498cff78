"""Request metrics held in the worker and written in bulk (wallet_api.metrics): the same
exposition as one ``observe`` per request, written at the latest a second later, at once
without an event loop, and whenever the metrics are read."""

from __future__ import annotations

import asyncio
import re

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from wallet_api.metrics import (
    HTTP_LATENCY,
    HTTP_REQUESTS,
    LATENCY_BUCKETS,
    RequestMetrics,
    add_observations,
)

LATENCIES = [0.0, 0.0004, 0.001, 0.0010001, 0.003, 0.003, 0.2, 0.9999, 1.0, 4.9, 5.0, 7.5, 120.0]


def _counted(method: str, route: str, status: int) -> float:
    wanted = {"method": method, "route": route, "status": str(status)}
    return next(
        (
            sample.value
            for metric in HTTP_REQUESTS.collect()
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels == wanted
        ),
        0.0,
    )


def _timed(method: str, route: str) -> tuple[float, float]:
    """The latency histogram's count and sum for one series, from its exposition."""
    samples = {
        sample.name: sample.value
        for metric in HTTP_LATENCY.collect()
        for sample in metric.samples
        if sample.labels.get("route") == route and sample.labels.get("method") == method
    }
    name = "govwallet_http_request_duration_seconds"
    return samples.get(f"{name}_count", 0.0), samples.get(f"{name}_sum", 0.0)


def test_bulk_observations_expose_exactly_what_observe_does() -> None:
    registry = CollectorRegistry()
    one_by_one = Histogram(
        "one_by_one", "each", ["route"], buckets=LATENCY_BUCKETS, registry=registry
    )
    in_bulk = Histogram("in_bulk", "bulk", ["route"], buckets=LATENCY_BUCKETS, registry=registry)
    for value in LATENCIES:
        one_by_one.labels("/x").observe(value)
    per_bucket = [0] * (len(LATENCY_BUCKETS) + 1)
    for value in LATENCIES:
        index = next(
            (i for i, bound in enumerate(LATENCY_BUCKETS) if value <= bound), len(LATENCY_BUCKETS)
        )
        per_bucket[index] += 1
    add_observations(in_bulk.labels("/x"), sum(LATENCIES), per_bucket)

    def lines(prefix: str) -> list[str]:
        text = generate_latest(registry).decode()
        return sorted(
            line.removeprefix(prefix)
            for line in text.splitlines()
            if line.startswith(prefix) and "_created" not in line
        )

    assert lines("one_by_one") == lines("in_bulk")
    assert len(lines("in_bulk")) == len(LATENCY_BUCKETS) + 3  # buckets, +Inf, count, sum


def test_recorded_latencies_land_in_the_buckets_observe_would_choose() -> None:
    registry = CollectorRegistry()
    reference = Histogram("reference", "r", buckets=LATENCY_BUCKETS, registry=registry)
    for value in LATENCIES:
        reference.observe(value)
    metrics = RequestMetrics()
    for value in LATENCIES:  # no event loop here: each is written at once
        metrics.record("GET", "/bucket-check", 200, value)
    ours = {
        sample.labels["le"]: sample.value
        for metric in HTTP_LATENCY.collect()
        for sample in metric.samples
        if sample.labels.get("route") == "/bucket-check" and sample.name.endswith("_bucket")
    }
    theirs = {
        sample.labels["le"]: sample.value
        for metric in reference.collect()
        for sample in metric.samples
        if sample.name.endswith("_bucket")
    }
    assert ours == theirs
    assert _timed("GET", "/bucket-check") == (len(LATENCIES), sum(LATENCIES))
    assert _counted("GET", "/bucket-check", 200) == len(LATENCIES)


def test_on_an_event_loop_the_metrics_are_written_within_a_second() -> None:
    metrics = RequestMetrics()

    async def scenario() -> tuple[float, float, float]:
        for _ in range(3):
            metrics.record("POST", "/within-a-second", 201, 0.002)
        metrics.count("POST", "/within-a-second", 201)
        held = _counted("POST", "/within-a-second", 201)
        await asyncio.sleep(metrics.FLUSH_SECONDS + 0.3)
        return (
            held,
            _counted("POST", "/within-a-second", 201),
            _timed("POST", "/within-a-second")[0],
        )

    held, written, timed = asyncio.run(scenario())
    assert held == 0  # held in the worker, not yet written
    assert written == 4  # three recorded, one counted
    assert timed == 3  # a count has no latency


def test_while_a_flush_is_due_a_request_asks_nothing_of_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """asyncio.get_running_loop() is a getpid() system call: once a flush is due on a
    running loop, the requests after it do not look the loop up, and are still written
    by that flush, those counted from another thread too."""
    metrics = RequestMetrics()
    lookups = 0
    real = asyncio.get_running_loop

    def counting() -> asyncio.AbstractEventLoop:
        nonlocal lookups
        lookups += 1
        return real()

    monkeypatch.setattr(asyncio, "get_running_loop", counting)

    async def scenario() -> tuple[int, float]:
        for _ in range(5):
            metrics.count("GET", "/one-lookup", 200)
        await asyncio.to_thread(metrics.record, "GET", "/one-lookup", 200, 0.001)
        looked_up = lookups
        await asyncio.sleep(metrics.FLUSH_SECONDS + 0.3)
        return looked_up, _counted("GET", "/one-lookup", 200)

    looked_up, written = asyncio.run(scenario())
    assert looked_up == 1
    assert written == 6


def test_a_flush_due_on_a_stopped_loop_is_taken_over_by_the_next() -> None:
    metrics = RequestMetrics()

    async def record() -> None:
        metrics.record("GET", "/two-loops", 200, 0.001)

    asyncio.run(record())  # its loop stops before the flush was due
    assert _counted("GET", "/two-loops", 200) == 0

    async def record_and_wait() -> None:
        await record()
        await asyncio.sleep(metrics.FLUSH_SECONDS + 0.3)

    asyncio.run(record_and_wait())
    assert _counted("GET", "/two-loops", 200) == 2


def test_reading_the_metrics_writes_what_the_worker_holds(client: TestClient) -> None:
    pattern = re.compile(
        r'^govwallet_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$',
        re.MULTILINE,
    )

    def counted() -> float:
        found = pattern.search(client.get("/metrics").text)
        return float(found.group(1)) if found else 0.0

    before = counted()
    for _ in range(3):
        client.get("/healthz")
    assert counted() == before + 3  # at once, not a second later
