"""Bearer access tokens on govwallet's own APIs (RFC 6750).

https://www.rfc-editor.org/rfc/rfc6750
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session
from starlette.requests import Request

from identity.oidc.tokens import AccessTokenClaims, InvalidAccessToken
from wallet_api.oauth_server import StarletteProvider
from wallet_api.problems import Problem


def _challenge(error: str, description: str, scope: str = "") -> dict[str, str]:
    value = f'Bearer realm="govwallet", error="{error}", error_description="{description}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


def extract_bearer(request: Request, form_token: str | None = None) -> str | None:
    """§2.1 Authorization header, or §2.2 form body (``access_token``) — never both."""
    return bearer_in(request.headers, form_token)


def bearer_in(headers: Mapping[str, str], form_token: str | None = None) -> str | None:
    """:func:`extract_bearer` from the request's (case-insensitive) headers."""
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    header_token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    if header_token and form_token:
        #: §2: "Clients MUST NOT use more than one method to transmit the token".
        raise Problem(
            400,
            "invalid-request",
            "The access token was sent in more than one way.",
            headers=_challenge("invalid_request", "more than one token"),
        )
    return header_token or form_token


def bearer_token(
    request: Request,
    session: Session,
    provider: StarletteProvider,
    *,
    scopes: Iterable[str] = (),
    scope_text: str = "",
    form_token: str | None = None,
    revocation_checked_by_caller: bool = False,
) -> AccessTokenClaims:
    """The request's valid access token with ``scopes``, or a problem (401/403).

    ``revocation_checked_by_caller`` skips the revocation-list query for a caller whose own
    query about the token checks it in the same round trip (userinfo); the caller must
    then refuse a revoked token with :func:`revoked_token`.
    """
    token = extract_bearer(request, form_token)
    if not token:
        #: §3.1: a request without authentication "SHOULD NOT include an error code".
        raise Problem(
            401,
            "missing-token",
            "An access token is required (Authorization: Bearer ...).",
            headers={"WWW-Authenticate": 'Bearer realm="govwallet"'},
        )
    if revocation_checked_by_caller:
        try:
            claims = provider.access_tokens.decode(session, token)
        except InvalidAccessToken as exc:
            raise invalid_token(exc.description) from None
    else:
        claims = _valid_claims(session, provider, token)
    missing = [scope for scope in scopes if scope not in claims.scopes]
    if missing:
        raise Problem(
            403,
            "insufficient-scope",
            f"The access token lacks the scope {missing[0]!r}.",
            headers=_challenge("insufficient_scope", "scope missing", scope_text),
            required_scope=scope_text,
        )
    return claims


def _valid_claims(session: Session, provider: StarletteProvider, token: str) -> AccessTokenClaims:
    """Verified, unexpired and not revoked: from the token-state cache when it knows the
    token (no query; kept exact by invalidation, identity.oidc.token_state), else from the
    signature and the revocation list, and then kept for the next call."""
    state = provider.token_state
    cached = state.get(token)
    if cached is not None:
        return cached.claims
    generation = state.generation  # before anything is read
    try:
        claims = provider.access_tokens.validate(session, token)
    except InvalidAccessToken as exc:
        raise invalid_token(exc.description) from None
    # The same knowledge introspection keeps for an active token (no userinfo answer).
    state.put(token, claims=claims, generation=generation)
    return claims


def invalid_token(description: str) -> Problem:
    """RFC 6750 §3.1 ``invalid_token``: expired, revoked, malformed or otherwise invalid."""
    return Problem(
        401,
        "invalid-token",
        description,
        headers=_challenge("invalid_token", description),
    )
