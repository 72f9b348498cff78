"""The ``govwallet`` command line: help for every command, key commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from wallet_api.cli import app

runner = CliRunner()


def _command_paths() -> list[list[str]]:
    root = get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        paths.append(prefix)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(root, [])
    return paths


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("serve", "db", "keys"):
        assert name in result.output


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "govwallet")
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "GOVWALLET_DATABASE_URL": database_url,
        "GOVWALLET_DATA_DIR": str(tmp_path / "data"),
        "GOVWALLET_KEY_ENCRYPTION_SECRET": "k" * 48,
    }


def test_db_upgrade_and_current(cli_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output
    current = runner.invoke(app, ["db", "current"], env=cli_env)
    lines = dict(line.split(":", 1) for line in current.output.strip().splitlines())
    assert lines["current"].strip() == lines["heads"].strip()


def test_keys_list_rotate_and_jwks(cli_env: dict[str, str]) -> None:
    listed = runner.invoke(app, ["keys", "list", "--json"], env=cli_env)
    assert listed.exit_code == 0, listed.output
    before = json.loads(listed.output)
    assert {(k["alg"], k["state"]) for k in before} == {
        ("RS256", "active"),
        ("RS256", "next"),
        ("ES256", "active"),
        ("ES256", "next"),
    }
    assert all("private" not in json.dumps(k) for k in before)

    rotated = runner.invoke(app, ["keys", "rotate", "--alg", "ES256"], env=cli_env)
    assert rotated.exit_code == 0, rotated.output
    after = json.loads(runner.invoke(app, ["keys", "list", "--json"], env=cli_env).output)
    states = sorted(k["state"] for k in after if k["alg"] == "ES256")
    assert states == ["active", "next", "retired"]

    jwks = json.loads(runner.invoke(app, ["keys", "jwks"], env=cli_env).output)
    assert len(jwks["keys"]) == 5

    pruned = runner.invoke(app, ["keys", "prune"], env=cli_env)
    assert pruned.exit_code == 0
    assert "0 key(s) removed" in pruned.output  # still within retention


def test_rotating_an_unknown_owner_fails_cleanly(cli_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["keys", "rotate", "--owner", "agency:nobody"], env=cli_env)
    assert result.exit_code == 2
    assert "has no keys" in result.output
