"""Registered clients as Authlib sees them, and a small in-process cache of them.

The token endpoint looks a client up on every request; reading it from the database
each time would cap throughput, so snapshots are cached for a short time
(``ClientRegistry``). Secrets are random 256-bit values compared as keyed SHA-256
digests in constant time: a slow password hash buys nothing for random secrets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.oidc.inputs import storable
from identity.oidc.memory_only import require_storage
from identity.oidc.models import OAuthClient
from identity.oidc.scopes import scope_list
from keys import KeyedDigest

CLIENT_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):
    """An immutable snapshot of a client's registration (safe to share between threads)."""

    client_id: str
    name: str
    secret_digest: str | None
    client_metadata: dict[str, Any]
    _digest: KeyedDigest = field(repr=False, compare=False)

    # -- metadata -----------------------------------------------------------------

    @property
    def redirect_uris(self) -> list[str]:
        return list(self.client_metadata.get("redirect_uris", []))

    @property
    def grant_types(self) -> list[str]:
        return list(self.client_metadata.get("grant_types", []))

    @property
    def scopes(self) -> set[str]:
        return set(scope_list(self.client_metadata.get("scope")))

    @property
    def token_endpoint_auth_method(self) -> str:
        return str(self.client_metadata.get("token_endpoint_auth_method", "client_secret_basic"))

    @property
    def id_token_signed_response_alg(self) -> str:
        return str(self.client_metadata.get("id_token_signed_response_alg") or "RS256")

    @property
    def subject_type(self) -> str:
        return str(self.client_metadata.get("subject_type", "pairwise"))

    @property
    def sector_identifier(self) -> str:
        """OpenID Connect Core §8.1: the host of the redirect URIs (or the registered sector)."""
        explicit = self.client_metadata.get("sector_identifier")
        if explicit:
            return str(explicit)
        hosts = sorted({urlsplit(uri).hostname or "" for uri in self.redirect_uris})
        return hosts[0] if hosts else self.client_id

    @property
    def backchannel_logout_uri(self) -> str | None:
        return self.client_metadata.get("backchannel_logout_uri")

    @property
    def post_logout_redirect_uris(self) -> list[str]:
        return list(self.client_metadata.get("post_logout_redirect_uris", []))

    @property
    def jwks(self) -> dict[str, Any] | None:
        return self.client_metadata.get("jwks")

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"  # noqa: S105

    # -- authlib.oauth2.rfc6749.ClientMixin -----------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        #: OpenID Connect Core §3.1.2.1: "redirect_uri REQUIRED" — never defaulted.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scope if the client may have all of it, else ``None`` (invalid_scope)."""
        requested = scope_list(scope)
        if not requested or not set(requested) <= self.scopes:
            return None
        return " ".join(requested)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        #: RFC 9700 §4.1.3: "authorization servers MUST utilize exact string matching".
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_digest is None:
            return False
        return self._digest.matches(client_secret, self.secret_digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class ClientRegistry:
    """Looks clients up by ``client_id`` with a short-lived in-process cache."""

    def __init__(
        self,
        *,
        sessions: Callable[[], Session],
        digest: KeyedDigest,
        ttl: float = CLIENT_CACHE_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._digest = digest
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[RegisteredClient | None, float]] = {}

    def get(self, client_id: str | None) -> RegisteredClient | None:
        if not storable(client_id, 64):
            return None
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(client_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        require_storage()
        with self._sessions() as session:
            row = session.scalars(
                select(OAuthClient).where(OAuthClient.client_id == client_id)
            ).one_or_none()
            client = self.snapshot(row) if row is not None else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[client_id] = (client, now + self._ttl)
        return client

    def snapshot(self, row: OAuthClient) -> RegisteredClient:
        return RegisteredClient(
            client_id=row.client_id,
            name=row.name,
            secret_digest=row.client_secret_digest,
            client_metadata=dict(row.client_metadata),
            _digest=self._digest,
        )

    def invalidate(self, client_id: str | None = None) -> None:
        with self._lock:
            if client_id is None:
                self._cache.clear()
            else:
                self._cache.pop(client_id, None)
