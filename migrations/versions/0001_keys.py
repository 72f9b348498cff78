"""Key store: encrypted signing keys with their life cycle.

Revision ID: 0001_keys
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_keys"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keys_signing_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.String(length=4000), nullable=False),
        sa.Column("encrypted_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("wrapping_key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keys_signing_key")),
        sa.UniqueConstraint("kid", name=op.f("uq_keys_signing_key_kid")),
    )
    op.create_index(
        "ix_keys_signing_key_owner_alg_state",
        "keys_signing_key",
        ["owner", "alg", "state"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_keys_signing_key_owner_alg_state", table_name="keys_signing_key")
    op.drop_table("keys_signing_key")
