"""``insert_rows``: COPY on PostgreSQL stores exactly what an INSERT stores, and a broken
constraint is SQLAlchemy's IntegrityError, undone by its savepoint, as with an INSERT."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licenses.copy_rows import COPY_MIN_ROWS, insert_rows
from wallet_api.db import make_engine

METADATA = MetaData()


def _table(name: str) -> Table:
    return Table(
        name,
        METADATA,
        Column("id", Uuid, primary_key=True),
        Column("name", String(200)),
        Column("body", Text),
        Column("blob", LargeBinary),
        Column("jwk", JSON),
        Column("day", Date),
        Column("at", DateTime(timezone=True)),
        Column("n", Integer),
        Column("note", Text, server_default="server default"),
    )


COPIED = _table("t_copied")
INSERTED = _table("t_inserted")
START = datetime(2026, 12, 6, 23, 59, 59, 999_999, tzinfo=UTC)
#: Text that COPY's own format must escape: tabs, newlines, backslashes, its NULL marker.
AWKWARD = ["\t", "\n", "\\", "\\N", "\r\n", "a\\tb", "张三", "", " ", "'", '"', "\x7f", "😀"]


def _rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.UUID(int=i + 1),
            "name": AWKWARD[i % len(AWKWARD)] * (i % 3 + 1),
            "body": None if i % 5 == 0 else f"line {i}\n{AWKWARD[i % len(AWKWARD)]}",
            "blob": bytes(range(i % 256)) + b"\x00\\\t\n",
            "jwk": None if i % 4 == 0 else {"kty": "EC", "x": AWKWARD[i % len(AWKWARD)], "n": i},
            "day": date(2026, 1, 1) + timedelta(days=i),
            "at": START - timedelta(microseconds=i * 7_919),
            "n": -(2**31) + i if i % 2 else 2**31 - 1 - i,
        }
        for i in range(count)
    ]


def _contents(session: Session, table: Table) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.execute(select(table).order_by(table.c.id))]


@pytest.mark.parametrize("count", [COPY_MIN_ROWS - 1, COPY_MIN_ROWS, 300])
def test_copied_rows_read_back_exactly_as_inserted_ones(database_url: str, count: int) -> None:
    engine = make_engine(database_url)
    METADATA.create_all(engine)
    try:
        rows = _rows(count)
        with Session(engine) as session, session.begin():
            insert_rows(session, COPIED, rows)
            session.execute(insert(INSERTED), rows)
        with Session(engine) as session:
            copied, inserted = _contents(session, COPIED), _contents(session, INSERTED)
            nulls = session.scalar(select(func.count()).where(COPIED.c.jwk.is_(None)))
        assert len(copied) == count
        assert copied == inserted
        assert copied[1][-1] == "server default"  # a column not given takes its default
        assert nulls == 0  # None in a JSON column is JSON null, as an INSERT stores it
    finally:
        METADATA.drop_all(engine)
        engine.dispose()


def test_a_broken_constraint_is_an_integrity_error_its_savepoint_undoes(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    METADATA.create_all(engine)
    try:
        rows = _rows(100)
        with Session(engine) as session, session.begin():
            insert_rows(session, COPIED, rows[:50])
            with pytest.raises(IntegrityError), session.begin_nested():
                insert_rows(session, COPIED, rows[40:])  # ten ids taken
            insert_rows(session, COPIED, rows[50:])  # the transaction goes on
        with Session(engine) as session:
            assert [row[0] for row in _contents(session, COPIED)] == [r["id"] for r in rows]
    finally:
        METADATA.drop_all(engine)
        engine.dispose()


def test_nothing_to_insert_is_no_statement(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            insert_rows(session, COPIED, [])  # the table does not even exist
    finally:
        engine.dispose()
