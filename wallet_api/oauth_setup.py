"""Builds the OpenID provider from the runtime (settings, key store, sessions)."""

from __future__ import annotations

import logging
import os

from authlib.common.security import is_secure_transport

from identity.oidc.config import ProviderConfig
from licenses.sharing.services import GrantedDetails, RequestCatalogue
from wallet_api.oauth_server import StarletteProvider
from wallet_api.runtime import Runtime

logger = logging.getLogger("govwallet.oidc")


def build_provider(runtime: Runtime) -> StarletteProvider:
    settings = runtime.settings
    if not is_secure_transport(settings.issuer_url) and settings.environment == "development":
        # Authlib refuses plain http except on loopback (RFC 6749 §3.1 wants TLS). A
        # development issuer such as http://govwallet:8000 in a container network is let
        # through; production settings require an https issuer anyway.
        logger.warning("development: OAuth over plain http at %s", settings.issuer_url)
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    token = settings.oidc_registration_token
    config = ProviderConfig(
        issuer=settings.issuer_url,
        access_token_ttl=settings.access_token_ttl_seconds,
        id_token_ttl=settings.id_token_ttl_seconds,
        refresh_token_ttl=settings.refresh_token_ttl_seconds,
        session_lifetime=settings.session_lifetime_seconds,
        session_idle=settings.session_idle_seconds,
        registration_token=token.get_secret_value() if token is not None else None,
    )
    provider = StarletteProvider(
        config=config,
        keystore=runtime.keystore,
        sessions=runtime.sessions,
        read_sessions=runtime.read_sessions,
        master=settings.master_secret,
        identity=runtime.identity,
    )
    # RFC 9396 license sharing: identity does not import licenses, so both are injected.
    provider.license_catalogue = RequestCatalogue()
    provider.granted_details = GrantedDetails()
    return provider
