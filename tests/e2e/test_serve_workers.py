"""``govwallet serve --workers N``: a supervisor and N workers, each on its own socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.support.live_server import REPO_ROOT, free_port, live_server

pytestmark = pytest.mark.e2e

T = TypeVar("T")


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def _workers(pid: int) -> set[int]:
    """The supervisor's worker processes (multiprocessing may add a resource tracker)."""
    return {
        child
        for child in _children(pid)
        if "resource_tracker" not in Path(f"/proc/{child}/cmdline").read_text(errors="replace")
    }


def _sockets(port: int, state: str) -> set[str]:
    """Inodes of the IPv4 sockets on local ``port`` in ``state`` (/proc/net/tcp: 0A listen,
    01 established)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            found.add(fields[9])
    return found


def _listening_sockets(port: int) -> int:
    return len(_sockets(port, "0A"))


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _wait_for(condition: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_each_worker_listens_on_its_own_socket(tmp_path: Path) -> None:
    with live_server(tmp_path, workers=2, nodes=1) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        supervisor = server.process.pid
        _wait_for(lambda: len(_workers(supervisor)) == 2)
        # The server answered once one worker listened; the other binds its own socket
        # after importing the application, which takes a while on a loaded machine.
        _wait_for(lambda: _listening_sockets(port) == 2)
        assert len(_workers(supervisor)) == 2

        # Sixteen keep-alive connections opened at once are served by both workers,
        # not all by the first one awake (which is what one shared socket did).
        clients = [httpx.Client(base_url=server.base_url, timeout=5) for _ in range(16)]
        try:
            for client in clients:
                assert client.get("/healthz").status_code == 200
            established = _sockets(port, "01")
            served_by = {pid for pid in _workers(supervisor) if _socket_inodes(pid) & established}
            assert len(served_by) == 2
        finally:
            for client in clients:
                client.close()


def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    with live_server(tmp_path, workers=2, nodes=1) as server:
        supervisor = server.process.pid
        first = _wait_for(lambda: _workers(supervisor) if len(_workers(supervisor)) == 2 else None)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        now = _wait_for(
            lambda: (
                _workers(supervisor)
                if len(_workers(supervisor)) == 2 and victim not in _workers(supervisor)
                else None
            )
        )
        assert first - {victim} <= now  # the other worker kept running
        assert len(now - first) == 1
        port = int(server.base_url.rsplit(":", 1)[1])
        _wait_for(lambda: _listening_sockets(port) == 2)
        statuses = {
            httpx.get(f"{server.base_url}/readyz", timeout=5).status_code for _ in range(20)
        }
        assert statuses == {200}
        assert "starting a new one" in server.log()


def test_sigterm_stops_the_workers_and_the_supervisor(tmp_path: Path) -> None:
    with live_server(tmp_path, workers=2, nodes=1) as server:
        workers = _wait_for(
            lambda: _workers(server.process.pid) if len(_workers(server.process.pid)) == 2 else None
        )
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        for pid in workers:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
            )


def test_an_address_in_use_stops_the_server_with_an_error(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:  # an ordinary listener, without SO_REUSEPORT
        taken.bind(("127.0.0.1", port))
        taken.listen()
        env = {
            **os.environ,
            "GOVWALLET_DATA_DIR": str(tmp_path / "data"),
            "GOVWALLET_LOG_LEVEL": "INFO",
        }
        done = subprocess.run(
            [sys.executable, "-m", "wallet_api", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
            check=False,
        )
    assert done.returncode != 0
    assert "Address already in use" in done.stdout + done.stderr
