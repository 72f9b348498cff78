"""Status lists at stable URLs (IETF Token Status List, ``statuslist+jwt``).

https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/ — public and cacheable:
the ETag changes with every status change, so a verifier revalidates with
``If-None-Match`` and receives ``304`` while nothing changed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from licenses import status
from wallet_api.deps import RegistryDep, SessionDep

router = APIRouter(prefix="/api/v1/status-lists", tags=["status lists"])

MEDIA_TYPE = "application/statuslist+jwt"
CACHE_CONTROL = f"public, max-age={int(status.TOKEN_TTL.total_seconds())}, must-revalidate"


@router.get(
    "/{list_id}",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
def get_status_list(
    list_id: str,
    session: SessionDep,
    registry: RegistryDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """The signed Status List Token of one list."""
    row = status.get_list(session, list_id=list_id)
    tag = status.etag(row)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and tag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    token = status.status_list_token(session, registry=registry, row=row)
    return Response(content=token, media_type=MEDIA_TYPE, headers=headers)
