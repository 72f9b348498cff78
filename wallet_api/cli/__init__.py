"""The ``govwallet`` command line."""

from __future__ import annotations

import typer

from wallet_api.cli import agency as agency_cli
from wallet_api.cli import archive as archive_cli
from wallet_api.cli import audit as audit_cli
from wallet_api.cli import citizen as citizen_cli
from wallet_api.cli import client as client_cli
from wallet_api.cli import db, keys, serve
from wallet_api.cli import license as license_cli
from wallet_api.cli import license_type as license_type_cli
from wallet_api.cli import logout as logout_cli
from wallet_api.cli import recognition as recognition_cli
from wallet_api.cli import register as register_cli
from wallet_api.cli import service_item as service_item_cli

app = typer.Typer(
    name="govwallet",
    help="govwallet: unified real-name identity and electronic-license wallet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(license_type_cli.app, name="license-type")
app.add_typer(agency_cli.app, name="agency")
app.add_typer(license_cli.app, name="license")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(archive_cli.app, name="archive")
app.add_typer(recognition_cli.app, name="recognition")
app.add_typer(service_item_cli.app, name="service-item")
app.add_typer(citizen_cli.app, name="citizen")
app.add_typer(register_cli.app, name="register")
app.add_typer(client_cli.app, name="client")
app.add_typer(logout_cli.app, name="logout")


def main() -> None:
    app()
