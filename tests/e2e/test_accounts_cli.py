"""``govwallet citizen`` / ``govwallet register`` and the demo citizen, as real processes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import REPO_ROOT, live_server
from tests.unit.identity.factories import PASSWORD, id_number
from wallet_api import demo
from wallet_api.runtime import Runtime


@pytest.fixture
def govwallet(tmp_path: Path, database_url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``govwallet ARGS`` as a subprocess against this test's database."""
    env = {
        **os.environ,
        "GOVWALLET_DATA_DIR": str(tmp_path / "cli-data"),
        "GOVWALLET_KEY_ENCRYPTION_SECRET": secrets.token_hex(32),
        "GOVWALLET_DATABASE_URL": database_url,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wallet_api", *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
        )

    return run


def test_citizen_add_prints_sub_and_loa(
    govwallet: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    result = govwallet(
        "citizen",
        "add",
        "--id-number",
        id_number(1),
        "--name",
        "张三",
        "--password",
        PASSWORD,
        "--phone",
        "13800138000",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert set(output) == {"sub", "loa"}
    assert output["loa"] == 1
    assert len(output["sub"]) >= 32
    assert id_number(1) not in result.stdout + result.stderr


def test_register_then_citizen_is_real_name_verified(
    govwallet: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    added = govwallet("register", "add", "--id-number", id_number(2), "--name", "李四", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == {"added": 1, "unchanged": 0}
    again = govwallet("register", "add", "--id-number", id_number(2), "--name", "李四", "--json")
    assert json.loads(again.stdout) == {"added": 0, "unchanged": 1}
    conflict = govwallet("register", "add", "--id-number", id_number(2), "--name", "王五")
    assert conflict.returncode == 1
    assert "another name" in conflict.stderr
    created = govwallet(
        "citizen",
        "add",
        "--id-number",
        id_number(2),
        "--name",
        "李四",
        "--password",
        PASSWORD,
        "--json",
    )
    assert json.loads(created.stdout)["loa"] == 2


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("11010519491231002", "18 characters"),
        ("000000200001011235", "province code"),
        ("110105199902300023", "not a real date"),
        ("110105194912310021", "check character"),
    ],
)
def test_citizen_add_names_the_broken_rule(
    govwallet: Callable[..., subprocess.CompletedProcess[str]], number: str, message: str
) -> None:
    result = govwallet(
        "citizen", "add", "--id-number", number, "--name", "张三", "--password", PASSWORD, "--json"
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_citizen_add_refuses_a_weak_password_and_a_duplicate(
    govwallet: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    weak = govwallet(
        "citizen", "add", "--id-number", id_number(3), "--name", "甲", "--password", "abc"
    )
    assert weak.returncode == 1
    assert "at least 10 characters" in weak.stderr
    args = ("citizen", "add", "--id-number", id_number(3), "--name", "甲", "--password", PASSWORD)
    assert govwallet(*args).returncode == 0
    duplicate = govwallet(*args)
    assert duplicate.returncode == 1
    assert "exists already" in duplicate.stderr


def test_register_import_reports_bad_rows_and_imports_nothing(
    govwallet: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id_number,name\n"
        f"{id_number(10)},甲\n"
        "11010519491231002,乙\n"
        f"{id_number(11)},丙\n"
        "110105194912310021,丁\n",
        encoding="utf-8",
    )
    result = govwallet("register", "import", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3: The identity number must be 18 characters" in result.stderr
    assert f"{bad}:5: The last character" in result.stderr
    assert "nothing was imported" in result.stderr
    as_json = govwallet("register", "import", str(bad), "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["added"] == 0
    assert [error["line"] for error in report["errors"]] == [3, 5]
    # nothing was imported: the good row's person is still unknown to the register
    citizen = govwallet(
        "citizen",
        "add",
        "--id-number",
        id_number(10),
        "--name",
        "甲",
        "--password",
        PASSWORD,
        "--json",
    )
    assert json.loads(citizen.stdout)["loa"] == 1
    good = tmp_path / "good.csv"
    good.write_text(f"id_number,name\n{id_number(10)},甲\n{id_number(11)},丙\n", encoding="utf-8")
    imported = govwallet("register", "import", str(good), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout) == {"added": 2, "unchanged": 0, "errors": []}
    rerun = govwallet("register", "import", str(good))
    assert rerun.returncode == 0
    assert "0 added, 2 already present" in rerun.stdout


def test_register_import_of_a_missing_file(
    govwallet: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    result = govwallet("register", "import", str(tmp_path / "absent.csv"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_demo_citizen_is_seeded_once(runtime: Runtime) -> None:
    first = demo.seed_citizen(runtime)
    second = demo.seed_citizen(runtime)
    assert first == second
    assert any("level of assurance 2" in line for line in first)


@pytest.mark.e2e
def test_serve_demo_prints_the_demo_citizen(tmp_path: Path) -> None:
    with live_server(tmp_path, demo=True) as server:
        log = server.log()
        assert demo.DEMO_CITIZEN_ID_NUMBER in log
        assert demo.DEMO_CITIZEN_PASSWORD in log
        assert "level of assurance 2" in log
        response = httpx.post(
            f"{server.base_url}/api/v1/accounts",
            json={"id_number": demo.DEMO_CITIZEN_ID_NUMBER, "name": "x", "password": PASSWORD},
        )
        assert response.status_code == 409


@pytest.mark.e2e
def test_live_server_keeps_identity_numbers_out_of_logs_and_files(tmp_path: Path) -> None:
    number, phone = id_number(60), "13912345678"
    with live_server(tmp_path) as server:
        created = httpx.post(
            f"{server.base_url}/api/v1/accounts",
            json={"id_number": number, "name": "甲", "password": PASSWORD, "phone": phone},
        )
        assert created.status_code == 201
        refused = httpx.post(
            f"{server.base_url}/api/v1/accounts",
            json={"id_number": number[:-1] + "0", "name": "甲", "password": PASSWORD},
        )
        assert refused.status_code in {409, 422}
        added = server.cli("register", "add", "--id-number", number, "--name", "甲")
        assert added.returncode == 0
        log = server.log()
    assert number not in log
    assert number[:-1] not in log
    assert phone not in log
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert number.encode() not in content, path
            assert phone.encode() not in content, path
