"""``govwallet service-item``: the service-item catalogue and the paper-avoided report."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from licenses.codes import RegistryError
from licenses.recognition import services
from licenses.recognition.errors import DuplicateRecognitionRule
from wallet_api.cli.common import fail, print_json, runtime_or_exit
from wallet_api.cli.recognition import fail_for
from wallet_api.runtime import Runtime

app = typer.Typer(
    help="Service items: import the catalogue, list, show, paper-avoided report.",
    no_args_is_help=True,
)


@app.command("import")
def import_command(
    file: Annotated[
        Path | None, typer.Argument(help="Catalogue JSON (default: the shipped one).")
    ] = None,
) -> None:
    """Create or update materials and service items by code."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            summary = services.import_catalogue_file(
                session, path=file or services.SHIPPED_CATALOGUE
            )
        except RegistryError as exc:
            fail_for(exc)
    typer.echo(f"imported {summary.materials} materials and {summary.service_items} service items")


@app.command("list")
def list_command(
    region: Annotated[str | None, typer.Option(help="Handled in this region.")] = None,
    license_type: Annotated[str | None, typer.Option(help="A license of this type helps.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List service items."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            rows = services.list_service_items(session, region=region, license_type=license_type)
        except RegistryError as exc:
            fail_for(exc)
        items = [services.service_item_public(row) for row in rows]
    if as_json:
        print_json([item.model_dump(mode="json") for item in items])
        return
    for item in items:
        typer.echo(f"{item.code:<16} {item.handler.region}  {item.name.zh} / {item.name.en}")


@app.command("show")
def show_command(
    code: Annotated[str, typer.Argument(help="The service item's code.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One service item with its required materials."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            item = services.service_item_public(services.get_service_item(session, code=code))
        except RegistryError as exc:
            fail_for(exc)
    if as_json:
        print_json(item.model_dump(mode="json"))
        return
    typer.echo(f"{item.code}  {item.name.zh} / {item.name.en}")
    for m in item.materials:
        accepted = ", ".join(m.license_types) if m.license_types else "paper only"
        typer.echo(f"  {m.code:<24} {m.name_zh}  [{accepted}]")


def _held(values: list[str], held_file: Path | None) -> list[dict[str, Any]]:
    held: list[dict[str, Any]] = []
    for i, value in enumerate(values):
        parts = value.split(":")
        if len(parts) != 3:
            fail(f"--held[{i}]: TYPE:ISSUER_CREDIT_CODE:ISSUER_REGION expected, got {value!r}")
        held.append(
            {"license_type": parts[0], "issuer_credit_code": parts[1], "issuer_region": parts[2]}
        )
    if held_file is not None:
        try:
            loaded = json.loads(held_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, ValueError) as exc:
            fail(f"--held-file: cannot read {held_file}: {exc}")
        if not isinstance(loaded, list):
            fail("--held-file: a JSON array of held licenses is expected")
        held.extend(loaded)
    return held


@app.command("report")
def report_command(
    code: Annotated[str, typer.Argument(help="The service item's code.")],
    held: Annotated[
        list[str] | None,
        typer.Option(help="A held license as TYPE:ISSUER_CREDIT_CODE:ISSUER_REGION (repeat)."),
    ] = None,
    held_file: Annotated[
        Path | None, typer.Option(help="A JSON array of {license_type, issuer_credit_code, …}.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which materials the held licenses satisfy electronically, and the share of paper avoided."""
    licenses = _held(held or [], held_file)
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        try:
            report = services.paper_avoided(session, service_item_code=code, held_licenses=licenses)
        except RegistryError as exc:
            fail_for(exc)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    typer.echo(f"{report.service_item}  {report.name_zh} / {report.name_en}")
    for m in report.materials:
        typer.echo(f"  {m.code:<24} {m.outcome}")
    typer.echo(
        f"paper avoided: {report.electronic} of {report.total} materials "
        f"({report.paper_avoided_share:.0%})"
    )


#: Demo recognition between the two demo agencies' regions (wallet_api/demo.py): Beijing
#: accepts identity cards and driving licenses issued in Jilin; Beijing's housing
#: commission accepts Jilin's construction-safety qualification certificates.
DEMO_RULES: tuple[dict[str, Any], ...] = (
    {
        "verifier_region": "110000",
        "license_type": "111000000000130013001",
        "material_code": "M-APPLICANT-ID",
        "issuer_regions": ["110000", "220000"],
    },
    {
        "verifier_region": "110000",
        "license_type": "111000000000130013002",
        "material_code": "M-DRIVING-LICENSE",
        "issuer_regions": ["220000"],
    },
    {
        "verifier_credit_code": "12110000400777687U",
        "license_type": "11100000000013338W011",
        "material_code": "M-SAFETY-MANAGER",
        "issuer_regions": ["220000"],
    },
)


def seed_demo(runtime: Runtime) -> list[str]:
    """The shipped service-item catalogue and the demo recognition rules (idempotent)."""
    with runtime.transaction() as session:
        summary = services.import_catalogue_file(session)
        for rule in DEMO_RULES:
            # The duplicate check comes before any write: nothing to roll back.
            with contextlib.suppress(DuplicateRecognitionRule):
                services.create_rule(
                    session, rule=rule, actor="system:demo", keystore=runtime.keystore
                )
    return [
        f"service items:   {summary.service_items} (govwallet service-item list), "
        f"{len(DEMO_RULES)} recognition rules (govwallet recognition list)"
    ]
