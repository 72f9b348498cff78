"""The signed trust list: every agency, its public keys (current and retired), region and types.

A verifier caches it to work offline; the ETag changes when an agency, its types or its
keys change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Header, Response

from licenses import services
from wallet_api.deps import RegistryDep, SessionDep

router = APIRouter(prefix="/api/v1/trust-list", tags=["trust list"])

MEDIA_TYPE = "application/trustlist+jwt"
CACHE_CONTROL = "public, max-age=300, must-revalidate"


@router.get(
    "",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
def get_trust_list(
    session: SessionDep,
    registry: RegistryDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """The trust list as a JWT signed by the platform (ES256)."""
    entries = services.trust_list_entries(session, registry=registry)
    content = json.dumps([e.as_dict() for e in entries], sort_keys=True).encode()
    tag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and tag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    token = services.trust_list_token(session, registry=registry, entries=entries)
    return Response(content=token, media_type=MEDIA_TYPE, headers=headers)
