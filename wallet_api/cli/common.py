"""Shared helpers of the CLI commands: settings, the runtime, errors, JSON output."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer

from wallet_api.logs import configure_logging
from wallet_api.runtime import Runtime
from wallet_api.settings import DevelopmentSecretWarning, Settings, SettingsError, load_settings


def fail(message: str, *, code: int = 2) -> NoReturn:
    typer.echo(f"govwallet: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    configure_logging(level="WARNING", json_format=False)
    return settings


@contextmanager
def runtime_or_exit(*, migrate: bool = True) -> Iterator[Runtime]:
    """A runtime for one command; migrations and provider keys made sure of first."""
    from wallet_api.migrate import upgrade

    settings = settings_or_exit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DevelopmentSecretWarning)
        runtime = Runtime(settings)
    for warning in caught:
        typer.echo(f"govwallet: warning: {warning.message}", err=True)
    try:
        if migrate:
            upgrade(runtime.engine)
            runtime.bootstrap()
        yield runtime
    finally:
        runtime.close()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")
