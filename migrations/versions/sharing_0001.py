"""License sharing with relying platforms: grants, shares and their access history.

Revision ID: sharing_0001
Revises: 0001_keys
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sharing_0001"
down_revision = "0001_keys"
branch_labels = ("sharing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "licenses_sharing_grant",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_subject", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("code_id", sa.Uuid(), nullable=True),
        sa.Column("requested", sa.JSON(), nullable=False),
        sa.Column("granted", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_sharing_grant")),
        sa.UniqueConstraint("code_id", name=op.f("uq_licenses_sharing_grant_code_id")),
    )
    op.create_index(
        "ix_licenses_sharing_grant_citizen_subject", "licenses_sharing_grant", ["citizen_subject"]
    )
    op.create_table(
        "licenses_share",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("citizen_subject", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("license_identifier", sa.String(length=128), nullable=False),
        sa.Column("license_type", sa.String(length=21), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("service_item", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["licenses_sharing_grant.id"],
            name=op.f("fk_licenses_share_grant_id_licenses_sharing_grant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_share")),
    )
    op.create_index("ix_licenses_share_citizen_subject", "licenses_share", ["citizen_subject"])
    op.create_index("ix_licenses_share_grant_id", "licenses_share", ["grant_id"])
    op.create_table(
        "licenses_share_access",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("share_id", sa.Uuid(), nullable=False),
        sa.Column("license_identifier", sa.String(length=128), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["share_id"],
            ["licenses_share.id"],
            name=op.f("fk_licenses_share_access_share_id_licenses_share"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_share_access")),
    )
    op.create_index("ix_licenses_share_access_share_id", "licenses_share_access", ["share_id"])


def downgrade() -> None:
    op.drop_index("ix_licenses_share_access_share_id", "licenses_share_access")
    op.drop_table("licenses_share_access")
    op.drop_index("ix_licenses_share_grant_id", "licenses_share")
    op.drop_index("ix_licenses_share_citizen_subject", "licenses_share")
    op.drop_table("licenses_share")
    op.drop_index("ix_licenses_sharing_grant_citizen_subject", "licenses_sharing_grant")
    op.drop_table("licenses_sharing_grant")
