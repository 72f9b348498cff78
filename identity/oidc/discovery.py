"""OpenID Provider Metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).

https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata

Truthful: every value here is what the endpoints actually do (a test compares them).
"""

from __future__ import annotations

from typing import Any

from identity.oidc.authorization_details import TYPES_SUPPORTED as AUTHORIZATION_DETAILS_TYPES
from identity.oidc.claims import ACR_VALUES
from identity.oidc.grants.base import ASSERTION_ALGORITHMS, TOKEN_ENDPOINT_AUTH_METHODS
from identity.oidc.scopes import ALL_SCOPES, CLAIMS_SUPPORTED
from identity.oidc.subjects import SUBJECT_TYPES

ID_TOKEN_ALGS = ["RS256", "ES256"]
UI_LOCALES = ["zh-CN", "en"]


def provider_metadata(*, issuer: str, registration_enabled: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "end_session_endpoint": f"{issuer}/end-session",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "scopes_supported": list(ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "acr_values_supported": list(ACR_VALUES),
        "subject_types_supported": list(SUBJECT_TYPES),
        "id_token_signing_alg_values_supported": ID_TOKEN_ALGS,
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": [
            m for m in TOKEN_ENDPOINT_AUTH_METHODS if m != "none"
        ],
        "revocation_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "ui_locales_supported": UI_LOCALES,
        "claim_types_supported": ["normal"],
        #: RFC 9207 §3: "authorization_response_iss_parameter_supported".
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "prompt_values_supported": ["none", "login", "consent"],
        #: RFC 9396 §10.1: the authorization details types the AS supports.
        "authorization_details_types_supported": list(AUTHORIZATION_DETAILS_TYPES),
    }
    if registration_enabled:
        metadata["registration_endpoint"] = f"{issuer}/register"
    return metadata
