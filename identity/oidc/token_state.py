"""What answering an access token found, cached per process and kept exact by invalidation.

A relying platform calls userinfo, and a resource server introspection, with the same
access token again and again. Each call used to verify the ES256 signature and ask the
database whether the token was revoked and what the citizen's record says: about 1 ms of
CPU and a thread-pool hop per call (bench scenario 3). This cache keeps, per token, the
verified claims (and the userinfo answer), and forgets them the moment anything they
depend on changes:

- **On PostgreSQL**, triggers (migrations ``oidc_0002``, ``oidc_0003``) send ``NOTIFY``
  on :data:`CHANNEL` when a ``jti`` is revoked, a token row is revoked, or a citizen's
  record changes beyond :data:`CITIZEN_BOOKKEEPING` (which every login writes), from any
  node, the CLI or a hand-written ``UPDATE``; the notification is delivered when the
  writing transaction commits. Each worker listens
  (:class:`identity.oidc.token_state_feed.PostgresInvalidationFeed`) and drops the
  affected entries. The cache is **live only while that listener is connected**: when it
  loses the connection the cache empties and stays off until it listens again, since
  notifications sent meanwhile are lost.
- **In this process**, a commit through any SQLAlchemy session that revoked a token or
  changed a citizen drops the entries at once (:func:`track_session_writes`), so a
  platform that revokes and then calls userinfo on the same node never sees the old answer.
- **A read racing a change** cannot store a stale answer: the caller takes
  :attr:`TokenStateCache.generation` before reading the database, and :meth:`put` refuses
  the entry if any invalidation arrived in between.
- **Every entry expires** with its token and after :data:`MAX_AGE_SECONDS` at the latest
  (a bound, should a change ever reach the database by a path without a trigger).
- Answers that carry the citizen's identity number (scope ``idcard``) are never kept.

Without a notification channel (SQLite, the single-machine default) the cache is never
live and every call reads the database, as before.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from identity.models import Citizen
from identity.oidc.models import IssuedToken, RevokedAccessToken
from identity.oidc.tokens import AccessTokenClaims

#: The PostgreSQL ``LISTEN``/``NOTIFY`` channel; payloads ``jti:<jti>``,
#: ``citizen:<uuid>`` or ``all``.
CHANNEL = "govwallet_token_state"
#: Citizen columns that every login writes and no cached answer is built from: a change
#: to them alone is not announced (the trigger of migration ``oidc_0003`` skips them too).
CITIZEN_BOOKKEEPING = frozenset({"updated_at", "last_login_at", "password_hash", "totp_last_step"})
MAX_AGE_SECONDS = 60.0
MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A verified, unrevoked access token, and the userinfo answer it gave if it was asked.

    An entry from introspection (``userinfo is None``) says only that the token verified
    and its ``jti`` was not revoked; one from userinfo also that its token row was not
    revoked and what the citizen's record said.
    """

    claims: AccessTokenClaims
    userinfo: dict[str, Any] | None
    citizen_id: str | None
    #: ``time.monotonic()`` after which the entry is not used.
    deadline: float


class TokenStateCache:
    """Answers by token string; see the module docstring for what keeps them exact."""

    def __init__(
        self,
        *,
        max_entries: int = MAX_ENTRIES,
        max_age: float = MAX_AGE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._max_entries = max_entries
        self._max_age = max_age
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._entries: dict[str, CachedAnswer] = {}
        self._by_jti: dict[str, str] = {}
        self._by_citizen: dict[str, set[str]] = {}
        self._generation = 0
        self._live = False
        _CACHES.add(self)
        track_session_writes()

    # -- state --------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True while an invalidation feed is connected; only then is anything kept."""
        return self._live

    @property
    def generation(self) -> int:
        """Read before reading the database; hand it to :meth:`put`."""
        return self._generation

    def __len__(self) -> int:
        return len(self._entries)

    def go_live(self) -> None:
        """The feed listens (again): start empty, since changes may have been missed."""
        with self._lock:
            self._drop_all()
            self._live = True

    def go_dark(self) -> None:
        """The feed lost its connection: keep nothing until it is back."""
        with self._lock:
            self._live = False
            self._drop_all()

    # -- reads and writes ---------------------------------------------------------

    def get(self, token: str) -> CachedAnswer | None:
        """The cached answer for exactly this token string, if live and still current."""
        if not self._live:
            return None
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry.deadline <= self._monotonic() or entry.claims.expires_at <= self._wall_clock():
            with self._lock:
                if self._entries.get(token) is entry:
                    self._remove(token)
            return None
        return entry

    def put(
        self,
        token: str,
        *,
        claims: AccessTokenClaims,
        generation: int,
        userinfo: dict[str, Any] | None = None,
        citizen_id: str | None = None,
    ) -> bool:
        """Keep an answer read from the database at ``generation``; refused (False) when
        the cache is not live or anything was invalidated since. An entry without a
        userinfo answer never replaces one with it."""
        deadline = self._monotonic() + min(self._max_age, claims.expires_at - self._wall_clock())
        with self._lock:
            if not self._live or generation != self._generation:
                return False
            if deadline <= self._monotonic():
                return False
            if token in self._entries:
                if userinfo is None and self._entries[token].userinfo is not None:
                    return False
                self._remove(token)
            while len(self._entries) >= self._max_entries:
                self._remove(next(iter(self._entries)))  # the oldest entry
            self._entries[token] = CachedAnswer(
                claims=claims, userinfo=userinfo, citizen_id=citizen_id, deadline=deadline
            )
            self._by_jti[claims.jti] = token
            if citizen_id is not None:
                self._by_citizen.setdefault(citizen_id, set()).add(token)
        return True

    # -- invalidation -------------------------------------------------------------

    def invalidate(
        self, *, jtis: Iterable[str] = (), citizen_ids: Iterable[str] = (), everything: bool = False
    ) -> None:
        """Forget what these changes touch; reads in flight will not store their answers."""
        with self._lock:
            self._generation += 1
            if everything:
                self._drop_all()
                return
            for jti in jtis:
                token = self._by_jti.get(jti)
                if token is not None:
                    self._remove(token)
            for citizen_id in citizen_ids:
                for token in list(self._by_citizen.get(citizen_id, ())):
                    self._remove(token)

    def apply(self, payload: str) -> None:
        """A notification's payload: ``jti:<jti>``, ``citizen:<uuid>``; anything else
        (``all``, or a payload this version does not know) forgets everything."""
        kind, _, value = payload.partition(":")
        if kind == "jti" and value:
            self.invalidate(jtis=[value])
        elif kind == "citizen" and value:
            self.invalidate(citizen_ids=[value])
        else:
            self.invalidate(everything=True)

    # -- internals (lock held) ----------------------------------------------------

    def _remove(self, token: str) -> None:
        entry = self._entries.pop(token)
        if self._by_jti.get(entry.claims.jti) == token:
            del self._by_jti[entry.claims.jti]
        tokens = self._by_citizen.get(entry.citizen_id) if entry.citizen_id else None
        if tokens is not None and entry.citizen_id is not None:
            tokens.discard(token)
            if not tokens:
                del self._by_citizen[entry.citizen_id]

    def _drop_all(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._by_jti.clear()
        self._by_citizen.clear()


# -- this process's own writes ----------------------------------------------------------

_CACHES: weakref.WeakSet[TokenStateCache] = weakref.WeakSet()
_PENDING = "govwallet_token_state_changes"


def _changes(session: Session) -> tuple[set[str], set[str]]:
    found = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = (set(), set())
    return found


def _after_flush(session: Session, _context: Any) -> None:
    jtis, citizens = set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, RevokedAccessToken):
            jtis.add(obj.jti)
        elif isinstance(obj, IssuedToken):
            if inspect(obj).attrs.revoked_at.history.has_changes():
                jtis.add(obj.jti)
        elif isinstance(obj, Citizen) and (obj in session.deleted or _claims_changed(obj)):
            citizens.add(str(obj.id))
    if jtis or citizens:
        pending_jtis, pending_citizens = _changes(session)
        pending_jtis |= jtis
        pending_citizens |= citizens


def _claims_changed(citizen: Citizen) -> bool:
    """A column other than the bookkeeping ones changed (a login's writes do not count)."""
    attrs = inspect(citizen).attrs
    return any(
        attrs[column.key].history.has_changes()
        for column in inspect(Citizen).column_attrs
        if column.key not in CITIZEN_BOOKKEEPING
    )


def _after_commit(session: Session) -> None:
    found = session.info.pop(_PENDING, None)
    if found is None:
        return
    jtis, citizens = found
    for cache in list(_CACHES):
        cache.invalidate(jtis=jtis, citizen_ids=citizens)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def track_session_writes() -> None:
    """Drop cached answers when this process commits a revocation or a citizen change
    (idempotent; every SQLAlchemy session of the process is watched)."""
    if event.contains(Session, "after_flush", _after_flush):
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback_soft)


def _after_rollback_soft(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction rolled back
        _after_rollback(session)
