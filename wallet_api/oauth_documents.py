"""The provider's public documents, answered from one response each: discovery and JWKS.

Relying platforms fetch both constantly. Discovery only changes with the settings, so
its response is made once per process. The JWKS response is made again only when the
key store's cached key set changes (it is kept for a few seconds and dropped at once on a
local rotation, keys/store.py); reading the set from the database, the rare case, runs
in the thread pool.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from identity.oidc.discovery import provider_metadata
from identity.oidc.server import Provider
from identity.oidc.tokens import PROVIDER_OWNER
from keys.compact_json import json_bytes

PUBLIC_CACHE_CONTROL = "public, max-age=300"


class ProviderDocuments:
    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        # A Starlette response holds its status, headers and body and changes none of them
        # when sent, so one object answers every request.
        self._discovery = _json(
            provider_metadata(
                issuer=provider.config.issuer,
                registration_enabled=provider.config.registration_token is not None,
            )
        )
        self._jwks: tuple[dict[str, Any], Response] | None = None

    def discovery(self) -> Response:
        return self._discovery

    async def jwks(self) -> Response:
        document = self._provider.keystore.cached_jwks(PROVIDER_OWNER)
        if document is None:
            document = await run_in_threadpool(self._provider.public_jwks)
        return self._jwks_answer(document)

    def cached_jwks(self) -> Response | None:
        """The JWKS answer while the key store's cached set is fresh, else None (the set
        is then read again by :meth:`jwks`)."""
        document = self._provider.keystore.cached_jwks(PROVIDER_OWNER)
        return None if document is None else self._jwks_answer(document)

    def _jwks_answer(self, document: dict[str, Any]) -> Response:
        answered = self._jwks
        if answered is None or answered[0] is not document:
            answered = (document, _json(document))
            self._jwks = answered
        return answered[1]


def _json(document: object) -> Response:
    return Response(
        json_bytes(document),
        media_type="application/json",
        headers={"Cache-Control": PUBLIC_CACHE_CONTROL},
    )
