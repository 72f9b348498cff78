"""Sharing licenses with relying platforms, with the citizen's consent.

A platform asks with RFC 9396 ``authorization_details`` (``govwallet_license``); the
citizen approves some licenses and fields and refuses others (:func:`record_grant`);
with the access token issued from that consent the platform reads SD-JWT presentations
of exactly the approved licenses and fields, key-bound to its ``client_id``
(:func:`read_shared`). Every grant, read and withdrawal is in the audit log; the citizen
sees every share and read (:func:`shares_of`) and can withdraw one (:func:`withdraw`).

Docs: ``docs/sharing.md``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licenses import catalogue, sdjwt
from licenses.models import License, LicenseStatus, LicenseType
from licenses.recognition.models import ServiceItem
from licenses.services import Registry
from licenses.sharing.errors import (
    InvalidShareRequest,
    SharedLicenseGone,
    ShareNotFound,
    ShareWithdrawn,
)
from licenses.sharing.models import Share, ShareAccess, SharingGrant
from licenses.wallet import services as wallet

AuditHook = Callable[..., object]

#: The credential's directory claims a platform may ask for (docs/license-credential.md);
#: every property of the type's subject fields is asked for as ``fields.<name>``.
DIRECTORY_CLAIMS = tuple(
    name for name in wallet.CLAIM_LABELS if name not in {"fields", wallet.AGE_OVER_18}
)
SUBJECT_PREFIX = "fields."
NONCE_LENGTH = (8, 200)


def _type_or_none(session: Session, code: str) -> LicenseType | None:
    if not isinstance(code, str) or len(code) > 21:
        return None
    return session.scalars(select(LicenseType).where(LicenseType.code == code)).one_or_none()


def requestable_fields(session: Session, *, license_type: str) -> list[str] | None:
    """The claim paths a platform may ask for of ``license_type``; ``None`` if unknown."""
    row = _type_or_none(session, license_type)
    if row is None:
        return None
    names = list(DIRECTORY_CLAIMS)
    if row.age_over_18_fields:
        names.append(wallet.AGE_OVER_18)
    properties = row.subject_schema.get("properties", {})
    names += [SUBJECT_PREFIX + name for name in properties]
    return names


def service_item_exists(session: Session, *, code: str) -> bool:
    return _service_item(session, code) is not None


def _service_item(session: Session, code: str | None) -> ServiceItem | None:
    if not code or len(code) > 64:
        return None
    return session.scalars(select(ServiceItem).where(ServiceItem.code == code)).one_or_none()


def field_labels(license_type: LicenseType) -> dict[str, tuple[str, str]]:
    """(zh-CN, en) labels of every requestable claim of the type."""
    labels = {name: wallet.CLAIM_LABELS.get(name, (name, name)) for name in DIRECTORY_CLAIMS}
    labels[wallet.AGE_OVER_18] = wallet.CLAIM_LABELS[wallet.AGE_OVER_18]
    template = {
        entry["name"]: (str(entry["zh"]), str(entry["en"]))
        for entry in license_type.display_template.get("fields", [])
    }
    for name in license_type.subject_schema.get("properties", {}):
        zh, en = template.get(name, (name, name))
        labels[SUBJECT_PREFIX + name] = (zh, en)
    return labels


# -- consent ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestedField:
    name: str
    label_zh: str
    label_en: str


@dataclass(frozen=True, slots=True)
class ConsentItem:
    """One license type asked for, as the consent page shows it."""

    license_type: str
    type_name_zh: str
    type_name_en: str
    fields: list[RequestedField]
    purpose: str | None
    service_item: str | None
    service_item_zh: str | None
    service_item_en: str | None
    #: The citizen's license of that type that would be shared (``None``: holds none).
    license_identifier: str | None
    license_number: str | None
    issuer_name: str | None


def consent_items(
    session: Session,
    *,
    registry: Registry,
    holder: wallet.WalletHolder | None,
    requested: Sequence[Mapping[str, Any]],
    audit: AuditHook | None,
) -> list[ConsentItem]:
    """What the consent page shows: per license type, the fields, why, and which of the
    citizen's licenses it is (none without a verified real name: ``holder=None``).
    Claims unbound licenses (flushes; the caller commits)."""
    held = (
        [
            row
            for row in wallet.claim_licenses(session, registry=registry, holder=holder, audit=audit)
            if row.status == LicenseStatus.VALID.value
        ]
        if holder is not None
        else []
    )
    items = []
    for request in requested:
        license_type = catalogue.get_type(session, code=request["license_type"])
        labels = field_labels(license_type)
        item = _service_item(session, request.get("service_item"))
        mine = next((row for row in held if row.type_code == license_type.code), None)
        items.append(
            ConsentItem(
                license_type=license_type.code,
                type_name_zh=license_type.name_zh,
                type_name_en=license_type.name_en,
                fields=[RequestedField(name, *labels[name]) for name in request["fields"]],
                purpose=request.get("purpose"),
                service_item=request.get("service_item"),
                service_item_zh=item.name_zh if item else None,
                service_item_en=item.name_en if item else None,
                license_identifier=mine.identifier if mine else None,
                license_number=mine.license_number if mine else None,
                issuer_name=mine.issuer_name if mine else None,
            )
        )
    return items


def approval_value(license_type: str, name: str) -> str:
    """The consent form's checkbox value for one field of one license type."""
    return f"{license_type}|{name}"


def record_grant(
    session: Session,
    *,
    citizen_subject: str,
    client_id: str,
    client_name: str,
    items: Sequence[ConsentItem],
    approved: Collection[str],
    now: datetime,
    audit: AuditHook,
) -> SharingGrant:
    """Record the citizen's decision: a share per approved license with its approved
    fields. ``approved`` holds :func:`approval_value` strings; anything not asked for is
    refused (422). Flushes; the caller commits."""
    asked = {
        approval_value(item.license_type, requested.name)
        for item in items
        if item.license_identifier is not None
        for requested in item.fields
    }
    stray = sorted(set(approved) - asked)
    if stray:
        raise InvalidShareRequest(
            f"share: {stray[0]!r} was not asked for (or you hold no such license)",
            field="share",
        )
    grant = SharingGrant(
        citizen_subject=citizen_subject,
        client_id=client_id,
        requested=[_detail(item, [f.name for f in item.fields]) for item in items],
        granted=[],
        created_at=now,
    )
    session.add(grant)
    granted = []
    for item in items:
        fields = [
            f.name for f in item.fields if approval_value(item.license_type, f.name) in approved
        ]
        if not fields or item.license_identifier is None:
            continue
        granted.append(_detail(item, fields))
        grant.shares.append(
            Share(
                citizen_subject=citizen_subject,
                client_id=client_id,
                client_name=client_name,
                license_identifier=item.license_identifier,
                license_type=item.license_type,
                fields=fields,
                service_item=item.service_item,
                purpose=item.purpose,
                granted_at=now,
            )
        )
        audit(
            session,
            actor=f"citizen:{citizen_subject}",
            action="license.share.granted",
            subject=item.license_identifier,
            details={"client_id": client_id, "fields": fields},
            now=now,
        )
    grant.granted = granted
    session.flush()
    return grant


def _detail(item: ConsentItem, fields: list[str]) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "type": "govwallet_license",
        "license_type": item.license_type,
        "fields": fields,
    }
    if item.service_item is not None:
        detail["service_item"] = item.service_item
    if item.purpose is not None:
        detail["purpose"] = item.purpose
    return detail


def bind_code(session: Session, *, grant: SharingGrant, code_id: uuid.UUID) -> None:
    """Tie the grant to the authorization code issued with it (the token endpoint's key)."""
    grant.code_id = code_id
    session.flush()


def grant_for_code(session: Session, *, code_id: uuid.UUID) -> SharingGrant | None:
    return session.scalars(
        select(SharingGrant).where(SharingGrant.code_id == code_id)
    ).one_or_none()


# -- the platform's reads --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SharedPresentation:
    share_id: uuid.UUID
    license_identifier: str
    license_type: str
    fields: list[str]
    presentation: str


def _current(session: Session, row: License) -> License:
    """The newest version of a license (a re-issue keeps the share)."""
    for _ in range(100):
        later = session.scalars(select(License).where(License.previous_id == row.id)).first()
        if later is None:
            return row
        row = later
    return row


def read_shared(
    session: Session,
    *,
    registry: Registry,
    holder: wallet.WalletHolder,
    grant: SharingGrant,
    client_id: str,
    nonce: str | None,
    audit: AuditHook,
) -> list[SharedPresentation]:
    """Presentations of exactly the shares of ``grant`` and their fields, each with a
    key-binding JWT (``aud`` = ``client_id``, ``nonce``) signed by the holder key, which
    the citizen delegated to this platform by consenting. Each read is recorded in the
    share's access history and the audit log. Flushes; the caller commits."""
    if nonce is not None and not (
        NONCE_LENGTH[0] <= len(nonce) <= NONCE_LENGTH[1] and wallet.NONCE_PATTERN.match(nonce)
    ):
        raise InvalidShareRequest(
            "nonce: 8 to 200 printable ASCII characters without spaces", field="nonce"
        )
    withdrawn = [share for share in grant.shares if share.withdrawn_at is not None]
    if withdrawn:
        raise ShareWithdrawn(
            f"The citizen withdrew the share of {withdrawn[0].license_identifier} "
            f"on {withdrawn[0].withdrawn_at:%Y-%m-%d %H:%M} UTC; this platform may no "
            "longer read it.",
        )
    now = registry.now()
    signer = holder.key.signer(session)
    out = []
    for share in grant.shares:
        shared = session.scalars(
            select(License).where(License.identifier == share.license_identifier)
        ).first()
        if shared is None:
            raise SharedLicenseGone(
                f"The shared license {share.license_identifier} is no longer held by the registry."
            )
        row = _current(session, shared)
        disclosable = set(wallet.disclosable_claims(row.credential))
        fields = [name for name in share.fields if name in disclosable]
        text = sdjwt.present(
            credential=row.credential,
            disclose=fields,
            holder=signer,
            audience=client_id,
            nonce=nonce or secrets.token_urlsafe(16),
            iat=now,
        )
        session.add(ShareAccess(share=share, license_identifier=row.identifier, read_at=now))
        audit(
            session,
            actor=f"platform:{client_id}",
            action="license.share.read",
            subject=row.identifier,
            details={"share": str(share.id), "fields": fields},
            now=now,
        )
        out.append(
            SharedPresentation(
                share_id=share.id,
                license_identifier=row.identifier,
                license_type=share.license_type,
                fields=fields,
                presentation=text,
            )
        )
    session.flush()
    return out


# -- the citizen's view ----------------------------------------------------------------


def shares_of(session: Session, *, citizen_subject: str) -> list[Share]:
    """Every share of the citizen, newest first, with its reads loaded."""
    return list(
        session.scalars(
            select(Share)
            .where(Share.citizen_subject == citizen_subject)
            .order_by(Share.granted_at.desc(), Share.license_type)
        )
    )


def withdraw(
    session: Session, *, citizen_subject: str, share_id: str, now: datetime, audit: AuditHook
) -> Share:
    """Withdraw one share: the platform's reads fail from now on. Flushes."""
    try:
        wanted = uuid.UUID(share_id)
    except ValueError:
        raise ShareNotFound("share: no such share", field="share") from None
    share = session.get(Share, wanted)
    if share is None or share.citizen_subject != citizen_subject:
        raise ShareNotFound("share: no such share", field="share")
    if share.withdrawn_at is None:
        share.withdrawn_at = now
        audit(
            session,
            actor=f"citizen:{citizen_subject}",
            action="license.share.withdrawn",
            subject=share.license_identifier,
            details={"client_id": share.client_id, "share": str(share.id)},
            now=now,
        )
    session.flush()
    return share


# -- what the OpenID provider is given (identity.oidc.authorization_details protocols) ---


class RequestCatalogue:
    """``LicenseCatalogue``: validates ``govwallet_license`` requests against the registry."""

    def requestable_fields(self, session: Session, *, license_type: str) -> list[str] | None:
        return requestable_fields(session, license_type=license_type)

    def service_item_exists(self, session: Session, *, code: str) -> bool:
        return service_item_exists(session, code=code)


class GrantedDetails:
    """``GrantedDetailsSource``: the details granted with an authorization code."""

    def granted(self, session: Session, *, code_id: uuid.UUID) -> list[dict[str, Any]] | None:
        grant = grant_for_code(session, code_id=code_id)
        return list(grant.granted) if grant is not None else None
