"""Attacks from the OAuth 2.0 Security Best Current Practice, each refused.

https://www.rfc-editor.org/rfc/rfc9700
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import pytest

from tests.protocol.oidc_helpers import (
    ID_NUMBERS,
    Browser,
    Citizen,
    RegisteredClient,
    add_client,
    callback_params,
    code_flow,
    rp_client,
)
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e


def _code(
    server: LiveServer, browser: Browser, citizen: Citizen, client: RegisteredClient, verifier: str
) -> str:
    rp = rp_client(server, client, "openid")
    url, _ = rp.create_authorization_url(f"{server.base_url}/authorize", code_verifier=verifier)
    return callback_params(browser.authorize(url, citizen))["code"]


def _exchange(
    server: LiveServer,
    client: RegisteredClient,
    code: str,
    verifier: str,
    redirect_uri: str | None = None,
) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or client.redirect_uri,
            "code_verifier": verifier,
        },
        auth=client.basic_auth,
    )


# -- §4.1 insufficient redirect URI validation --------------------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        lambda uri: "https://attacker.example/callback",
        lambda uri: uri + "/../evil",
        lambda uri: uri + "?next=https://attacker.example",
        lambda uri: uri.replace("/callback", "/callbackx"),
        lambda uri: uri.replace("127.0.0.1", "127.0.0.1.attacker.example"),
        lambda uri: uri.upper(),
        lambda uri: uri + '"><script>',
    ],
)
def test_redirect_uri_manipulation_is_refused_without_redirecting(
    server: LiveServer, browser: Browser, citizen: Citizen, tamper: Callable[[str], str]
) -> None:
    client = add_client(server)
    assert client.redirect_uri is not None
    browser.login(citizen)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": tamper(client.redirect_uri),
            "scope": "openid",
            "code_challenge": "a" * 43,
            "code_challenge_method": "S256",
            "state": "s",
        }
    )
    response = browser.get(f"/authorize?{query}")
    #: §4.1.3: exact matching; an error is shown to the user, never sent to that URI.
    assert response.status_code == 400
    assert "location" not in response.headers
    assert 'data-error="invalid_request"' in response.text


def test_token_request_with_another_redirect_uri_is_invalid_grant(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server)
    verifier = secrets.token_urlsafe(48)
    code = _code(server, browser, citizen, client, verifier)
    response = _exchange(server, client, code, verifier, redirect_uri="http://127.0.0.1:1/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# -- §2.1.1 / §4.8 PKCE downgrade ------------------------------------------------------


def test_pkce_missing_or_downgraded_to_plain_is_refused(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server)
    browser.login(citizen)
    base = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid",
        "state": "s",
    }
    for extra in ({}, {"code_challenge": "p" * 43, "code_challenge_method": "plain"}):
        params = callback_params(browser.get(f"/authorize?{urlencode({**base, **extra})}"))
        assert params["error"] == "invalid_request"
        assert "code" not in params


# -- §4.5 authorization code injection / replay ----------------------------------------


def test_code_replay_is_refused_and_revokes_the_tokens_issued_from_it(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server)
    verifier = secrets.token_urlsafe(48)
    code = _code(server, browser, citizen, client, verifier)
    first = _exchange(server, client, code, verifier)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    replay = _exchange(server, client, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    introspection = httpx.post(
        f"{server.base_url}/introspect",
        data={"token": access_token},
        auth=client.basic_auth,
    )
    assert introspection.json() == {"active": False}


def test_code_injection_across_clients_is_invalid_grant(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    victim = add_client(server)
    attacker = add_client(server)
    verifier = secrets.token_urlsafe(48)
    code = _code(server, browser, citizen, victim, verifier)
    stolen = _exchange(server, attacker, code, verifier, redirect_uri=victim.redirect_uri)
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    # The victim's own exchange still works: the attempt did not burn the code.
    assert _exchange(server, victim, code, verifier).status_code == 200


# -- §4.14 refresh token replay ----------------------------------------------------------


def test_refresh_token_replay_revokes_the_family(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "offline_access")
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid offline_access")
    auth = client.basic_auth
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    rotated = httpx.post(f"{server.base_url}/token", data=form, auth=auth).json()
    replay = httpx.post(f"{server.base_url}/token", data=form, auth=auth)
    assert replay.json()["error"] == "invalid_grant"
    newest = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    assert httpx.post(f"{server.base_url}/token", data=newest, auth=auth).json()["error"] == (
        "invalid_grant"
    )


# -- §4.7 CSRF on the provider's own forms -----------------------------------------------


def test_login_form_without_valid_csrf_token_is_refused(
    server: LiveServer, citizen: Citizen
) -> None:
    agent = Browser(server)
    try:
        agent.get("/login")  # gets the CSRF cookie
        for token in (None, "forged", "0" * 64):
            data = {"username": citizen.id_number, "password": citizen.password, "next": "/account"}
            if token is not None:
                data["csrf_token"] = token
            response = agent.post("/login", data=data)
            assert response.status_code == 403
            assert response.json()["type"].endswith("csrf-failed")
            assert "gw_session" not in response.cookies
        # Cross-site: a token from another browser's cookie does not fit this cookie.
        other = Browser(server)
        foreign = Browser.form_fields(other.get("/login"))["csrf_token"]
        other.close()
        response = agent.post(
            "/login",
            data={
                "username": citizen.id_number,
                "password": citizen.password,
                "csrf_token": foreign,
            },
        )
        assert response.status_code == 403
    finally:
        agent.close()


def test_consent_form_without_valid_csrf_token_issues_no_code(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "profile")
    rp = rp_client(server, client, "openid profile")
    url, _ = rp.create_authorization_url(f"{server.base_url}/authorize", code_verifier="c" * 50)
    browser.login(citizen)
    page = browser.get(url)
    assert page.status_code == 200
    assert 'name="decision"' in page.text
    fields = Browser.form_fields(page)
    forged = browser.post(
        "/authorize", data={**fields, "csrf_token": "forged", "decision": "allow"}
    )
    assert forged.status_code == 403
    assert "location" not in forged.headers
    missing = {k: v for k, v in fields.items() if k != "csrf_token"}
    assert browser.post("/authorize", data={**missing, "decision": "allow"}).status_code == 403


# -- §4.11 open redirectors --------------------------------------------------------------


def test_open_redirect_through_logout_and_login_is_refused(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--post-logout-redirect-uri", "http://127.0.0.1:8912/bye")
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid")
    logout = browser.get(
        "/end-session",
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": "https://evil.example",
        },
    )
    assert "location" not in logout.headers
    # Without an id_token_hint, a client_id plus an unregistered URI does not redirect either.
    agent = Browser(server)
    page = agent.get(
        "/end-session",
        params={"client_id": client.client_id, "post_logout_redirect_uri": "https://evil.example"},
    )
    fields = Browser.form_fields(page)
    confirmed = agent.post("/end-session", data={**fields, "confirm": "yes"})
    assert "location" not in confirmed.headers
    # The login form's "next" only ever goes to a same-site path.
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = agent.login(citizen, next_url=target)
        assert response.status_code == 303
        assert response.headers["location"] == "/account", target
    agent.close()


# -- user enumeration ---------------------------------------------------------------------


def _error_text(response: httpx.Response) -> str:
    match = re.search(r'<p role="alert"[^>]*>(.*?)</p>', response.text, re.S)
    assert match, response.text[:300]
    return match.group(1).strip()


def test_login_does_not_reveal_whether_an_account_exists(
    server: LiveServer, citizen: Citizen
) -> None:
    agent = Browser(server)
    try:
        unknown = Citizen(id_number=ID_NUMBERS[1], name="nobody", password="Wrong-password-1")
        wrong = Citizen(id_number=citizen.id_number, name=citizen.name, password="Wrong-password-1")
        malformed = Citizen(id_number="123", name="x", password="Wrong-password-1")
        answers = [agent.login(person) for person in (unknown, wrong, malformed)]
        assert {r.status_code for r in answers} == {401}
        assert len({_error_text(r) for r in answers}) == 1
    finally:
        agent.close()
