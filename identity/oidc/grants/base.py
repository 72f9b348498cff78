"""What every grant of the provider shares: the authenticated citizen and token issuance."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import InvalidGrantError
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from identity.oidc.tokens import utcnow
from identity.single_use import mark_once

if TYPE_CHECKING:
    from identity.oidc.server import Provider

#: Client authentication methods the token endpoint accepts (discovery publishes them).
TOKEN_ENDPOINT_AUTH_METHODS = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
]


#: RFC 7523 client assertions (``private_key_jwt``): the signatures accepted.
ASSERTION_ALGORITHMS = ["RS256", "ES256"]


def use_once(
    db: Session,
    row: Any,
    *,
    attribute: str,
    revoke: Callable[[Session, datetime], object],
    error: str,
    unused: ColumnElement[bool] | None = None,
) -> None:
    """Mark a single-use credential used (``attribute = now`` on ``row``), only if no other
    request did first (:func:`identity.single_use.mark_once`, ``unused`` as there).

    A request that finds it used is the replay it is: its own tokens are discarded,
    ``revoke(db, now)`` ends what the credential gave (committed), and it answers
    ``invalid_grant`` with ``error``.
    """
    now = utcnow()
    if mark_once(db, row, attribute=attribute, value=now, unused=unused):
        return
    db.rollback()  # the tokens this request was about to issue
    revoke(db, now)
    db.commit()
    raise InvalidGrantError(error)


@dataclass(frozen=True, slots=True)
class AuthenticatedCitizen:
    """The resource owner of a grant, with how and when they authenticated."""

    citizen_id: uuid.UUID
    citizen_subject: str
    sid: str | None
    auth_time: datetime
    acr: str
    amr: list[str]
    #: The authorization code the grant started from, if any.
    code_id: uuid.UUID | None = None
    #: The refresh-token family the grant continues, if any.
    family_id: uuid.UUID | None = None


class ProviderGrantMixin:
    """Routes Authlib's token generation through :class:`~identity.oidc.server.Provider`."""

    request: Any
    server: Provider
    GRANT_TYPE: str | None

    def generate_token(
        self,
        user: AuthenticatedCitizen | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return self.server.issue_tokens(
            self.request,
            grant_type=grant_type or self.GRANT_TYPE or "",
            user=user,
            scope=scope or "",
            include_refresh_token=include_refresh_token,
        )
