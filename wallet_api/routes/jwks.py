"""The provider's public JSON Web Key Set (RFC 7517 §5)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from wallet_api.oauth_documents import ProviderDocuments

router = APIRouter(tags=["keys"])


@router.get(
    "/jwks.json",
    summary="Public keys that sign ID tokens, access tokens, status lists and trust lists",
)
async def provider_jwks(request: Request) -> Response:
    """Served by ``wallet_api.hot_paths`` (no dependencies, cached bytes)."""
    documents: ProviderDocuments = request.app.state.provider_documents
    return await documents.jwks()
