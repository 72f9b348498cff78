"""Scenario 8: the offline QR of a typical license — symbol version, size, time to make."""

from __future__ import annotations

import time

from bench.context import BenchContext
from bench.results import Row, median_of


def run(ctx: BenchContext, *, presentation: str) -> None:
    from licenses import qr, qr_images

    times: list[float] = []
    image = None
    text = ""
    for _ in range(max(3, ctx.rounds * 5)):
        started = time.perf_counter()
        text = qr.encode_offline(presentation)
        image = qr_images.render_png(text)
        times.append((time.perf_counter() - started) * 1000)
    assert image is not None
    ctx.report.add(
        Row(
            "8",
            "offline QR version (level M)",
            "govwallet",
            image.version,
            "version",
            notes=f"{len(text)} chars from a {len(presentation)}-char presentation",
        )
    )
    ctx.report.add(Row("8", "offline QR PNG size", "govwallet", len(image.content), "bytes"))
    ctx.report.add(Row("8", "time to make (encode + PNG)", "govwallet", median_of(times), "ms"))
    ctx.report.goal(
        "8",
        "version 25 or below at level M",
        25 / image.version,
        target=1.0,
        detail=f"version {image.version}, {len(text)} characters",
    )
