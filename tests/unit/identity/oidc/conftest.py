"""Factories for the provider's unit tests (migrated database per test, sqlite and postgres)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from identity import services as accounts
from identity.models import Citizen
from identity.oidc.models import OAuthClient
from identity.oidc.services import register_client
from wallet_api.oauth_server import StarletteProvider
from wallet_api.oauth_setup import build_provider
from wallet_api.runtime import Runtime


@pytest.fixture
def provider(runtime: Runtime) -> StarletteProvider:
    return build_provider(runtime)


@pytest.fixture
def make_citizen(runtime: Runtime) -> Callable[..., Citizen]:
    def factory(id_number: str = "11010519491231002X", name: str = "张三") -> Citizen:
        with runtime.transaction() as session:
            citizen = accounts.register_citizen(
                session,
                identity=runtime.identity,
                id_number=id_number,
                name=name,
                password="Unit-test-password-1",
            )
            session.expunge(citizen)
        return citizen

    return factory


@pytest.fixture
def make_client(runtime: Runtime) -> Callable[..., tuple[OAuthClient, str | None]]:
    def factory(**overrides: Any) -> tuple[OAuthClient, str | None]:
        values: dict[str, Any] = {
            "name": "Unit platform",
            "redirect_uris": ["https://rp.example/cb"],
            "scopes": ["openid", "offline_access"],
            "master": runtime.settings.master_secret,
        }
        values.update(overrides)
        with runtime.transaction() as session:
            row, secret = register_client(session, **values)
            session.expunge(row)
        return row, secret

    return factory
