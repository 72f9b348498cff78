"""The provider endpoints served by ``wallet_api.hot_paths``: the same answers, headers,
metrics and error documents as every other route, and a JWKS that follows rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import Response

from wallet_api import problems
from wallet_api.hot_paths import HotPaths
from wallet_api.middleware import RequestContextMiddleware
from wallet_api.runtime import PROVIDER_OWNER, Runtime

FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_hot_answers_carry_the_security_headers_and_the_request_id(client: TestClient) -> None:
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        response = client.get(path, headers={"x-request-id": "hot-path-0001"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-request-id"] == "hot-path-0001"
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["token_endpoint"].endswith("/token")
    assert metadata["jwks_uri"].endswith("/jwks.json")


def test_metrics_label_hot_paths_by_their_route(client: TestClient) -> None:
    client.post("/token", content="grant_type=client_credentials", headers=FORM)
    client.get("/jwks.json")
    body = client.get("/metrics").text
    assert 'govwallet_http_requests_total{method="POST",route="/token",status="401"}' in body
    assert 'govwallet_http_requests_total{method="GET",route="/jwks.json",status="200"}' in body


def test_other_methods_on_hot_paths_still_reach_fastapi(client: TestClient) -> None:
    wrong = client.get("/token")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"


def test_errors_of_hot_endpoints_use_the_application_handlers(client: TestClient) -> None:
    missing = client.get("/userinfo")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"].endswith("missing-token")
    assert missing.headers["www-authenticate"] == 'Bearer realm="govwallet"'
    bad = client.get("/userinfo", headers={"authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_too_many_parameters_is_invalid_request_not_a_crash(client: TestClient, path: str) -> None:
    body = "&".join(f"field{i}=x" for i in range(150))
    in_body = client.post(path, content=body, headers=FORM)
    in_query = client.post(f"{path}?{body}", content="token=x", headers=FORM)
    for response in (in_body, in_query):
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_request",
            "error_description": "The request has more than 100 parameters.",
        }


def test_jwks_follows_a_rotation_at_once(client: TestClient, runtime: Runtime) -> None:
    before = {key["kid"] for key in client.get("/jwks.json").json()["keys"]}
    with runtime.sessions() as session:
        rotated = runtime.keystore.rotate(
            session, owner=PROVIDER_OWNER, alg="ES256", retain_for=timedelta(days=1)
        )
        session.commit()
    after = {key["kid"] for key in client.get("/jwks.json").json()["keys"]}
    # The promoted key was published before it signed; the new ``next`` key appears at once.
    assert rotated.kid in before
    assert len(after - before) == 1
    assert before <= after  # the retired key stays published until removed


def test_only_endpoints_that_take_just_the_request_can_be_hot() -> None:
    async def with_dependency(request: Request, value: int = Depends(int)) -> Response:
        return Response()

    def synchronous(request: Request) -> Response:
        return Response()

    async def fine(request: Request) -> Response:
        return Response()

    app = FastAPI()
    for endpoint in (with_dependency, synchronous):
        with pytest.raises(TypeError, match="async def f"):
            HotPaths(app, app=app, endpoints={("GET", "/x"): endpoint})  # type: ignore[dict-item]
    HotPaths(app, app=app, endpoints={("GET", "/x"): fine})


def test_an_unexpected_error_in_a_hot_endpoint_is_a_logged_500_problem(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("database on fire")

    app = FastAPI()
    problems.install(app)
    front = RequestContextMiddleware(
        HotPaths(app, app=app, endpoints={("GET", "/broken"): broken}), https=True
    )
    with TestClient(front, raise_server_exceptions=False) as client:
        response = client.get("/broken", headers={"x-request-id": "hot-path-0500"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == "hot-path-0500"
    assert "database on fire" not in response.text
    assert response.headers["x-request-id"] == "hot-path-0500"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert any(record.exc_info for record in caplog.records if record.levelname == "ERROR")
