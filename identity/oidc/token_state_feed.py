"""The PostgreSQL notifications that keep :class:`~identity.oidc.token_state.TokenStateCache`
exact across processes and nodes.

https://www.postgresql.org/docs/current/sql-notify.html: "if a NOTIFY is executed inside a
transaction, the notify events are not delivered until and unless the transaction is
committed". The triggers of migration ``oidc_0002`` notify on every revocation and every
change to a citizen's record; a thread per worker process listens on a connection of its
own. The cache is live only while that connection listens: on any error it goes dark
(empty, unused), and the thread reconnects with a growing pause.
"""

from __future__ import annotations

import logging
import threading

import psycopg

from identity.oidc.token_state import CHANNEL, TokenStateCache

logger = logging.getLogger("govwallet.token_state")

#: How often the thread looks up from waiting to see whether it should stop.
POLL_SECONDS = 0.5
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)


class PostgresInvalidationFeed:
    """``LISTEN`` on :data:`~identity.oidc.token_state.CHANNEL` in a daemon thread."""

    def __init__(self, *, conninfo: str, cache: TokenStateCache) -> None:
        self._conninfo = conninfo
        self._cache = cache
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="token-state-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._cache.go_dark()

    def wait_listening(self, timeout: float) -> bool:
        """True once the feed listens (tests and start-up checks)."""
        return self._listening.wait(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
                failures = 0
            except (psycopg.Error, OSError) as exc:
                self._listening.clear()
                self._cache.go_dark()
                pause = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                logger.warning(
                    "token-state notifications unavailable (%s); cache off, retrying in %.1fs",
                    type(exc).__name__,
                    pause,
                )
                self._stop.wait(pause)
        self._listening.clear()

    def _listen(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            # Whatever changed before this point is in the database; the cache starts
            # empty and everything from now on is notified.
            self._cache.go_live()
            self._listening.set()
            while not self._stop.is_set():
                for notify in conn.notifies(timeout=POLL_SECONDS):
                    self._cache.apply(notify.payload)
                if conn.closed or conn.broken:
                    raise psycopg.OperationalError("the notification connection closed")
        self._listening.clear()
        self._cache.go_dark()
