"""The process-wide objects the application and the CLI share: engine, sessions, key store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from identity.config import IdentityConfig
from identity.oidc.tokens import PROVIDER_OWNER
from keys import AesGcmKeyWrapper, KeyStore
from licenses.services import Registry
from licenses.wallet.services import OnlineLinks
from wallet_api.db import make_engine, make_read_session_factory, make_session_factory
from wallet_api.settings import Settings

__all__ = ["PROVIDER_ALGORITHMS", "PROVIDER_OWNER", "Runtime"]
PROVIDER_ALGORITHMS = ("RS256", "ES256")


class Runtime:
    """Built once per process from :class:`Settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = make_engine(
            settings.effective_database_url, pool_size=settings.database_pool_size
        )
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        #: For hot paths that only read (userinfo, introspection): no transaction round trips.
        self.read_sessions: sessionmaker[Session] = make_read_session_factory(self.engine)
        self.keystore = KeyStore(wrapper=AesGcmKeyWrapper(settings.master_secret))
        #: Citizens' accounts: digests, ciphers, Argon2id, throttle policy, population register.
        self.identity = IdentityConfig.from_settings(settings)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with self.sessions.begin() as session:
            yield session

    def bootstrap(self) -> None:
        """Make sure the provider has active and next keys for every algorithm it signs with."""
        with self.transaction() as session:
            for alg in PROVIDER_ALGORITHMS:
                self.keystore.ensure(session, owner=PROVIDER_OWNER, alg=alg)
        # The first-party portals (citizen wallet, ...) are clients of our own provider.
        from wallet_api.portal_auth import ensure_clients

        ensure_clients(self)

    @cached_property
    def registry(self) -> Registry:
        """The license registry's context (key store, holder digests and ciphers, issuer
        URL): its keys are derived once per process, not once per request."""
        return Registry.create(
            keystore=self.keystore,
            master=self.settings.master_secret,
            platform_issuer=self.settings.issuer_url,
        )

    @cached_property
    def online_links(self) -> OnlineLinks:
        """Digests and ciphers of the held presentations behind online QR links, derived
        once per process (HKDF for each of them cost ~60 µs on every verify request)."""
        return OnlineLinks.create(
            master=self.settings.master_secret, platform_issuer=self.settings.issuer_url
        )

    @property
    def provider_key_retention(self) -> timedelta:
        return timedelta(seconds=self.settings.provider_key_retain_seconds)

    def close(self) -> None:
        self.engine.dispose()
