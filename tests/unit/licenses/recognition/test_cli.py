"""``govwallet recognition`` and ``govwallet service-item``: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.unit.licenses.audit.cli_support import cli_env_for
from wallet_api.cli import app
from wallet_api.runtime import Runtime

runner = CliRunner()
ID_CARD = "111000000000130013001"
HUNAN_AGENCY = "11430000006122244L"
BEIJING_AGENCY = "11110000000021135M"


@pytest.fixture
def cli_env(runtime: Runtime) -> dict[str, str]:
    env = cli_env_for(runtime)
    imported = runner.invoke(app, ["service-item", "import"], env=env)
    assert imported.exit_code == 0, imported.output
    assert "service items" in imported.output
    return env


def _run(env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, list(args), env=env)


def test_region_rule_add_check_report_and_delete(cli_env: dict[str, str]) -> None:
    added = _run(
        cli_env,
        "recognition",
        "add",
        "--verifier-region",
        "110000",
        "--license-type",
        ID_CARD,
        "--material",
        "M-APPLICANT-ID",
        "--issuer-region",
        "430000",
        "--json",
    )
    assert added.exit_code == 0, added.output
    rule = json.loads(added.stdout)
    assert rule["created_by"].startswith("operator:")

    check = _run(
        cli_env,
        "recognition",
        "check",
        "--verifier-credit-code",
        BEIJING_AGENCY,
        "--verifier-region",
        "110105",
        "--license-type",
        ID_CARD,
        "--issuer-credit-code",
        HUNAN_AGENCY,
        "--issuer-region",
        "430100",
        "--json",
    )
    assert check.exit_code == 0, check.output
    materials = json.loads(check.stdout)
    assert [m["code"] for m in materials] == ["M-APPLICANT-ID"]
    assert "110000-QR-0005" in materials[0]["service_items"]

    report = _run(
        cli_env,
        "service-item",
        "report",
        "110000-QR-0005",
        "--held",
        f"{ID_CARD}:{HUNAN_AGENCY}:430000",
        "--json",
    )
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["paper_avoided_share"] == 0.25
    plain = _run(
        cli_env,
        "service-item",
        "report",
        "110000-QR-0005",
        "--held",
        f"{ID_CARD}:{HUNAN_AGENCY}:430000",
    )
    assert "paper avoided: 1 of 4 materials (25%)" in plain.stdout

    listed = _run(cli_env, "recognition", "list", "--json")
    assert [r["id"] for r in json.loads(listed.stdout)] == [rule["id"]]
    deleted = _run(cli_env, "recognition", "delete", rule["id"])
    assert deleted.exit_code == 0
    assert _run(cli_env, "recognition", "delete", rule["id"]).exit_code == 1
    audit = _run(cli_env, "audit", "list", "--subject", f"recognition-rule:{rule['id']}", "--json")
    assert [e["action"] for e in json.loads(audit.stdout)] == [
        "recognition.rule_created",
        "recognition.rule_deleted",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--verifier-region", "11", "--issuer-region", "430000"], "verifier_region"),
        (["--verifier-region", "110000"], "issuer_regions"),
        (["--verifier-region", "110000", "--issuer-credit-code", "X"], "issuer_credit_codes[0]"),
        (["--issuer-region", "430000"], "verifier_credit_code"),
    ],
)
def test_bad_rules_exit_two_naming_the_field(
    cli_env: dict[str, str], args: list[str], message: str
) -> None:
    result = _run(
        cli_env,
        "recognition",
        "add",
        "--license-type",
        ID_CARD,
        "--material",
        "M-APPLICANT-ID",
        *args,
    )
    assert result.exit_code == 2
    assert message in result.stderr


def test_service_item_list_show_and_errors(cli_env: dict[str, str], tmp_path: Path) -> None:
    listed = _run(cli_env, "service-item", "list", "--region", "440300", "--json")
    assert listed.exit_code == 0
    assert all(i["handler"]["region"] == "440300" for i in json.loads(listed.stdout))
    shown = _run(cli_env, "service-item", "show", "440300-GG-0003")
    assert "M-BANK-CARD" in shown.stdout
    assert "paper only" in shown.stdout
    assert _run(cli_env, "service-item", "show", "NOPE").exit_code == 1
    bad_held = _run(cli_env, "service-item", "report", "440300-GG-0003", "--held", "a:b")
    assert bad_held.exit_code == 2
    assert "--held[0]" in bad_held.stderr
    wrong = tmp_path / "held.json"
    wrong.write_text(
        json.dumps(
            [{"license_type": ID_CARD, "issuer_credit_code": "X", "issuer_region": "430000"}]
        )
    )
    from_file = _run(cli_env, "service-item", "report", "440300-GG-0003", "--held-file", str(wrong))
    assert from_file.exit_code == 2
    assert "held_licenses[0].issuer_credit_code" in from_file.stderr
    broken = tmp_path / "catalogue.json"
    broken.write_text('{"materials": [{"code": "m"}]}')
    refused = _run(cli_env, "service-item", "import", str(broken))
    assert refused.exit_code == 2
    assert "materials[0].code" in refused.stderr


def test_demo_seed_is_idempotent_and_recognises_across_the_demo_regions(
    runtime: Runtime,
) -> None:
    from licenses.recognition.services import list_rules, satisfied_materials
    from wallet_api.cli.service_item import DEMO_RULES, seed_demo

    assert "recognition rules" in seed_demo(runtime)[0]
    seed_demo(runtime)
    with runtime.transaction() as session:
        assert len(list_rules(session)) == len(DEMO_RULES)
        materials = satisfied_materials(
            session,
            verifier_credit_code="12110000400777687U",
            verifier_region="110000",
            license_type=ID_CARD,
            issuer_credit_code="11220000013544541J",
            issuer_region="220000",
        )
    assert [m.code for m in materials] == ["M-APPLICANT-ID"]
