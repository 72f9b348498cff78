"""The demo relying platform printed by ``govwallet serve --demo`` works end to end,
on SQLite and on PostgreSQL, and ``govwallet client add`` refuses bad metadata."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from tests.protocol.oidc_helpers import Browser, Citizen, callback_params, verify_id_token
from tests.support.databases import database_url_for
from tests.support.live_server import live_server
from wallet_api import demo

pytestmark = pytest.mark.e2e


def _printed(log: str, label: str) -> str:
    match = re.search(rf"{label}:\s+(\S+)", log)
    assert match, f"{label} not printed"
    return match.group(1)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_demo_client_logs_the_demo_citizen_in(tmp_path: Path, kind: str) -> None:
    with (
        database_url_for(kind, tmp_path) as url,
        live_server(
            tmp_path, demo=True, database_url=url if kind == "postgres" else None
        ) as server,
    ):
        log = server.log()
        client_id = _printed(log, "client id")
        secret = _printed(log, "client secret")
        redirect_uri = _printed(log, "redirect uri")
        assert redirect_uri == demo.DEMO_CLIENT_REDIRECT_URI
        rp = OAuth2Client(
            client_id,
            secret,
            scope="openid profile offline_access",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )
        verifier = secrets.token_urlsafe(48)
        url_, _ = rp.create_authorization_url(
            f"{server.base_url}/authorize", code_verifier=verifier, nonce="demo-nonce"
        )
        browser = Browser(server)
        citizen = Citizen(
            demo.DEMO_CITIZEN_ID_NUMBER, demo.DEMO_CITIZEN_NAME, demo.DEMO_CITIZEN_PASSWORD
        )
        response = browser.authorize(url_, citizen)
        assert "code" in callback_params(response)
        token = rp.fetch_token(
            f"{server.base_url}/token",
            authorization_response=response.headers["location"],
            code_verifier=verifier,
        )
        claims = verify_id_token(server, token["id_token"], client_id=client_id, nonce="demo-nonce")
        assert claims["acr"] == "urn:govwallet:loa:2"  # the demo citizen is in the register
        assert rp.get(f"{server.base_url}/userinfo").json()["name"] == demo.DEMO_CITIZEN_NAME
        refreshed = rp.refresh_token(f"{server.base_url}/token")
        assert refreshed["refresh_token"] != token["refresh_token"]
        browser.close()


def test_client_add_cli(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        ok = server.cli(
            "client", "add", "--name", "CLI platform",
            "--redirect-uri", "https://platform.example/cb",
            "--redirect-uri", "https://platform.example/cb2",
            "--post-logout-redirect-uri", "https://platform.example/",
            "--backchannel-logout-uri", "https://platform.example/bcl",
            "--scope", "openid", "--scope", "profile",
            "--subject-type", "public", "--json",
        )  # fmt: skip
        data = json.loads(ok.stdout)
        assert data["client_id"]
        assert len(data["client_secret"]) >= 43
        assert data["redirect_uris"] == [
            "https://platform.example/cb",
            "https://platform.example/cb2",
        ]
        assert data["subject_type"] == "public"
        assert data["backchannel_logout_uri"] == "https://platform.example/bcl"
        public = json.loads(
            server.cli(
                "client", "add", "--name", "SPA", "--redirect-uri", "http://127.0.0.1:9/cb",
                "--public", "--json",
            ).stdout
        )  # fmt: skip
        assert public["client_secret"] is None
        assert public["token_endpoint_auth_method"] == "none"
        bad = server.cli(
            "client", "add", "--name", "Bad", "--redirect-uri", "http://platform.example/cb",
            check=False,
        )  # fmt: skip
        assert bad.returncode != 0
        assert "redirect_uris" in bad.stderr
        # The CLI's client is usable at once by the running server (client credentials).
        agency = json.loads(
            server.cli(
                "client", "add", "--name", "Agency", "--grant-type", "client_credentials",
                "--scope", "licenses:read", "--json",
            ).stdout
        )  # fmt: skip
        token = httpx.post(
            f"{server.base_url}/token",
            data={"grant_type": "client_credentials"},
            auth=(agency["client_id"], agency["client_secret"]),
        )
        assert token.status_code == 200
        assert token.json()["scope"] == "licenses:read"
