"""The client credentials grant for agency systems, with per-client allowed scopes.

RFC 6749 §4.4 (https://www.rfc-editor.org/rfc/rfc6749#section-4.4). No database write:
the access token is a signed JWT (RFC 9068) and the client record comes from the
in-process cache.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidScopeError, UnauthorizedClientError, grants

from identity.oidc.grants.base import ProviderGrantMixin
from identity.oidc.scopes import CITIZEN_SCOPES, scope_list, scope_string


class ClientCredentialsGrant(ProviderGrantMixin, grants.ClientCredentialsGrant):
    #: A public client has no credentials to present (RFC 6749 §4.4: "MUST only be
    #: used by confidential clients").
    TOKEN_ENDPOINT_AUTH_METHODS = [  # noqa: RUF012
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                "The client is not authorized to use grant_type=client_credentials."
            )
        self.request.client = client
        allowed = client.scopes - set(CITIZEN_SCOPES)
        requested = scope_list(self.request.payload.scope)
        if len(self.request.payload.datalist.get("scope", [])) > 1:
            raise InvalidScopeError("The scope parameter was given more than once.")
        #: RFC 6749 §3.3: without a scope the server uses a pre-defined default (all allowed).
        granted = set(requested) if requested else allowed
        if not granted or not granted <= allowed:
            raise InvalidScopeError("The client is not registered for the requested scope.")
        self.request.scope = scope_string(granted)

    def create_token_response(self) -> Any:
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        return 200, token, self.TOKEN_RESPONSE_HEADER
