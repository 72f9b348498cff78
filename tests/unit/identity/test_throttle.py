"""Login-throttle counters in the database: per account, per address, window and lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from identity import throttle
from identity.errors import LoginThrottled
from identity.models import LoginThrottle
from identity.throttle import ThrottleKeys, ThrottlePolicy
from wallet_api.runtime import Runtime

NOW = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(
    max_failures_per_account=3,
    max_failures_per_address=5,
    window=timedelta(minutes=15),
    lockout=timedelta(minutes=10),
)


def _keys(runtime: Runtime, account: str = "a", address: str = "192.0.2.1") -> ThrottleKeys:
    return ThrottleKeys.for_attempt(
        runtime.identity.crypto, account=account, client_address=address
    )


def test_account_locks_at_its_limit_and_says_how_long(runtime: Runtime) -> None:
    keys = _keys(runtime)
    with runtime.sessions() as session:
        assert throttle.record_failure(session, policy=POLICY, keys=keys, now=NOW) is None
        assert throttle.record_failure(session, policy=POLICY, keys=keys, now=NOW) is None
        assert throttle.record_failure(session, policy=POLICY, keys=keys, now=NOW) == 600
        with pytest.raises(LoginThrottled) as caught:
            throttle.ensure_not_locked(session, keys=keys, now=NOW + timedelta(minutes=1))
    assert caught.value.retry_after == 540
    assert "try again in 9 minutes" in str(caught.value)
    with runtime.sessions() as session:
        throttle.ensure_not_locked(session, keys=keys, now=NOW + timedelta(minutes=10, seconds=1))


def test_one_row_per_account_and_per_address(runtime: Runtime) -> None:
    keys = _keys(runtime)
    with runtime.sessions() as session:
        throttle.record_failure(session, policy=POLICY, keys=keys, now=NOW)
        throttle.record_failure(session, policy=POLICY, keys=keys, now=NOW)
        session.commit()
    with runtime.sessions() as session:
        rows = session.scalars(select(LoginThrottle)).all()
    assert sorted(row.scope for row in rows) == ["account", "address"]
    assert {row.failures for row in rows} == {2}


def test_address_locks_across_accounts(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        results = [
            throttle.record_failure(
                session, policy=POLICY, keys=_keys(runtime, account=f"user{i}"), now=NOW
            )
            for i in range(5)
        ]
        assert results[-1] == 600
        with pytest.raises(LoginThrottled):
            throttle.ensure_not_locked(session, keys=_keys(runtime, account="fresh"), now=NOW)
        throttle.ensure_not_locked(
            session, keys=_keys(runtime, account="fresh", address="192.0.2.99"), now=NOW
        )


def test_old_failures_leave_the_window(runtime: Runtime) -> None:
    keys = _keys(runtime)
    with runtime.sessions() as session:
        throttle.record_failure(session, policy=POLICY, keys=keys, now=NOW)
        throttle.record_failure(session, policy=POLICY, keys=keys, now=NOW)
        later = NOW + timedelta(minutes=16)
        assert throttle.record_failure(session, policy=POLICY, keys=keys, now=later) is None
        assert throttle.record_failure(session, policy=POLICY, keys=keys, now=later) is None


def test_success_clears_the_account_but_not_the_address(runtime: Runtime) -> None:
    keys = _keys(runtime)
    with runtime.sessions() as session:
        throttle.record_failure(session, policy=POLICY, keys=keys, now=NOW)
        standing = throttle.ensure_not_locked(session, keys=keys, now=NOW)
        assert standing.account_counted
        throttle.clear_account(session, keys=keys, standing=standing)
        session.commit()
        scopes = {row.scope for row in session.scalars(select(LoginThrottle))}
    assert scopes == {"address"}


def test_a_failure_counted_while_a_login_succeeds_stays_counted(runtime: Runtime) -> None:
    """The login read no account counter before its password check; a failure counted
    meanwhile (another request guessing) is not forgotten by the login's success."""
    keys = _keys(runtime)
    with runtime.sessions() as session:
        standing = throttle.ensure_not_locked(session, keys=keys, now=NOW)
        assert not standing.account_counted
        throttle.record_failure(session, policy=POLICY, keys=keys, now=NOW)
        throttle.clear_account(session, keys=keys, standing=standing)
        session.commit()
        scopes = {row.scope for row in session.scalars(select(LoginThrottle))}
    assert scopes == {"account", "address"}


def test_keys_are_digests_not_usernames_or_addresses(runtime: Runtime) -> None:
    keys = _keys(runtime, account="username:11010519491231002X", address="203.0.113.5")
    assert "11010519491231002X" not in keys.account
    assert keys.address is not None
    assert "203.0.113.5" not in keys.address
    assert len(keys.account) == 64
