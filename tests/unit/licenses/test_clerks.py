"""Agency clerks: membership by public subject, the CLI, and the clerk the verifier page uses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from licenses import clerks, services
from tests.support.license_factories import BEIJING, JILIN, make_agency
from tests.unit.identity.factories import id_number, verified_citizen
from tests.unit.licenses.audit.cli_support import cli_env_for
from wallet_api.cli import app
from wallet_api.runtime import Runtime

runner = CliRunner()
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_a_clerk_acts_for_the_agencies_it_was_added_to(runtime: Runtime) -> None:
    make_agency(runtime, who=BEIJING)
    make_agency(runtime, who=JILIN)
    with runtime.transaction() as session:
        beijing = services.get_agency(session, agency_ref=BEIJING[1])
        jilin = services.get_agency(session, agency_ref=JILIN[1])
        first = clerks.add_clerk(session, agency=jilin, subject="sub-clerk", now=NOW)
        again = clerks.add_clerk(session, agency=jilin, subject="sub-clerk", now=NOW)
        assert again.id == first.id
        clerks.add_clerk(session, agency=beijing, subject="sub-clerk", now=NOW)

    with runtime.transaction() as session:
        agencies = clerks.clerk_agencies(session, subject="sub-clerk")
        assert [a.credit_code for a in agencies] == sorted([BEIJING[1], JILIN[1]])
        assert (
            clerks.clerk_agency(session, subject="sub-clerk").credit_code == agencies[0].credit_code
        )
        named = clerks.clerk_agency(session, subject="sub-clerk", agency_ref=JILIN[1])
        assert named.credit_code == JILIN[1]
        assert clerks.clerk_agencies(session, subject="someone-else") == []
        with pytest.raises(clerks.NotAClerk):
            clerks.clerk_agency(session, subject="someone-else")
        with pytest.raises(clerks.NotAClerk):
            clerks.clerk_agency(session, subject="sub-clerk", agency_ref="11110000000021135M")


def test_removing_a_clerk_ends_its_access(runtime: Runtime) -> None:
    make_agency(runtime, who=BEIJING)
    with runtime.transaction() as session:
        agency = services.get_agency(session, agency_ref=BEIJING[1])
        clerks.add_clerk(session, agency=agency, subject="sub-1", now=NOW)
        assert clerks.remove_clerk(session, agency=agency, subject="sub-1") is True
        assert clerks.remove_clerk(session, agency=agency, subject="sub-1") is False
        with pytest.raises(clerks.NotAClerk):
            clerks.clerk_agency(session, subject="sub-1")


@pytest.mark.parametrize("subject", ["", "has space", "x" * 65, "<script>"])
def test_a_malformed_subject_is_refused_and_nothing_is_written(
    runtime: Runtime, subject: str
) -> None:
    make_agency(runtime, who=BEIJING)
    with runtime.transaction() as session:
        agency = services.get_agency(session, agency_ref=BEIJING[1])
        with pytest.raises(clerks.InvalidClerkSubject) as caught:
            clerks.add_clerk(session, agency=agency, subject=subject, now=NOW)
        assert caught.value.field == "subject"
        assert clerks.list_clerks(session, agency=agency) == []


def test_cli_adds_by_identity_number_lists_and_removes(runtime: Runtime) -> None:
    make_agency(runtime, who=BEIJING)
    citizen = verified_citizen(runtime, sequence=7)
    env = cli_env_for(runtime)

    added = runner.invoke(
        app,
        ["agency", "clerk", "add", "--agency", BEIJING[1], "--id-number", id_number(7), "--json"],
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["subject"] == citizen.subject

    listed = runner.invoke(
        app, ["agency", "clerk", "list", "--agency", BEIJING[1], "--json"], env=env
    )
    assert listed.exit_code == 0, listed.output
    assert [row["subject"] for row in json.loads(listed.stdout)] == [citizen.subject]

    removed = runner.invoke(
        app,
        ["agency", "clerk", "remove", "--agency", BEIJING[1], "--subject", citizen.subject],
        env=env,
    )
    assert removed.exit_code == 0, removed.output
    again = runner.invoke(
        app,
        ["agency", "clerk", "remove", "--agency", BEIJING[1], "--subject", citizen.subject],
        env=env,
    )
    assert again.exit_code == 1


def test_cli_refuses_bad_input_with_a_message(runtime: Runtime) -> None:
    make_agency(runtime, who=BEIJING)
    env = cli_env_for(runtime)
    cases = [
        (["--agency", BEIJING[1]], "exactly one of --subject and --id-number"),
        (["--agency", BEIJING[1], "--subject", "a", "--id-number", "b"], "exactly one"),
        (["--agency", "11110000000021135M", "--subject", "sub"], "no agency"),
        (["--agency", BEIJING[1], "--id-number", id_number(9)], "no citizen account"),
        (["--agency", BEIJING[1], "--subject", "bad subject"], "subject:"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["agency", "clerk", "add", *args], env=env)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
    with runtime.transaction() as session:
        agency = services.get_agency(session, agency_ref=BEIJING[1])
        assert clerks.list_clerks(session, agency=agency) == []
