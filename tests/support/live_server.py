"""A real ``govwallet serve`` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[str]
    log_path: Path
    stdout_lines: list[str] = field(default_factory=list)
    #: The other nodes' logs when the server is a cluster.
    other_logs: list[Path] = field(default_factory=list)

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in [self.log_path, *self.other_logs])

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``govwallet ARGS`` against the same data directory and database."""
        return subprocess.run(
            [sys.executable, "-m", "wallet_api", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            cwd=REPO_ROOT,
            timeout=120,
        )


#: ``GOVWALLET_TEST_NODES=2`` runs every live server as two nodes sharing one PostgreSQL
#: database behind a round-robin balancer (docs/scaling.md): the suite then shows that
#: sessions, codes, refresh rotation and rate limits survive several stateless nodes.
NODES_ENV = "GOVWALLET_TEST_NODES"


@contextmanager
def live_server(
    tmp_dir: Path,
    *,
    database_url: str | None = None,
    demo: bool = False,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
    nodes: int | None = None,
) -> Iterator[LiveServer]:
    """``nodes`` fixes the number of nodes (a test about one node's processes);
    otherwise ``GOVWALLET_TEST_NODES`` decides."""
    if nodes is None:
        nodes = int(os.environ.get(NODES_ENV, "1") or "1")
    if nodes > 1:
        with _cluster(
            tmp_dir,
            nodes=nodes,
            database_url=database_url,
            demo=demo,
            extra_env=extra_env,
            workers=workers,
        ) as server:
            yield server
        return
    port = free_port()
    env = _server_env(
        tmp_dir,
        public_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        extra_env=extra_env,
    )
    with _node(tmp_dir, env=env, port=port, demo=demo, workers=workers) as server:
        yield server


def _server_env(
    tmp_dir: Path, *, public_url: str, database_url: str | None, extra_env: dict[str, str] | None
) -> dict[str, str]:
    env = {
        **os.environ,
        "GOVWALLET_DATA_DIR": str(tmp_dir / "server-data"),
        "GOVWALLET_KEY_ENCRYPTION_SECRET": secrets.token_hex(32),
        "GOVWALLET_ISSUER": public_url,
        "GOVWALLET_LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    if database_url:
        env["GOVWALLET_DATABASE_URL"] = database_url
    return env


@contextmanager
def _node(
    tmp_dir: Path, *, env: dict[str, str], port: int, demo: bool, workers: int
) -> Iterator[LiveServer]:
    args = [sys.executable, "-m", "wallet_api", "serve", "--port", str(port)]
    args += ["--workers", str(workers)]
    if demo:
        args.append("--demo")
    log_path = tmp_dir / f"server-{port}.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            args, env=env, stdout=log_file, stderr=subprocess.STDOUT, text=True, cwd=REPO_ROOT
        )
        server = LiveServer(
            base_url=f"http://127.0.0.1:{port}",
            data_dir=Path(env["GOVWALLET_DATA_DIR"]),
            env=env,
            process=process,
            log_path=log_path,
        )
        try:
            _wait_ready(server)
            yield server
        finally:
            _stop(process)


@contextmanager
def _cluster(
    tmp_dir: Path,
    *,
    nodes: int,
    database_url: str | None,
    demo: bool,
    extra_env: dict[str, str] | None,
    workers: int,
) -> Iterator[LiveServer]:
    """``nodes`` servers on one PostgreSQL database behind :mod:`tests.support.round_robin`."""
    from contextlib import ExitStack

    from tests.support.databases import postgres_schema_url

    with ExitStack() as stack:
        if database_url is None or database_url.startswith("sqlite"):
            database_url = stack.enter_context(postgres_schema_url())
        proxy_port = free_port()
        public_url = f"http://127.0.0.1:{proxy_port}"
        env = _server_env(
            tmp_dir, public_url=public_url, database_url=database_url, extra_env=extra_env
        )
        # The first node migrates and seeds; the others start on the finished database.
        members = [
            stack.enter_context(
                _node(tmp_dir, env=env, port=free_port(), demo=demo and i == 0, workers=workers)
            )
            for i in range(nodes)
        ]
        proxy = subprocess.Popen(
            [sys.executable, "-m", "tests.support.round_robin", "--port", str(proxy_port)]
            + [arg for m in members for arg in ("--backend", m.base_url)],
            cwd=REPO_ROOT,
        )
        stack.callback(_stop, proxy)
        first = members[0]
        server = LiveServer(
            base_url=public_url,
            data_dir=first.data_dir,
            env=env,
            process=first.process,
            log_path=first.log_path,
            other_logs=[m.log_path for m in members[1:]],
        )
        _wait_ready(server)
        yield server


def _stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _wait_ready(server: LiveServer, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready within {timeout}s:\n{server.log()}")
