"""OpenID provider: clients, codes, tokens, consents, SSO sessions, logout outbox.

Revision ID: oidc_0001
Revises: 0001_keys
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "oidc_0001"
down_revision = "0001_keys"
branch_labels = ("oidc",)
depends_on = "identity_0001"


def upgrade() -> None:
    op.create_table(
        "oidc_client",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_secret_digest", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("client_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oidc_client_client_id")),
    )
    op.create_table(
        "oidc_client_assertion",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_client_assertion")),
        sa.UniqueConstraint("client_id", "jti", name="uq_oidc_client_assertion_client_id_jti"),
    )
    op.create_table(
        "oidc_logout_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("backchannel_logout_uri", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_logout_delivery")),
    )
    op.create_index(
        "ix_oidc_logout_delivery_due",
        "oidc_logout_delivery",
        ["delivered_at", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "oidc_revoked_jti",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_oidc_revoked_jti")),
    )
    op.create_index(
        "ix_oidc_revoked_jti_expires_at", "oidc_revoked_jti", ["expires_at"], unique=False
    )
    op.create_table(
        "oidc_authorization_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=16), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acr", sa.String(length=64), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_citizen.id"],
            name=op.f("fk_oidc_authorization_code_citizen_id_identity_citizen"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_authorization_code")),
        sa.UniqueConstraint("code_digest", name=op.f("uq_oidc_authorization_code_code_digest")),
    )
    op.create_index(
        "ix_oidc_authorization_code_expires_at",
        "oidc_authorization_code",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "oidc_consent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_citizen.id"],
            name=op.f("fk_oidc_consent_citizen_id_identity_citizen"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_consent")),
        sa.UniqueConstraint("citizen_id", "client_id", name="uq_oidc_consent_citizen_id_client_id"),
    )
    op.create_table(
        "oidc_sso_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("cookie_digest", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acr", sa.String(length=64), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_citizen.id"],
            name=op.f("fk_oidc_sso_session_citizen_id_identity_citizen"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_sso_session")),
        sa.UniqueConstraint("cookie_digest", name=op.f("uq_oidc_sso_session_cookie_digest")),
        sa.UniqueConstraint("sid", name=op.f("uq_oidc_sso_session_sid")),
    )
    op.create_index(
        "ix_oidc_sso_session_citizen_id", "oidc_sso_session", ["citizen_id"], unique=False
    )
    op.create_table(
        "oidc_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("refresh_token_digest", sa.String(length=64), nullable=True),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("authorization_code_id", sa.Uuid(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acr", sa.String(length=64), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_citizen.id"],
            name=op.f("fk_oidc_token_citizen_id_identity_citizen"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_token")),
        sa.UniqueConstraint("jti", name=op.f("uq_oidc_token_jti")),
        sa.UniqueConstraint(
            "refresh_token_digest", name=op.f("uq_oidc_token_refresh_token_digest")
        ),
    )
    op.create_index(
        "ix_oidc_token_authorization_code_id", "oidc_token", ["authorization_code_id"], unique=False
    )
    op.create_index("ix_oidc_token_citizen_id", "oidc_token", ["citizen_id"], unique=False)
    op.create_index("ix_oidc_token_family_id", "oidc_token", ["family_id"], unique=False)
    op.create_table(
        "oidc_session_client",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["oidc_sso_session.id"],
            name=op.f("fk_oidc_session_client_session_id_oidc_sso_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_session_client")),
        sa.UniqueConstraint("session_id", "client_id", name="uq_oidc_session_client_session_id"),
    )


def downgrade() -> None:
    op.drop_table("oidc_session_client")
    op.drop_index("ix_oidc_token_family_id", table_name="oidc_token")
    op.drop_index("ix_oidc_token_citizen_id", table_name="oidc_token")
    op.drop_index("ix_oidc_token_authorization_code_id", table_name="oidc_token")
    op.drop_table("oidc_token")
    op.drop_index("ix_oidc_sso_session_citizen_id", table_name="oidc_sso_session")
    op.drop_table("oidc_sso_session")
    op.drop_table("oidc_consent")
    op.drop_index("ix_oidc_authorization_code_expires_at", table_name="oidc_authorization_code")
    op.drop_table("oidc_authorization_code")
    op.drop_index("ix_oidc_revoked_jti_expires_at", table_name="oidc_revoked_jti")
    op.drop_table("oidc_revoked_jti")
    op.drop_index("ix_oidc_logout_delivery_due", table_name="oidc_logout_delivery")
    op.drop_table("oidc_logout_delivery")
    op.drop_table("oidc_client_assertion")
    op.drop_table("oidc_client")
