"""Registration, account and TOTP pages and the registration API, over HTTP (TestClient)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast, get_args

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import select

from identity import services, totp
from identity.models import Citizen
from tests.unit.identity.factories import PASSWORD, id_number, verified_citizen
from wallet_api.deps import CurrentCitizen, SessionDep
from wallet_api.runtime import Runtime

BAD_NUMBERS = {
    "malformed": "11010519491231002",
    "unknown-region": "000000200001011235",
    "impossible-birth-date": "110108190002291238",
    "wrong-check-character": "110105194912310021",
}


def _csrf(client: TestClient, path: str = "/account/register") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def _register_form(client: TestClient, **fields: str) -> httpx.Response:
    data = {
        "csrf_token": _csrf(client),
        "id_number": id_number(1),
        "name": "张三",
        "phone": "",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    data.update(fields)
    response: httpx.Response = client.post("/account/register", data=data)
    return response


# -- registration page ------------------------------------------------------------------


def test_register_page_is_labelled_in_both_languages(client: TestClient) -> None:
    zh = client.get("/account/register", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-CN">' in zh.text
    assert "公民身份号码" in zh.text
    en = client.get("/account/register?lang=en")
    assert "Resident identity number" in en.text
    for name in ("id_number", "name", "phone", "password", "password_confirm"):
        assert f'<label for="f-{name}">' in en.text
        assert f'id="f-{name}" name="{name}"' in en.text
    assert "<script" not in en.text


@pytest.mark.parametrize("rule", BAD_NUMBERS)
def test_register_form_names_the_broken_rule(client: TestClient, rule: str) -> None:
    client.cookies.set("gw_lang", "en")
    response = _register_form(client, id_number=BAD_NUMBERS[rule])
    assert response.status_code == 422
    expected = {
        "malformed": "18 characters",
        "unknown-region": "province code",
        "impossible-birth-date": "not a possible date",
        "wrong-check-character": "last character",
    }[rule]
    assert expected in response.text
    assert 'aria-invalid="true" aria-describedby="e-id_number' in response.text
    assert f'value="{BAD_NUMBERS[rule]}"' in response.text  # kept for correction


def test_register_form_errors_in_chinese(client: TestClient) -> None:
    response = _register_form(client, id_number=BAD_NUMBERS["wrong-check-character"])
    assert response.status_code == 422
    assert "校验码不正确" in response.text


def test_register_form_refuses_mismatch_and_weak_password(
    client: TestClient, runtime: Runtime
) -> None:
    client.cookies.set("gw_lang", "en")
    assert "two passwords differ" in _register_form(client, password_confirm="other").text
    weak = _register_form(client, password="short", password_confirm="short")
    assert weak.status_code == 422
    assert "at least 10 characters" in weak.text
    with runtime.transaction() as session:
        assert session.scalar(select(Citizen)) is None


def test_register_form_without_csrf_is_refused(client: TestClient, runtime: Runtime) -> None:
    client.get("/account/register")
    response = client.post(
        "/account/register",
        data={
            "id_number": id_number(1),
            "name": "张三",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "csrf_token": "forged",
        },
    )
    assert response.status_code == 403
    with runtime.transaction() as session:
        assert session.scalar(select(Citizen)) is None


def test_register_form_creates_a_verified_account(client: TestClient, runtime: Runtime) -> None:
    with runtime.transaction() as session:
        services.add_register_entry(
            session, identity=runtime.identity, id_number=id_number(1), name="张三"
        )
    client.cookies.set("gw_lang", "en")
    response = _register_form(client)
    assert response.status_code == 201
    assert 'data-loa="2"' in response.text
    duplicate = _register_form(client)
    assert duplicate.status_code == 409
    assert "exists already" in duplicate.text


# -- registration API -------------------------------------------------------------------


@pytest.mark.parametrize("rule", BAD_NUMBERS)
def test_register_api_problem_names_the_rule(client: TestClient, rule: str) -> None:
    response = client.post(
        "/api/v1/accounts",
        json={"id_number": BAD_NUMBERS[rule], "name": "张三", "password": PASSWORD},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == f"urn:govwallet:problem:id-number-{rule}"
    assert problem["field"] == "id_number"
    assert problem["rule"] == rule
    assert BAD_NUMBERS[rule] not in problem["detail"]


def test_register_api_creates_then_conflicts(client: TestClient) -> None:
    body = {"id_number": "11010519491231002x", "name": "王芳", "password": PASSWORD}
    created = client.post("/api/v1/accounts", json=body)
    assert created.status_code == 201
    assert created.json()["loa"] == 1
    again = client.post("/api/v1/accounts", json={**body, "id_number": "11010519491231002X"})
    assert again.status_code == 409
    assert again.json()["type"] == "urn:govwallet:problem:citizen-already-registered"
    weak = client.post(
        "/api/v1/accounts", json={**body, "id_number": id_number(2), "password": "a"}
    )
    assert weak.status_code == 422
    assert weak.json()["rule"] == "too-short"
    missing = client.post("/api/v1/accounts", json={"name": "x"})
    assert missing.status_code == 422


# -- pages for the logged-in citizen ----------------------------------------------------


@pytest.fixture
def logged_in(client: TestClient, runtime: Runtime) -> Iterator[Citizen]:
    """The account pages with the citizen named by a test header as the current citizen.

    Logging in is the OpenID provider's page; here only the account pages are under test.
    """
    citizen = verified_citizen(runtime, phone="13800138000")
    dependency = get_args(CurrentCitizen)[1].dependency

    def as_test_citizen(request: Request, session: SessionDep) -> Citizen:
        found = services.find_citizen_by_subject(session, subject=request.headers["x-test-sub"])
        assert found is not None
        return found

    app = cast(FastAPI, client.app)
    app.dependency_overrides[dependency] = as_test_citizen
    client.headers["x-test-sub"] = citizen.subject
    client.cookies.set("gw_lang", "en")
    yield citizen
    app.dependency_overrides.clear()


def test_account_page_requires_login(client: TestClient) -> None:
    response = client.get("/account", follow_redirects=False)
    assert response.status_code in {302, 303, 401}


def test_account_page_shows_the_level_of_assurance(client: TestClient, logged_in: Citizen) -> None:
    page = client.get("/account")
    assert page.status_code == 200
    assert 'data-loa="2"' in page.text
    assert "real name verified" in page.text
    assert id_number(1) not in page.text  # masked
    assert "138****8000" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_totp_enrolment_through_the_pages(
    client: TestClient, logged_in: Citizen, runtime: Runtime
) -> None:
    page = client.get("/account/totp")
    assert "Set up two-step verification" in page.text
    token_match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token_match is not None
    token = token_match.group(1)
    assert client.post("/account/totp/start", data={}).status_code == 403
    started = client.post("/account/totp/start", data={"csrf_token": token}, follow_redirects=False)
    assert started.status_code == 303
    enrolment = client.get("/account/totp")
    assert "<svg" in enrolment.text
    secret_match = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', enrolment.text)
    assert secret_match is not None
    secret = secret_match.group(1)
    png = client.get("/account/totp/qr.png")
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    wrong = client.post("/account/totp/confirm", data={"csrf_token": token, "otp": "000000"})
    assert wrong.status_code == 401
    assert "wrong, expired or was already used" in wrong.text
    code = totp.code_at(secret, datetime.now(UTC))
    confirmed = client.post("/account/totp/confirm", data={"csrf_token": token, "otp": code})
    assert confirmed.status_code == 200
    codes = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", confirmed.text)
    assert len(codes) == 10
    account = client.get("/account")
    assert "Two-step verification is on." in account.text
    assert "Recovery codes left: 10." in account.text
    # a recovery code makes new codes, once
    renewed = client.post(
        "/account/totp/recovery-codes", data={"csrf_token": token, "otp": codes[0]}
    )
    assert renewed.status_code == 200
    new_codes = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", renewed.text)
    assert len(new_codes) == 10
    assert not set(new_codes) & set(codes)
    spent = client.post("/account/totp/disable", data={"csrf_token": token, "otp": codes[1]})
    assert spent.status_code == 401  # the old codes were replaced
    off = client.post(
        "/account/totp/disable",
        data={"csrf_token": token, "otp": new_codes[0]},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert "Two-step verification is off." in client.get("/account").text
    with runtime.transaction() as session:
        citizen = session.get_one(Citizen, logged_in.id)
        assert citizen.totp_secret_encrypted is None
        assert citizen.recovery_codes == []
