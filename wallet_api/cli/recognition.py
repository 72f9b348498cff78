"""``govwallet recognition``: mutual-recognition rules (operators make region-wide ones)."""

from __future__ import annotations

import uuid
from typing import Annotated, NoReturn

import typer

from licenses.codes import RegistryError
from licenses.recognition import services
from licenses.recognition.schemas import RulePublic
from wallet_api.cli.audit import operator_actor
from wallet_api.cli.common import fail, print_json, runtime_or_exit

app = typer.Typer(help="Mutual-recognition rules: add, list, delete, check.", no_args_is_help=True)


def fail_for(exc: RegistryError) -> NoReturn:
    """Exit 1 for something that does not exist, 2 for bad input."""
    fail(str(exc), code=1 if exc.status == 404 else 2)


@app.command("add")
def add_command(
    license_type: Annotated[str, typer.Option(help="The accepted license type code.")],
    material: Annotated[str, typer.Option(help="The material code it satisfies.")],
    verifier_credit_code: Annotated[
        str | None, typer.Option(help="The one verifying agency (credit code).")
    ] = None,
    verifier_region: Annotated[
        str | None, typer.Option(help="Or every verifying agency of this region.")
    ] = None,
    issuer_region: Annotated[
        list[str] | None, typer.Option(help="Accept licenses issued in this region (repeat).")
    ] = None,
    issuer_credit_code: Annotated[
        list[str] | None, typer.Option(help="Accept licenses issued by this agency (repeat).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a rule: the verifier accepts LICENSE_TYPE from these issuers as MATERIAL."""
    spec = {
        "verifier_credit_code": verifier_credit_code,
        "verifier_region": verifier_region,
        "license_type": license_type,
        "material_code": material,
        "issuer_regions": issuer_region or [],
        "issuer_credit_codes": issuer_credit_code or [],
    }
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            row = services.create_rule(
                session, rule=spec, actor=operator_actor(), keystore=runtime.keystore
            )
        except RegistryError as exc:
            fail_for(exc)
        public = RulePublic.model_validate(row)
    if as_json:
        print_json(public.model_dump(mode="json"))
    else:
        typer.echo(f"rule {public.id} added")


@app.command("list")
def list_command(
    verifier_credit_code: Annotated[str | None, typer.Option()] = None,
    license_type: Annotated[str | None, typer.Option()] = None,
    material: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List rules, optionally one verifier's, one license type's or one material's."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        rows = services.list_rules(
            session,
            verifier_credit_code=verifier_credit_code,
            license_type=license_type,
            material_code=material,
        )
        rules = [RulePublic.model_validate(row) for row in rows]
    if as_json:
        print_json([rule.model_dump(mode="json") for rule in rules])
        return
    for rule in rules:
        verifier = rule.verifier_credit_code or f"region {rule.verifier_region}"
        issuers = ", ".join([*rule.issuer_regions, *rule.issuer_credit_codes])
        typer.echo(
            f"{rule.id}  {verifier}  accepts {rule.license_type} from {issuers} "
            f"as {rule.material_code}"
        )


@app.command("delete")
def delete_command(rule_id: Annotated[uuid.UUID, typer.Argument(help="The rule's id.")]) -> None:
    """Delete a rule."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            services.delete_rule(
                session, rule_id=rule_id, actor=operator_actor(), keystore=runtime.keystore
            )
        except RegistryError as exc:
            fail_for(exc)
    typer.echo(f"rule {rule_id} deleted")


@app.command("check")
def check_command(
    verifier_credit_code: Annotated[str, typer.Option()],
    verifier_region: Annotated[str, typer.Option()],
    license_type: Annotated[str, typer.Option()],
    issuer_credit_code: Annotated[str, typer.Option()],
    issuer_region: Annotated[str, typer.Option()],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which of the verifier's materials a license of this type and issuer satisfies."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            materials = services.satisfied_materials(
                session,
                verifier_credit_code=verifier_credit_code,
                verifier_region=verifier_region,
                license_type=license_type,
                issuer_credit_code=issuer_credit_code,
                issuer_region=issuer_region,
            )
        except RegistryError as exc:
            fail_for(exc)
    if as_json:
        print_json([m.model_dump(mode="json") for m in materials])
        return
    if not materials:
        typer.echo("no material: the verifier has no rule recognising this license")
    for m in materials:
        typer.echo(f"{m.code}  {m.name_zh} / {m.name_en}  ({', '.join(m.service_items) or '-'})")
