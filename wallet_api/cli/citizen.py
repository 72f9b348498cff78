"""``govwallet citizen``: create citizens' accounts from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from identity import services
from identity.errors import IdentityError
from wallet_api.cli.common import fail, print_json, runtime_or_exit

app = typer.Typer(help="Citizens' accounts.", no_args_is_help=True)


@app.command("add")
def add_command(
    id_number: Annotated[str, typer.Option("--id-number", help="Resident identity number.")],
    name: Annotated[str, typer.Option("--name", help="Name as on the identity card.")],
    password: Annotated[
        str,
        typer.Option(
            "--password", prompt=True, hide_input=True, help="Password (prompted if omitted)."
        ),
    ],
    phone: Annotated[str | None, typer.Option("--phone", help="Mainland mobile number.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an account; real-name verified (loa 2) when number and name match the register."""
    with runtime_or_exit() as runtime:
        try:
            with runtime.transaction() as session:
                citizen = services.register_citizen(
                    session,
                    identity=runtime.identity,
                    id_number=id_number,
                    name=name,
                    password=password,
                    phone=phone,
                )
        except IdentityError as exc:
            fail(f"{exc} ({exc.code})", code=1)
    if as_json:
        print_json({"sub": citizen.subject, "loa": citizen.loa})
        return
    typer.echo(f"created citizen {citizen.subject} at level of assurance {citizen.loa}")
