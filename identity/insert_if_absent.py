"""Insert a row unless its unique key is taken, in one statement that racing requests share.

Reading first and inserting when nothing was found lets two requests that arrive together
both find nothing; the second insert then breaks the unique constraint. ``INSERT … ON
CONFLICT DO NOTHING`` (PostgreSQL and SQLite alike) waits for a conflicting insert in
flight and does nothing if it commits, in the statement that inserts: one round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_DIALECTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def insert_if_absent(
    session: Session, model: Any, values: dict[str, Any], *, unique: Sequence[str]
) -> bool:
    """Insert ``values`` into ``model``'s table unless a row with the same ``unique``
    columns exists; True if this call inserted it. Column defaults apply; the row is not
    loaded into ``session``."""
    dialect = session.get_bind().dialect.name
    insert = _DIALECTS.get(dialect)
    if insert is None:  # a programming error: the databases govwallet runs on are above
        raise NotImplementedError(f"INSERT … ON CONFLICT is not written for {dialect}")
    result = session.execute(
        insert(model.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=unique)
        # An INSERT's row count is kept only when asked for (psycopg's would read -1).
        .execution_options(preserve_rowcount=True)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
