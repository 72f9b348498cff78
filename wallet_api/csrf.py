"""CSRF protection for HTML forms: a signed double-submit token.

A random value lives in an HttpOnly cookie; forms carry ``csrf_token`` =
HMAC(key, cookie value). A cross-site attacker can neither read the cookie nor
forge the HMAC, and a cookie planted from a sibling domain fails the HMAC.
(OWASP CSRF Prevention Cheat Sheet, "signed double-submit cookie".)
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from keys import KeyedDigest

CSRF_COOKIE = "gw_csrf"
CSRF_FIELD = "csrf_token"


class CsrfError(Exception):
    code = "csrf-failed"
    status = 403


class CsrfProtection:
    def __init__(self, digest: KeyedDigest, *, secure: bool) -> None:
        self._digest = digest
        self._secure = secure

    def token(self, request: Request) -> tuple[str, str | None]:
        """The form token for this request, and a new cookie value if one must be set."""
        cookie = request.cookies.get(CSRF_COOKIE)
        new_cookie = None
        if not cookie or len(cookie) < 32:
            cookie = new_cookie = secrets.token_urlsafe(32)
        return self._digest.digest(cookie), new_cookie

    def set_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(
            CSRF_COOKIE,
            value,
            httponly=True,
            secure=self._secure,
            samesite="lax",
            path="/",
        )

    def verify(self, request: Request, submitted: str | None) -> None:
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not submitted or not self._digest.matches(cookie, submitted):
            raise CsrfError(
                "The form expired or was not sent from this site; reload the page and try again."
            )
