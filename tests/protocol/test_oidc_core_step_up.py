"""Second factor and ``acr_values`` step-up (OpenID Connect Core §3.1.2.1, ``acr``/``amr``).

In process (the TOTP seed is set up through the account services), over the same HTTP
interface a browser uses.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from identity import services as accounts
from identity.oidc.services import register_client
from tests.protocol.oidc_helpers import Browser, Citizen
from wallet_api.app import create_app
from wallet_api.runtime import Runtime

REDIRECT = "http://127.0.0.1:8999/cb"
ID_NUMBER = "11010219840406970X"


class InProcessBrowser(Browser):
    def __init__(self, http: TestClient) -> None:
        self.http = http


@pytest.fixture
def setup(runtime: Runtime) -> Iterator[tuple[Runtime, InProcessBrowser, str, str]]:
    identity = runtime.identity
    with runtime.transaction() as session:
        accounts.add_register_entry(session, identity=identity, id_number=ID_NUMBER, name="赵六")
        accounts.register_citizen(
            session, identity=identity, id_number=ID_NUMBER, name="赵六", password="Step-up-pass-1"
        )
        client, secret = register_client(
            session,
            name="Step-up platform",
            redirect_uris=[REDIRECT],
            scopes=["openid"],
            master=runtime.settings.master_secret,
        )
        client_id = client.client_id
    assert secret is not None  # a confidential client
    with TestClient(
        create_app(runtime=runtime), base_url=runtime.settings.issuer_url, follow_redirects=False
    ) as http:
        yield runtime, InProcessBrowser(http), client_id, secret


def _authorize_url(client_id: str, verifier: str, **extra: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s",
        "nonce": "n",
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
        **extra,
    }
    return "/authorize?" + urlencode(params)


def _id_token(
    runtime: Runtime,
    browser: Browser,
    client_id: str,
    secret: str,
    final: httpx.Response,
    verifier: str,
) -> dict[str, Any]:
    code = parse_qs(urlsplit(final.headers["location"]).query)["code"][0]
    token = browser.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
    ).json()
    jwks = KeySet.import_key_set(browser.get("/jwks.json").json())
    return dict(jwt.decode(token["id_token"], jwks, algorithms=["RS256"]).claims)


def _enrol_totp(runtime: Runtime) -> list[str]:
    identity = runtime.identity
    with runtime.transaction() as session:
        citizen = accounts.find_citizen_by_username(session, identity=identity, username=ID_NUMBER)
        assert citizen is not None
        enrolment = accounts.begin_totp_enrolment(session, identity=identity, citizen=citizen)
        return accounts.confirm_totp_enrolment(
            session, identity=identity, citizen=citizen, otp=pyotp.TOTP(enrolment.secret).now()
        )


def test_acr_values_step_up_through_the_second_factor(
    setup: tuple[Runtime, InProcessBrowser, str, str],
) -> None:
    runtime, browser, client_id, secret = setup
    citizen = Citizen(ID_NUMBER, "赵六", "Step-up-pass-1")
    verifier = secrets.token_urlsafe(48)
    first = browser.authorize(_authorize_url(client_id, verifier), citizen)
    claims = _id_token(runtime, browser, client_id, secret, first, verifier)
    assert claims["acr"] == "urn:govwallet:loa:2"
    assert claims["amr"] == ["pwd"]

    recovery_codes = _enrol_totp(runtime)
    verifier = secrets.token_urlsafe(48)
    url = _authorize_url(client_id, verifier, acr_values="urn:govwallet:loa:3")
    step_up = browser.get(url)
    assert step_up.status_code == 303
    next_url = parse_qs(urlsplit(step_up.headers["location"]).query)["next"][0]
    after_password = browser.login(citizen, next_url=next_url)
    assert after_password.headers["location"].startswith("/login/otp")
    otp_page = browser.get(after_password.headers["location"])
    fields = Browser.form_fields(otp_page)
    wrong = browser.post("/login/otp", data={**fields, "otp": "000000"})
    assert wrong.status_code == 401
    assert 'data-error="login.error.otp"' in wrong.text
    done = browser.post("/login/otp", data={**fields, "otp": recovery_codes[0]})
    assert done.status_code == 303
    final = browser.get(done.headers["location"])
    stepped = _id_token(runtime, browser, client_id, secret, final, verifier)
    assert stepped["acr"] == "urn:govwallet:loa:3"
    assert stepped["amr"] == ["pwd", "otp"]
    # Re-authentication renewed the same SSO session: platforms keep one sid.
    assert stepped["sid"] == claims["sid"]
    assert stepped["auth_time"] >= claims["auth_time"]


def test_otp_form_without_password_step_goes_back_to_login(
    setup: tuple[Runtime, InProcessBrowser, str, str],
) -> None:
    _, browser, _, _ = setup
    page = browser.get("/login/otp")
    fields = Browser.form_fields(page)
    response = browser.post("/login/otp", data={**fields, "otp": "123456"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?")
