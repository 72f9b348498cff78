"""Many rows into one table at once: PostgreSQL's ``COPY``, an ``INSERT`` elsewhere.

A bulk import writes three rows per license (the license, its idempotency key, its audit
entry), a thousand licenses a statement. Through ``INSERT`` each row is still a bound
execution of its own on the server (psycopg pipelines them), and SQLAlchemy builds the
parameters of each; ``COPY … FROM STDIN`` streams the rows into one execution. Values
go through each column type's bind processor first (JSON columns are serialised as
SQLAlchemy would), so the stored values are those an ``INSERT`` stores; a broken
constraint raises SQLAlchemy's ``IntegrityError`` as an ``INSERT`` would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import Insert, Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

#: Below this many rows one multi-row ``INSERT`` costs no more than a ``COPY``.
COPY_MIN_ROWS = 32


@lru_cache(maxsize=16)
def _insert(table: Table) -> Insert:
    """The table's ``INSERT``, built once (it was a prebuilt statement before this module)."""
    return insert(table)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys) into ``table`` in the session's
    transaction. Columns not given take their defaults."""
    if not rows:
        return
    if len(rows) < COPY_MIN_ROWS:  # small appends (the verify API's audit) look no further
        session.execute(_insert(table), list(rows))
        return
    names = list(rows[0])
    connection = session.connection()
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection) or any(
        column.default is not None for column in table.c if column.name not in names
    ):
        session.execute(_insert(table), list(rows))
        return
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    quote = dialect.identifier_preparer.quote
    statement = (
        f"COPY {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(name) for name in names)}) FROM STDIN"
    )
    session.flush()
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        row[name] if process is None else process(row[name])
                        for name, process in zip(names, processors, strict=True)
                    ]
                )
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
