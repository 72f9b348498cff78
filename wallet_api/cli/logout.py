"""``govwallet logout``: the back-channel logout outbox."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from identity.oidc.logout import deliver_due, pending_count
from identity.oidc.tokens import utcnow
from wallet_api.cli.common import print_json, runtime_or_exit

app = typer.Typer(help="OpenID back-channel logout delivery.", no_args_is_help=True)


@app.command("deliver")
def deliver_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Post every undelivered logout token now (due or not); failures stay queued."""
    with runtime_or_exit() as runtime, httpx.Client() as http:
        delivered = failed = 0
        while True:
            report = deliver_due(
                sessions=runtime.sessions,
                keystore=runtime.keystore,
                issuer=runtime.settings.issuer_url,
                http=http,
                now=utcnow,
                only_due=False,
            )
            delivered += report.delivered
            failed += report.failed
            if report.delivered == 0 or report.failed:
                break
        with runtime.sessions() as session:
            pending = pending_count(session)
    result = {"delivered": delivered, "failed": failed, "pending": pending}
    if as_json:
        print_json(result)
        return
    typer.echo(f"delivered {delivered}, failed {failed}, still pending {pending}")
    if pending:
        raise typer.Exit(1)
