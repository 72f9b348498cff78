"""``govwallet client``: register relying platforms and agency systems as OAuth clients."""

from __future__ import annotations

from typing import Annotated

import typer

from identity.oidc.errors import InvalidClientMetadata
from identity.oidc.services import register_client
from wallet_api.cli.common import fail, print_json, runtime_or_exit

app = typer.Typer(help="OAuth 2.0 / OpenID Connect clients.", no_args_is_help=True)


@app.command("add")
def add_command(
    name: Annotated[str, typer.Option("--name", help="The platform's name (shown on consent).")],
    redirect_uri: Annotated[
        list[str] | None, typer.Option("--redirect-uri", help="Exact redirect URI (repeatable).")
    ] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--post-logout-redirect-uri", help="Where RP-initiated logout may return."),
    ] = None,
    backchannel_logout_uri: Annotated[
        str | None,
        typer.Option(
            "--backchannel-logout-uri", help="Receives OpenID back-channel logout tokens."
        ),
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="An allowed scope (repeatable).")
    ] = None,
    grant_type: Annotated[
        list[str] | None, typer.Option("--grant-type", help="An allowed grant type (repeatable).")
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="A public client (no secret; PKCE only).")
    ] = False,
    subject_type: Annotated[
        str, typer.Option("--subject-type", help="pairwise (default) or public.")
    ] = "pairwise",
    id_token_alg: Annotated[
        str | None, typer.Option("--id-token-alg", help="RS256 (default) or ES256.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register a client; its secret is printed once (only a keyed digest is stored)."""
    redirect_uris = redirect_uri or []
    grants = grant_type or (
        ["authorization_code", "refresh_token"] if redirect_uris else ["client_credentials"]
    )
    if public and "refresh_token" in grants and grant_type is None:
        grants = ["authorization_code", "refresh_token"]
    with runtime_or_exit() as runtime:
        try:
            with runtime.transaction() as session:
                client, secret = register_client(
                    session,
                    name=name,
                    redirect_uris=redirect_uris,
                    grant_types=grants,
                    scopes=scope or ["openid"],
                    master=runtime.settings.master_secret,
                    post_logout_redirect_uris=post_logout_redirect_uri or [],
                    backchannel_logout_uri=backchannel_logout_uri,
                    public=public,
                    subject_type=subject_type,
                    id_token_signed_response_alg=id_token_alg,
                )
                result = {
                    "client_id": client.client_id,
                    "client_secret": secret,
                    **client.client_metadata,
                }
        except InvalidClientMetadata as exc:
            fail(str(exc), code=1)
    if as_json:
        print_json(result)
        return
    typer.echo(f"client_id:     {result['client_id']}")
    typer.echo(f"client_secret: {result['client_secret'] or '(public client: none)'}")
    for uri in redirect_uris:
        typer.echo(f"redirect_uri:  {uri}")
