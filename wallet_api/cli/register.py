"""``govwallet register``: the local population register (real-name verification).

``import`` is all or nothing: every row is checked first, and if any row is bad
(invalid identity number, empty name, a number already held under another name, the
same number twice with different names) each bad row is reported by line, nothing is
imported and the command exits with status 1. Rows already present under the same
name are counted as unchanged, so a corrected file can simply be imported again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from identity import services
from identity.errors import IdentityError
from wallet_api.cli.common import fail, print_json, runtime_or_exit

app = typer.Typer(help="The local population register.", no_args_is_help=True)


@app.command("add")
def add_command(
    id_number: Annotated[str, typer.Option("--id-number", help="Resident identity number.")],
    name: Annotated[str, typer.Option("--name", help="Name as on the identity card.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add one person; a citizen already registered with this number and name gets loa 2."""
    with runtime_or_exit() as runtime:
        try:
            with runtime.transaction() as session:
                created = services.add_register_entry(
                    session, identity=runtime.identity, id_number=id_number, name=name
                )
        except IdentityError as exc:
            fail(f"{exc} ({exc.code})", code=1)
    if as_json:
        print_json({"added": int(created), "unchanged": int(not created)})
        return
    typer.echo("added to the register" if created else "already in the register (unchanged)")


@app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV: id_number,name"),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import a UTF-8 CSV with the header row ``id_number,name``: all rows or none."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text", code=1)
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        report = services.import_register_csv(session, identity=runtime.identity, text=text)
    result = {
        "added": report.added,
        "unchanged": report.unchanged,
        "errors": [{"line": line, "message": message} for line, message in report.errors],
    }
    if as_json:
        print_json(result)
    else:
        for line, message in report.errors:
            typer.echo(f"{file}:{line}: {message}", err=True)
        if report.ok:
            typer.echo(f"{report.added} added, {report.unchanged} already present")
    if not report.ok:
        if not as_json:
            typer.echo(f"{len(report.errors)} bad row(s); nothing was imported", err=True)
        raise typer.Exit(1)
