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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

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


@contextmanager
def live_server(
    tmp_dir: Path,
    *,
    database_url: str | None = None,
    demo: bool = False,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
) -> Iterator[LiveServer]:
    port = free_port()
    data_dir = tmp_dir / "server-data"
    env = {
        **os.environ,
        "GOVWALLET_DATA_DIR": str(data_dir),
        "GOVWALLET_KEY_ENCRYPTION_SECRET": secrets.token_hex(32),
        "GOVWALLET_ISSUER": f"http://127.0.0.1:{port}",
        "GOVWALLET_LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    if database_url:
        env["GOVWALLET_DATABASE_URL"] = database_url
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
            data_dir=data_dir,
            env=env,
            process=process,
            log_path=log_path,
        )
        try:
            _wait_ready(server)
            yield server
        finally:
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
