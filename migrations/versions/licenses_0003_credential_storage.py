"""A license's signed credential is stored out of line without a compression attempt.

Revision ID: licenses_0003
Revises: licenses_0002
Create Date: 2026-12-07

A credential is ~3.5 KB of base64url text (an SD-JWT VC and its disclosures), so every
license row goes over PostgreSQL's 2 KB TOAST threshold. With the default storage
(``EXTENDED``) PostgreSQL first tries to compress the value with pglz, which does not
shrink base64 text by the quarter it asks for, and then stores it out of line
uncompressed anyway: the stored size was the length in every row of a 20,000-license
import. The failed attempt cost about 35 µs of server CPU per inserted license, a third
of the insert (bench scenario 7). ``EXTERNAL`` keeps out-of-line storage and skips the
attempt; rows already written are untouched (they are uncompressed already). SQLite
has no such setting.
"""

from __future__ import annotations

from alembic import op

revision = "licenses_0003"
down_revision = "licenses_0002"
branch_labels = None
depends_on = None


def _set_storage(storage: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE licenses_license ALTER COLUMN credential SET STORAGE {storage}")


def upgrade() -> None:
    _set_storage("EXTERNAL")


def downgrade() -> None:
    _set_storage("EXTENDED")
