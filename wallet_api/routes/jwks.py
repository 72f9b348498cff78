"""The provider's public JSON Web Key Set (RFC 7517 §5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from wallet_api.deps import KeyStoreDep, SessionDep
from wallet_api.runtime import PROVIDER_OWNER

router = APIRouter(tags=["keys"])


@router.get(
    "/jwks.json",
    summary="Public keys that sign ID tokens, access tokens, status lists and trust lists",
)
def provider_jwks(session: SessionDep, keystore: KeyStoreDep, response: Response) -> Any:
    response.headers["Cache-Control"] = "public, max-age=300"
    return keystore.jwks(session, owner=PROVIDER_OWNER)
