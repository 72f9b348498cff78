"""Test databases: a SQLite file per test, or a PostgreSQL schema per test."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

POSTGRES_ENV = "GOVWALLET_TEST_POSTGRES_URL"


def postgres_base_url() -> str | None:
    """The configured server; in CI its absence is a failure, not a reason to skip."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set in CI: PostgreSQL tests must run")
        return None
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A fresh schema on the test server; the URL routes every connection into it."""
    base = postgres_base_url()
    if base is None:
        pytest.skip(f"{POSTGRES_ENV} not set (CI sets it)")
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server must be there when configured
        admin.dispose()
        pytest.fail(f"PostgreSQL at {POSTGRES_ENV} unreachable: {exc}")
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


def _drop_schema(admin: Engine, schema: str) -> None:
    """Drop the test's schema; a connection the test left behind may hold locks a moment."""
    for attempt in range(5):
        try:
            with admin.connect() as conn:
                conn.execute(text("SET lock_timeout = '5s'"))
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))


@contextmanager
def database_url_for(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'govwallet.sqlite3'}"
    else:
        with postgres_schema_url() as url:
            yield url
