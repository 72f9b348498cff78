"""The citizen's wallet: portal sessions (wallet_api) and online-QR presentations (licenses).

Revision ID: wallet_0001
Revises: 0001_keys
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "wallet_0001"
down_revision = "0001_keys"
branch_labels = ("wallet",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cookie_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("access_token_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("id_token_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_session")),
        sa.UniqueConstraint("cookie_digest", name=op.f("uq_portal_session_cookie_digest")),
    )
    op.create_index("ix_portal_session_expires_at", "portal_session", ["expires_at"])
    op.create_table(
        "licenses_wallet_presentation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("link_digest", sa.String(length=64), nullable=False),
        sa.Column("holder_ref", sa.String(length=200), nullable=False),
        sa.Column("license_identifier", sa.String(length=128), nullable=False),
        sa.Column("presentation_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("online_url_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shown_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses_wallet_presentation")),
        sa.UniqueConstraint(
            "link_digest", name=op.f("uq_licenses_wallet_presentation_link_digest")
        ),
    )
    op.create_index(
        "ix_licenses_wallet_presentation_shown_until",
        "licenses_wallet_presentation",
        ["shown_until"],
    )


def downgrade() -> None:
    op.drop_index("ix_licenses_wallet_presentation_shown_until", "licenses_wallet_presentation")
    op.drop_table("licenses_wallet_presentation")
    op.drop_index("ix_portal_session_expires_at", "portal_session")
    op.drop_table("portal_session")
