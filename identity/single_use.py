"""Single-use values marked by one conditional update, so that racing requests use them once.

Requests that arrive together with the same one-time value (an authorization code, a
refresh token, a TOTP code, a recovery code) all read it unused. Setting the mark on the
loaded row and committing would let every one of them through. Instead the mark is an
``UPDATE`` that matches only while the value is unused: the first request's update
matches; the others wait for its commit (PostgreSQL's row lock, SQLite's write lock),
match nothing and are refused.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value


def mark_once(
    session: Session,
    row: Any,
    *,
    attribute: str,
    value: Any,
    unused: ColumnElement[bool] | None = None,
) -> bool:
    """Set ``row``'s ``attribute`` to ``value`` in the database, only while the row is
    ``unused`` (by default: while ``attribute`` is still null); True if this request did,
    False if another did first.

    On success ``row`` shows the value as written (nothing is left to flush).
    """
    state = inspect(row)
    model = state.mapper.class_
    if unused is None:
        unused = getattr(model, attribute).is_(None)
    keys = zip(state.mapper.primary_key, state.identity, strict=True)
    same_row = [column == key for column, key in keys]
    marked = session.execute(
        update(model)
        .where(*same_row, unused)
        .values({attribute: value})
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(row, attribute, value)
    return True
