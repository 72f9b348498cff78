"""One authorization code or refresh token is used once, however many requests race.

RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization
server MUST deny the request and SHOULD revoke (when possible) all tokens previously
issued based on that authorization code." RFC 9700 §4.14.2: a refresh token presented
after it was rotated revokes its whole family. Requests sent at the same moment all read
the credential unused; exactly one of them may use it, and the others count as the
replay they are. Two worker processes, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import pytest

from tests.protocol.conftest import FAST_SERVER_ENV
from tests.protocol.oidc_helpers import (
    Browser,
    Citizen,
    RegisteredClient,
    add_client,
    callback_params,
    code_flow,
    rp_client,
)
from tests.support.databases import postgres_schema_url
from tests.support.live_server import LiveServer, live_server

pytestmark = pytest.mark.e2e

#: Requests sent at once with the same credential.
ATTEMPTS = 8


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with ExitStack() as stack:
        url = stack.enter_context(postgres_schema_url()) if request.param == "postgres" else None
        yield stack.enter_context(
            live_server(
                tmp_path_factory.mktemp(f"race-{request.param}"),
                database_url=url,
                extra_env=FAST_SERVER_ENV,
                workers=2,
            )
        )


def _at_once(
    server: LiveServer,
    sends: list[Callable[[httpx.Client], httpx.Response]],
    *,
    cookies: dict[str, str] | None = None,
) -> list[httpx.Response]:
    """Each of ``sends`` from a thread and a connection of its own, released together
    once every connection is open."""
    ready = threading.Barrier(len(sends))

    def attempt(send: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
        with httpx.Client(base_url=server.base_url, cookies=cookies, timeout=60) as http:
            http.get("/healthz")  # the connection is open
            ready.wait()
            return send(http)

    with ThreadPoolExecutor(len(sends)) as pool:
        return list(pool.map(attempt, sends))


def _post_token(
    server: LiveServer,
    client: RegisteredClient,
    form: Mapping[str, str | None],
    *,
    at_once: int = 1,
) -> list[httpx.Response]:
    """``POST /token`` with ``form`` as ``client``, ``at_once`` times together."""

    def send(http: httpx.Client) -> httpx.Response:
        return http.post("/token", data=form, auth=client.basic_auth)

    return _at_once(server, [send] * at_once)


def _one_success(answers: list[httpx.Response]) -> dict[str, str]:
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * (ATTEMPTS - 1), statuses
    for answer in answers:
        if answer.status_code == 400:
            assert answer.json()["error"] == "invalid_grant", answer.text
    return next(answer.json() for answer in answers if answer.status_code == 200)


def _active(server: LiveServer, client: RegisteredClient, token: str) -> bool:
    answer = httpx.post(
        f"{server.base_url}/introspect",
        data={"token": token},
        auth=client.basic_auth,
    )
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["active"])


def test_a_code_exchanged_by_racing_requests_issues_tokens_once(
    server: LiveServer, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "offline_access")
    verifier = secrets.token_urlsafe(48)
    rp = rp_client(server, client, "openid offline_access")
    url, _ = rp.create_authorization_url(f"{server.base_url}/authorize", code_verifier=verifier)
    browser = Browser(server)
    try:
        code = callback_params(browser.authorize(url, citizen))["code"]
    finally:
        browser.close()
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
    }
    token = _one_success(_post_token(server, client, exchange, at_once=ATTEMPTS))
    # Every other request was a replay of the code: the tokens it gave are revoked.
    assert not _active(server, client, token["access_token"])
    assert not _active(server, client, token["refresh_token"])
    [later] = _post_token(server, client, exchange)
    assert later.json()["error"] == "invalid_grant"


def test_a_refresh_token_used_by_racing_requests_rotates_once_and_revokes_the_family(
    server: LiveServer, citizen: Citizen
) -> None:
    client = add_client(server, "--scope", "openid", "--scope", "offline_access")
    browser = Browser(server)
    try:
        _, token, _ = code_flow(server, browser, client, citizen, scope="openid offline_access")
    finally:
        browser.close()
    refresh = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    rotated = _one_success(_post_token(server, client, refresh, at_once=ATTEMPTS))
    # The others presented a refresh token already rotated: a reuse, so the family ends.
    assert not _active(server, client, rotated["access_token"])
    assert not _active(server, client, rotated["refresh_token"])
    again = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    [later] = _post_token(server, client, again)
    assert later.json()["error"] == "invalid_grant"


def test_racing_authorizations_in_one_session_each_get_a_code(
    server: LiveServer, citizen: Citizen
) -> None:
    """Two tabs (or a double click) authorizing one client at the same moment: the
    session notes the client once for logout, and every request gets its own code."""
    client = add_client(server, "--scope", "openid")
    browser = Browser(server)
    try:
        assert browser.login(citizen).status_code == 303
        cookies = dict(browser.http.cookies)
    finally:
        browser.close()
    rp = rp_client(server, client, "openid")
    urls = [
        rp.create_authorization_url(
            f"{server.base_url}/authorize", code_verifier=secrets.token_urlsafe(48)
        )[0]
        for _ in range(ATTEMPTS)
    ]

    def get(url: str) -> Callable[[httpx.Client], httpx.Response]:
        return lambda http: http.get(url)

    answers = _at_once(server, [get(url) for url in urls], cookies=cookies)
    codes = {callback_params(answer)["code"] for answer in answers}
    assert len(codes) == ATTEMPTS
