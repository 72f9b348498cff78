"""What request values may reach a database query or column.

PostgreSQL rejects NUL characters in text and every column has a length: a value that
breaks either is treated as unknown (or refused as ``invalid_request``) before it gets
near SQL, so bad input answers 4xx on both databases, never 500.
"""

from __future__ import annotations

from typing import TypeGuard


def storable(value: object, max_length: int) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= max_length and "\x00" not in value
