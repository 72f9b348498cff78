"""Brute-force protection: failed logins limited per account and per client address.

OWASP Authentication Cheat Sheet, "Protect Against Automated Attacks": count
failures per account *and* per source, lock for a while, and answer a locked
unknown account exactly like a locked existing one. The account key is a keyed
digest of the username as typed (normalised), so unknown usernames are counted
and locked just like real ones and the table reveals nothing about who exists.

Counters live in the database (``identity_login_throttle``) so every app node
behind a load balancer shares them. :func:`record_failure` writes in the caller's
session; the login services commit it before raising, so a failure stays counted
although the request ends in an error. (A second connection would deadlock SQLite's
single writer when the caller's transaction has already written.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from identity.crypto import IdentityCrypto
from identity.errors import LoginThrottled
from identity.models import LoginThrottle, ThrottleScope


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures_per_account: int = 5
    max_failures_per_address: int = 30
    #: Failures older than this no longer count.
    window: timedelta = timedelta(minutes=15)
    #: How long a key stays locked once it reached its limit.
    lockout: timedelta = timedelta(minutes=15)

    def limit(self, scope: ThrottleScope) -> int:
        if scope is ThrottleScope.ACCOUNT:
            return self.max_failures_per_account
        return self.max_failures_per_address


@dataclass(frozen=True)
class ThrottleKeys:
    """The two counters one login attempt touches (keyed digests, never plaintext)."""

    account: str
    #: None when the caller has no client address (the second-factor check).
    address: str | None

    @classmethod
    def for_attempt(
        cls, crypto: IdentityCrypto, *, account: str, client_address: str | None
    ) -> ThrottleKeys:
        """``account`` names the account (or the unknown username) being tried."""
        return cls(
            account=crypto.throttle_digest.digest(f"account:{account}"),
            address=None
            if client_address is None
            else crypto.throttle_digest.digest(f"address:{client_address}"),
        )

    def pairs(self) -> tuple[tuple[ThrottleScope, str], ...]:
        account = ((ThrottleScope.ACCOUNT, self.account),)
        return (
            account if self.address is None else (*account, (ThrottleScope.ADDRESS, self.address))
        )


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _row(session: Session, scope: ThrottleScope, key: str) -> LoginThrottle | None:
    return session.scalar(
        select(LoginThrottle)
        .where(LoginThrottle.scope == scope.value, LoginThrottle.key_digest == key)
        .with_for_update()
    )


@dataclass(frozen=True)
class Standing:
    """What the counters of one attempt's keys said before the password was checked
    (neither was locked)."""

    #: The account has a counter (failures a successful login forgets).
    account_counted: bool


def ensure_not_locked(session: Session, *, keys: ThrottleKeys, now: datetime) -> Standing:
    """Raise :class:`LoginThrottled` while the account or the address is locked; else
    what the counters say. Both keys in one query, reading only scope and lock time."""
    rows = session.execute(
        select(LoginThrottle.scope, LoginThrottle.locked_until).where(
            or_(
                *(
                    and_(LoginThrottle.scope == scope.value, LoginThrottle.key_digest == key)
                    for scope, key in keys.pairs()
                )
            )
        )
    ).all()
    waits = [
        math.ceil((locked_until - now).total_seconds())
        for locked_until in (_aware(row.locked_until) for row in rows)
        if locked_until is not None and locked_until > now
    ]
    if waits:
        raise LoginThrottled(max(waits))
    return Standing(
        account_counted=any(row.scope == ThrottleScope.ACCOUNT.value for row in rows),
    )


def record_failure(
    session: Session, *, policy: ThrottlePolicy, keys: ThrottleKeys, now: datetime
) -> int | None:
    """Count one failure on both keys (in ``session``; the caller commits).

    Returns the seconds to wait when this failure reached a limit, else None.
    """
    locked_for: int | None = None
    for scope, key in keys.pairs():
        row = _row(session, scope, key)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(
                        LoginThrottle(
                            scope=scope.value,
                            key_digest=key,
                            failures=0,
                            window_started_at=now,
                            updated_at=now,
                        )
                    )
            except IntegrityError:
                pass  # another node inserted it first
            row = _row(session, scope, key)
            assert row is not None
        locked_until = _aware(row.locked_until)
        started = _aware(row.window_started_at) or now
        if (locked_until is None or locked_until <= now) and now - started > policy.window:
            row.failures = 0
            row.window_started_at = now
            row.locked_until = None
        session.flush()
        # An atomic increment: concurrent failures on other nodes are all counted.
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.id == row.id)
            .values(failures=LoginThrottle.failures + 1, updated_at=now)
        )
        session.refresh(row)
        if row.failures >= policy.limit(scope):
            row.locked_until = now + policy.lockout
            row.failures = 0
            row.window_started_at = now
            locked_for = math.ceil(policy.lockout.total_seconds())
    session.flush()
    return locked_for


def clear_account(session: Session, *, keys: ThrottleKeys, standing: Standing) -> None:
    """After a successful login: forget the account's failures (the address's stay).

    Most logins have none to forget: with no counter in ``standing`` (read before the
    password was checked) nothing is written. A failure counted meanwhile stays counted.
    """
    if not standing.account_counted:
        return
    # One statement, no row loaded. A lock stays.
    session.execute(
        delete(LoginThrottle)
        .where(
            LoginThrottle.scope == ThrottleScope.ACCOUNT.value,
            LoginThrottle.key_digest == keys.account,
            LoginThrottle.locked_until.is_(None),
        )
        # Nothing to match in the session: the login loaded no throttle row.
        .execution_options(synchronize_session=False)
    )
