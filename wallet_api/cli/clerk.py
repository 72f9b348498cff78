"""``govwallet agency clerk``: which citizen accounts act as counter clerks of an agency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from identity import services as identity_services
from identity.errors import IdentityError
from licenses import clerks, services
from licenses.codes import RegistryError
from wallet_api.cli.common import fail, print_json, runtime_or_exit
from wallet_api.runtime import Runtime

app = typer.Typer(help="Agency clerks: add, remove, list.", no_args_is_help=True)

AgencyRef = Annotated[str, typer.Option("--agency", help="The agency's id or credit code.")]
Subject = Annotated[
    str | None, typer.Option("--subject", help="The citizen account's public subject (sub).")
]
IdNumber = Annotated[
    str | None,
    typer.Option("--id-number", help="The citizen's identity number (resolved to the subject)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def resolve_subject(runtime: Runtime, *, subject: str | None, id_number: str | None) -> str:
    """The public subject named directly, or the one of the account with ``id_number``."""
    if (subject is None) == (id_number is None):
        fail("give exactly one of --subject and --id-number")
    if subject is not None:
        return subject
    assert id_number is not None
    with runtime.transaction() as session:
        try:
            citizen = identity_services.find_citizen_by_username(
                session, identity=runtime.identity, username=id_number
            )
        except IdentityError as exc:
            fail(f"--id-number: {exc}")
        if citizen is None:
            fail("--id-number: no citizen account has this identity number")
        return citizen.subject


def appoint_clerk(runtime: Runtime, *, agency_ref: str, subject: str) -> dict[str, Any]:
    """Make the account a clerk of the agency (idempotent); the membership as JSON."""
    with runtime.transaction() as session:
        agency = services.get_agency(session, agency_ref=agency_ref)
        clerk = clerks.add_clerk(session, agency=agency, subject=subject, now=datetime.now(UTC))
        return _public(clerk)


def _public(clerk: clerks.AgencyClerk) -> dict[str, Any]:
    return {
        "agency_id": str(clerk.agency.id),
        "agency_name": clerk.agency.name,
        "credit_code": clerk.agency.credit_code,
        "subject": clerk.subject,
        "added_at": clerk.added_at.isoformat(),
    }


@app.command("add")
def add_command(
    agency: AgencyRef,
    subject: Subject = None,
    id_number: IdNumber = None,
    as_json: AsJson = False,
) -> None:
    """Make a citizen account a clerk of the agency (it may then use the verifier page)."""
    with runtime_or_exit() as runtime:
        sub = resolve_subject(runtime, subject=subject, id_number=id_number)
        try:
            result = appoint_clerk(runtime, agency_ref=agency, subject=sub)
        except RegistryError as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
    else:
        typer.echo(f"{result['subject']} is a clerk of {result['agency_name']}")


@app.command("remove")
def remove_command(
    agency: AgencyRef,
    subject: Subject = None,
    id_number: IdNumber = None,
) -> None:
    """End a citizen account's clerkship at the agency (exit 1 if it was none)."""
    with runtime_or_exit() as runtime:
        sub = resolve_subject(runtime, subject=subject, id_number=id_number)
        try:
            with runtime.transaction() as session:
                row = services.get_agency(session, agency_ref=agency)
                removed = clerks.remove_clerk(session, agency=row, subject=sub)
        except RegistryError as exc:
            fail(str(exc))
    typer.echo(f"{sub}: {'removed' if removed else 'was not a clerk of this agency'}")
    if not removed:
        raise typer.Exit(1)


@app.command("list")
def list_command(agency: AgencyRef, as_json: AsJson = False) -> None:
    """The agency's clerks by public subject."""
    with runtime_or_exit() as runtime:
        try:
            with runtime.transaction() as session:
                row = services.get_agency(session, agency_ref=agency)
                result = [_public(clerk) for clerk in clerks.list_clerks(session, agency=row)]
        except RegistryError as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
        return
    for clerk in result:
        typer.echo(f"{clerk['subject']}  since {clerk['added_at']}")
