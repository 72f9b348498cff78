"""Unguessable identifiers without a system call each.

``os.urandom`` is one ``getrandom`` system call per use, and on virtual machines that
call costs as much as the rest of a small request (bench scenario 2: a token's ``jti``).
Here the operating system's random bytes are fetched 4 KiB at a time and handed out in
order, each byte once. They are the same bytes ``os.urandom`` would give, so an
identifier is exactly as unguessable; a forked child starts with an empty buffer, so
no two processes ever hand out the same bytes.

For identifiers (token ids), not for key material: keys come from ``cryptography``.
"""

from __future__ import annotations

import os
import threading

_CHUNK = 4096


class _RandomPool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0

    def take(self, size: int) -> bytes:
        if size > _CHUNK:
            return os.urandom(size)
        with self._lock:
            if self._offset + size > len(self._buffer):
                self._buffer = os.urandom(_CHUNK)
                self._offset = 0
            start = self._offset
            self._offset = start + size
            return self._buffer[start : start + size]

    def forget(self) -> None:
        """After a fork: the parent's bytes are never handed out again here."""
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0


_POOL = _RandomPool()
os.register_at_fork(after_in_child=_POOL.forget)


def random_bytes(size: int) -> bytes:
    """``size`` bytes from the operating system's CSPRNG, never handed out before."""
    return _POOL.take(size)


def random_hex(size: int = 16) -> str:
    """``2 * size`` hex characters from :func:`random_bytes` (like ``secrets.token_hex``)."""
    return _POOL.take(size).hex()
