"""``insert_if_absent``: a row whose unique key is taken is left alone, not broken on."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from identity.insert_if_absent import insert_if_absent
from identity.models import LoginThrottle
from wallet_api.runtime import Runtime

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
UNIQUE = ("scope", "key_digest")


def _counter(failures: int, key: str = "k") -> dict[str, object]:
    return {
        "scope": "account",
        "key_digest": key,
        "failures": failures,
        "window_started_at": NOW,
        "updated_at": NOW,
    }


def test_the_first_insert_wins_and_a_second_changes_nothing(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        assert insert_if_absent(session, LoginThrottle, _counter(1), unique=UNIQUE)
        assert not insert_if_absent(session, LoginThrottle, _counter(9), unique=UNIQUE)
        assert insert_if_absent(session, LoginThrottle, _counter(2, key="other"), unique=UNIQUE)
        session.commit()
    with runtime.sessions() as session:
        rows = session.execute(select(LoginThrottle.key_digest, LoginThrottle.failures)).all()
    assert sorted(map(tuple, rows)) == [("k", 1), ("other", 2)]


def test_a_row_committed_by_another_session_is_left_alone(runtime: Runtime) -> None:
    with runtime.sessions() as first:
        assert insert_if_absent(first, LoginThrottle, _counter(1), unique=UNIQUE)
        first.commit()
    with runtime.sessions() as second:
        assert not insert_if_absent(second, LoginThrottle, _counter(5), unique=UNIQUE)
        second.commit()
        assert second.scalars(select(LoginThrottle.failures)).all() == [1]
