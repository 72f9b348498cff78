"""``govwallet audit``: verify, list and seal the hash-chained audit log."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from licenses.audit.errors import InvalidCheckpoint
from licenses.audit.schemas import entry_public
from licenses.audit.services import hash_time, list_entries, seal, verify_chain
from wallet_api.cli.common import fail, print_json, runtime_or_exit


def operator_actor() -> str:
    """How the audit log names whoever runs a CLI command: ``operator:<OS user>``."""
    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):
        return "operator:cli"


app = typer.Typer(
    help="The audit log: verify the chain, list entries, seal the head.", no_args_is_help=True
)


@app.command("verify")
def verify_command(
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="A checkpoint JWS kept outside the database (from `audit seal --out`)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check every entry, the chain head and the signed checkpoints; exit 1 on any tampering."""
    trusted = None
    if checkpoint is not None:
        try:
            trusted = checkpoint.read_text(encoding="ascii")
        except (OSError, UnicodeError) as exc:
            fail(f"--checkpoint: cannot read {checkpoint}: {exc}")
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            report = verify_chain(session, keystore=runtime.keystore, trusted_checkpoint=trusted)
        except InvalidCheckpoint as exc:
            fail(f"--checkpoint: {exc}")
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        typer.echo(
            f"audit chain intact: {report.entries} entries, signed checkpoint at "
            f"#{report.checkpoint_seq or 0}, {report.unsealed} unsealed"
        )
    first = report.first_bad
    if first is not None:
        where = f"entry #{first.seq}" if first.seq is not None else "checkpoint"
        typer.echo(f"audit chain BROKEN at {where} ({first.kind}): {first.detail}", err=True)
        for problem in report.problems[1:10]:
            typer.echo(f"  also: {problem.detail}", err=True)
        raise typer.Exit(1)


@app.command("list")
def list_command(
    subject: Annotated[str | None, typer.Option(help="Only entries about this subject.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    after: Annotated[int, typer.Option(min=0, help="Entries after this number.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List entries in chain order."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        rows = list_entries(
            session, subject=subject, action=action, actor=actor, after_seq=after, limit=limit
        )
        entries = [entry_public(row, time=hash_time(row.occurred_at)) for row in rows]
    if as_json:
        print_json(entries)
        return
    for entry in entries:
        typer.echo(
            f"#{entry['seq']:<6} {entry['time']} {entry['actor']:<32} "
            f"{entry['action']:<24} {entry['subject']}"
        )


@app.command("seal")
def seal_command(
    out: Annotated[
        Path | None, typer.Option(help="Also write the checkpoint JWS here, to keep elsewhere.")
    ] = None,
) -> None:
    """Sign the current chain head with the platform key (run it from cron)."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        checkpoint = seal(session, keystore=runtime.keystore)
    if checkpoint is None:
        typer.echo("the audit log is empty; nothing to seal")
        return
    if out is not None:
        out.write_text(checkpoint.jws + "\n", encoding="ascii")
    typer.echo(f"sealed the audit chain at #{checkpoint.seq} ({checkpoint.entry_hash})")
