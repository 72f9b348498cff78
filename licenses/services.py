"""The registry's operations on agencies, and the context every registry operation runs in.

Issuance lives in :mod:`licenses.issuance`, status changes and status lists in
:mod:`licenses.status`, bulk import in :mod:`licenses.bulk`; they all take a
:class:`Registry` (keys, digests, ciphers, the platform's issuer URL, the clock).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, lazyload

from keys import FieldCipher, KeyedDigest, KeyInfo, KeyStore, MasterSecret
from keys.models import SigningKey
from licenses import catalogue, sdjwt, trustlist, verification
from licenses.codes import RegistryError, validate_credit_code, validate_region_code
from licenses.errors import CredentialError
from licenses.models import AGENCY_KEY_OWNER_PREFIX, Agency
from licenses.recognition.services import satisfied_materials
from licenses.status import PLATFORM_ALG, PLATFORM_OWNER, RegistryStatusLists

AGENCY_ALG = "ES256"
#: The trust list's lifetime: a verifier working offline refreshes it within a day.
TRUST_LIST_LIFETIME = timedelta(hours=24)
#: Scopes of an agency's client-credentials client.
AGENCY_SCOPES = ("licenses:issue", "licenses:revoke", "licenses:verify", "licenses:read")
HOLDER_DIGEST_PURPOSE = "license-holder"
HOLDER_CIPHER_PURPOSE = "license-holder"
FIELDS_CIPHER_PURPOSE = "license-fields"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Registry:
    """What registry operations need besides the session."""

    keystore: KeyStore
    #: Keyed digest of holders' identity numbers: the only way licenses are looked up by holder.
    holder_digest: KeyedDigest
    holder_cipher: FieldCipher
    fields_cipher: FieldCipher
    #: The platform's public base URL (``settings.issuer_url``).
    platform_issuer: str
    clock: Callable[[], datetime] = field(default=_utcnow)

    @classmethod
    def create(
        cls,
        *,
        keystore: KeyStore,
        master: MasterSecret,
        platform_issuer: str,
        clock: Callable[[], datetime] = _utcnow,
    ) -> Registry:
        return cls(
            keystore=keystore,
            holder_digest=KeyedDigest(master, HOLDER_DIGEST_PURPOSE),
            holder_cipher=FieldCipher(master, HOLDER_CIPHER_PURPOSE),
            fields_cipher=FieldCipher(master, FIELDS_CIPHER_PURPOSE),
            platform_issuer=platform_issuer.rstrip("/"),
            clock=clock,
        )

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    def status_list_uri(self, list_id: str) -> str:
        return f"{self.platform_issuer}/api/v1/status-lists/{list_id}"

    def agency_issuer(self, credit_code: str) -> str:
        """The ``iss`` of an agency's credentials (docs/license-credential.md)."""
        return trustlist.agency_issuer(self.platform_issuer, credit_code)


class AgencyExists(RegistryError):
    code = "agency-exists"
    status = 409


class InvalidAgency(RegistryError):
    code = "invalid-agency"
    status = 422


class UnknownAgency(RegistryError):
    code = "unknown-agency"
    status = 404


class AgencyNotRegistered(RegistryError):
    """The authenticated client is not the client of any agency."""

    code = "agency-not-registered"
    status = 403


def add_agency(
    session: Session,
    *,
    registry: Registry,
    name: str,
    credit_code: str,
    region_code: str,
    license_types: Sequence[str],
) -> Agency:
    """Register an agency: validated codes, authorised types, ES256 signing keys."""
    name = name.strip()
    if not name:
        raise InvalidAgency("name: the agency needs a name", field="name")
    validate_credit_code(credit_code, field="credit_code")
    validate_region_code(region_code, field="region")
    if not license_types:
        raise InvalidAgency(
            "license_type: name at least one license type the agency may issue",
            field="license_type",
        )
    catalogue.ensure_shipped(session, now=registry.now())
    types = [
        catalogue.get_type(session, code=code, field="license_type")
        for code in dict.fromkeys(license_types)
    ]
    if session.scalars(select(Agency.id).where(Agency.credit_code == credit_code)).first():
        raise AgencyExists(
            f"credit_code: an agency with credit code {credit_code} is already registered",
            field="credit_code",
        )
    agency = Agency(
        id=uuid.uuid4(),
        name=name,
        credit_code=credit_code,
        region_code=region_code,
        created_at=registry.now(),
    )
    agency.license_types = types
    session.add(agency)
    session.flush()
    registry.keystore.ensure(session, owner=agency.key_owner, alg=AGENCY_ALG)
    return agency


def set_client(session: Session, *, agency: Agency, client_id: str) -> None:
    """Record the agency's OAuth client (registered by the identity provider)."""
    agency.client_id = client_id
    session.flush()


def authorise_types(session: Session, *, agency: Agency, license_types: Sequence[str]) -> None:
    """Add license types the agency may issue."""
    current = {t.code for t in agency.license_types}
    for code in dict.fromkeys(license_types):
        if code not in current:
            agency.license_types.append(
                catalogue.get_type(session, code=code, field="license_type")
            )
    session.flush()


def rotate_agency_key(session: Session, *, registry: Registry, agency: Agency) -> KeyInfo:
    """Promote the agency's next ES256 key; the retired one stays published for as long as
    the longest retention period of its license types, so every license it signed stays
    verifiable (a license lives far longer than an access token)."""
    years = max((t.retention_years for t in agency.license_types), default=30)
    return registry.keystore.rotate(
        session,
        owner=agency.key_owner,
        alg=AGENCY_ALG,
        retain_for=timedelta(days=366 * years),
    )


def get_agency(session: Session, *, agency_ref: str) -> Agency:
    """An agency by id or by credit code."""
    stmt = select(Agency)
    try:
        stmt = stmt.where(Agency.id == uuid.UUID(agency_ref))
    except ValueError:
        stmt = stmt.where(Agency.credit_code == agency_ref)
    agency = session.scalars(stmt).one_or_none()
    if agency is None:
        raise UnknownAgency(f"agency: no agency {agency_ref!r}", field="agency")
    return agency


def agency_for_client(session: Session, *, client_id: str) -> Agency:
    """The agency behind an API client (every agency API call asks). Its license types are
    loaded when used (issuance), not with it: verification never reads them."""
    agency = session.scalars(_AGENCY_OF_CLIENT, {"client_id": client_id}).one_or_none()
    if agency is None:
        raise AgencyNotRegistered("this client is not the client of a registered agency")
    return agency


#: Statements of every agency API call, built once: building and keying an ORM statement
#: costs about as much CPU as executing it.
_AGENCY_OF_CLIENT = (
    select(Agency)
    .where(Agency.client_id == bindparam("client_id"))
    .options(lazyload(Agency.license_types))
)
#: With its license types in the same statement (issuer_authorised reads them).
_ISSUING_AGENCY = (
    select(Agency)
    .where(Agency.credit_code == bindparam("credit_code"))
    .options(joinedload(Agency.license_types))
)


def list_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.created_at, Agency.credit_code)))


def agency_public(agency: Agency) -> dict[str, object]:
    return {
        "agency_id": str(agency.id),
        "name": agency.name,
        "credit_code": agency.credit_code,
        "region": agency.region_code,
        "license_types": [t.code for t in agency.license_types],
        "client_id": agency.client_id,
        "key_owner": agency.key_owner,
    }


def trust_list_entries(session: Session, *, registry: Registry) -> list[trustlist.AgencyEntry]:
    """Every agency with its published keys (next, active, retired), region and types."""
    return _entries(session, registry=registry, agencies=list_agencies(session))


def _entries(
    session: Session, *, registry: Registry, agencies: Sequence[Agency]
) -> list[trustlist.AgencyEntry]:
    return [
        trustlist.AgencyEntry(
            id=str(agency.id),
            name=agency.name,
            credit_code=agency.credit_code,
            region_code=agency.region_code,
            iss=registry.agency_issuer(agency.credit_code),
            license_types=tuple(t.code for t in agency.license_types),
            jwks=registry.keystore.jwks(session, owner=agency.key_owner),
        )
        for agency in agencies
    ]


def trust_list_token(
    session: Session, *, registry: Registry, entries: list[trustlist.AgencyEntry] | None = None
) -> str:
    """The signed trust list (``trustlist+jwt``), signed by the platform's ES256 key."""
    now = registry.now()
    return trustlist.build_trust_list(
        signer=registry.keystore.signer(session, owner=PLATFORM_OWNER, alg=PLATFORM_ALG),
        iss=registry.platform_issuer,
        agencies=entries if entries is not None else trust_list_entries(session, registry=registry),
        iat=now,
        exp=now + TRUST_LIST_LIFETIME,
    )


def trust_list_for(
    session: Session, *, registry: Registry, iss: object, kid: object
) -> trustlist.TrustList:
    """The part of the registry's trust list one credential can name: the agency of its
    ``iss`` and the agency owning the key ``kid``.

    Online verification runs on every request; loading every agency and its keys for it
    would grow with the registry, these two lookups do not. The checks find what they
    would find in the whole list: the issuer's entry, and the entry of the key's owner
    (a credential signed with another agency's key is still reported as such).
    """
    agencies: list[Agency] = []
    prefix = registry.agency_issuer("")
    if isinstance(iss, str) and iss.startswith(prefix):
        agencies.extend(
            session.scalars(_ISSUING_AGENCY, {"credit_code": iss[len(prefix) :]}).unique()
        )
    entries = _entries(session, registry=registry, agencies=agencies)
    published = {jwk.get("kid") for entry in entries for jwk in entry.jwks["keys"]}
    if isinstance(kid, str) and kid and kid not in published:
        #: Not a key of the agency the credential names (or it names none): find whose.
        owner = session.scalar(select(SigningKey.owner).where(SigningKey.kid == kid))
        if owner is not None and owner.startswith(AGENCY_KEY_OWNER_PREFIX):
            with suppress(ValueError):  # an owner named like an agency's but not one
                agency_id = uuid.UUID(owner[len(AGENCY_KEY_OWNER_PREFIX) :])
                if all(entry.id != str(agency_id) for entry in entries):  # not a removed key
                    owners = session.scalars(select(Agency).where(Agency.id == agency_id))
                    entries += _entries(session, registry=registry, agencies=list(owners))
    return _unsigned_trust_list(registry, entries)


def _unsigned_trust_list(
    registry: Registry, entries: list[trustlist.AgencyEntry]
) -> trustlist.TrustList:
    now = registry.now()
    return trustlist.TrustList(
        issuer=registry.platform_issuer,
        agencies=entries,
        issued_at=now,
        expires_at=now + TRUST_LIST_LIFETIME,
    )


def _named_issuer(presentation: str) -> tuple[object, object]:
    """The ``iss`` and ``kid`` a presentation names, not yet verified (None, None if it
    cannot be read: verification then reports the format error)."""
    try:
        unverified = sdjwt.parse_presentation(presentation)
    except CredentialError:
        return None, None
    return unverified.unverified_claims.get("iss"), unverified.kid


def verify_online(
    session: Session,
    *,
    registry: Registry,
    presentation: str,
    audience: str | None,
    nonce: str | None,
    verifier: Agency | None = None,
    audit: Callable[..., object] | None = None,
    key_binding_max_age: timedelta = timedelta(minutes=5),
) -> dict[str, Any]:
    """Verify a presentation against this registry's own trust and status lists.

    Key binding is required when the verifier names an audience or a nonce (it expects a
    holder-bound presentation); otherwise a presentation without one may pass. With a
    verifying agency, the result is audited under that agency.
    """
    iss, kid = _named_issuer(presentation)
    result = verification.verify_presentation(
        presentation=presentation,
        trust_list=trust_list_for(session, registry=registry, iss=iss, kid=kid),
        status_lists=RegistryStatusLists(session, registry=registry),
        audience=audience,
        nonce=nonce,
        now=registry.now(),
        key_binding_max_age=key_binding_max_age,
        require_key_binding=audience is not None or nonce is not None,
    )
    report = dict(result.as_dict())
    if verifier is not None:
        report["recognised_materials"] = recognised_materials(
            session, verifier=verifier, report=report
        )
    license_id = report.get("license_id")
    if audit is not None and verifier is not None and isinstance(license_id, str):
        failed = [
            name for name, check in report["checks"].items() if check.get("outcome") == "failed"
        ]
        audit(
            session,
            actor=f"agency:{verifier.credit_code}",
            action="license.verified",
            subject=license_id,
            details={"valid": bool(report["valid"]), "failed": failed},
            now=registry.now(),
        )
    return report


def recognised_materials(
    session: Session, *, verifier: Agency, report: dict[str, Any]
) -> list[dict[str, Any]]:
    """Which of the verifier's materials a *valid* license satisfies (mutual recognition)."""
    issuer = report.get("issuer")
    if not report.get("valid") or not isinstance(issuer, dict) or not report.get("license_type"):
        return []
    materials = satisfied_materials(
        session,
        verifier_credit_code=verifier.credit_code,
        verifier_region=verifier.region_code,
        license_type=str(report["license_type"]),
        issuer_credit_code=str(issuer["credit_code"]),
        issuer_region=str(issuer["region_code"]),
    )
    return [material.model_dump() for material in materials]
