"""Subject identifiers: pairwise per sector by default, public on request.

OpenID Connect Core 1.0 §8 (https://openid.net/specs/openid-connect-core-1_0.html#SubjectIDTypes):
"pairwise: This provides a different sub value to each Client, so as not to enable
Clients to correlate the End-User's activities without permission." §8.1: the value
is computed from the sector identifier and the local account id with a secret, so it
"MUST NOT be reversible by any party other than the OpenID Provider".
"""

from __future__ import annotations

from identity.oidc.clients import RegisteredClient
from keys import KeyedDigest

SUBJECT_TYPES = ("pairwise", "public")


def subject_for(*, client: RegisteredClient, citizen_subject: str, pairwise: KeyedDigest) -> str:
    """The ``sub`` value ``client`` knows the citizen by."""
    if client.subject_type == "public":
        return citizen_subject
    return pairwise.digest(f"{client.sector_identifier}|{citizen_subject}")
