"""Token-state notifications: a citizen's bookkeeping columns no longer announce a change.

Revision ID: oidc_0003
Revises: oidc_0002
Create Date: 2026-12-06

``oidc_0002`` announced every ``UPDATE`` of ``identity_citizen``, and every login
updates the row (``last_login_at``, ``updated_at``; a second factor ``totp_last_step``;
an old hash ``password_hash``). So each login told every worker of every node to drop
the citizen's cached answers, and each login's commit took PostgreSQL's global lock
that puts notifying commits in order (``PreCommit_Notify``): logins committed one at a
time, across the whole cluster. No answer is built from those columns. The update
trigger now fires only when another column changes value; a deleted row still announces.
"""

from __future__ import annotations

from alembic import op

revision = "oidc_0003"
down_revision = "oidc_0002"
branch_labels = None
depends_on = None

FUNCTION = "govwallet_token_state_notify"
#: Written by logins; nothing cached depends on them (identity.oidc.token_state keeps
#: the same list for this process's own commits).
BOOKKEEPING = ("updated_at", "last_login_at", "password_hash", "totp_last_step")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    skipped = "ARRAY[" + ", ".join(f"'{column}'" for column in BOOKKEEPING) + "]::text[]"
    op.execute("DROP TRIGGER IF EXISTS govwallet_token_state_citizen ON identity_citizen")
    op.execute(
        "CREATE TRIGGER govwallet_token_state_citizen_update AFTER UPDATE ON identity_citizen "
        f"FOR EACH ROW WHEN ((to_jsonb(OLD) - {skipped}) IS DISTINCT FROM "
        f"(to_jsonb(NEW) - {skipped})) EXECUTE FUNCTION {FUNCTION}()"
    )
    op.execute(
        "CREATE TRIGGER govwallet_token_state_citizen_delete AFTER DELETE ON identity_citizen "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS govwallet_token_state_citizen_update ON identity_citizen")
    op.execute("DROP TRIGGER IF EXISTS govwallet_token_state_citizen_delete ON identity_citizen")
    op.execute(
        "CREATE TRIGGER govwallet_token_state_citizen AFTER UPDATE OR DELETE ON identity_citizen "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )
