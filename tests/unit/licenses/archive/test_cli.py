"""``govwallet archive export | verify | fulfilment``: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from tests.support.license_factories import BEIJING, ID_CARD, license_body, make_agency
from tests.unit.licenses.audit.cli_support import cli_env_for
from wallet_api.cli import app
from wallet_api.runtime import Runtime

runner = CliRunner()


@pytest.fixture
def cli_env(runtime: Runtime) -> dict[str, str]:
    return cli_env_for(runtime)


@pytest.fixture
def issued(client: TestClient, runtime: Runtime) -> list[str]:
    """Two licenses issued over HTTP by the Beijing agency, as its systems would."""
    agency = make_agency(runtime, who=BEIJING, types=(ID_CARD,))
    token = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "licenses:issue"},
        auth=(agency["client_id"], agency["client_secret"]),
    ).json()["access_token"]
    ids = []
    for _ in range(2):
        response = client.post(
            "/api/v1/licenses",
            json=license_body(runtime),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _run(env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, list(args), env=env)


def test_export_verify_and_fulfilment(
    cli_env: dict[str, str], issued: list[str], tmp_path: Path
) -> None:
    package = tmp_path / "archive-2099"
    exported = _run(
        cli_env,
        "archive",
        "export",
        "--agency",
        BEIJING[1],
        "--before",
        "2099-01-01",
        str(package),
        "--json",
    )
    assert exported.exit_code == 0, exported.output
    result = json.loads(exported.stdout)
    assert result["licenses"] == 2
    assert result["fulfilment"] == {
        "agency": BEIJING[1],
        "issued": 2,
        "filed": 2,
        "filing_fulfilment_ratio": 1.0,
    }
    assert sorted(p.name for p in (package / "records").iterdir()) == sorted(
        f"{i}.json" for i in issued
    )

    verified = _run(cli_env, "archive", "verify", str(package))
    assert verified.exit_code == 0, verified.output
    assert "package intact" in verified.stdout
    offline = _run(cli_env, "archive", "verify", str(package), "--trust-package-keys", "--json")
    assert json.loads(offline.stdout)["key_source"].startswith("package keys.json")

    pinned = tmp_path / "jwks.json"
    pinned.write_text(_run(cli_env, "keys", "jwks").stdout, encoding="utf-8")
    assert _run(cli_env, "archive", "verify", str(package), "--jwks", str(pinned)).exit_code == 0

    ratios = _run(cli_env, "archive", "fulfilment", "--json")
    assert json.loads(ratios.stdout) == [result["fulfilment"]]

    (package / "credentials" / f"{issued[0]}.sd-jwt").write_text("forged", encoding="ascii")
    broken = _run(cli_env, "archive", "verify", str(package))
    assert broken.exit_code == 1
    assert f"credentials/{issued[0]}.sd-jwt: SHA-256 differs" in broken.stderr


def test_export_nothing_due_before_the_date(
    cli_env: dict[str, str], issued: list[str], tmp_path: Path
) -> None:
    result = _run(
        cli_env,
        "archive",
        "export",
        "--agency",
        BEIJING[1],
        "--before",
        "2000-01-01",
        str(tmp_path / "empty"),
    )
    assert result.exit_code == 0, result.output
    assert "filed 0 license(s)" in result.stdout
    assert "0 of 2 issued (0.0%)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--agency", BEIJING[1], "--before", "31/12/2025"], "--before", 2),
        (["--agency", "11430000006122244L", "--before", "2025-12-31"], "agency", 1),
    ],
)
def test_export_errors(
    cli_env: dict[str, str], tmp_path: Path, args: list[str], message: str, code: int
) -> None:
    result = _run(cli_env, "archive", "export", *args, str(tmp_path / "out"))
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_verify_errors(cli_env: dict[str, str], tmp_path: Path) -> None:
    not_a_package = _run(cli_env, "archive", "verify", str(tmp_path))
    assert not_a_package.exit_code == 2
    assert "not a readable archive package" in not_a_package.stderr
    bad_jwks = _run(
        cli_env, "archive", "verify", str(tmp_path), "--jwks", str(tmp_path / "none.json")
    )
    assert bad_jwks.exit_code == 2
    assert "--jwks" in bad_jwks.stderr
