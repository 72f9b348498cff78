"""``govwallet agency``: register issuing and verifying agencies."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from identity.oidc.services import client_secret_digest, get_client_row, register_client
from licenses import services
from licenses.codes import RegistryError
from wallet_api.cli import clerk as clerk_cli
from wallet_api.cli.common import fail, print_json, runtime_or_exit
from wallet_api.runtime import Runtime

app = typer.Typer(help="Agencies: register, list.", no_args_is_help=True)
app.add_typer(clerk_cli.app, name="clerk")


def register_agency(
    runtime: Runtime,
    *,
    name: str,
    credit_code: str,
    region: str,
    license_types: list[str],
) -> dict[str, Any]:
    """Add the agency, its ES256 keys and its client-credentials client in one transaction."""
    registry = runtime.registry
    with runtime.transaction() as session:
        agency = services.add_agency(
            session,
            registry=registry,
            name=name,
            credit_code=credit_code,
            region_code=region,
            license_types=license_types,
        )
        client, secret = register_client(
            session,
            name=f"{name} ({credit_code})",
            redirect_uris=(),
            grant_types=("client_credentials",),
            scopes=services.AGENCY_SCOPES,
            master=runtime.settings.master_secret,
        )
        services.set_client(session, agency=agency, client_id=client.client_id)
        result = services.agency_public(agency)
    result["client_secret"] = secret
    result["scopes"] = " ".join(services.AGENCY_SCOPES)
    return result


def ensure_agency(
    runtime: Runtime,
    *,
    name: str,
    credit_code: str,
    region: str,
    license_types: list[str],
    client_id: str,
    client_secret: str,
) -> dict[str, Any]:
    """The agency with these fixed client credentials, registered on first use (demo, fixtures)."""
    with runtime.transaction() as session:
        try:
            existing = services.get_agency(session, agency_ref=credit_code)
            return {**services.agency_public(existing), "client_secret": client_secret}
        except services.UnknownAgency:
            pass
    result = register_agency(
        runtime, name=name, credit_code=credit_code, region=region, license_types=license_types
    )
    with runtime.transaction() as session:
        client = get_client_row(session, client_id=result["client_id"])
        client.client_id = client_id
        client.client_secret_digest = client_secret_digest(runtime.settings.master_secret).digest(
            client_secret
        )
        agency = services.get_agency(session, agency_ref=credit_code)
        services.set_client(session, agency=agency, client_id=client_id)
        return {**services.agency_public(agency), "client_secret": client_secret}


@app.command("add")
def add_command(
    name: Annotated[str, typer.Option("--name", help="The agency's name.")],
    credit_code: Annotated[
        str, typer.Option("--credit-code", help="Unified social credit code (GB 32100-2015).")
    ],
    region: Annotated[str, typer.Option("--region", help="GB/T 2260 region code (6 digits).")],
    license_type: Annotated[
        list[str], typer.Option("--license-type", help="A license type code it may issue.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register an agency with its signing keys and a client-credentials client.

    The client secret is printed once; only its digest is stored.
    """
    with runtime_or_exit() as runtime:
        try:
            result = register_agency(
                runtime,
                name=name,
                credit_code=credit_code,
                region=region,
                license_types=license_type,
            )
        except RegistryError as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
        return
    typer.echo(f"agency_id:     {result['agency_id']}")
    typer.echo(f"client_id:     {result['client_id']}")
    typer.echo(f"client_secret: {result['client_secret']}  (shown once)")
    typer.echo(f"license types: {', '.join(result['license_types'])}")


@app.command("authorise")
def authorise_command(
    agency: Annotated[str, typer.Argument(help="Agency id or credit code.")],
    license_type: Annotated[
        list[str], typer.Option("--license-type", help="A further license type it may issue.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Authorise an agency for more license types (the trust list carries them)."""
    with runtime_or_exit() as runtime:
        try:
            with runtime.transaction() as session:
                row = services.get_agency(session, agency_ref=agency)
                services.authorise_types(session, agency=row, license_types=license_type)
                result = services.agency_public(row)
        except RegistryError as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
    else:
        typer.echo(f"{result['credit_code']}: {', '.join(result['license_types'])}")  # type: ignore[arg-type]


@app.command("rotate-key")
def rotate_key_command(
    agency: Annotated[str, typer.Argument(help="Agency id or credit code.")],
) -> None:
    """Rotate the agency's signing key; the old key stays in the trust list for the retention
    period of its license types, so licenses it signed stay verifiable."""
    with runtime_or_exit() as runtime:
        registry = runtime.registry
        try:
            with runtime.transaction() as session:
                row = services.get_agency(session, agency_ref=agency)
                info = services.rotate_agency_key(session, registry=registry, agency=row)
        except RegistryError as exc:
            fail(str(exc))
    typer.echo(f"{agency}: active key is now {info.kid}")


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List agencies: id, credit code, region, authorised types, client id."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        rows = [services.agency_public(agency) for agency in services.list_agencies(session)]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        types = ",".join(row["license_types"])  # type: ignore[arg-type]
        typer.echo(
            f"{row['agency_id']}  {row['credit_code']}  {row['region']}  {row['name']}  {types}"
        )
