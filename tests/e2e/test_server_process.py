"""The real ``govwallet serve`` process, talked to over a socket."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import KeySet

from tests.support.databases import database_url_for
from tests.support.live_server import live_server

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_serve_migrates_and_answers_over_a_socket(tmp_path: Path, kind: str) -> None:
    with (
        database_url_for(kind, tmp_path) as url,
        live_server(tmp_path, database_url=url if kind == "postgres" else None) as server,
    ):
        ready = httpx.get(f"{server.base_url}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
        jwks = httpx.get(f"{server.base_url}/jwks.json", timeout=5).json()
        assert {k["alg"] for k in jwks["keys"]} == {"RS256", "ES256"}
        metrics = httpx.get(f"{server.base_url}/metrics", timeout=5).text
        assert 'route="/readyz"' in metrics

        # Rotating through the CLI against the same database is seen by the server's JWKS.
        before = {k["kid"] for k in jwks["keys"]}
        server.cli("keys", "rotate", "--alg", "ES256")
        after_rotation = None
        for _ in range(50):  # the server caches the JWKS for a few seconds
            served = httpx.get(f"{server.base_url}/jwks.json", timeout=5).json()
            after_rotation = {k["kid"] for k in served["keys"]}
            if after_rotation != before:
                break
            time.sleep(0.2)
        assert after_rotation is not None
        assert before < after_rotation  # old keys stay published, a new next key appears

        # Logs are JSON lines with request ids, and the secret never appears.
        log = server.log()
        assert '"logger": "govwallet.access"' in log
        assert server.env["GOVWALLET_KEY_ENCRYPTION_SECRET"] not in log


def test_serve_with_two_workers_shares_one_database(tmp_path: Path) -> None:
    with live_server(tmp_path, workers=2) as server:
        url = f"{server.base_url}/readyz"
        statuses = {httpx.get(url, timeout=5).status_code for _ in range(20)}
        assert statuses == {200}
        assert "govwallet_http_requests_total" in httpx.get(f"{server.base_url}/metrics").text


def test_served_jwks_is_the_key_store_s_public_view(tmp_path: Path) -> None:
    """The server publishes exactly the keys the CLI lists, public members only."""
    with live_server(tmp_path) as server:
        served = httpx.get(f"{server.base_url}/jwks.json").json()
        keyset = KeySet.import_key_set(served)
        assert len(keyset.keys) == 4  # active + next for RS256 and ES256
        assert all(key.is_private is False for key in keyset.keys)
        listed = json.loads(server.cli("keys", "list", "--json").stdout)
        assert {k["kid"] for k in listed} == {k["kid"] for k in served["keys"]}
