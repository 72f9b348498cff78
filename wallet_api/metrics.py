"""Prometheus metrics (multi-process aware when served with several workers).

Request metrics are added up in the worker and written to the shared metrics about once
a second (:class:`RequestMetrics`): with several workers every Prometheus value update
takes a lock, asks for the process id (a system call) and writes shared memory, three
of them per request (a counter, a histogram's sum and bucket), which cost ~6 % of a
token request's CPU under load (bench/README.md).
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

HTTP_REQUESTS = Counter(
    "govwallet_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "govwallet_http_request_duration_seconds",
    "Time to answer HTTP requests that reach the application, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)

#: Each latency bucket's upper bound, the last one unbounded (Prometheus' ``+Inf``).
_BOUNDS = (*LATENCY_BUCKETS, math.inf)


def render() -> tuple[bytes, str]:
    """The exposition text for this process, or for all workers in multi-process mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def add_observations(histogram: Any, total: float, per_bucket: Sequence[int]) -> None:
    """What ``histogram.observe(v)`` for many values ``v`` does, in one update per bucket.

    ``per_bucket[i]`` counts the values that went to bucket ``i`` (the first whose upper
    bound they do not pass, as ``observe`` places them) and ``total`` is their sum.
    prometheus_client has no call for this, so it updates the labelled histogram's sum
    and bucket values as ``observe`` does; a test compares the exposition with
    ``observe``'s, so a change in the library shows there.
    """
    buckets = histogram._buckets
    if len(buckets) != len(per_bucket):
        raise ValueError(f"{len(per_bucket)} bucket counts for {len(buckets)} buckets")
    histogram._sum.inc(total)
    for value, count in zip(buckets, per_bucket, strict=True):
        if count:
            value.inc(count)


class RequestMetrics:
    """Answers counted and their latency observed, by method, route template and status,
    written to :data:`HTTP_REQUESTS` and :data:`HTTP_LATENCY` within
    :attr:`FLUSH_SECONDS` (at once when there is no event loop to wait on, and whenever
    the metrics are read: :meth:`flush`)."""

    FLUSH_SECONDS = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int], int] = {}
        #: (method, route) → [sum of latencies, count in bucket 0, bucket 1, ...]
        self._latency: dict[tuple[str, str], list[float]] = {}
        #: The event loop a flush is due on, if any.
        self._flush_on: asyncio.AbstractEventLoop | None = None

    def record(self, method: str, route: str, status: int, elapsed: float) -> None:
        """One answer of the application, ``elapsed`` seconds after its request came."""
        with self._lock:
            self._count(method, route, status)
            series = self._latency.get((method, route))
            if series is None:
                series = self._latency[(method, route)] = [0.0] * (len(_BOUNDS) + 1)
            series[0] += elapsed
            series[1 + bisect_left(_BOUNDS, elapsed)] += 1
        self._flush_later()

    def count(self, method: str, route: str, status: int) -> None:
        """One answer counted without its latency: one made in microseconds without the
        application (wallet_api.prebuilt)."""
        with self._lock:
            self._count(method, route, status)
        self._flush_later()

    def _count(self, method: str, route: str, status: int) -> None:
        key = (method, route, status)
        self._counts[key] = self._counts.get(key, 0) + 1

    def flush(self) -> None:
        """Write what is held to the metrics (before they are read, and at shutdown)."""
        with self._lock:
            counts, self._counts = self._counts, {}
            latency, self._latency = self._latency, {}
            self._flush_on = None
        for (method, route, status), count in counts.items():
            HTTP_REQUESTS.labels(method, route, str(status)).inc(count)
        for (method, route), series in latency.items():
            per_bucket = [int(n) for n in series[1:]]
            add_observations(HTTP_LATENCY.labels(method, route), series[0], per_bucket)

    def _flush_later(self) -> None:
        due_on = self._flush_on
        if due_on is not None and due_on.is_running():
            # A flush is due on a running loop, and a flush writes what every thread
            # holds. Checked first: asyncio.get_running_loop() is a getpid() system call
            # (its fork check), once per request otherwise.
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        # None due yet, or due on a loop that has stopped (a test's).
        self._flush_on = loop
        loop.call_later(self.FLUSH_SECONDS, self.flush)
