"""Result rows, medians over rounds, and the Markdown/JSON report in ``bench/results/``."""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass
class Row:
    scenario: str
    measure: str
    system: str  # "govwallet", the peer's name, "limit" or a floor
    value: float
    unit: str
    concurrency: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    notes: str = ""
    rounds: list[float] = field(default_factory=list)
    #: CPU of the server's processes per request (median of rounds), where measured
    server_cpu_us: float | None = None


@dataclass
class Goal:
    scenario: str
    statement: str
    ratio: float | None
    reached: bool
    detail: str


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


@dataclass
class Report:
    settings: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def goal(
        self, scenario: str, statement: str, ratio: float | None, *, target: float, detail: str = ""
    ) -> None:
        self.goals.append(
            Goal(scenario, statement, ratio, ratio is not None and ratio >= target, detail)
        )

    def write(self, *, tag: str = "") -> tuple[Path, Path]:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        base = RESULTS_DIR / f"bench-{stamp}{('-' + tag) if tag else ''}"
        machine = {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "time": stamp,
        }
        payload = {
            "machine": machine,
            "settings": self.settings,
            "rows": [asdict(r) for r in self.rows],
            "goals": [asdict(g) for g in self.goals],
        }
        json_path = base.with_suffix(".json")
        json_path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
        md_path = base.with_suffix(".md")
        md_path.write_text(self.markdown(machine))
        return md_path, json_path

    def markdown(self, machine: dict[str, Any]) -> str:
        lines = [
            f"# govwallet benchmark {machine['time']}",
            "",
            f"Machine: {machine['cores']} cores, Python {machine['python']}, "
            f"{machine['platform']}.",
            "",
            "Settings: " + ", ".join(f"`{k}={v}`" for k, v in self.settings.items()),
            "",
            "## Goals",
            "",
            "| scenario | goal | ratio | reached | detail |",
            "| --- | --- | --- | --- | --- |",
        ]
        for g in self.goals:
            ratio = f"{g.ratio:.2f}" if g.ratio is not None else "–"
            reached = "yes" if g.reached else "**no**"
            lines.append(f"| {g.scenario} | {g.statement} | {ratio} | {reached} | {g.detail} |")
        lines += [
            "",
            "## Measurements (median of rounds)",
            "",
            "| scenario | measure | system | conc. | value | unit | p50 ms | p99 ms | notes |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in self.rows:
            p50 = f"{r.p50_ms:.2f}" if r.p50_ms is not None else ""
            p99 = f"{r.p99_ms:.2f}" if r.p99_ms is not None else ""
            lines.append(
                f"| {r.scenario} | {r.measure} | {r.system} | {r.concurrency or ''} | "
                f"{r.value:,.1f} | {r.unit} | {p50} | {p99} | {r.notes} |"
            )
        return "\n".join(lines) + "\n"
