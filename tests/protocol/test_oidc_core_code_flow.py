"""OpenID Connect Core 1.0 code flow, driven by Authlib's client against a live server.

https://openid.net/specs/openid-connect-core-1_0.html
"""

from __future__ import annotations

import base64
import hashlib
import time

import httpx
import pytest

from tests.protocol.oidc_helpers import (
    ID_NUMBERS,
    Browser,
    Citizen,
    add_citizen,
    add_client,
    callback_params,
    code_flow,
    discovery,
    rp_client,
    verify_id_token,
)
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.e2e


def test_discovery_is_complete_and_truthful(server: LiveServer) -> None:
    meta = discovery(server)
    assert meta["issuer"] == server.base_url
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "registration_endpoint",
    ):
        assert meta[name].startswith(server.base_url)
        path = meta[name][len(server.base_url) :]
        # Every advertised endpoint exists (GET may be refused, never 404).
        assert httpx.get(server.base_url + path).status_code != 404, name
    assert meta["jwks_uri"] == f"{server.base_url}/jwks.json"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}
    assert set(meta["subject_types_supported"]) == {"pairwise", "public"}
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["backchannel_logout_supported"] is True
    assert {"openid", "profile", "phone", "idcard", "offline_access"} <= set(
        meta["scopes_supported"]
    )
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }
    # The JWKS publishes a key for every ID-token algorithm.
    algs = {key["alg"] for key in httpx.get(meta["jwks_uri"]).json()["keys"]}
    assert {"RS256", "ES256"} <= algs


def test_code_flow_with_pkce_id_token_and_userinfo(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "profile", "--scope", "phone")
    rp, token, nonce = code_flow(server, browser, client, citizen, scope="openid profile")
    assert token["token_type"] == "Bearer"
    claims = verify_id_token(server, token["id_token"], client_id=client.client_id, nonce=nonce)
    assert claims["header"]["alg"] == "RS256"
    assert claims["acr"] == "urn:govwallet:loa:1"
    assert claims["amr"] == ["pwd"]
    assert claims["sid"]
    assert abs(claims["auth_time"] - time.time()) < 120
    digest = hashlib.sha256(token["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert "refresh_token" not in token  # no offline_access asked for

    meta = discovery(server)
    info = rp.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"]
    assert info["name"] == citizen.name
    assert info["birthdate"] == "1949-12-31"
    assert info["gender"] == "female"
    assert "phone_number" not in info  # phone was not requested
    # Never logged: tokens, codes or the client secret (the log is scrubbed and the
    # access log has no query strings).
    log = server.log()
    assert client.client_secret is not None
    for secret in (token["access_token"], token["id_token"], client.client_secret):
        assert secret not in log
    # UserInfo by POST (RFC 6750 §2.2 form parameter) answers the same.
    posted = httpx.post(meta["userinfo_endpoint"], data={"access_token": token["access_token"]})
    assert posted.status_code == 200
    assert posted.json() == info


def test_authorization_response_carries_iss(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    """RFC 9207 §2: ``iss`` in every authorization response."""
    client = add_client(server)
    rp = rp_client(server, client, "openid")
    url, _ = rp.create_authorization_url(
        f"{server.base_url}/authorize", code_verifier="v" * 50, nonce="n"
    )
    params = callback_params(browser.authorize(url, citizen))
    assert params["iss"] == server.base_url
    assert "code" in params


def test_es256_id_token_when_registered(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--id-token-alg", "ES256")
    _, token, nonce = code_flow(server, browser, client, citizen, scope="openid")
    claims = verify_id_token(server, token["id_token"], client_id=client.client_id, nonce=nonce)
    assert claims["header"]["alg"] == "ES256"


def test_pairwise_subjects_differ_per_sector_public_is_stable(
    server: LiveServer, citizen: Citizen
) -> None:
    subjects = []
    for args in ((), (), ("--subject-type", "public"), ("--subject-type", "public")):
        client = add_client(server, *args)
        agent = Browser(server)
        try:
            _, token, _ = code_flow(server, agent, client, citizen, scope="openid")
        finally:
            agent.close()
        subjects.append(
            verify_id_token(server, token["id_token"], client_id=client.client_id)["sub"]
        )
    pairwise_a, pairwise_b, public_a, public_b = subjects
    # Loopback redirect URIs share the sector "127.0.0.1": same pairwise sub there.
    assert pairwise_a == pairwise_b
    assert public_a == public_b
    assert pairwise_a != public_a


def test_silent_sso_for_a_second_client_with_prompt_none(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    first = add_client(server)
    code_flow(server, browser, first, citizen, scope="openid")
    second = add_client(server)
    rp = rp_client(server, second, "openid")
    url, state = rp.create_authorization_url(
        f"{server.base_url}/authorize", code_verifier="w" * 50, nonce="n2", prompt="none"
    )
    response = browser.get(url)  # no login form, no consent page: straight back
    params = callback_params(response)
    assert params["state"] == state
    assert "code" in params
    token = rp.fetch_token(
        f"{server.base_url}/token",
        authorization_response=response.headers["location"],
        code_verifier="w" * 50,
    )
    assert verify_id_token(server, token["id_token"], client_id=second.client_id, nonce="n2")


def test_prompt_none_without_session_is_login_required(server: LiveServer) -> None:
    client = add_client(server)
    rp = rp_client(server, client, "openid")
    url, state = rp.create_authorization_url(
        f"{server.base_url}/authorize", code_verifier="x" * 50, prompt="none"
    )
    agent = Browser(server)
    params = callback_params(agent.get(url))
    agent.close()
    assert params["error"] == "login_required"
    assert params["state"] == state
    assert params["iss"] == server.base_url


def test_prompt_none_without_consent_is_consent_required(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    browser.login(citizen)
    client = add_client(server, "--scope", "openid", "--scope", "profile")
    rp = rp_client(server, client, "openid profile")
    url, _ = rp.create_authorization_url(
        f"{server.base_url}/authorize", code_verifier="x" * 50, prompt="none"
    )
    assert callback_params(browser.get(url))["error"] == "consent_required"


def test_prompt_login_and_max_age_force_reauthentication(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server)
    _, first, _ = code_flow(server, browser, client, citizen, scope="openid")
    first_auth = verify_id_token(server, first["id_token"], client_id=client.client_id)
    time.sleep(1.1)
    for params in ({"prompt": "login"}, {"max_age": "0"}):
        rp = rp_client(server, client, "openid")
        url, _ = rp.create_authorization_url(
            f"{server.base_url}/authorize", code_verifier="y" * 50, **params
        )
        response = browser.get(url)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
        final = browser.authorize(url, citizen)
        token = rp.fetch_token(
            f"{server.base_url}/token",
            authorization_response=final.headers["location"],
            code_verifier="y" * 50,
        )
        claims = verify_id_token(server, token["id_token"], client_id=client.client_id)
        assert claims["auth_time"] > first_auth["auth_time"]


def test_consent_is_remembered_and_deny_is_access_denied(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "phone")
    rp = rp_client(server, client, "openid phone")
    url, _ = rp.create_authorization_url(f"{server.base_url}/authorize", code_verifier="z" * 50)
    denied = browser.authorize(url, citizen, decision="deny")
    assert callback_params(denied)["error"] == "access_denied"
    allowed = browser.authorize(url, citizen, decision="allow")
    assert "code" in callback_params(allowed)
    # Second time: no consent page, straight back with a code.
    url2, _ = rp.create_authorization_url(f"{server.base_url}/authorize", code_verifier="z" * 50)
    again = browser.get(url2)
    assert "code" in callback_params(again)


def test_idcard_scope_only_for_registered_clients(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    plain = add_client(server, "--scope", "openid", "--scope", "profile")
    rp = rp_client(server, plain, "openid idcard")
    url, state = rp.create_authorization_url(f"{server.base_url}/authorize", code_verifier="q" * 50)
    params = callback_params(browser.authorize(url, citizen))
    assert params["error"] == "invalid_scope"
    assert params["state"] == state

    registered = add_client(server, "--scope", "openid", "--scope", "idcard")
    rp2, _, _ = code_flow(server, browser, registered, citizen, scope="openid idcard")
    info = rp2.get(f"{server.base_url}/userinfo").json()
    assert info["id_number"] == citizen.id_number


def test_login_hint_prefills_and_ui_locales_picks_english(server: LiveServer) -> None:
    client = add_client(server)
    rp = rp_client(server, client, "openid")
    url, _ = rp.create_authorization_url(
        f"{server.base_url}/authorize",
        code_verifier="h" * 50,
        login_hint=ID_NUMBERS[1],
        ui_locales="en",
    )
    agent = Browser(server)
    login = agent.get(agent.get(url).headers["location"])
    agent.close()
    assert f'value="{ID_NUMBERS[1]}"' in login.text
    assert 'lang="en"' in login.text
    assert "Log in" in login.text


def test_acr_values_step_up_unreachable_is_refused(server: LiveServer, browser: Browser) -> None:
    """``acr_values`` demands loa 3; a citizen without a second factor cannot reach it."""
    citizen = add_citizen(server, ID_NUMBERS[2], name="李四")
    client = add_client(server)
    rp = rp_client(server, client, "openid")
    url, _ = rp.create_authorization_url(
        f"{server.base_url}/authorize", code_verifier="a" * 50, acr_values="urn:govwallet:loa:3"
    )
    params = callback_params(browser.authorize(url, citizen))
    assert params["error"] == "unmet_authentication_requirements"


def test_prompt_consent_asks_again(server: LiveServer, browser: Browser, citizen: Citizen) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "profile")
    code_flow(server, browser, client, citizen, scope="openid profile")
    rp = rp_client(server, client, "openid profile")
    url, _ = rp.create_authorization_url(
        f"{server.base_url}/authorize", code_verifier="c" * 50, prompt="consent"
    )
    page = browser.get(url)
    assert page.status_code == 200
    assert 'name="decision"' in page.text


def test_withdrawn_consent_revokes_tokens_and_is_asked_again(
    server: LiveServer, browser: Browser, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "profile")
    _, token, _ = code_flow(server, browser, client, citizen, scope="openid profile")
    page = browser.get("/account/sessions", headers={"accept": "text/html"})
    assert f'data-client-id="{client.client_id}"' in page.text
    fields = Browser.form_fields(page)
    withdrawn = browser.post(
        "/account/consents/withdraw",
        data={"csrf_token": fields["csrf_token"], "client_id": client.client_id},
    )
    assert withdrawn.status_code == 303
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{server.base_url}/userinfo", headers=bearer).status_code == 401
    rp = rp_client(server, client, "openid profile")
    url, _ = rp.create_authorization_url(f"{server.base_url}/authorize", code_verifier="w" * 50)
    again = browser.get(url)
    assert again.status_code == 200
    assert 'name="decision"' in again.text


def test_pages_speak_chinese_by_default_and_english_on_request(server: LiveServer) -> None:
    chinese = httpx.get(f"{server.base_url}/login")
    assert 'lang="zh-CN"' in chinese.text
    assert "身份证号或手机号" in chinese.text
    assert 'name="username"' in chinese.text
    assert 'name="password"' in chinese.text
    english = httpx.get(f"{server.base_url}/login", headers={"accept-language": "en-GB,en;q=0.9"})
    assert 'lang="en"' in english.text
    assert "Identity number or mobile phone" in english.text
    # No script is needed: the form posts plain HTML.
    assert "<script" not in chinese.text
