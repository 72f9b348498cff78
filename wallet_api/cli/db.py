"""``govwallet db``: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from wallet_api.cli.common import runtime_or_exit

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "heads",
) -> None:
    """Apply migrations up to REVISION (default: the newest of every branch)."""
    from wallet_api.migrate import current_revisions, upgrade

    with runtime_or_exit(migrate=False) as runtime:
        upgrade(runtime.engine, revision)
        typer.echo(f"database at revision {', '.join(current_revisions(runtime.engine))}")


@app.command("current")
def current_command() -> None:
    """Print the database's revision and the newest one available."""
    from wallet_api.migrate import current_revisions, head_revisions

    with runtime_or_exit(migrate=False) as runtime:
        current = ", ".join(current_revisions(runtime.engine)) or "(empty)"
        typer.echo(f"current: {current}")
        typer.echo(f"heads:   {', '.join(head_revisions())}")
