"""Database engine and sessions.

SQLite (the embedded default) runs in WAL mode with foreign keys enforced;
PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """``postgresql://`` → ``postgresql+psycopg://`` (psycopg 3, not psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_before_savepoint(connection: Any, _name: Any) -> None:
    """Open the transaction before a SAVEPOINT if pysqlite has not opened it yet.

    pysqlite begins a transaction only before the first DML statement, so a SAVEPOINT
    issued first started a transaction of its own that RELEASE committed: a "nested"
    write survived the rollback of the transaction around it. Savepoints guard writes,
    so the transaction takes the write lock at once (IMMEDIATE): a deferred one that read
    first would fail on a stale snapshot instead of waiting out the busy timeout.
    """
    dbapi_connection = connection.connection.dbapi_connection
    if not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_begin_before_savepoint)
        return engine
    # No pre-ping: it costs a round trip on every checkout, on every request. A connection
    # the server dropped fails its first statement instead; SQLAlchemy recognises the
    # disconnect and invalidates the whole pool, so only requests already holding a dead
    # connection fail (5xx, nothing written) and the next ones reconnect. TCP keepalives
    # find dead peers on idle connections; recycling bounds a connection's age.
    return create_engine(
        url,
        pool_size=pool_size,
        # Admission control lets pool_size requests in, each holding at most one
        # connection across threads; the pool_size threads may each need two more
        # (a second session in a grant, the audit group's leader): never a wait forever.
        max_overflow=2 * pool_size,
        pool_recycle=1800,
        connect_args={"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10},
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


class ReadOnlySessionError(RuntimeError):
    """A read-only session was asked to write: a programming error, never user input."""


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    raise ReadOnlySessionError("this session is read-only; use Runtime.sessions to write")


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read, in autocommit mode.

    Each statement is its own transaction, so a read costs one round trip instead of
    three (``BEGIN``, the query, and the ``ROLLBACK`` when the connection goes back to the
    pool). Reads in one session do not share a snapshot; a flush is refused.
    """
    factory = sessionmaker(
        bind=engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
    )
    event.listen(factory, "before_flush", _refuse_writes)
    return factory
