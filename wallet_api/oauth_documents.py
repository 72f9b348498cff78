"""The provider's public documents, serialized once: discovery metadata and the JWKS.

Relying platforms fetch both constantly. Discovery only changes with the settings, so
its bytes are made once per process. The JWKS bytes are made again only when the key
store's cached key set changes (it is kept for a few seconds and dropped at once on a
local rotation, keys/store.py); reading the set from the database, the rare case, runs
in the thread pool.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from identity.oidc.discovery import provider_metadata
from identity.oidc.server import Provider
from identity.oidc.tokens import PROVIDER_OWNER

PUBLIC_CACHE_CONTROL = "public, max-age=300"


def _serialize(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class ProviderDocuments:
    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        self._discovery = _serialize(
            provider_metadata(
                issuer=provider.config.issuer,
                registration_enabled=provider.config.registration_token is not None,
            )
        )
        self._jwks: tuple[dict[str, Any], bytes] | None = None

    def discovery(self) -> Response:
        return _json(self._discovery)

    async def jwks(self) -> Response:
        document = self._provider.keystore.cached_jwks(PROVIDER_OWNER)
        if document is None:
            document = await run_in_threadpool(self._provider.public_jwks)
        serialized = self._jwks
        if serialized is None or serialized[0] is not document:
            serialized = (document, _serialize(document))
            self._jwks = serialized
        return _json(serialized[1])


def _json(body: bytes) -> Response:
    return Response(
        body, media_type="application/json", headers={"Cache-Control": PUBLIC_CACHE_CONTROL}
    )
