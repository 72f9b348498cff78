"""The OpenID provider: Authlib's authorization server with govwallet's storage and keys.

Framework-neutral: ``wallet_api.oauth_server`` adds the four Starlette methods
(``create_oauth2_request``, ``create_json_request``, ``handle_response``,
``send_signal``). Requests reaching this class carry ``db`` (the request's
SQLAlchemy session); clients come from a cache, so client authentication costs no
query on the hot path, and ``client_credentials`` writes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from identity.config import IdentityConfig
from identity.oidc.authorization_details import GrantedDetailsSource, LicenseCatalogue
from identity.oidc.clients import ClientRegistry, RegisteredClient
from identity.oidc.config import ProviderConfig, ProviderDigests
from identity.oidc.endpoints import EndSessionEndpoint, IntrospectionEndpoint, RevocationEndpoint
from identity.oidc.grants.authorization_code import (
    AuthorizationCodeGrant,
    OpenIDCode,
    S256CodeChallenge,
)
from identity.oidc.grants.base import ASSERTION_ALGORITHMS, AuthenticatedCitizen
from identity.oidc.grants.client_credentials import ClientCredentialsGrant
from identity.oidc.grants.refresh_token import RefreshTokenGrant
from identity.oidc.memory_only import require_storage, storage_guarded
from identity.oidc.models import ClientAssertion, IssuedToken
from identity.oidc.scopes import ALL_SCOPES, OFFLINE_ACCESS, scope_list
from identity.oidc.subjects import subject_for
from identity.oidc.token_state import TokenStateCache
from identity.oidc.tokens import PROVIDER_OWNER, AccessTokens, new_refresh_token, utcnow
from keys import KeyStore, MasterSecret


def half_hash(value: str) -> str:
    """OpenID Connect Core §3.1.3.6 ``at_hash``: left half of SHA-256 (RS256 and ES256)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


class PrivateKeyJwt(JWTBearerClientAssertion):
    """``private_key_jwt`` (OpenID Connect Core §9, RFC 7523 §2.2) against the client's JWKS."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, provider: Provider) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._provider = provider

    def get_audiences(self) -> list[str]:
        #: RFC 7523 §3: "The JWT MUST contain an aud ... that identifies the
        #: authorization server"; the token endpoint URL or the issuer.
        return [self._provider.config.token_endpoint, self._provider.config.issuer]

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        """Verify with an explicit algorithm list (the ones discovery advertises)."""
        # An accepted assertion's jti is written to the database (validate_jti), so this
        # authentication is never made from memory: an answer that declined after the
        # write would be made again by the application, which would find the jti used
        # and refuse a valid assertion as a replay. The provider's guarded sessions would
        # decline at the write too; declining here spares verifying the signature twice.
        require_storage()
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description="The client assertion is invalid.") from exc
        self.verify_claims(token.claims)
        return dict(token.claims)

    def resolve_client_public_key(self, client: RegisteredClient) -> KeySet:
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered keys.")
        return KeySet.import_key_set(cast(KeySetSerialization, client.jwks))

    def validate_jti(self, claims: Any, jti: str) -> bool:
        """RFC 7523 §3: the ``jti`` is remembered until the assertion expires (no replay)."""
        if not isinstance(jti, str) or len(jti) > 255:
            return False
        with self._provider.sessions() as session:
            session.add(
                ClientAssertion(
                    client_id=str(claims["sub"]),
                    jti=jti,
                    expires_at=utcnow()
                    + timedelta(seconds=max(int(claims["exp"]) - int(time.time()), 0) + 60),
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True


class Provider(AuthorizationServer):
    def __init__(
        self,
        *,
        config: ProviderConfig,
        keystore: KeyStore,
        sessions: Callable[[], Session],
        master: MasterSecret,
        identity: IdentityConfig,
        read_sessions: Callable[[], Session] | None = None,
    ) -> None:
        super().__init__(scopes_supported=list(ALL_SCOPES))
        self.config = config
        self.keystore = keystore
        #: Refused inside identity.oidc.memory_only, like every other way to storage.
        self.sessions = storage_guarded(sessions)
        #: Sessions that refuse to write and cost no transaction round trips (userinfo,
        #: introspection); the ordinary sessions when none are given.
        self.read_sessions = storage_guarded(read_sessions or sessions)
        self.digests = ProviderDigests.from_master(master)
        self.identity = identity
        self.clients = ClientRegistry(sessions=sessions, digest=self.digests.client_secret)
        #: RFC 9396 license sharing (``identity.oidc.authorization_details``), injected by
        #: ``wallet_api``: the license catalogue and the details granted per code.
        self.license_catalogue: LicenseCatalogue | None = None
        self.granted_details: GrantedDetailsSource | None = None
        self.access_tokens = AccessTokens(
            keystore=keystore, issuer=config.issuer, ttl=config.access_token_ttl
        )
        #: Answers per access token, live only while an invalidation feed listens.
        self.token_state = TokenStateCache()
        self.register_grant(
            AuthorizationCodeGrant, [S256CodeChallenge(required=True), OpenIDCode()]
        )
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_client_auth_method("private_key_jwt", PrivateKeyJwt(self))
        self.register_endpoint(IntrospectionEndpoint(self))
        self.register_endpoint(RevocationEndpoint(self))
        self.register_endpoint(EndSessionEndpoint(self))

    # -- storage ------------------------------------------------------------------

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.clients.get(client_id)

    def subject_for(self, client: RegisteredClient, user: AuthenticatedCitizen) -> str:
        return subject_for(
            client=client, citizen_subject=user.citizen_subject, pairwise=self.digests.pairwise
        )

    def issue_tokens(
        self,
        request: Any,
        *,
        grant_type: str,
        user: AuthenticatedCitizen | None,
        scope: str,
        include_refresh_token: bool,
    ) -> dict[str, Any]:
        client: RegisteredClient = request.client
        extra: dict[str, Any]
        if user is None:
            subject, extra = client.client_id, {"gw_grant": "client_credentials"}
        else:
            subject = self.subject_for(client, user)
            extra = {"auth_time": int(user.auth_time.timestamp()), "acr": user.acr}
            if user.sid:
                extra["sid"] = user.sid
        details = self._granted_details(request, user)
        if details is not None:
            #: RFC 9396 §9.1: the JWT access token carries ``authorization_details``.
            extra["authorization_details"] = details
        access_token, jti, expires_at = self.access_tokens.issue(
            lambda: request.db,
            client_id=client.client_id,
            subject=subject,
            scope=scope,
            extra=extra,
        )
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access_token,
            "expires_in": self.config.access_token_ttl,
            "scope": scope,
        }
        if details is not None:
            #: RFC 9396 §7: "the token response ... MUST include" the granted details.
            token["authorization_details"] = details
        refresh = None
        #: OpenID Connect Core §11: refresh tokens for offline access only when asked
        #: for with ``offline_access``, and only to clients allowed the grant.
        if (
            user is not None
            and include_refresh_token
            and OFFLINE_ACCESS in scope_list(scope)
            and client.check_grant_type("refresh_token")
        ):
            refresh = new_refresh_token()
            token["refresh_token"] = refresh
        request.issued = (jti, expires_at, refresh)
        return token

    def _granted_details(
        self, request: Any, user: AuthenticatedCitizen | None
    ) -> list[dict[str, Any]] | None:
        if user is None or user.code_id is None or self.granted_details is None:
            return None
        return self.granted_details.granted(request.db, code_id=user.code_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        user: AuthenticatedCitizen | None = request.user
        if user is None:
            return  # client credentials: nothing to store (stateless JWT)
        jti, _expires_at, refresh = request.issued
        now = utcnow()
        request.db.add(
            IssuedToken(
                jti=jti,
                refresh_token_digest=self.digests.refresh_token.digest(refresh)
                if refresh
                else None,
                family_id=user.family_id or uuid.uuid4(),
                authorization_code_id=user.code_id,
                client_id=request.client.client_id,
                citizen_id=user.citizen_id,
                scope=token["scope"],
                sid=user.sid,
                auth_time=user.auth_time,
                acr=user.acr,
                amr=list(user.amr),
                issued_at=now,
                access_expires_at=now + timedelta(seconds=self.config.access_token_ttl),
                refresh_expires_at=(
                    now + timedelta(seconds=self.config.refresh_token_ttl) if refresh else None
                ),
            )
        )
        request.db.flush()

    # -- ID tokens ----------------------------------------------------------------

    def id_token(self, request: Any, token: dict[str, Any]) -> str:
        """OpenID Connect Core §2 ID token, signed by the provider's key for the client's alg."""
        client: RegisteredClient = request.client
        user: AuthenticatedCitizen = request.user
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.config.issuer,
            "sub": self.subject_for(client, user),
            "aud": client.client_id,
            "iat": now,
            "exp": now + self.config.id_token_ttl,
            "auth_time": int(user.auth_time.timestamp()),
            "acr": user.acr,
            "amr": list(user.amr),
            "at_hash": half_hash(token["access_token"]),
        }
        if user.sid:
            claims["sid"] = user.sid
        code = getattr(request, "authorization_code", None)
        if code is not None and (nonce := code.get_nonce()):
            claims["nonce"] = nonce
        signer = self.keystore.signer(
            request.db, owner=PROVIDER_OWNER, alg=client.id_token_signed_response_alg
        )
        return signer.sign_jwt(claims)

    def public_jwks(self) -> dict[str, Any]:
        with self.sessions() as session:
            return self.keystore.jwks(session, owner=PROVIDER_OWNER)
