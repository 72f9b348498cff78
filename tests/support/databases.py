"""Test databases: a SQLite file per test, or a PostgreSQL schema per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

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
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database_url_for(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'govwallet.sqlite3'}"
    else:
        with postgres_schema_url() as url:
            yield url
