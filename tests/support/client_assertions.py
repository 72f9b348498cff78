"""``private_key_jwt`` client assertions (RFC 7523 §2.2, OpenID Connect Core §9), signed
with joserfc like a client would sign them."""

from __future__ import annotations

import time
import uuid

from joserfc import jwt
from joserfc.jwk import ECKey

#: RFC 7523 §2.2: the ``client_assertion_type`` of a JWT assertion.
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def client_assertion(key: ECKey, client_id: str, audience: str, jti: str | None = None) -> str:
    """An ES256 assertion by ``client_id`` for ``audience``, valid for a minute, with a
    fresh ``jti`` unless one is given."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)
