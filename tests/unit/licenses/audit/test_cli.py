"""``govwallet audit verify | list | seal``: output and exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from licenses.audit.services import append_entry
from tests.unit.licenses.audit.cli_support import cli_env_for
from wallet_api.cli import app
from wallet_api.runtime import Runtime

runner = CliRunner()
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def cli_env(runtime: Runtime) -> dict[str, str]:
    return cli_env_for(runtime)


def _fill(runtime: Runtime, count: int) -> None:
    with runtime.transaction() as session:
        for i in range(count):
            append_entry(
                session,
                actor="operator:alice",
                action="license.read",
                subject=f"subject-{i % 2}",
                details={"i": i},
                now=T0 + timedelta(minutes=i),
            )


def test_verify_an_intact_chain_exits_zero(runtime: Runtime, cli_env: dict[str, str]) -> None:
    _fill(runtime, 3)
    result = runner.invoke(app, ["audit", "verify"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "intact: 3 entries" in result.output
    as_json = runner.invoke(app, ["audit", "verify", "--json"], env=cli_env)
    assert json.loads(as_json.stdout)["ok"] is True


def test_verify_a_broken_chain_exits_one_and_names_the_entry(
    runtime: Runtime, cli_env: dict[str, str]
) -> None:
    _fill(runtime, 4)
    with runtime.engine.begin() as connection:
        connection.execute(text("UPDATE licenses_audit_entry SET subject = 'x' WHERE seq = 2"))
    result = runner.invoke(app, ["audit", "verify"], env=cli_env)
    assert result.exit_code == 1
    assert "BROKEN at entry #2 (altered)" in result.stderr
    as_json = runner.invoke(app, ["audit", "verify", "--json"], env=cli_env)
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert report["first_bad"]["seq"] == 2


def test_seal_out_and_verify_against_the_external_checkpoint(
    runtime: Runtime, cli_env: dict[str, str], tmp_path: Path
) -> None:
    _fill(runtime, 3)
    kept = tmp_path / "checkpoint.jws"
    sealed = runner.invoke(app, ["audit", "seal", "--out", str(kept)], env=cli_env)
    assert sealed.exit_code == 0, sealed.output
    assert "#3" in sealed.output
    with runtime.engine.begin() as connection:
        connection.execute(text("DELETE FROM licenses_audit_entry WHERE seq = 3"))
        connection.execute(text("DELETE FROM licenses_audit_checkpoint"))
        connection.execute(
            text(
                "UPDATE licenses_audit_head SET seq = 2, entry_hash = (SELECT entry_hash "
                "FROM licenses_audit_entry WHERE seq = 2)"
            )
        )
    result = runner.invoke(app, ["audit", "verify", "--checkpoint", str(kept)], env=cli_env)
    assert result.exit_code == 1
    assert "entry #3 (deleted)" in result.stderr


def test_verify_rejects_an_unreadable_checkpoint(
    runtime: Runtime, cli_env: dict[str, str], tmp_path: Path
) -> None:
    bogus = tmp_path / "bogus.jws"
    bogus.write_text("not-a-jws")
    result = runner.invoke(app, ["audit", "verify", "--checkpoint", str(bogus)], env=cli_env)
    assert result.exit_code == 2
    assert "--checkpoint" in result.stderr
    missing = runner.invoke(
        app, ["audit", "verify", "--checkpoint", str(tmp_path / "nope")], env=cli_env
    )
    assert missing.exit_code == 2


def test_list_filters_by_subject(runtime: Runtime, cli_env: dict[str, str]) -> None:
    _fill(runtime, 4)
    result = runner.invoke(app, ["audit", "list", "--subject", "subject-1", "--json"], env=cli_env)
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [e["seq"] for e in entries] == [2, 4]
    assert entries[0]["details"] == {"i": 1}
    assert entries[0]["time"] == "2026-11-24T08:01:00.000000Z"
    plain = runner.invoke(app, ["audit", "list"], env=cli_env)
    assert plain.exit_code == 0
    assert len(plain.stdout.strip().splitlines()) == 4


def test_seal_of_an_empty_log(cli_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["audit", "seal"], env=cli_env)
    assert result.exit_code == 0
    assert "empty" in result.output
