"""PostgreSQL notifications keep the token-state cache exact across processes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from identity.models import Citizen
from identity.oidc.models import IssuedToken, RevokedAccessToken
from identity.oidc.token_state import TokenStateCache
from identity.oidc.token_state_feed import PostgresInvalidationFeed
from identity.oidc.tokens import AccessTokenClaims
from tests.support.databases import postgres_schema_url
from wallet_api.app import token_state_feed
from wallet_api.migrate import upgrade
from wallet_api.oauth_setup import build_provider
from wallet_api.runtime import Runtime
from wallet_api.settings import Settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_runtime(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    with postgres_schema_url() as url:
        runtime = Runtime(make_settings(database_url=url))
        upgrade(runtime.engine)
        yield runtime
        runtime.close()


@pytest.fixture
def feed(pg_runtime: Runtime) -> Iterator[tuple[PostgresInvalidationFeed, TokenStateCache]]:
    provider = build_provider(pg_runtime)
    made = token_state_feed(pg_runtime, provider)
    assert made is not None
    made.start()
    assert made.wait_listening(10)
    yield made, provider.token_state
    made.stop()


def _claims(jti: str) -> AccessTokenClaims:
    now = int(time.time())
    return AccessTokenClaims(
        jti=jti,
        client_id="c",
        subject="s",
        scopes=frozenset({"openid"}),
        expires_at=now + 600,
        issued_at=now,
        claims={},
    )


def _put(cache: TokenStateCache, token: str, jti: str, citizen_id: str) -> None:
    stored = cache.put(
        token, claims=_claims(jti), userinfo={}, citizen_id=citizen_id, generation=cache.generation
    )
    assert stored


def _gone(cache: TokenStateCache, token: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cache.get(token) is None:
            return True
        time.sleep(0.01)
    return False


def _other_process_sql(runtime: Runtime, statement: str, **params: object) -> None:
    """A write that no session of this process's ORM sees (as from another node)."""
    with runtime.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_a_jti_revoked_elsewhere_is_forgotten(
    pg_runtime: Runtime, feed: tuple[PostgresInvalidationFeed, TokenStateCache]
) -> None:
    _, cache = feed
    _put(cache, "token-a", "jti-a", "p1")
    _put(cache, "token-b", "jti-b", "p1")
    _other_process_sql(
        pg_runtime,
        "INSERT INTO oidc_revoked_jti (jti, expires_at) VALUES (:jti, :at)",
        jti="jti-a",
        at=datetime.now(UTC) + timedelta(minutes=10),
    )
    assert _gone(cache, "token-a")
    assert cache.get("token-b") is not None


def test_nothing_is_announced_before_the_commit(
    pg_runtime: Runtime, feed: tuple[PostgresInvalidationFeed, TokenStateCache]
) -> None:
    _, cache = feed
    _put(cache, "token-a", "jti-a", "p1")
    with pg_runtime.engine.connect() as conn:
        conn.execute(text("INSERT INTO oidc_revoked_jti (jti, expires_at) VALUES ('jti-a', now())"))
        time.sleep(0.3)
        assert cache.get("token-a") is not None  # uncommitted: still valid everywhere
        conn.rollback()
    time.sleep(0.3)
    assert cache.get("token-a") is not None  # rolled back: nothing changed


def test_a_change_to_the_citizen_forgets_their_tokens(
    pg_runtime: Runtime,
    feed: tuple[PostgresInvalidationFeed, TokenStateCache],
    make_citizen_row: Callable[[], str],
) -> None:
    _, cache = feed
    citizen_id = make_citizen_row()
    _put(cache, "token-a", "jti-a", citizen_id)
    _put(cache, "token-z", "jti-z", str(uuid.uuid4()))
    _other_process_sql(
        pg_runtime,
        "UPDATE identity_citizen SET name = name || '·' WHERE id = :id",
        id=uuid.UUID(citizen_id),
    )
    assert _gone(cache, "token-a")
    assert cache.get("token-z") is not None


def test_a_login_s_writes_to_the_citizen_announce_nothing(
    pg_runtime: Runtime,
    feed: tuple[PostgresInvalidationFeed, TokenStateCache],
    make_citizen_row: Callable[[], str],
) -> None:
    """Every login writes the citizen's row (last login, a TOTP step, a re-hash); no
    cached answer depends on those columns, so no worker drops anything and the login's
    commit takes no part in PostgreSQL's ordering of notifications."""
    _, cache = feed
    citizen_id = make_citizen_row()
    _put(cache, "token-a", "jti-a", citizen_id)
    _put(cache, "token-sentinel", "jti-sentinel", "p1")
    with pg_runtime.transaction() as session:  # this process's own commit
        citizen = session.get(Citizen, uuid.UUID(citizen_id))
        assert citizen is not None
        citizen.last_login_at = citizen.updated_at = datetime.now(UTC)
    assert cache.get("token-a") is not None
    _other_process_sql(  # another node's
        pg_runtime,
        "UPDATE identity_citizen SET last_login_at = now(), updated_at = now(), "
        "totp_last_step = 1, password_hash = 'rehashed' WHERE id = :id",
        id=uuid.UUID(citizen_id),
    )
    # Notifications arrive in commit order: once the sentinel's has, the citizen's would have.
    _other_process_sql(
        pg_runtime,
        "INSERT INTO oidc_revoked_jti (jti, expires_at) VALUES ('jti-sentinel', now())",
    )
    assert _gone(cache, "token-sentinel")
    assert cache.get("token-a") is not None


def test_this_process_s_own_commits_invalidate_at_once(
    pg_runtime: Runtime,
    feed: tuple[PostgresInvalidationFeed, TokenStateCache],
    make_citizen_row: Callable[[], str],
) -> None:
    """No wait for the notification: the commit itself drops the entries."""
    _, cache = feed
    citizen_id = make_citizen_row()
    _put(cache, "token-a", "jti-a", "p1")
    _put(cache, "token-b", "jti-b", citizen_id)
    with pg_runtime.transaction() as session:
        session.add(
            RevokedAccessToken(jti="jti-a", expires_at=datetime.now(UTC) + timedelta(minutes=5))
        )
    assert cache.get("token-a") is None
    with pg_runtime.transaction() as session:
        citizen = session.get(Citizen, uuid.UUID(citizen_id))
        assert citizen is not None
        citizen.phone_digest = "changed"
    assert cache.get("token-b") is None


def test_a_rolled_back_write_leaves_the_cache_alone(
    pg_runtime: Runtime, feed: tuple[PostgresInvalidationFeed, TokenStateCache]
) -> None:
    _, cache = feed
    _put(cache, "token-a", "jti-a", "p1")
    session = pg_runtime.sessions()
    session.add(RevokedAccessToken(jti="jti-a", expires_at=datetime.now(UTC)))
    session.flush()
    session.rollback()
    session.close()
    time.sleep(0.3)
    assert cache.get("token-a") is not None


def test_a_lost_connection_turns_the_cache_off_until_it_listens_again(
    pg_runtime: Runtime, feed: tuple[PostgresInvalidationFeed, TokenStateCache]
) -> None:
    listener, cache = feed
    _put(cache, "token-a", "jti-a", "p1")
    _other_process_sql(
        pg_runtime,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE query LIKE 'LISTEN govwallet_token_state%' AND pid <> pg_backend_pid()",
    )
    assert _gone(cache, "token-a")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (cache.live and listener.wait_listening(0.1)):
        time.sleep(0.05)
    assert cache.live
    _put(cache, "token-c", "jti-c", "p1")  # live again, and exact again
    _other_process_sql(
        pg_runtime,
        "INSERT INTO oidc_revoked_jti (jti, expires_at) VALUES ('jti-c', now())",
    )
    assert _gone(cache, "token-c")


def test_no_feed_on_sqlite_and_when_turned_off(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    runtime = Runtime(make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    try:
        assert token_state_feed(runtime, build_provider(runtime)) is None
    finally:
        runtime.close()
    with postgres_schema_url() as url:
        runtime = Runtime(make_settings(database_url=url, token_state_cache=False))
        try:
            assert token_state_feed(runtime, build_provider(runtime)) is None
        finally:
            runtime.close()


@pytest.fixture
def make_citizen_row(pg_runtime: Runtime) -> Callable[[], str]:
    from identity import services as accounts

    def factory() -> str:
        with pg_runtime.transaction() as session:
            citizen = accounts.register_citizen(
                session,
                identity=pg_runtime.identity,
                id_number="11010519491231002X",
                name="张三",
                password="Unit-test-password-1",
            )
            session.flush()
            return str(citizen.id)

    return factory


def test_a_token_row_revoked_elsewhere_is_announced(
    pg_runtime: Runtime,
    feed: tuple[PostgresInvalidationFeed, TokenStateCache],
    make_citizen_row: Callable[[], str],
) -> None:
    """Logging out everywhere marks the token rows revoked: each row's jti is announced."""
    _, cache = feed
    citizen_id = make_citizen_row()
    now = datetime.now(UTC)
    with pg_runtime.transaction() as session:
        session.add(
            IssuedToken(
                jti="jti-row",
                family_id=uuid.uuid4(),
                client_id="c",
                citizen_id=uuid.UUID(citizen_id),
                scope="openid",
                auth_time=now,
                acr="urn:govwallet:loa:1",
                amr=["pwd"],
                issued_at=now,
                access_expires_at=now + timedelta(minutes=10),
            )
        )
    _put(cache, "token-row", "jti-row", "someone")
    _other_process_sql(pg_runtime, "UPDATE oidc_token SET revoked_at = now() WHERE jti = 'jti-row'")
    assert _gone(cache, "token-row")
