"""Agency clerks: which citizen accounts (by public subject) act for which agency.

Revision ID: licenses_0002
Revises: licenses_0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "licenses_0002"
down_revision = "licenses_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "licenses_agency_clerk",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["licenses_agency.id"],
            name=op.f("fk_licenses_agency_clerk_agency_id_licenses_agency"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_agency_clerk")),
        sa.UniqueConstraint(
            "agency_id", "subject", name=op.f("uq_licenses_agency_clerk_agency_id")
        ),
    )
    op.create_index(
        "ix_licenses_agency_clerk_subject", "licenses_agency_clerk", ["subject"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_licenses_agency_clerk_subject", table_name="licenses_agency_clerk")
    op.drop_table("licenses_agency_clerk")
