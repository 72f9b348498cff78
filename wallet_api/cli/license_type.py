"""``govwallet license-type``: the license-type catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from licenses import catalogue
from licenses.codes import RegistryError
from wallet_api.cli.common import fail, print_json, runtime_or_exit

app = typer.Typer(help="The license-type catalogue.", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="Catalogue JSON (shape of the shipped one).")],
) -> None:
    """Insert or update the license types of FILE by their national type code."""
    try:
        entries = catalogue.read_catalogue(file)
    except RegistryError as exc:
        fail(str(exc))
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        codes = catalogue.import_types(session, entries=entries, now=datetime.now(UTC))
    for code in codes:
        typer.echo(f"imported {code}")
    typer.echo(f"{len(codes)} license type(s) imported")


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the catalogue: code and names."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        catalogue.ensure_shipped(session, now=datetime.now(UTC))
        rows = [
            {
                "code": row.code,
                "name_zh": row.name_zh,
                "name_en": row.name_en,
                "defining_agency": row.defining_agency_name,
                "validity": row.validity_rule,
                "retention_years": row.retention_years,
            }
            for row in catalogue.list_types(session)
        ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['code']}  {row['name_zh']}  ({row['name_en']})")


@app.command("example")
def example_command(
    type_code: Annotated[str, typer.Argument(help="National license type code.")],
) -> None:
    """Print a ``fields`` object that validates against the type's schema."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        catalogue.ensure_shipped(session, now=datetime.now(UTC))
        try:
            row = catalogue.get_type(session, code=type_code)
        except RegistryError as exc:
            fail(str(exc))
        fields = catalogue.example_fields(row)
        catalogue.validate_fields(row, fields)
    print_json({"type": type_code, "fields": fields})
