"""The wallet's operations: a citizen's licenses, their rendering, presentations, online links.

The wallet acts for one holder (:class:`WalletHolder`: the identity number the registry
knows them by and their holder key). ``licenses`` never imports ``identity``: the caller
(``wallet_api``) takes the identity number from the authenticated citizen.

Presentations are SD-JWT presentations (RFC 9901 §4, https://www.rfc-editor.org/rfc/rfc9901)
with a key-binding JWT (``iat``, ``aud``, ``nonce``, ``sd_hash``) signed by the holder key.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from keys import FieldCipher, KeyedDigest, MasterSecret
from licenses import catalogue, issuance, qr, sdjwt
from licenses.holder import HolderKey, same_key
from licenses.models import Agency, License, LicenseStatus, LicenseType
from licenses.schemas import Reissue
from licenses.services import Registry
from licenses.wallet.errors import (
    InvalidPresentationRequest,
    LicenseNotPresentable,
    NotYourLicense,
    OnlinePresentationGone,
    OnlinePresentationNotFound,
    UnknownAudience,
)
from licenses.wallet.models import HeldPresentation

AuditHook = Callable[..., object]

#: The claim the registry adds at issuance for types with a birth date
#: (``LicenseType.age_over_18_fields``): ``true`` when the holder is 18 or older.
AGE_OVER_18 = "age_over_18"
#: ``audience`` value meaning "whichever verifier scans it".
ANY_VERIFIER = "any"
NONCE_PATTERN = re.compile(r"^[\x21-\x7e]{8,200}$")
#: The online link: 128 random bits, base64url (22 characters).
LINK_BYTES = 16
LINK_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")
REBIND_REASON = "bound to the holder's wallet key"

#: Labels of the credential's directory claims (docs/license-credential.md), zh-CN and en.
CLAIM_LABELS: dict[str, tuple[str, str]] = {
    "license_type_name": ("证照类型", "License type"),
    "license_number": ("证照编号", "License number"),
    "holder_name": ("持证主体", "Holder"),
    "holder_code": ("持证主体代码", "Holder code"),
    "holder_code_type": ("持证主体代码类型", "Holder code type"),
    "issuing_agency_name": ("颁证单位", "Issuing agency"),
    "issuing_agency_code": ("颁证单位代码", "Issuing agency code"),
    "defining_agency": ("定义机构", "Defining agency"),
    "issue_date": ("颁证日期", "Issue date"),
    "valid_from": ("有效期起始", "Valid from"),
    "valid_until": ("有效期截止", "Valid until"),
    "area_code": ("行政区划代码", "Area code"),
    "service_item": ("关联事项", "Service item"),
    "fields": ("证照信息（全部）", "License fields (all)"),
    AGE_OVER_18: ("已满18周岁", "Aged 18 or over"),
}


@dataclass(frozen=True, slots=True)
class Preset:
    """A named choice of claims to disclose."""

    id: str
    label_zh: str
    label_en: str
    disclose: tuple[str, ...]


PRESET_IDENTITY = "identity"
PRESET_AGE = "age-over-18"
PRESET_ALL = "all"


@dataclass(frozen=True, slots=True)
class WalletHolder:
    """Who the wallet acts for. Build it only from an authenticated citizen."""

    id_number: str
    key: HolderKey
    #: ``citizen:<keyed digest>``: names the citizen in the audit log without the number.
    actor: str


def wallet_holder(registry: Registry, *, id_number: str, key: HolderKey) -> WalletHolder:
    return WalletHolder(
        id_number=id_number,
        key=key,
        actor=f"citizen:{registry.holder_digest.digest(id_number)}",
    )


# -- the citizen's licenses ------------------------------------------------------------


def _current_versions(rows: Sequence[License]) -> list[License]:
    """The newest version of each license (a re-issue supersedes its predecessor)."""
    superseded = {row.previous_id for row in rows if row.previous_id is not None}
    return [row for row in rows if row.id not in superseded]


def _bind(
    session: Session,
    *,
    registry: Registry,
    holder: WalletHolder,
    row: License,
    audit: AuditHook | None,
) -> License:
    """Re-issue a license without the holder's key as a new version bound to it (``cnf``);
    the registry revokes the old version in the same transaction."""
    jwk = holder.key.public_jwk(session)
    if same_key(row.holder_jwk, jwk):
        return row
    if LicenseStatus(row.status) not in {LicenseStatus.VALID, LicenseStatus.SUSPENDED}:
        return row  # nothing to present anyway; the registry would refuse
    agency: Agency = row.agency
    return issuance.reissue(
        session,
        registry=registry,
        agency=agency,
        license_row=row,
        request=Reissue(reason=REBIND_REASON, holder_jwk=jwk),
        audit=audit,
        actor=holder.actor,
    )


def claim_licenses(
    session: Session, *, registry: Registry, holder: WalletHolder, audit: AuditHook | None
) -> list[License]:
    """Every license issued to the holder's identity number — also those issued before
    they registered — newest version each, newest first. A valid license not yet bound to
    the holder key is re-issued bound to it (the wallet "claims" it). Flushes; the caller
    commits."""
    rows = issuance.licenses_of_holder(session, registry=registry, id_number=holder.id_number)
    current = [
        _bind(session, registry=registry, holder=holder, row=row, audit=audit)
        for row in _current_versions(rows)
    ]
    return sorted(current, key=lambda row: (row.issue_date, row.identifier), reverse=True)


def held_license(
    session: Session,
    *,
    registry: Registry,
    holder: WalletHolder,
    identifier: str,
    audit: AuditHook | None,
) -> License:
    """One of the holder's licenses, claimed (bound) if needed. A license of someone else
    answers exactly like an unknown one (404)."""
    row = issuance.get_license(session, identifier=identifier)
    if row.holder_digest != registry.holder_digest.digest(holder.id_number):
        raise NotYourLicense(f"id: no license {identifier} in your wallet", field="id")
    later = session.scalars(select(License).where(License.previous_id == row.id)).first()
    if later is not None:
        raise LicenseNotPresentable(
            f"id: {identifier} was replaced by {later.identifier}", field="id"
        )
    return _bind(session, registry=registry, holder=holder, row=row, audit=audit)


# -- rendering -------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "是 / yes" if value else "否 / no"
    if isinstance(value, list):
        return "、".join(_text(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_text(item)}" for key, item in value.items())
    return str(value)


def _type_of(session: Session, row: License) -> LicenseType:
    return catalogue.get_type(session, code=row.type_code, field="type")


def disclosable_claims(credential: str) -> list[str]:
    """The claim paths a presentation of ``credential`` may disclose: every top-level
    disclosure and every property of ``fields`` (``fields.<name>``), in issuance order."""
    unverified = sdjwt.parse_presentation(credential)
    disclosures = [sdjwt.Disclosure.parse(encoded) for encoded in unverified.disclosures]
    top = set(unverified.unverified_claims.get("_sd", ()))
    nested_in: dict[str, str] = {}
    for disclosure in disclosures:
        if isinstance(disclosure.value, dict):
            for digest in disclosure.value.get("_sd", ()):
                nested_in[digest] = f"{disclosure.name}."
    paths = []
    for disclosure in disclosures:
        if disclosure.name is None:
            continue
        if disclosure.digest in top:
            paths.append(disclosure.name)
        elif disclosure.digest in nested_in:
            paths.append(nested_in[disclosure.digest] + disclosure.name)
    return paths


def presets_for(disclosable: Sequence[str]) -> list[Preset]:
    """The presets this credential allows (the age preset only when it carries the claim)."""
    available = set(disclosable)
    identity = tuple(
        name
        for name in (
            "license_type_name",
            "holder_name",
            "holder_code_type",
            "holder_code",
            "issuing_agency_name",
        )
        if name in available
    )
    presets = [Preset(PRESET_IDENTITY, "证明身份", "Prove identity", identity)]
    if AGE_OVER_18 in available:
        presets.append(
            Preset(
                PRESET_AGE,
                "证明已满18周岁（不含出生日期）",
                "Prove age over 18 (without the birth date)",
                ("license_type_name", AGE_OVER_18),
            )
        )
    presets.append(
        Preset(
            PRESET_ALL,
            "出示全部信息",
            "Show everything",
            tuple(name for name in disclosable if "." not in name),
        )
    )
    return presets


@dataclass(frozen=True, slots=True)
class RenderedField:
    name: str
    label_zh: str
    label_en: str
    value: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": {"zh-CN": self.label_zh, "en": self.label_en},
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class LicenseView:
    """A license as the wallet shows it."""

    identifier: str
    type_code: str
    type_name_zh: str
    type_name_en: str
    status: str
    status_reason: str | None
    issuer_name: str
    issuer_code: str
    license_number: str
    holder_name: str
    issue_date: date
    valid_from: date
    valid_until: date | None
    bound: bool
    fields: list[RenderedField]
    disclosable: list[str]
    presets: list[Preset]
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def presentable(self) -> bool:
        return self.status == LicenseStatus.VALID.value

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.identifier,
            "type": {
                "code": self.type_code,
                "name": {"zh-CN": self.type_name_zh, "en": self.type_name_en},
            },
            "status": {"value": self.status, "reason": self.status_reason},
            "issuer": {"name": self.issuer_name, "credit_code": self.issuer_code},
            "license_number": self.license_number,
            "holder_name": self.holder_name,
            "issue_date": self.issue_date.isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "bound_to_wallet_key": self.bound,
            "fields": [item.as_dict() for item in self.fields],
            "disclosable": [
                {
                    "name": name,
                    "label": {"zh-CN": self.labels[name][0], "en": self.labels[name][1]},
                }
                for name in self.disclosable
            ],
            "presets": [
                {
                    "id": preset.id,
                    "label": {"zh-CN": preset.label_zh, "en": preset.label_en},
                    "disclose": list(preset.disclose),
                }
                for preset in self.presets
            ],
        }


def render_license(
    session: Session, *, registry: Registry, holder: WalletHolder, row: License
) -> LicenseView:
    """Status, issuer, validity and the type's fields with the labels of its display
    template (``LicenseType.display_template``), in Chinese and English."""
    license_type = _type_of(session, row)
    values = issuance.fields_of(registry, row)
    template = license_type.display_template.get("fields", [])
    labelled = {entry["name"]: (str(entry["zh"]), str(entry["en"])) for entry in template}
    rendered = [
        RenderedField(
            entry["name"], str(entry["zh"]), str(entry["en"]), _text(values[entry["name"]])
        )
        for entry in template
        if entry["name"] in values
    ]
    rendered += [
        RenderedField(name, name, name, _text(value))
        for name, value in values.items()
        if name not in labelled
    ]
    disclosable = disclosable_claims(row.credential)
    labels = dict(CLAIM_LABELS)
    for path in disclosable:
        if path.startswith("fields."):
            name = path.removeprefix("fields.")
            zh, en = labelled.get(name, (name, name))
            labels[path] = (f"证照信息：{zh}", f"Field: {en}")
        labels.setdefault(path, (path, path))
    return LicenseView(
        identifier=row.identifier,
        type_code=row.type_code,
        type_name_zh=license_type.name_zh,
        type_name_en=license_type.name_en,
        status=row.status,
        status_reason=row.status_reason if row.status != LicenseStatus.VALID.value else None,
        issuer_name=row.issuer_name,
        issuer_code=row.issuer_code,
        license_number=row.license_number,
        holder_name=row.holder_name,
        issue_date=row.issue_date,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        bound=same_key(row.holder_jwk, holder.key.public_jwk(session)),
        fields=rendered,
        disclosable=disclosable,
        presets=presets_for(disclosable),
        labels=labels,
    )


# -- presentations ---------------------------------------------------------------------


def resolve_audience(session: Session, *, registry: Registry, audience: str | None) -> str:
    """The KB-JWT ``aud``: a named agency's issuer URL (given by credit code or by that URL),
    or, for any verifier, the platform's verify endpoint."""
    if audience is None or audience.strip() in {"", ANY_VERIFIER}:
        return any_verifier_audience(registry)
    wanted = audience.strip()
    for agency in session.scalars(select(Agency)):
        issuer = registry.agency_issuer(agency.credit_code)
        if wanted in {agency.credit_code, issuer}:
            return issuer
    if wanted == any_verifier_audience(registry):
        return wanted
    raise UnknownAudience(
        "audience: name a registered agency (credit code) or 'any' for any verifier",
        field="audience",
    )


def any_verifier_audience(registry: Registry) -> str:
    return f"{registry.platform_issuer}/api/v1/verify"


def choose_claims(view: LicenseView, *, disclose: Sequence[str], preset: str | None) -> list[str]:
    """The preset's claims plus the ones picked; each must be disclosable (422 otherwise)."""
    chosen: list[str] = []
    if preset is not None:
        found = next((p for p in view.presets if p.id == preset), None)
        if found is None:
            raise InvalidPresentationRequest(
                f"preset: {preset!r} is not available for this license; "
                f"choose one of {', '.join(p.id for p in view.presets)}",
                field="preset",
            )
        chosen += found.disclose
    for index, name in enumerate(disclose):
        if name not in view.disclosable:
            raise InvalidPresentationRequest(
                f"disclose[{index}]: the license has no claim {name!r} to disclose",
                field=f"disclose[{index}]",
            )
        chosen.append(name)
    if not chosen:
        raise InvalidPresentationRequest(
            "disclose: choose at least one field (or a preset)", field="disclose"
        )
    return list(dict.fromkeys(chosen))


@dataclass(frozen=True, slots=True)
class Presentation:
    id: uuid.UUID
    license_identifier: str
    presentation: str
    offline_qr: str
    online_url: str
    audience: str
    nonce: str
    disclosed: list[str]
    issued_at: datetime
    #: The key-binding JWT is accepted until then (the verifier's max age).
    expires_at: datetime
    #: The online link works until then, once.
    online_expires_at: datetime


@dataclass(frozen=True)
class OnlineLinks:
    """Digests and ciphers of the held presentations; the public base of ``/p/<link>``."""

    digest: KeyedDigest
    cipher: FieldCipher
    base_url: str

    @classmethod
    def create(cls, *, master: MasterSecret, platform_issuer: str) -> OnlineLinks:
        return cls(
            digest=KeyedDigest(master, "wallet/online-link"),
            cipher=FieldCipher(master, "wallet/held-presentation"),
            base_url=platform_issuer.rstrip("/") + "/p/",
        )

    def link_of(self, url: str) -> str | None:
        """The link token of one of our online URLs, else ``None``."""
        if not url.startswith(self.base_url):
            return None
        token = url[len(self.base_url) :]
        return token if LINK_PATTERN.match(token) else None


def present(
    session: Session,
    *,
    registry: Registry,
    links: OnlineLinks,
    holder: WalletHolder,
    row: License,
    disclose: Sequence[str],
    preset: str | None,
    audience: str | None,
    nonce: str | None,
    lifetime: timedelta,
    online_lifetime: timedelta,
    audit: AuditHook,
) -> Presentation:
    """Sign a presentation of ``row`` with the holder key (call only inside a request the
    citizen made in an authenticated session), hold it for the online QR and audit it.
    Flushes; the caller commits."""
    if row.status != LicenseStatus.VALID.value:
        raise LicenseNotPresentable(
            f"id: the license is {row.status}; it cannot be presented", field="id"
        )
    if nonce is not None and not NONCE_PATTERN.match(nonce):
        raise InvalidPresentationRequest(
            "nonce: 8 to 200 printable ASCII characters without spaces", field="nonce"
        )
    view = render_license(session, registry=registry, holder=holder, row=row)
    claims = choose_claims(view, disclose=disclose, preset=preset)
    aud = resolve_audience(session, registry=registry, audience=audience)
    nonce = nonce or secrets.token_urlsafe(16)
    now = registry.now()
    text = sdjwt.present(
        credential=row.credential,
        disclose=claims,
        holder=holder.key.signer(session),
        audience=aud,
        nonce=nonce,
        iat=now,
    )
    token = secrets.token_urlsafe(LINK_BYTES)
    online_url = qr.encode_online(links.base_url + token)
    held_id = uuid.uuid4()
    session.execute(delete(HeldPresentation).where(HeldPresentation.shown_until < now))
    session.add(
        HeldPresentation(
            id=held_id,
            link_digest=links.digest.digest(token),
            holder_ref=holder.actor,
            license_identifier=row.identifier,
            presentation_encrypted=links.cipher.encrypt_text(text, aad=str(held_id)),
            online_url_encrypted=links.cipher.encrypt_text(online_url, aad=str(held_id)),
            created_at=now,
            expires_at=now + online_lifetime,
            shown_until=now + max(lifetime, online_lifetime),
        )
    )
    audit(
        session,
        actor=holder.actor,
        action="license.presented",
        subject=row.identifier,
        details={"audience": aud, "disclosed": claims},
        now=now,
    )
    session.flush()
    return Presentation(
        id=held_id,
        license_identifier=row.identifier,
        presentation=text,
        offline_qr=qr.encode_offline(text),
        online_url=online_url,
        audience=aud,
        nonce=nonce,
        disclosed=claims,
        issued_at=now,
        expires_at=now + lifetime,
        online_expires_at=now + online_lifetime,
    )


def disclosed_names(presentation: str) -> list[str]:
    """The claim names a presentation discloses (for showing the citizen what they gave)."""
    unverified = sdjwt.parse_presentation(presentation)
    names = [sdjwt.Disclosure.parse(encoded).name for encoded in unverified.disclosures]
    return [name for name in names if name is not None]


def shown_presentation(
    session: Session,
    *,
    registry: Registry,
    links: OnlineLinks,
    holder: WalletHolder,
    license_identifier: str,
    presentation_id: str,
) -> tuple[str, str]:
    """(presentation, online URL) of one of the holder's recent presentations, for its QR
    images; 404 once it is past ``shown_until`` or not theirs."""
    try:
        held_id = uuid.UUID(presentation_id)
    except ValueError:
        raise OnlinePresentationNotFound(
            "presentation: no such presentation", field="presentation"
        ) from None
    row = session.get(HeldPresentation, held_id)
    if (
        row is None
        or row.holder_ref != holder.actor
        or row.license_identifier != license_identifier
        or _aware(row.shown_until) <= registry.now()
    ):
        raise OnlinePresentationNotFound(
            "presentation: no such presentation (they are kept a few minutes)",
            field="presentation",
        )
    return (
        links.cipher.decrypt_text(row.presentation_encrypted, aad=str(held_id)),
        links.cipher.decrypt_text(row.online_url_encrypted, aad=str(held_id)),
    )


def take_online(session: Session, *, registry: Registry, links: OnlineLinks, token: str) -> str:
    """The presentation behind an online link, exactly once and only in time. The claim is
    one conditional UPDATE, so two app nodes racing for the same link cannot both win.
    Flushes; the caller commits."""
    if not LINK_PATTERN.match(token):
        raise OnlinePresentationNotFound("qr: no such online presentation", field="qr")
    now = registry.now()
    digest = links.digest.digest(token)
    claimed = session.execute(
        update(HeldPresentation)
        .where(
            HeldPresentation.link_digest == digest,
            HeldPresentation.consumed_at.is_(None),
            HeldPresentation.expires_at > now,
        )
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    row = session.scalars(
        select(HeldPresentation).where(HeldPresentation.link_digest == digest)
    ).one_or_none()
    if row is None:
        raise OnlinePresentationNotFound(
            "qr: no such online presentation (it may have been removed after it expired)",
            field="qr",
        )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        if row.consumed_at is not None:
            raise OnlinePresentationGone(
                "qr: this online QR code was already used; ask the citizen for a new one",
                reason="already-used",
            )
        raise OnlinePresentationGone(
            "qr: this online QR code has expired; ask the citizen for a new one",
            reason="expired",
        )
    return links.cipher.decrypt_text(row.presentation_encrypted, aad=str(row.id))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
