"""Errors of the OpenID provider.

Two families, rendered in two places:

* protocol errors on OAuth endpoints are Authlib ``OAuth2Error`` subclasses (RFC 6749
  §5.2 error objects, or redirects for the authorization endpoint); the few codes
  Authlib lacks are defined here;
* errors of the provider's own services (client registration from the CLI, the
  account page) carry ``code`` and ``status`` and become RFC 9457 problem documents.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749.errors import OAuth2Error


class UnmetAuthenticationRequirements(OAuth2Error):
    """OpenID Connect Core Unmet Authentication Requirements 1.0 §2.

    https://openid.net/specs/openid-connect-unmet-authentication-requirements-1_0.html
    "The Authorization Server is unable to meet the requirements of the Relying Party
    for the authentication of the End-User" (here: an ``acr_values`` level the citizen
    cannot reach, e.g. no second factor enrolled).
    """

    error = "unmet_authentication_requirements"


class OidcError(Exception):
    """Base class of the provider's service errors (problem documents)."""

    code: ClassVar[str] = "oidc-error"
    status: ClassVar[int] = 400
    field: ClassVar[str | None] = None

    @property
    def extensions(self) -> dict[str, Any]:
        return {"field": self.field} if self.field else {}


class InvalidClientMetadata(OidcError):
    """Registration metadata breaks a rule; the message names the field."""

    code = "invalid-client-metadata"
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field_name = field

    @property
    def extensions(self) -> dict[str, Any]:
        return {"field": self.field_name}


class UnknownClient(OidcError):
    code = "unknown-client"
    status = 404


class UnknownSession(OidcError):
    code = "unknown-session"
    status = 404


class NotSignedIn(OidcError):
    code = "not-signed-in"
    status = 401


ALL_ERRORS: tuple[type[OidcError], ...] = (OidcError,)
"""Register with ``problems.install``: subclasses are handled through the base."""


class UnsupportedTokenType(OAuth2Error):
    """RFC 7009 §2.2.1: "The authorization server does not support the revocation of the
    presented token type" — an RFC 6749 §5.2 error response, so HTTP 400."""

    error = "unsupported_token_type"
    status_code = 400
