"""Start and stop the systems under test on loopback: govwallet and the peer."""

from __future__ import annotations

import json
import os
import secrets
import shutil
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

from bench.databases import fresh_postgres_schema

BENCH_DIR = Path(__file__).parent
REPO_ROOT = BENCH_DIR.parent
PEER_DIR = BENCH_DIR / "peer"
FLOOR_DIR = BENCH_DIR / "floor"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], *, log: Path, timeout: float = 120
) -> None:
    """Return once ``url`` answers; a server that exits or never answers stops the run
    with the end of its ``log`` (the run's work directory, and the log, go with it)."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"bench: server for {url} exited with {process.returncode}{_tail(log)}"
            )
        try:
            status = httpx.get(url, timeout=2).status_code
            if status < 500:
                return
            last_error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    raise SystemExit(f"bench: {url} not up within {timeout}s (last: {last_error}){_tail(log)}")


def _tail(log: Path, lines: int = 20) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n  " + "\n  ".join(text) if text else ""


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def _running(
    command: list[str], *, port: int, ready_path: str, log: Path, cwd: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` started (stderr to ``log``), yielded once ``ready_path`` answers on
    ``port``, stopped on the way out."""
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}{ready_path}", process, log=log)
            yield process
        finally:
            stop(process)


def _node(purpose: str) -> str:
    node = shutil.which("node")
    if node is None:
        raise SystemExit(f"bench: node is needed {purpose}")
    return node


@dataclass
class Govwallet:
    base_url: str
    env: dict[str, str]
    workers: int
    database: str
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The supervisor process (its workers are its children).
    pid: int = 0

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "wallet_api", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO_ROOT,
            timeout=600,
        ).stdout


@contextmanager
def govwallet(
    work_dir: Path, *, workers: int, database_url: str | None, setup: list[list[str]] | None = None
) -> Iterator[Govwallet]:
    """A fresh govwallet: own data directory, own database, ``setup`` CLI commands run first.

    ``database_url`` is a PostgreSQL *server* URL: every govwallet gets a new schema in it
    (a fresh database for each system under test, and never another run's keys).
    """
    with fresh_postgres_schema(database_url) as schema_url:
        yield from _govwallet(work_dir, workers=workers, database_url=schema_url, setup=setup)


def _govwallet(
    work_dir: Path, *, workers: int, database_url: str | None, setup: list[list[str]] | None
) -> Iterator[Govwallet]:
    port = free_port()
    env = {
        **os.environ,
        "GOVWALLET_DATA_DIR": str(work_dir / "govwallet-data"),
        "GOVWALLET_KEY_ENCRYPTION_SECRET": secrets.token_hex(32),
        "GOVWALLET_ISSUER": f"http://127.0.0.1:{port}",
        "GOVWALLET_LOG_LEVEL": "WARNING",
    }
    if database_url:
        env["GOVWALLET_DATABASE_URL"] = database_url
    server = Govwallet(
        base_url=f"http://127.0.0.1:{port}",
        env=env,
        workers=workers,
        database="postgresql" if database_url else "sqlite",
    )
    for command in setup or []:
        output = server.cli(*command)
        if "--json" in command:
            server.clients[command[command.index("--name") + 1]] = json.loads(output)
    command = [
        *(sys.executable, "-m", "wallet_api", "serve"),
        *("--port", str(port), "--workers", str(workers)),
    ]
    log = work_dir / f"govwallet-{port}.log"
    with _running(
        command, port=port, ready_path="/readyz", log=log, cwd=REPO_ROOT, env=env
    ) as process:
        server.pid = process.pid
        yield server


def ensure_peer_installed() -> None:
    if (PEER_DIR / "node_modules" / "oidc-provider").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("bench: npm is needed to install the peer (oidc-provider)")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=PEER_DIR, check=True
    )


@contextmanager
def floor_server(work_dir: Path, *, platform: str, body: bytes) -> Iterator[tuple[str, int]]:
    """A one-process server answering every ``GET`` with ``body`` (:mod:`bench.floor`):
    ``platform`` is ``"uvloop"`` or ``"node"``. Yields its base URL and process id."""
    body_file = work_dir / "floor-body.json"
    body_file.write_bytes(body)
    port = free_port()
    if platform == "uvloop":
        command = [sys.executable, "-m", "bench.floor.fixed_answer", str(port), str(body_file)]
    else:
        command = [_node("for the node:http floor"), str(FLOOR_DIR / "fixed_answer.mjs")]
        command += [str(port), str(body_file)]
    log = work_dir / f"floor-{platform}-{port}.log"
    with _running(
        command, port=port, ready_path="/", log=log, cwd=REPO_ROOT, env=dict(os.environ)
    ) as process:
        yield f"http://127.0.0.1:{port}", process.pid


@dataclass
class Peer:
    base_url: str
    workers: int
    config: dict[str, Any]
    #: The ``node:cluster`` primary (its workers are its children).
    pid: int = 0


@contextmanager
def peer(work_dir: Path, *, workers: int, config: dict[str, Any]) -> Iterator[Peer]:
    ensure_peer_installed()
    node = _node("to run the peer")
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "WORKERS": str(workers),
        "PEER_CONFIG": json.dumps(config),
    }
    with _running(
        [node, str(PEER_DIR / "provider.mjs")],
        port=port,
        ready_path="/.well-known/openid-configuration",
        log=work_dir / f"peer-{port}.log",
        cwd=PEER_DIR,
        env=env,
    ) as process:
        base = f"http://127.0.0.1:{port}"
        yield Peer(base_url=base, workers=workers, config=config, pid=process.pid)
