"""Inside ``memory_only`` a cache miss that would read the database raises ``NeedsStorage``
instead (identity.oidc.memory_only): nothing on the event loop waits on a query."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from identity.oidc.memory_only import NeedsStorage, memory_only
from identity.oidc.models import OAuthClient
from wallet_api.oauth_server import StarletteOAuth2Request, StarletteProvider


def test_an_uncached_client_needs_storage_and_a_cached_one_does_not(
    provider: StarletteProvider, make_client: Callable[..., tuple[OAuthClient, str | None]]
) -> None:
    row, _ = make_client()
    with memory_only(), pytest.raises(NeedsStorage):
        provider.clients.get(row.client_id)
    cached = provider.clients.get(row.client_id)  # read, cached
    assert cached is not None
    assert cached.client_id == row.client_id
    with memory_only():
        cached = provider.clients.get(row.client_id)
        assert cached is not None
        assert cached.client_id == row.client_id
        assert provider.clients.get("gw-" + "x" * 80) is None  # not storable: no lookup
    provider.clients.invalidate(row.client_id)
    with memory_only(), pytest.raises(NeedsStorage):
        provider.clients.get(row.client_id)


def test_the_providers_sessions_are_not_opened_in_memory_only_work(
    provider: StarletteProvider,
) -> None:
    for open_session in (provider.sessions, provider.read_sessions):
        with memory_only(), pytest.raises(NeedsStorage):
            open_session()
        with open_session() as session:  # outside, as before
            assert session.execute(text("SELECT 1")).scalar_one() == 1


def test_a_deferred_session_is_not_opened_in_memory_only_work() -> None:
    opened: list[str] = []
    request = StarletteOAuth2Request(
        method="POST", uri="https://id.example/token", headers={}, query=[], form=[], db=None
    )
    request.defer_session(lambda: opened.append("session") or "session")  # type: ignore[arg-type,func-returns-value,return-value]
    with memory_only(), pytest.raises(NeedsStorage):
        _ = request.db
    assert opened == []
    # outside, the session opens on first use
    assert request.db == "session"  # type: ignore[comparison-overlap]
    assert opened == ["session"]


def test_memory_only_ends_with_its_block_even_on_an_error() -> None:
    request = StarletteOAuth2Request(
        method="POST", uri="https://id.example/token", headers={}, query=[], form=[], db=None
    )
    request.defer_session(lambda: "session")  # type: ignore[arg-type,return-value]
    with pytest.raises(RuntimeError), memory_only():
        raise RuntimeError("boom")
    assert request.db == "session"  # type: ignore[comparison-overlap]
