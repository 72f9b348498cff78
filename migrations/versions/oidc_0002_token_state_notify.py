"""Token-state notifications: PostgreSQL triggers that NOTIFY every worker's cache.

Revision ID: oidc_0002
Revises: oidc_0001
Create Date: 2026-12-06

``identity.oidc.token_state``: a revoked ``jti``, a revoked token row and any change to a
citizen's record are announced on the channel ``govwallet_token_state`` when their
transaction commits, whoever writes them (a node, the CLI, an operator's SQL). Nothing
on SQLite, which has no notifications (the cache stays off there).
"""

from __future__ import annotations

from alembic import op

revision = "oidc_0002"
down_revision = "oidc_0001"
branch_labels = None
depends_on = None

FUNCTION = "govwallet_token_state_notify"

#: (trigger, table, when, for each). ``oidc_token`` only when ``revoked_at`` moves.
TRIGGERS = (
    ("govwallet_token_state_revoked_jti", "oidc_revoked_jti", "AFTER INSERT OR UPDATE", "ROW"),
    ("govwallet_token_state_token", "oidc_token", "AFTER UPDATE OF revoked_at", "ROW"),
    ("govwallet_token_state_citizen", "identity_citizen", "AFTER UPDATE OR DELETE", "ROW"),
    ("govwallet_token_state_truncate_jti", "oidc_revoked_jti", "AFTER TRUNCATE", "STATEMENT"),
    ("govwallet_token_state_truncate_token", "oidc_token", "AFTER TRUNCATE", "STATEMENT"),
    ("govwallet_token_state_truncate_citizen", "identity_citizen", "AFTER TRUNCATE", "STATEMENT"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_LEVEL = 'STATEMENT' THEN
                PERFORM pg_notify('govwallet_token_state', 'all');
            ELSIF TG_TABLE_NAME = 'identity_citizen' THEN
                PERFORM pg_notify('govwallet_token_state', 'citizen:' || OLD.id::text);
            ELSE
                PERFORM pg_notify('govwallet_token_state', 'jti:' || NEW.jti);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    for name, table, when, each in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {name} {when} ON {table} FOR EACH {each} EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, _when, _each in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
