"""Worker processes for ``govwallet serve --workers N``, each on its own listening socket.

uvicorn's own multi-process mode hands every worker one shared listening socket. Whichever
worker's event loop wakes first accepts every connection waiting in the queue, so a burst
of keep-alive connections (a load balancer's pool, say 16 of them) often lands on one
worker while the others idle: measured here, 12,800 instead of 22,700 requests/s at 16
connections (bench/README.md). Here each worker binds its own socket to the same address
with ``SO_REUSEPORT`` and the kernel spreads new connections over them by a hash of the
connection's addresses (as nginx's ``listen ... reuseport`` does).

The supervisor keeps the configured number of workers alive: a worker that exits is
started again, unless it failed before serving (a bad setting or an address in use, which
a restart would only repeat). SIGTERM and SIGINT stop every worker gracefully (uvicorn
finishes the requests in flight), then the supervisor exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

logger = logging.getLogger("govwallet.serve")

#: How long a stopping worker may take to finish its requests before it is killed.
STOP_TIMEOUT_SECONDS = 30.0


def reuse_port_socket(host: str, port: int, *, backlog: int, listen: bool) -> socket.socket:
    """A TCP socket bound with ``SO_REUSEPORT`` (and listening, when ``listen``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        if listen:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _worker(config: uvicorn.Config) -> None:
    """One worker (in a spawned process): its own socket, then uvicorn's server on it."""
    try:
        sock = reuse_port_socket(config.host, config.port, backlog=config.backlog, listen=True)
    except OSError as exc:
        logger.error("worker cannot listen on %s:%s: %s", config.host, config.port, exc)
        raise SystemExit(STARTUP_FAILURE) from exc
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """Starts ``workers`` processes serving ``config`` and keeps them running."""

    def __init__(self, config: uvicorn.Config, *, workers: int) -> None:
        if workers < 2:
            raise ValueError("a supervisor is for two or more workers")
        self.config = config
        self.workers = workers
        self._context = multiprocessing.get_context("spawn")
        self._stop = threading.Event()
        self._processes: list[BaseProcess] = []

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (0) or until a worker fails to start (STARTUP_FAILURE)."""
        # Holds the address for the server's lifetime (and picks it for port 0) without
        # listening, so it never takes connections away from the workers.
        anchor = reuse_port_socket(
            self.config.host, self.config.port, backlog=self.config.backlog, listen=False
        )
        self.config.port = int(anchor.getsockname()[1])
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        status = 0
        try:
            self._processes = [self._start() for _ in range(self.workers)]
            while not self._stop.wait(0.5):
                status = self._replace_exited()
        finally:
            self._stop_all()
            anchor.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def _start(self) -> BaseProcess:
        process = self._context.Process(target=_worker, args=(self.config,), daemon=False)
        process.start()
        return process

    def _replace_exited(self) -> int:
        for index, process in enumerate(self._processes):
            if process.is_alive() or self._stop.is_set():
                continue
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                logger.error("worker %s failed to start; stopping the server", process.pid)
                self._stop.set()
                return STARTUP_FAILURE
            logger.warning(
                "worker %s exited with %s; starting a new one", process.pid, process.exitcode
            )
            self._processes[index] = self._start()
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s; stopping the workers", signal.Signals(signum).name)
        self._stop.set()

    def _stop_all(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        for process in self._processes:
            process.join(STOP_TIMEOUT_SECONDS)
            if process.is_alive():
                logger.warning("worker %s did not stop in time; killing it", process.pid)
                process.kill()
                process.join()


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
