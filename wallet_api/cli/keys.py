"""``govwallet keys``: list, rotate, prune and publish signing keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from keys import KeyStoreError
from wallet_api.cli.common import fail, print_json, runtime_or_exit
from wallet_api.runtime import PROVIDER_ALGORITHMS, PROVIDER_OWNER

app = typer.Typer(help="Signing keys: list, rotate, prune, JWKS.", no_args_is_help=True)


@app.command("list")
def list_command(
    owner: Annotated[str | None, typer.Option(help="Only this owner's keys.")] = None,
    include_removed: Annotated[bool, typer.Option("--include-removed")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List keys (never private material): owner, kid, algorithm, state, dates."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        infos = runtime.keystore.list_keys(session, owner=owner, include_removed=include_removed)
    if as_json:
        print_json([info.as_dict() for info in infos])
        return
    for info in infos:
        retain = f" until {info.retain_until:%Y-%m-%d %H:%M}" if info.retain_until else ""
        typer.echo(f"{info.owner:<24} {info.alg:<6} {info.state:<8} {info.kid}{retain}")


@app.command("rotate")
def rotate_command(
    owner: Annotated[str, typer.Option(help="Whose keys to rotate.")] = PROVIDER_OWNER,
    alg: Annotated[
        list[str] | None, typer.Option("--alg", help="Algorithm(s); default: all the owner has.")
    ] = None,
    retain_days: Annotated[
        float | None,
        typer.Option(help="Keep the retired key published this many days (default from settings)."),
    ] = None,
) -> None:
    """Promote the next key to active, retire the active one, generate a new next key."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        retain = (
            timedelta(days=retain_days)
            if retain_days is not None
            else runtime.provider_key_retention
        )
        known = sorted({i.alg for i in runtime.keystore.list_keys(session, owner=owner)})
        algorithms = alg or known or (list(PROVIDER_ALGORITHMS) if owner == PROVIDER_OWNER else [])
        if not algorithms:
            fail(f"owner {owner!r} has no keys")
        try:
            for name in algorithms:
                info = runtime.keystore.rotate(session, owner=owner, alg=name, retain_for=retain)
                typer.echo(f"{owner} {name}: active key is now {info.kid}")
        except KeyStoreError as exc:
            fail(str(exc))


@app.command("prune")
def prune_command() -> None:
    """Remove retired keys whose retention has passed (private material erased)."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        removed = runtime.keystore.prune(session)
    for info in removed:
        typer.echo(f"removed {info.owner} {info.alg} {info.kid}")
    typer.echo(f"{len(removed)} key(s) removed")


@app.command("jwks")
def jwks_command(
    owner: Annotated[str, typer.Option(help="Whose public keys.")] = PROVIDER_OWNER,
) -> None:
    """Print the owner's public JWK Set."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        print_json(runtime.keystore.jwks(session, owner=owner))
