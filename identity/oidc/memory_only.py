"""Work that must not wait on storage: answers made on the event loop from memory.

A resource server's introspection of a cached token and an agency's ``client_credentials``
token need nothing but memory once the client, the token's state and the signing key are
cached, so they are answered on the event loop (or by the HTTP protocol itself:
``wallet_api.direct_answers``) without a thread-pool hop. Inside :func:`memory_only`, the
places that would otherwise read the database on a cache miss (the client registry, a
request's deferred session) raise :class:`NeedsStorage` instead, and the caller takes the
path that may wait (the thread pool, the application). A blocking query on the event loop
would stall every other request of the worker while it ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_memory_only: ContextVar[bool] = ContextVar("govwallet_memory_only", default=False)


class NeedsStorage(Exception):
    """Raised inside :func:`memory_only` where the database would be read."""


@contextmanager
def memory_only() -> Iterator[None]:
    token = _memory_only.set(True)
    try:
        yield
    finally:
        _memory_only.reset(token)


def require_storage() -> None:
    """Call before reading storage: raises :class:`NeedsStorage` inside :func:`memory_only`."""
    if _memory_only.get():
        raise NeedsStorage


def storage_guarded(open_session: Callable[[], T]) -> Callable[[], T]:
    """``open_session``, raising :class:`NeedsStorage` when called inside
    :func:`memory_only`: a session opened there would read or write on the event loop, and
    a write would be made again when the caller then takes the path that may wait."""

    def opened() -> T:
        require_storage()
        return open_session()

    return opened


def from_memory(call: Callable[P, T | None], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """``call`` inside :func:`memory_only`; None when it would have read storage."""
    try:
        with memory_only():
            return call(*args, **kwargs)
    except NeedsStorage:
        return None
