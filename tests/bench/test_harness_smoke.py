"""The benchmark harness still runs: every scenario for about a second (no timing asserted)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live_server import REPO_ROOT

pytestmark = pytest.mark.bench


def test_every_scenario_runs_and_reports(tmp_path: Path) -> None:
    if shutil.which("wrk") is None or shutil.which("node") is None:
        pytest.fail("the harness needs wrk and node: .ci/run installs them")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    written = [line for line in result.stdout.splitlines() if line.startswith("written: ")]
    assert written
    json_path = written[-1].split(" and ")[-1].strip()
    report = json.loads(Path(json_path).read_text())
    scenarios = {row["scenario"] for row in report["rows"]}
    assert scenarios >= {"1", "2", "3", "4", "5", "6", "7", "8"}
    assert report["machine"]["cores"] >= 1
    assert all(goal["ratio"] is not None for goal in report["goals"])
    floors = {row["system"] for row in report["rows"] if row["measure"].startswith("floor")}
    assert floors == {"bare uvloop (no HTTP parsing)", "bare node:http"}
    measured = [
        row
        for row in report["rows"]
        if row["scenario"] in {"1", "2", "3"} and not row["measure"].startswith("floor")
    ]
    assert measured
    assert all(row["server_cpu_us"] > 0 for row in measured)
    login = next(goal for goal in report["goals"] if goal["scenario"] == "4")
    assert "of which the hash" in login["detail"]
    jwks = next(goal for goal in report["goals"] if goal["scenario"] == "1 jwks")
    assert "bare uvloop server" in jwks["detail"]
    #: scenario 5's floor ran (it checks itself: it must find the product's claims and
    #: refuse a forged presentation, or the harness exits non-zero)
    assert any(row["measure"] == "bare verification (floor)" for row in report["rows"])
    verification = next(goal for goal in report["goals"] if goal["scenario"] == "5")
    assert "the bare floor" in verification["detail"]
