"""``govwallet archive``: file licenses to the archive and check archive packages."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from licenses.archive.errors import InvalidPackage
from licenses.archive.services import export_package, fulfilment, verify_package
from licenses.codes import RegistryError
from licenses.services import get_agency, list_agencies
from wallet_api.cli.audit import operator_actor
from wallet_api.cli.common import fail, print_json, runtime_or_exit
from wallet_api.cli.recognition import fail_for

app = typer.Typer(
    help="Archive filing: export signed packages, verify them, filing-fulfilment ratios.",
    no_args_is_help=True,
)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--before: a date as YYYY-MM-DD is expected, got {value!r}")


@app.command("export")
def export_command(
    out_dir: Annotated[Path, typer.Argument(help="A new (or empty) directory for the package.")],
    agency: Annotated[str, typer.Option(help="The issuing agency: id or credit code.")],
    before: Annotated[str, typer.Option(help="File licenses issued before this date.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write a self-verifying package of the agency's unfiled licenses issued before DATE."""
    cutoff = _date(before)
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            result = export_package(
                session,
                keystore=runtime.keystore,
                agency=agency,
                before=cutoff,
                out_dir=out_dir,
                actor=operator_actor(),
            )
        except RegistryError as exc:
            fail_for(exc)
    if as_json:
        print_json(result.as_dict())
        return
    ratio = result.fulfilment
    typer.echo(
        f"filed {result.license_count} license(s) and {result.audit_entries} audit entries "
        f"into {result.directory}"
    )
    typer.echo(
        f"filing fulfilment of {ratio.agency_credit_code}: {ratio.filed} of {ratio.issued} "
        f"issued ({ratio.ratio:.1%})"
    )


@app.command("verify")
def verify_command(
    directory: Annotated[Path, typer.Argument(help="The package directory.")],
    jwks: Annotated[
        Path | None, typer.Option(help="Verify offline with this pinned JWKS file.")
    ] = None,
    trust_package_keys: Annotated[
        bool,
        typer.Option(help="Offline, trusting the package's own keys.json (integrity only)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check the manifest signature, every file's SHA-256 and that nothing was added."""
    pinned: dict[str, Any] | None = None
    if jwks is not None:
        try:
            pinned = json.loads(jwks.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, ValueError) as exc:
            fail(f"--jwks: cannot read {jwks}: {exc}")
    try:
        if pinned is not None or trust_package_keys:
            report = verify_package(directory, jwks=pinned)
        else:
            with runtime_or_exit() as runtime, runtime.transaction() as session:
                report = verify_package(
                    directory,
                    key_lookup=lambda kid: runtime.keystore.public_jwk(session, kid=kid),
                )
    except InvalidPackage as exc:
        fail(str(exc))
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        typer.echo(
            f"package intact: {report.files_checked} files, signed by {report.kid} "
            f"(key from {report.key_source})"
        )
    if not report.ok:
        for problem in report.problems:
            typer.echo(f"package BROKEN: {problem}", err=True)
        raise typer.Exit(1)


@app.command("fulfilment")
def fulfilment_command(
    agency: Annotated[str | None, typer.Option(help="One agency (id or credit code).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The filing-fulfilment ratio (share of issued licenses filed) per agency."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            agencies = (
                [get_agency(session, agency_ref=agency)] if agency else list_agencies(session)
            )
        except RegistryError as exc:
            fail_for(exc)
        ratios = [fulfilment(session, agency_credit_code=a.credit_code) for a in agencies]
    if as_json:
        print_json([r.as_dict() for r in ratios])
        return
    for r in ratios:
        typer.echo(f"{r.agency_credit_code}  {r.filed}/{r.issued} filed  ({r.ratio:.1%})")
