"""The harness says why a server it started did not come up, with the end of its log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.servers import free_port, stop, wait_until_up


def _started(log: Path, code: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:
        return subprocess.Popen([sys.executable, "-c", code], stderr=stderr)


def test_a_server_that_never_answers_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    process = _started(
        log,
        "import sys, time; print('bind failed: address in use', file=sys.stderr, flush=True);"
        " time.sleep(30)",
    )
    url = f"http://127.0.0.1:{free_port()}/ready"
    try:
        with pytest.raises(SystemExit) as stopped:
            wait_until_up(url, process, log=log, timeout=1.5)
    finally:
        stop(process)
    message = str(stopped.value)
    assert f"{url} not up within 1.5s (last: ConnectError" in message
    assert "bind failed: address in use" in message


def test_a_server_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    process = _started(log, "import sys; print('no such key', file=sys.stderr); sys.exit(3)")
    process.wait(timeout=10)
    with pytest.raises(SystemExit) as stopped:
        wait_until_up("http://127.0.0.1:9/ready", process, log=log, timeout=5)
    assert "exited with 3" in str(stopped.value)
    assert "no such key" in str(stopped.value)
