"""Health, readiness, metrics, problem documents, security headers and request ids."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from wallet_api.app import create_app
from wallet_api.logs import JsonFormatter, request_id_var, scrub
from wallet_api.runtime import Runtime
from wallet_api.settings import Settings


def test_healthz_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_when_database_and_keys_are_there(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "keys": "ok"}


def test_readyz_fails_when_the_database_is_gone(runtime: Runtime) -> None:
    app_client = TestClient(create_app(runtime=runtime))
    assert app_client.get("/readyz").status_code == 200
    if runtime.engine.dialect.name == "sqlite":
        Path(runtime.engine.url.database or "").unlink()
        runtime.engine.dispose()  # pooled connections still see the unlinked file
    else:
        with runtime.engine.begin() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar()
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))  # empty again
    response = app_client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:govwallet:problem:not-ready"
    assert body["detail"].startswith("database")


def test_readyz_fails_without_provider_keys(runtime: Runtime) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(text("UPDATE keys_signing_key SET state = 'retired'"))
    response = TestClient(create_app(runtime=runtime)).get("/readyz")
    assert response.status_code == 503
    assert "keys" in response.json()["detail"]


def test_unknown_path_is_a_problem_document(client: TestClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:govwallet:problem:not-found"
    assert body["status"] == 404
    assert body["request_id"] == response.headers["x-request-id"]


def test_wrong_method_is_a_problem_document(client: TestClient) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json()["type"] == "urn:govwallet:problem:method-not-allowed"


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/healthz", "/jwks.json", "/nope"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "x-request-id" in headers
    assert client.get("/healthz").headers["cache-control"] == "no-store"


def test_hsts_only_when_served_over_https(
    runtime: Runtime, make_settings: Callable[..., Settings]
) -> None:
    assert (
        "strict-transport-security"
        not in TestClient(create_app(runtime=runtime)).get("/healthz").headers
    )
    https_runtime = Runtime(
        make_settings(
            issuer="https://id.example.gov.cn",
            database_url=runtime.settings.effective_database_url,
        )
    )
    try:
        headers = TestClient(create_app(runtime=https_runtime)).get("/healthz").headers
        assert headers["strict-transport-security"].startswith("max-age=")
    finally:
        https_runtime.close()


def test_incoming_request_id_is_kept_when_well_formed(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc123def456"}).headers["x-request-id"]
        == "abc123def456"
    )
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers
    assert generated["x-request-id"] != "bad id\n"


def test_generated_request_ids_are_distinct(client: TestClient) -> None:
    ids = {client.get(path).headers["x-request-id"] for path in ["/healthz", "/jwks.json"] * 50}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[0-9a-f]{16}", request_id) for request_id in ids)


def test_jwks_publishes_provider_keys_without_private_parts(client: TestClient) -> None:
    keys = client.get("/jwks.json").json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    assert all(not ({"d", "p", "q", "dp", "dq", "qi"} & set(k)) for k in keys)


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/healthz")
    body = client.get("/metrics").text
    assert 'govwallet_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "govwallet_http_request_duration_seconds_bucket" in body


def test_openapi_document_is_served(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["info"]["title"] == "govwallet"
    assert "/readyz" in doc["paths"]


def test_access_log_is_json_with_request_id_and_no_query_string(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="govwallet.access"):
        response = client.get("/healthz?login_hint=11010519491231002X&code=secret-code")
    records = [r for r in caplog.records if r.name == "govwallet.access"]
    assert records
    line = JsonFormatter().format(records[-1])
    entry = json.loads(line)
    assert entry["path"] == "/healthz"
    assert entry["status"] == 200
    assert entry["request_id"] == response.headers["x-request-id"]
    assert "11010519491231002X" not in line
    assert "secret-code" not in line


def test_json_formatter_scrubs_secrets_from_messages() -> None:
    token = request_id_var.set("req-1")
    try:
        record = logging.makeLogRecord(
            {
                "name": "t",
                "levelno": logging.INFO,
                "levelname": "INFO",
                "msg": "holder %s sent Bearer abc.def and password=hunter2 "
                "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
                "args": ("11010519491231002X",),
            }
        )
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "req-1"
    for secret in ("11010519491231002X", "abc.def", "hunter2", "eyJhbGciOiJFUzI1NiJ9"):
        assert secret not in entry["message"]


@pytest.mark.parametrize(
    "text_in",
    ["440524188001010014", "11010519491231002x", "client_secret=abc", "Basic dXNlcjpwYXNz"],
)
def test_scrub_removes_sensitive_values(text_in: str) -> None:
    assert text_in not in scrub(f"before {text_in} after")
