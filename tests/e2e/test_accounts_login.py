"""Brute-force protection and no account enumeration, through the login form over HTTP."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from identity import totp
from identity.models import Citizen
from tests.unit.identity.factories import PASSWORD, id_number, verified_citizen
from wallet_api.app import create_app
from wallet_api.migrate import upgrade
from wallet_api.runtime import Runtime
from wallet_api.settings import Settings


@pytest.fixture
def site(
    make_settings: Callable[..., Settings], database_url: str
) -> Iterator[Callable[[str], TestClient]]:
    """A small per-address limit; ``site(address)`` is a browser at that client address."""
    runtime = Runtime(
        make_settings(
            database_url=database_url,
            login_max_failures_per_account=4,
            login_max_failures_per_address=6,
        )
    )
    upgrade(runtime.engine)
    runtime.bootstrap()
    verified_citizen(runtime, phone="13800138000")
    app = create_app(runtime=runtime)

    def browser(address: str) -> TestClient:
        # Only the fixture's client runs the app's lifespan; the others share it.
        client = TestClient(app, base_url=runtime.settings.issuer_url, client=(address, 40000))
        client.cookies.set("gw_lang", "en")
        client.runtime = runtime
        return client

    with TestClient(app, base_url=runtime.settings.issuer_url):
        yield browser
    runtime.close()


def _login(client: TestClient, username: str, password: str) -> httpx.Response:
    page = client.get("/login")
    token_match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token_match is not None
    token = token_match.group(1)
    response: httpx.Response = client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password, "next": "/account"},
        follow_redirects=False,
    )
    return response


def _visible(response: httpx.Response) -> str:
    """The page without what differs per request (CSRF token, echoed username)."""
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)
    return re.sub(r'name="username"[^>]*>', "", text)


def test_unknown_account_and_wrong_password_get_the_same_answer(
    site: Callable[[str], TestClient],
) -> None:
    browser = site("198.51.100.1")
    wrong_password = _login(browser, id_number(1), "Wrong-password-1")
    unknown = _login(browser, id_number(2), "Wrong-password-1")
    malformed = _login(browser, "not a number", "Wrong-password-1")
    assert wrong_password.status_code == unknown.status_code == malformed.status_code == 401
    assert _visible(wrong_password) == _visible(unknown) == _visible(malformed)
    assert "do not match" in wrong_password.text


def test_account_is_locked_after_failures_with_the_retry_time(
    site: Callable[[str], TestClient],
) -> None:
    browser = site("198.51.100.2")
    answers = [_login(browser, id_number(1), "Wrong-password-1").status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]
    other_place = site("198.51.100.3")
    locked = _login(other_place, "13800138000", PASSWORD)  # right password, by phone
    assert locked.status_code == 429
    assert "try again in 15 minute" in locked.text


def test_unknown_accounts_lock_like_known_ones(site: Callable[[str], TestClient]) -> None:
    browser = site("198.51.100.4")
    answers = [_login(browser, id_number(9), "Wrong-password-1").status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]


def test_an_address_is_locked_across_accounts(site: Callable[[str], TestClient]) -> None:
    attacker = site("203.0.113.66")
    answers = [
        _login(attacker, id_number(20 + i), "Wrong-password-1").status_code for i in range(6)
    ]
    assert answers == [401] * 5 + [429]
    assert _login(attacker, id_number(1), PASSWORD).status_code == 429
    citizen = site("203.0.113.67")
    signed_in = _login(citizen, id_number(1), PASSWORD)
    assert signed_in.status_code == 303
    account = citizen.get("/account")
    assert account.status_code == 200
    assert 'data-loa="2"' in account.text
    assert "data-sid=" in account.text  # this sign-in, in the provider's sessions section


def _enrol(site: Callable[[str], TestClient]) -> tuple[str, str, list[str]]:
    """Turn the citizen's second factor on through the pages: the seed, the code that
    confirmed it and the recovery codes."""
    browser = site("198.51.100.9")
    assert _login(browser, id_number(1), PASSWORD).status_code == 303
    page = browser.get("/account/totp")
    token_match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token_match is not None
    token = token_match.group(1)
    browser.post("/account/totp/start", data={"csrf_token": token})
    enrolment = browser.get("/account/totp")
    secret_match = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', enrolment.text)
    assert secret_match is not None
    secret = secret_match.group(1)
    code = totp.code_at(secret, datetime.now(UTC))
    codes = browser.post("/account/totp/confirm", data={"csrf_token": token, "otp": code})
    recovery = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", codes.text)
    assert len(recovery) == 10
    runtime = browser.runtime
    with runtime.transaction() as session:
        assert session.query(Citizen).one().totp_enabled
    return secret, code, recovery


def test_second_factor_after_enrolment_through_the_pages(site: Callable[[str], TestClient]) -> None:
    _, code, recovery = _enrol(site)

    later = site("198.51.100.10")
    step_one = _login(later, id_number(1), PASSWORD)
    assert step_one.status_code == 303
    assert step_one.headers["location"].startswith("/login/otp")
    form = later.get(step_one.headers["location"])
    otp_token_match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert otp_token_match is not None
    otp_token = otp_token_match.group(1)
    replay = later.post(
        "/login/otp",
        data={"csrf_token": otp_token, "otp": code, "next": "/account"},
        follow_redirects=False,
    )
    assert replay.status_code == 401  # the enrolment code cannot be used again
    with_recovery = later.post(
        "/login/otp",
        data={"csrf_token": otp_token, "otp": recovery[0], "next": "/account"},
        follow_redirects=False,
    )
    assert with_recovery.status_code == 303
    assert "Recovery codes left: 9." in later.get("/account").text


#: Browsers sending the same second-factor code at the same moment (fewer than the
#: account's failure limit, so that the refused ones are counted but not locked out).
RACERS = 4


def _at_second_step(site: Callable[[str], TestClient], address: str) -> tuple[TestClient, str]:
    browser = site(address)
    step_one = _login(browser, id_number(1), PASSWORD)
    assert step_one.headers["location"].startswith("/login/otp")
    form = browser.get(step_one.headers["location"])
    token_match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token_match is not None
    return browser, token_match.group(1)


@pytest.mark.parametrize("kind", ["totp", "recovery"])
def test_a_second_factor_code_sent_by_racing_browsers_signs_in_once(
    site: Callable[[str], TestClient], kind: str
) -> None:
    """RFC 6238 §5.2: the verifier "MUST NOT accept the second attempt of the OTP after the
    successful validation has been issued for the first OTP" — also when both arrive at
    once; a recovery code is spent by its first use in the same way."""
    secret, _, recovery = _enrol(site)
    # The next time step's code: the enrolment spent the current one.
    otp = totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=30))
    code = otp if kind == "totp" else recovery[0]
    browsers = [_at_second_step(site, f"198.51.100.{20 + n}") for n in range(RACERS)]
    ready = threading.Barrier(RACERS)

    def submit(browser_and_token: tuple[TestClient, str]) -> int:
        browser, token = browser_and_token
        ready.wait()
        answer: httpx.Response = browser.post(
            "/login/otp",
            data={"csrf_token": token, "otp": code, "next": "/account"},
            follow_redirects=False,
        )
        return answer.status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = sorted(pool.map(submit, browsers))
    assert statuses == [303] + [401] * (RACERS - 1), statuses
