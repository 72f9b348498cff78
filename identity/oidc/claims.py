"""Claims about the citizen: levels of assurance and the scope-gated userinfo claims.

OpenID Connect Core 1.0 §5.3.2 (https://openid.net/specs/openid-connect-core-1_0.html#UserInfoResponse):
"The sub Claim MUST always be returned in the UserInfo Response." Every other claim is
released only for a scope the client was granted (§5.4).
"""

from __future__ import annotations

from typing import Any

from identity.config import IdentityConfig
from identity.models import Citizen
from identity.oidc.scopes import IDCARD
from identity.services import citizen_claims

ACR_PREFIX = "urn:govwallet:loa:"
ACR_VALUES = tuple(f"{ACR_PREFIX}{level}" for level in (1, 2, 3))


def acr_for(loa: int) -> str:
    return f"{ACR_PREFIX}{loa}"


def loa_of(acr: str | None) -> int | None:
    """The level named by an ``acr`` value, ``None`` for values we do not define."""
    if acr in ACR_VALUES:
        return int(acr.rsplit(":", 1)[1])
    return None


def required_loa(acr_values: str | None) -> int | None:
    """The lowest level among the requested ``acr_values`` we know (``None``: no demand).

    Any one of the listed values satisfies the request (OpenID Connect Core §3.1.2.1),
    so the citizen must reach at least the lowest of them.
    """
    levels = [level for value in (acr_values or "").split() if (level := loa_of(value))]
    return min(levels) if levels else None


def userinfo_claims(
    *, identity: IdentityConfig, citizen: Citizen, subject: str, scopes: set[str]
) -> dict[str, Any]:
    """The UserInfo response for the granted ``scopes`` (``idcard`` only if it was granted,
    which only a client registered for it can be)."""
    claims = citizen_claims(
        identity=identity, citizen=citizen, scopes=scopes, include_id_number=IDCARD in scopes
    )
    return {"sub": subject, **claims}
