"""The harness's CPU accounting of a server's process tree (bench/process_cpu.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.process_cpu import available, tree_cpu_seconds

pytestmark = pytest.mark.bench

# Spends 0.5 s of CPU in a grandchild (as a server's worker would), says so, then waits.
_BURN = """
import sys, time
while time.process_time() < 0.5:
    pass
print("done", flush=True)
sys.stdin.readline()
"""


def test_a_descendants_cpu_is_counted_while_it_runs() -> None:
    assert available()
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.run([sys.executable, '-c', {_BURN!r}])",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "done"
        # /proc counts in clock ticks, a little behind the grandchild's own clock; the
        # parent alone (it only waits) uses a few hundredths of a second.
        assert tree_cpu_seconds(parent.pid) >= 0.4
    finally:
        assert parent.stdin is not None
        parent.stdin.write("\n")
        parent.stdin.close()
        parent.wait(timeout=10)


def test_a_process_that_is_gone_counts_nothing() -> None:
    assert tree_cpu_seconds(2**22 + 12345) == 0.0  # above Linux's largest pid
