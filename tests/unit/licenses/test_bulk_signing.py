"""Signing processes: how many a long import starts, and that they stop with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from licenses.bulk_signing import default_processes
from tests.support.live_server import REPO_ROOT


@pytest.mark.parametrize(("cores", "expected"), [(1, 0), (2, 2), (3, 3), (4, 4), (64, 4)])
def test_one_signing_process_per_usable_core_up_to_four_and_none_on_one_core(
    monkeypatch: pytest.MonkeyPatch, cores: int, expected: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert default_processes() == expected


def test_the_cores_this_process_may_use_not_the_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container pinned to 2 of 64 cores signs with 2 processes, not 4."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {5, 9})
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert default_processes() == 2


def test_a_worker_whose_importer_is_gone_before_it_starts_stops() -> None:
    """A signing process still importing its modules when the importer was killed has
    already been adopted by another process when its initializer runs: it must compare
    with the importer it was started by, not with whoever its parent is by then."""
    script = (
        "import os, time\n"
        "from licenses.bulk_signing import _start_worker\n"
        # a process is never its own parent: the importer is gone
        "_start_worker(lambda: (None, None), os.getpid())\n"
        "time.sleep(30)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, timeout=20, check=False
    )
    assert (done.returncode, done.stderr) == (1, b"")  # the watchdog's exit, no traceback
    assert time.monotonic() - started < 15


def test_a_worker_stays_while_its_importer_lives() -> None:
    script = (
        "import os, sys, time\n"
        "from licenses.bulk_signing import WATCHDOG_SECONDS, _start_worker\n"
        "_start_worker(lambda: (None, None), os.getppid())\n"
        "time.sleep(WATCHDOG_SECONDS * 4)\n"
        "sys.exit(7)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, timeout=20, check=False)
    assert done.returncode == 7
