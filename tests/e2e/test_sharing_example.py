"""The worked example relying platform (``examples/relying_platform``) as a separate
process against a live ``govwallet serve --demo``: a citizen logs in through it, shares
the licenses its service item needs, and the platform verifies them offline and shows
which paper materials were avoided."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.protocol.oidc_helpers import HIDDEN, Citizen, RegisteredClient, add_client
from tests.support.live_server import REPO_ROOT, LiveServer, free_port, live_server
from wallet_api import demo

pytestmark = pytest.mark.e2e

SERVICE_ITEM = "110000-XK-0002"  # driving-license renewal: ID card and driving license
CHECKBOX = re.compile(r'<input type="checkbox" name="share" value="([^"]+)"')
DEMO_CITIZEN = Citizen(
    demo.DEMO_CITIZEN_ID_NUMBER, demo.DEMO_CITIZEN_NAME, demo.DEMO_CITIZEN_PASSWORD
)


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("sharing-example"), demo=True) as running:
        yield running


@pytest.fixture(scope="module")
def example(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client: RegisteredClient = add_client(
        server, "--scope", "openid", redirect_uri=f"{base}/callback"
    )
    log = Path(tmp_path_factory.mktemp("example-log")) / "example.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "examples.relying_platform",
                "--issuer",
                server.base_url,
                "--client-id",
                client.client_id,
                "--service-item",
                SERVICE_ITEM,
                "--port",
                str(port),
            ],
            cwd=REPO_ROOT,
            # The secret from the environment, not the command line: other users' `ps`
            # shows arguments, and argparse took a secret starting with "-" for an option.
            env={**os.environ, "RELYING_PLATFORM_CLIENT_SECRET": client.client_secret or ""},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(base + "/", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_example_platform_logs_in_verifies_shared_licenses_and_reports_paper_avoided(
    server: LiveServer, example: str
) -> None:
    with httpx.Client(follow_redirects=False, timeout=30) as agent:
        home = agent.get(example + "/")
        assert SERVICE_ITEM in home.text
        # The platform's login: an authorization request carrying authorization_details.
        response = agent.get(example + "/login")
        authorize = response.headers["location"]
        assert authorize.startswith(server.base_url + "/authorize?")
        assert "authorization_details" in parse_qs(urlsplit(authorize).query)
        response = agent.get(authorize)
        login = urljoin(server.base_url, response.headers["location"])
        login_page = agent.get(login)
        fields = hidden_fields(login_page.text)
        response = agent.post(
            server.base_url + "/login",
            data={
                **fields,
                "username": DEMO_CITIZEN.id_number,
                "password": DEMO_CITIZEN.password,
            },
        )
        consent = agent.get(urljoin(server.base_url, response.headers["location"]))
        assert consent.status_code == 200, consent.text[:400]
        offered = CHECKBOX.findall(consent.text)
        assert any(value.startswith("111000000000130013001|") for value in offered)
        assert any(value.startswith("111000000000130013002|") for value in offered)
        # The citizen shares the ID card but not the driving license.
        approved = [value for value in offered if value.startswith("111000000000130013001|")]
        response = agent.post(
            server.base_url + "/authorize",
            data={**hidden_fields(consent.text), "decision": "allow", "share": approved},
        )
        callback = response.headers["location"]
        assert callback.startswith(example + "/callback?")
        result = agent.get(callback)
    assert result.status_code == 200, result.text
    page = result.text
    licenses = re.findall(
        r"<section class='license' data-license-type='([^']+)' data-valid='([^']+)'>", page
    )
    assert licenses == [("111000000000130013001", "true")]
    assert "VALID" in page
    assert f"data-claim='holder_name'>holder_name: {demo.DEMO_CITIZEN_NAME}" in page
    assert "data-claim='fields'" not in page  # nothing beyond what was asked and approved
    outcomes = dict(re.findall(r"data-material='([^']+)' data-outcome='([^']+)'", page))
    assert outcomes["M-APPLICANT-ID"] == "electronic"
    assert outcomes["M-DRIVING-LICENSE"] == "not-held"  # refused, so paper it stays
    assert "data-electronic='1'" in page
