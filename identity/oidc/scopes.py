"""The scopes the provider knows, and which claims each one releases.

OpenID Connect Core 1.0 §5.4 (https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims):
"profile", "phone" map to standard claims; ``idcard`` (the resident identity number)
is ours and only for clients registered for it; ``wallet`` is for the citizen's own
apps; ``licenses:*`` are for agency systems (client credentials).
"""

from __future__ import annotations

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"
IDCARD = "idcard"
WALLET = "wallet"

CITIZEN_SCOPES = (OPENID, "profile", "phone", IDCARD, OFFLINE_ACCESS, WALLET)
LICENSE_SCOPES = ("licenses:issue", "licenses:revoke", "licenses:verify", "licenses:read")
ALL_SCOPES = CITIZEN_SCOPES + LICENSE_SCOPES

#: Claims released per scope (userinfo).
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "birthdate", "gender"),
    "phone": ("phone_number", "phone_number_verified"),
    IDCARD: ("id_number",),
}
CLAIMS_SUPPORTED = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "at_hash",
    *(claim for claims in SCOPE_CLAIMS.values() for claim in claims),
)

#: Scopes a citizen is asked about on the consent page (``openid`` itself needs no consent
#: beyond the login; ``offline_access`` does: OpenID Connect Core §11).
CONSENT_SCOPES = ("profile", "phone", IDCARD, OFFLINE_ACCESS, WALLET)


def scope_list(scope: str | None) -> list[str]:
    return [part for part in (scope or "").split() if part]


def scope_string(scopes: list[str] | tuple[str, ...] | set[str]) -> str:
    """A canonical (known-order) scope string."""
    wanted = set(scopes)
    ordered = [s for s in ALL_SCOPES if s in wanted]
    return " ".join(ordered + sorted(wanted - set(ordered)))
