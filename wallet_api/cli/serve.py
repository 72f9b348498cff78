"""``govwallet serve``: migrate, make sure keys exist, optionally seed the demo, run uvicorn
(one process, or a supervisor and its workers: :mod:`wallet_api.cli.workers`)."""

from __future__ import annotations

import os
import shutil
from typing import Annotated

import typer

from wallet_api.cli.common import runtime_or_exit, settings_or_exit
from wallet_api.logs import configure_logging


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed and print demo citizens, agencies and clients.")
    ] = False,
) -> None:
    """Serve govwallet over HTTP (migrations are applied first)."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from wallet_api import demo as demo_data
    from wallet_api.http_protocol import CoalescingHttpToolsProtocol
    from wallet_api.metrics import MULTIPROC_ENV

    settings = settings_or_exit()
    if "issuer" not in settings.model_fields_set:
        # No issuer configured: it is wherever this process listens.
        public_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
        os.environ["GOVWALLET_ISSUER"] = f"http://{public_host}:{port}"
    with runtime_or_exit() as runtime:
        settings = runtime.settings
        if demo:
            typer.echo("== govwallet demo ==")
            for line in demo_data.seed(runtime):
                typer.echo(line)
            typer.echo("====================")
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        metrics_dir = settings.data_dir.resolve() / "prometheus-multiproc"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ[MULTIPROC_ENV] = str(metrics_dir)
    configure_logging(level=settings.log_level, json_format=settings.log_json)
    typer.echo(f"govwallet listening on http://{host}:{port}", err=True)
    config = uvicorn.Config(
        "wallet_api.app:create_app_from_env",
        factory=True,
        # One system call per response instead of two (wallet_api.http_protocol).
        http=CoalescingHttpToolsProtocol,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        server_header=False,
    )
    if workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            raise typer.Exit(STARTUP_FAILURE)
        return
    from wallet_api.cli.workers import Supervisor

    # Each worker listens on a socket of its own (SO_REUSEPORT): wallet_api.cli.workers.
    status = Supervisor(config, workers=workers).run()
    if status:
        raise typer.Exit(status)
