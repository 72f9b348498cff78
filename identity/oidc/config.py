"""The provider's configuration: plain values, so ``identity`` never imports settings."""

from __future__ import annotations

from dataclasses import dataclass

from keys import KeyedDigest, MasterSecret

#: Authorization codes live at most 10 minutes (RFC 6749 §4.1.2: "A maximum
#: authorization code lifetime of 10 minutes is RECOMMENDED").
CODE_TTL_SECONDS = 600


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    issuer: str
    access_token_ttl: int
    id_token_ttl: int
    refresh_token_ttl: int
    session_lifetime: int
    session_idle: int
    #: The RFC 7591 initial access token; ``None`` disables dynamic registration.
    registration_token: str | None = None
    code_ttl: int = CODE_TTL_SECONDS

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"


@dataclass(frozen=True, slots=True)
class ProviderDigests:
    """Keyed digests of the provider's secrets, one purpose each."""

    client_secret: KeyedDigest
    code: KeyedDigest
    refresh_token: KeyedDigest
    session_cookie: KeyedDigest
    pairwise: KeyedDigest
    #: Signs the short-lived "password checked, second factor pending" browser cookie.
    pending_login: KeyedDigest

    @classmethod
    def from_master(cls, master: MasterSecret) -> ProviderDigests:
        return cls(
            client_secret=KeyedDigest(master, "oidc/client-secret"),
            code=KeyedDigest(master, "oidc/authorization-code"),
            refresh_token=KeyedDigest(master, "oidc/refresh-token"),
            session_cookie=KeyedDigest(master, "oidc/sso-session"),
            pairwise=KeyedDigest(master, "oidc/pairwise-subject"),
            pending_login=KeyedDigest(master, "oidc/pending-login"),
        )
