"""The per-process token-state cache: live only with a feed, exact under invalidation."""

from __future__ import annotations

import dataclasses

import pytest

from identity.oidc.token_state import TokenStateCache
from identity.oidc.tokens import AccessTokenClaims

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = NOW

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def claims(jti: str = "j1") -> AccessTokenClaims:
    return AccessTokenClaims(
        jti=jti,
        client_id="c",
        subject="s",
        scopes=frozenset({"openid"}),
        expires_at=int(NOW) + 600,
        issued_at=int(NOW),
        claims={},
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> TokenStateCache:
    made = TokenStateCache(max_age=60, monotonic=lambda: clock.mono, wall_clock=lambda: clock.wall)
    made.go_live()
    return made


def put(cache: TokenStateCache, token: str = "t1", jti: str = "j1", citizen: str = "p1") -> bool:
    return cache.put(
        token,
        claims=claims(jti),
        userinfo={"sub": "s", "jti": jti},
        citizen_id=citizen,
        generation=cache.generation,
    )


def test_nothing_is_kept_or_answered_without_a_feed(clock: Clock) -> None:
    dark = TokenStateCache(monotonic=lambda: clock.mono, wall_clock=lambda: clock.wall)
    assert dark.live is False
    assert put(dark) is False
    assert dark.get("t1") is None


def test_an_answer_is_kept_for_exactly_its_token(cache: TokenStateCache) -> None:
    assert put(cache) is True
    hit = cache.get("t1")
    assert hit is not None
    assert hit.userinfo == {"sub": "s", "jti": "j1"}
    assert cache.get("t1x") is None
    assert cache.get("") is None


def test_a_read_racing_an_invalidation_is_not_stored(cache: TokenStateCache) -> None:
    generation = cache.generation  # the request starts reading the database
    cache.invalidate(jtis=["someone-else"])  # any change arrives meanwhile
    stored = cache.put("t1", claims=claims(), userinfo={}, citizen_id="p1", generation=generation)
    assert stored is False
    assert cache.get("t1") is None


def test_revoking_the_jti_forgets_the_token(cache: TokenStateCache) -> None:
    put(cache, "t1", "j1")
    put(cache, "t2", "j2")
    cache.apply("jti:j1")
    assert cache.get("t1") is None
    assert cache.get("t2") is not None


def test_a_citizen_change_forgets_all_their_tokens(cache: TokenStateCache) -> None:
    put(cache, "t1", "j1", "p1")
    put(cache, "t2", "j2", "p1")
    put(cache, "t3", "j3", "p2")
    cache.apply("citizen:p1")
    assert cache.get("t1") is None
    assert cache.get("t2") is None
    assert cache.get("t3") is not None


@pytest.mark.parametrize("payload", ["all", "", "jti:", "citizen:", "something-new:x"])
def test_unknown_or_global_payloads_forget_everything(cache: TokenStateCache, payload: str) -> None:
    put(cache, "t1", "j1")
    cache.apply(payload)
    assert cache.get("t1") is None
    assert len(cache) == 0


def test_losing_the_feed_empties_the_cache_and_stops_it(cache: TokenStateCache) -> None:
    put(cache, "t1")
    cache.go_dark()
    assert cache.get("t1") is None
    assert put(cache, "t2") is False
    cache.go_live()  # back, but empty: notifications sent meanwhile were lost
    assert cache.get("t1") is None
    assert put(cache, "t2") is True


def test_entries_end_with_their_token_and_after_the_maximum_age(
    cache: TokenStateCache, clock: Clock
) -> None:
    put(cache, "t1")
    clock.advance(59)
    assert cache.get("t1") is not None
    clock.advance(2)
    assert cache.get("t1") is None  # max_age 60 s
    short = dataclasses.replace(claims("j9"), expires_at=int(clock.wall) + 10)
    assert cache.put("t9", claims=short, userinfo={}, citizen_id="p", generation=cache.generation)
    clock.advance(11)
    assert cache.get("t9") is None  # the token itself expired
    expired = dataclasses.replace(claims("j8"), expires_at=int(clock.wall) - 1)
    assert not cache.put(
        "t8", claims=expired, userinfo={}, citizen_id="p", generation=cache.generation
    )


def test_the_oldest_entries_make_room(clock: Clock) -> None:
    small = TokenStateCache(
        max_entries=2, monotonic=lambda: clock.mono, wall_clock=lambda: clock.wall
    )
    small.go_live()
    for n in range(3):
        put(small, f"t{n}", f"j{n}", "p")
    assert len(small) == 2
    assert small.get("t0") is None
    assert small.get("t2") is not None
    small.apply("citizen:p")
    assert len(small) == 0
