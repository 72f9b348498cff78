"""Identity: citizens, recovery codes, the local population register, login throttles.

Revision ID: identity_0001
Revises: 0001_keys
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "identity_0001"
down_revision = "0001_keys"
branch_labels = ("identity",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_citizen",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("id_number_digest", sa.String(length=64), nullable=False),
        sa.Column("id_number_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone_digest", sa.String(length=64), nullable=True),
        sa.Column("phone_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("loa", sa.Integer(), nullable=False),
        sa.Column("real_name_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_citizen")),
        sa.UniqueConstraint("subject", name=op.f("uq_identity_citizen_subject")),
        sa.UniqueConstraint("id_number_digest", name=op.f("uq_identity_citizen_id_number_digest")),
        sa.UniqueConstraint("phone_digest", name=op.f("uq_identity_citizen_phone_digest")),
    )
    op.create_table(
        "identity_recovery_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_citizen.id"],
            name=op.f("fk_identity_recovery_code_citizen_id_identity_citizen"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_recovery_code")),
    )
    op.create_index(
        "ix_identity_recovery_code_citizen_id",
        "identity_recovery_code",
        ["citizen_id"],
        unique=False,
    )
    op.create_table(
        "identity_register_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("id_number_digest", sa.String(length=64), nullable=False),
        sa.Column("id_number_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_register_entry")),
        sa.UniqueConstraint(
            "id_number_digest", name=op.f("uq_identity_register_entry_id_number_digest")
        ),
    )
    op.create_table(
        "identity_login_throttle",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_login_throttle")),
        sa.UniqueConstraint("scope", "key_digest", name="uq_identity_login_throttle_scope_key"),
    )


def downgrade() -> None:
    op.drop_table("identity_login_throttle")
    op.drop_table("identity_register_entry")
    op.drop_index("ix_identity_recovery_code_citizen_id", table_name="identity_recovery_code")
    op.drop_table("identity_recovery_code")
    op.drop_table("identity_citizen")
