"""One live provider per test module (a real ``govwallet serve`` on a loopback port)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.protocol.oidc_helpers import ID_NUMBERS, Browser, Citizen, add_citizen
from tests.support.live_server import LiveServer, live_server

REGISTRATION_TOKEN = "initial-access-token-for-tests-0123456789"

FAST_SERVER_ENV = {
    # Cheap Argon2 in tests only: the protocol, not the hash cost, is under test.
    "GOVWALLET_ARGON2_MEMORY_COST": "8192",
    "GOVWALLET_ARGON2_TIME_COST": "1",
    "GOVWALLET_OIDC_REGISTRATION_TOKEN": REGISTRATION_TOKEN,
    "GOVWALLET_BACKCHANNEL_LOGOUT_INTERVAL_SECONDS": "0.2",
    "GOVWALLET_LOG_JSON": "true",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("provider"), extra_env=FAST_SERVER_ENV) as live:
        yield live


@pytest.fixture(scope="module")
def citizen(server: LiveServer) -> Citizen:
    return add_citizen(server, ID_NUMBERS[0], name="张三")


@pytest.fixture
def browser(server: LiveServer) -> Iterator[Browser]:
    agent = Browser(server)
    yield agent
    agent.close()
