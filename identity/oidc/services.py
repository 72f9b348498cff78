"""Operations of the OpenID provider: client registration and consents.

``register_client`` is the stable entry point other packages' callers use (the CLI,
dynamic registration, agency onboarding); see ``docs/identity-api.md`` ("OIDC").
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from identity.oidc.authorization_details import TYPES_SUPPORTED as DETAILS_TYPES
from identity.oidc.errors import InvalidClientMetadata, UnknownClient
from identity.oidc.inputs import storable
from identity.oidc.models import Consent, OAuthClient
from identity.oidc.scopes import ALL_SCOPES, OPENID, scope_list, scope_string
from identity.oidc.subjects import SUBJECT_TYPES
from identity.oidc.tokens import revoke_for_client, utcnow
from keys import KeyedDigest, MasterSecret

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
ID_TOKEN_ALGS = ("RS256", "ES256")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: 256 bits of randomness (the issue: "generated with 256 bits of randomness").
SECRET_BYTES = 32


def client_secret_digest(master: MasterSecret) -> KeyedDigest:
    return KeyedDigest(master, "oidc/client-secret")


def _check_uri(field: str, uri: Any, *, allow_http_loopback: bool = True) -> str:
    if not storable(uri, 2000):
        raise InvalidClientMetadata(field, "must be an absolute URI")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidClientMetadata(field, f"{uri!r} is not a valid URI") from None
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise InvalidClientMetadata(field, f"{uri!r} must be an absolute https URI")
    if parts.scheme == "http" and not (allow_http_loopback and parts.hostname in LOOPBACK_HOSTS):
        raise InvalidClientMetadata(field, f"{uri!r} must use https (http only on loopback)")
    if parts.fragment:
        #: RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
        raise InvalidClientMetadata(field, f"{uri!r} must not contain a fragment")
    return uri


def _check_jwks(jwks: Any) -> dict[str, Any]:
    from joserfc.jwk import KeySet, KeySetSerialization

    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise InvalidClientMetadata("jwks", "must be a JWK Set with at least one key")
    try:
        keyset = KeySet.import_key_set(cast(KeySetSerialization, jwks))
    except Exception as exc:  # joserfc raises several types for bad keys
        raise InvalidClientMetadata("jwks", "contains a key that cannot be read") from exc
    if any(key.is_private for key in keyset.keys):
        raise InvalidClientMetadata("jwks", "must contain public keys only")
    return jwks


def validate_client_metadata(
    *,
    name: str,
    redirect_uris: Sequence[str],
    grant_types: Sequence[str],
    scopes: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    backchannel_logout_uri: str | None = None,
    token_endpoint_auth_method: str = "client_secret_basic",  # noqa: S107
    subject_type: str = "pairwise",
    id_token_signed_response_alg: str | None = None,
    jwks: dict[str, Any] | None = None,
    sector_identifier: str | None = None,
    authorization_details_types: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Check registration metadata; return it in RFC 7591 shape."""
    if not storable(name, 200) or not name.strip():
        raise InvalidClientMetadata("client_name", "must be 1 to 200 characters")
    grants = list(dict.fromkeys(grant_types))
    if not grants or not set(grants) <= set(GRANT_TYPES):
        raise InvalidClientMetadata("grant_types", f"must be some of {', '.join(GRANT_TYPES)}")
    wanted = list(dict.fromkeys(scopes))
    unknown = [s for s in wanted if s not in ALL_SCOPES]
    if unknown:
        raise InvalidClientMetadata("scope", f"unknown scope {unknown[0]!r}")
    if token_endpoint_auth_method not in AUTH_METHODS:
        raise InvalidClientMetadata(
            "token_endpoint_auth_method", f"must be one of {', '.join(AUTH_METHODS)}"
        )
    uris = [_check_uri("redirect_uris", uri) for uri in redirect_uris]
    if "authorization_code" in grants:
        if not uris:
            raise InvalidClientMetadata("redirect_uris", "at least one is required")
        if OPENID not in wanted:
            wanted.insert(0, OPENID)
    elif uris:
        raise InvalidClientMetadata("redirect_uris", "only for the authorization_code grant")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise InvalidClientMetadata("grant_types", "refresh_token needs authorization_code")
    if token_endpoint_auth_method == "none" and "client_credentials" in grants:  # noqa: S105
        raise InvalidClientMetadata("grant_types", "a public client cannot use client_credentials")
    if token_endpoint_auth_method == "private_key_jwt" or jwks is not None:  # noqa: S105
        jwks = _check_jwks(jwks)
    if subject_type not in SUBJECT_TYPES:
        raise InvalidClientMetadata("subject_type", "must be pairwise or public")
    if (
        id_token_signed_response_alg is not None
        and id_token_signed_response_alg not in ID_TOKEN_ALGS
    ):
        raise InvalidClientMetadata("id_token_signed_response_alg", "must be RS256 or ES256")
    if not wanted:
        raise InvalidClientMetadata("scope", "at least one scope is required")
    metadata: dict[str, Any] = {
        "client_name": name.strip(),
        "redirect_uris": uris,
        "grant_types": grants,
        "response_types": ["code"] if "authorization_code" in grants else [],
        "scope": scope_string(wanted),
        "token_endpoint_auth_method": token_endpoint_auth_method,
        "subject_type": subject_type,
        "post_logout_redirect_uris": [
            _check_uri("post_logout_redirect_uris", uri) for uri in post_logout_redirect_uris
        ],
    }
    if backchannel_logout_uri:
        metadata["backchannel_logout_uri"] = _check_uri(
            "backchannel_logout_uri", backchannel_logout_uri
        )
        metadata["backchannel_logout_session_required"] = True
    if id_token_signed_response_alg:
        metadata["id_token_signed_response_alg"] = id_token_signed_response_alg
    if jwks is not None:
        metadata["jwks"] = jwks
    if sector_identifier:
        if not storable(sector_identifier, 255):
            raise InvalidClientMetadata("sector_identifier", "must be 1 to 255 characters")
        metadata["sector_identifier"] = sector_identifier
    if authorization_details_types is not None:
        #: RFC 9396 §10.2: the authorization details types the client uses.
        unknown = [t for t in authorization_details_types if t not in DETAILS_TYPES]
        if unknown:
            raise InvalidClientMetadata(
                "authorization_details_types", f"unsupported type {unknown[0]!r}"
            )
        metadata["authorization_details_types"] = list(dict.fromkeys(authorization_details_types))
    return metadata


def register_client(
    session: Session,
    *,
    name: str,
    redirect_uris: Sequence[str],
    grant_types: Sequence[str] = ("authorization_code", "refresh_token"),
    scopes: Sequence[str] = (OPENID,),
    master: MasterSecret,
    post_logout_redirect_uris: Sequence[str] = (),
    backchannel_logout_uri: str | None = None,
    public: bool = False,
    token_endpoint_auth_method: str | None = None,
    subject_type: str = "pairwise",
    id_token_signed_response_alg: str | None = None,
    jwks: dict[str, Any] | None = None,
    sector_identifier: str | None = None,
    authorization_details_types: Sequence[str] | None = None,
    now: datetime | None = None,
) -> tuple[OAuthClient, str | None]:
    """Register a client; returns the row and its plaintext secret (``None`` without one).

    The secret is shown once: only its keyed digest is stored. The caller commits.
    """
    method = token_endpoint_auth_method or ("none" if public else "client_secret_basic")
    if public and method != "none":
        raise InvalidClientMetadata("token_endpoint_auth_method", "a public client uses none")
    metadata = validate_client_metadata(
        name=name,
        redirect_uris=redirect_uris,
        grant_types=grant_types,
        scopes=scopes,
        post_logout_redirect_uris=post_logout_redirect_uris,
        backchannel_logout_uri=backchannel_logout_uri,
        token_endpoint_auth_method=method,
        subject_type=subject_type,
        id_token_signed_response_alg=id_token_signed_response_alg,
        jwks=jwks,
        sector_identifier=sector_identifier,
        authorization_details_types=authorization_details_types,
    )
    secret = None
    if method in {"client_secret_basic", "client_secret_post"}:
        secret = secrets.token_urlsafe(SECRET_BYTES)
    now = now or utcnow()
    row = OAuthClient(
        client_id=f"gw-{secrets.token_urlsafe(16)}",
        client_secret_digest=client_secret_digest(master).digest(secret) if secret else None,
        name=metadata["client_name"],
        client_metadata=metadata,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row, secret


def get_client_row(session: Session, *, client_id: str) -> OAuthClient:
    if not storable(client_id, 64):
        raise UnknownClient("no such client")
    row = session.scalars(
        select(OAuthClient).where(OAuthClient.client_id == client_id)
    ).one_or_none()
    if row is None:
        raise UnknownClient(f"no client {client_id!r}")
    return row


# -- consents ----------------------------------------------------------------------


def consented_scopes(session: Session, *, citizen_id: uuid.UUID, client_id: str) -> set[str]:
    row = _consent(session, citizen_id=citizen_id, client_id=client_id)
    return set(scope_list(row.scope)) if row else set()


def remember_consent(
    session: Session, *, citizen_id: uuid.UUID, client_id: str, scopes: Iterable[str], now: datetime
) -> None:
    """Add ``scopes`` to the citizen's consent for the client (in ``session``).

    Safe against the same consent given twice at once (a double-clicked button, two tabs,
    two nodes): the row is locked while its scopes are merged, and a first consent that
    another transaction inserted meanwhile is merged into, not inserted twice.
    """
    wanted = set(scopes)
    row = _consent(session, citizen_id=citizen_id, client_id=client_id, lock=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    Consent(
                        citizen_id=citizen_id,
                        client_id=client_id,
                        scope=scope_string(wanted),
                        granted_at=now,
                        updated_at=now,
                    )
                )
            return
        except IntegrityError:
            row = _consent(session, citizen_id=citizen_id, client_id=client_id, lock=True)
            if row is None:  # pragma: no cover - the row that was in the way is gone again
                raise
    row.scope = scope_string(set(scope_list(row.scope)) | wanted)
    row.updated_at = now
    session.flush()


def withdraw_consent(
    session: Session, *, citizen_id: uuid.UUID, client_id: str, now: datetime
) -> bool:
    """Forget the consent and revoke every token the client holds for the citizen."""
    row = _consent(session, citizen_id=citizen_id, client_id=client_id)
    if row is None:
        return False
    session.delete(row)
    revoke_for_client(session, citizen_id=citizen_id, client_id=client_id, now=now)
    session.flush()
    return True


@dataclass(frozen=True, slots=True)
class ConnectedPlatform:
    client_id: str
    name: str
    scopes: list[str]
    granted_at: datetime


def connected_platforms(session: Session, *, citizen_id: uuid.UUID) -> list[ConnectedPlatform]:
    rows = session.execute(
        select(Consent, OAuthClient.name)
        .join(OAuthClient, OAuthClient.client_id == Consent.client_id)
        .where(Consent.citizen_id == citizen_id)
        .order_by(Consent.granted_at)
    ).all()
    return [
        ConnectedPlatform(
            client_id=consent.client_id,
            name=name,
            scopes=scope_list(consent.scope),
            granted_at=consent.granted_at,
        )
        for consent, name in rows
    ]


def _consent(
    session: Session, *, citizen_id: uuid.UUID, client_id: str, lock: bool = False
) -> Consent | None:
    if not storable(client_id, 64):
        return None
    query = select(Consent).where(Consent.citizen_id == citizen_id, Consent.client_id == client_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


# -- RFC 7591 dynamic registration ---------------------------------------------------

#: RFC 7591 §2 / OpenID Connect Dynamic Registration §2 fields we accept.
_RFC7591_FIELDS = {
    "client_name",
    "redirect_uris",
    "grant_types",
    "response_types",
    "scope",
    "token_endpoint_auth_method",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "subject_type",
    "id_token_signed_response_alg",
    "jwks",
    "sector_identifier",
    "authorization_details_types",
}


def _string_list(field: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidClientMetadata(field, "must be an array of strings")
    return value


def _optional_string(field: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidClientMetadata(field, "must be a string")
    return value


def rfc7591_arguments(body: Any) -> dict[str, Any]:
    """Map an RFC 7591 registration request to :func:`register_client` arguments."""
    if not isinstance(body, dict):
        raise InvalidClientMetadata("body", "must be a JSON object of client metadata")
    unknown = sorted(set(body) - _RFC7591_FIELDS)
    if unknown:
        raise InvalidClientMetadata(unknown[0], "is not supported by this provider")
    response_types = _string_list("response_types", body.get("response_types"))
    if response_types and response_types != ["code"]:
        raise InvalidClientMetadata("response_types", "only code is supported")
    method = _optional_string("token_endpoint_auth_method", body.get("token_endpoint_auth_method"))
    return {
        "name": _optional_string("client_name", body.get("client_name")) or "",
        "redirect_uris": _string_list("redirect_uris", body.get("redirect_uris")),
        "grant_types": _string_list("grant_types", body.get("grant_types"))
        or ["authorization_code"],
        "scopes": scope_list(_optional_string("scope", body.get("scope")) or OPENID),
        "token_endpoint_auth_method": method or "client_secret_basic",
        "public": method == "none",
        "post_logout_redirect_uris": _string_list(
            "post_logout_redirect_uris", body.get("post_logout_redirect_uris")
        ),
        "backchannel_logout_uri": _optional_string(
            "backchannel_logout_uri", body.get("backchannel_logout_uri")
        ),
        "subject_type": _optional_string("subject_type", body.get("subject_type")) or "pairwise",
        "id_token_signed_response_alg": _optional_string(
            "id_token_signed_response_alg", body.get("id_token_signed_response_alg")
        ),
        "jwks": body.get("jwks"),
        "sector_identifier": _optional_string("sector_identifier", body.get("sector_identifier")),
        "authorization_details_types": (
            _string_list("authorization_details_types", body["authorization_details_types"])
            if "authorization_details_types" in body
            else None
        ),
    }


def registration_response(client: OAuthClient, secret: str | None) -> dict[str, Any]:
    """RFC 7591 §3.2.1 client information response."""
    body: dict[str, Any] = {
        **client.client_metadata,
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
    }
    if secret is not None:
        body["client_secret"] = secret
        body["client_secret_expires_at"] = 0
    return body
