"""Where a bulk import's chunks are signed: in the importing process, or in worker processes.

Building and signing a license's SD-JWT is pure CPU (about 200 µs of Python a license),
and one Python process runs one thread at a time: with parsing, checking and writing in
the same process, the import used one core while PostgreSQL left the other idle (bench
scenario 7). :class:`ProcessSigning` hands each chunk to a worker process, which signs
it with keys it loads itself through the key store (``keys`` stays the only place that
touches private keys), while the importing process checks the next chunk and writes
the last. :class:`LocalSigning` signs in the importing process (one core, tests).

A worker needs a database session (for the agency's signing key) and a
:class:`~licenses.services.Registry`; ``setup`` builds them once in each worker. It must
be a module-level function (it is sent to the worker by reference), and it reads its
settings from the environment the worker inherits.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from licenses.batch import Refusal, sign_items
from licenses.issuance import CheckedRequest
from licenses.models import Agency
from licenses.services import Registry
from licenses.status import StatusEntry

Signed = list[dict[str, Any] | Refusal]
WorkerSetup = Callable[[], tuple[sessionmaker[Session], Registry]]


@dataclass(frozen=True, slots=True)
class SigningJob:
    """A chunk's checked requests, their reserved entries, and the chunk's time (the
    importer's, wherever the chunk is signed)."""

    agency: Agency
    now: datetime
    todo: list[CheckedRequest]
    entries: list[StatusEntry]


class ChunkSigning(Protocol):
    """Signs a chunk's checked requests on their reserved entries (:func:`sign_items`)."""

    #: How many chunks may be signing while the next one is checked.
    ahead: int

    def submit(self, job: SigningJob) -> Future[Signed]: ...

    def close(self) -> None: ...


class LocalSigning:
    """In the importing process, at once."""

    ahead = 0

    def __init__(self, *, sessions: sessionmaker[Session], registry: Registry) -> None:
        self._sessions = sessions
        self._registry = registry

    def submit(self, job: SigningJob) -> Future[Signed]:
        future: Future[Signed] = Future()
        try:
            future.set_result(_sign(self._sessions, self._registry, job))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        """Nothing to stop."""


#: The most signing processes a long import starts by default: one importer checks and
#: writes the chunks, and its writer kept two signing processes only half busy (on two
#: cores, docs/decisions.md 2026-12-07); more would hold memory and chunks for nothing.
MAX_DEFAULT_PROCESSES = 4


def default_processes() -> int:
    """Signing processes for a long import: one per usable core up to
    :data:`MAX_DEFAULT_PROCESSES`, none on a single core.

    As many as the cores, not one less: a lone signing process was busy only about two
    thirds of the time on two cores (it waits while its result, ~4 MB a chunk, crosses
    the pipe and the next chunk comes in), and a second one signs in those gaps while
    the importer and PostgreSQL still get their share.
    """
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may use
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return min(cores, MAX_DEFAULT_PROCESSES) if cores > 1 else 0


class ProcessSigning:
    """In ``processes`` worker processes (spawned: no state shared with the importer)."""

    def __init__(self, *, processes: int, setup: WorkerSetup) -> None:
        if processes < 1:
            raise ValueError("at least one signing process")
        self.ahead = processes
        self._pool = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(setup, os.getpid()),
        )

    def submit(self, job: SigningJob) -> Future[Signed]:
        return self._pool.submit(_sign_in_worker, job)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _sign(sessions: sessionmaker[Session], registry: Registry, job: SigningJob) -> Signed:
    at_now = dataclasses.replace(registry, clock=lambda: job.now)
    with sessions() as session:
        return sign_items(
            session, registry=at_now, agency=job.agency, todo=job.todo, entries=job.entries
        )


_WORKER: tuple[sessionmaker[Session], Registry] | None = None
#: How often a worker checks that the importing process is still there.
WATCHDOG_SECONDS = 0.5


def _start_worker(setup: WorkerSetup, importer: int) -> None:
    """The pool's initializer: watch the importer, then this worker's session factory and
    registry, once.

    ``importer`` is the importing process's id, sent with the initializer: a worker still
    starting (importing modules, about a second) when its importer was killed finds itself
    already adopted by another process, and ``os.getppid()`` read here would name that one.
    """
    threading.Thread(
        target=_exit_with_parent, args=(importer,), name="signing-watchdog", daemon=True
    ).start()
    global _WORKER
    _WORKER = setup()


def _exit_with_parent(parent: int) -> None:
    """A worker whose importer died (killed, say) would wait for work forever: it only
    ever reads, so it stops at once."""
    while os.getppid() == parent:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)


def _sign_in_worker(job: SigningJob) -> Signed:
    if _WORKER is None:
        raise RuntimeError("the signing worker was not set up")
    sessions, registry = _WORKER
    return _sign(sessions, registry, job)
