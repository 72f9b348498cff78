"""Issuing licenses: validation, identifier, status entry, the signed credential, idempotency.

The credential is an SD-JWT VC built by :func:`licenses.sdjwt.issue_credential`
(docs/license-credential.md): every directory field and every subject field
selectively disclosable, ``license_id`` always visible, a ``status`` claim pointing at
the license's status-list entry, and ``cnf`` when the holder has a wallet key.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licenses import catalogue, identifiers, sdjwt
from licenses.audit.services import (
    CheckedEntry,
    EntryDraft,
    append_entries,
    append_entry,
    check_drafts,
)
from licenses.codes import (
    HOLDER_CODE_TYPE_RESIDENT_ID,
    RegistryError,
    validate_id_number,
    validate_region_code,
)
from licenses.jose import import_public_jwk
from licenses.models import Agency, IdempotencyKey, License, LicenseStatus, LicenseType
from licenses.schemas import LicenseCreate, Reissue
from licenses.services import AGENCY_ALG, Registry
from licenses.status import (
    InvalidStatusTransition,
    StatusEntry,
    allocate,
    change_status,
    lock_license,
    status_claim,
)

AuditHook = Callable[..., object]
_SERIAL_ALPHABET = string.digits + string.ascii_uppercase
_SERIAL_RANDOM = 12
_SERIAL_SPACE = len(_SERIAL_ALPHABET) ** _SERIAL_RANDOM


class NotAuthorisedForType(RegistryError):
    code = "not-authorised-for-type"
    status = 403


class IdempotencyKeyReused(RegistryError):
    """The same ``Idempotency-Key`` came with a different request body."""

    code = "idempotency-key-reused"
    status = 422


class InvalidIdempotencyKey(RegistryError):
    code = "invalid-idempotency-key"
    status = 400


class LicenseNotFound(RegistryError):
    code = "license-not-found"
    status = 404


class InvalidHolder(RegistryError):
    code = "invalid-holder"
    status = 422


class InvalidHolderKey(RegistryError):
    code = "invalid-holder-key"
    status = 422


@dataclass(frozen=True, slots=True)
class IssueOutcome:
    license: License
    #: True when an earlier request with the same ``Idempotency-Key`` issued it.
    replayed: bool


def request_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_serial(today: date) -> str:
    """``YYYYMMDD`` + 12 random ``[0-9A-Z]``: unique without a shared counter.

    One draw below 36**12 written in base 36: the same distribution as 12 draws of a
    character, one system call instead of twelve.
    """
    number = secrets.randbelow(_SERIAL_SPACE)
    tail = []
    for _ in range(_SERIAL_RANDOM):
        number, digit = divmod(number, len(_SERIAL_ALPHABET))
        tail.append(_SERIAL_ALPHABET[digit])
    return f"{today:%Y%m%d}{''.join(tail)}"


def _as_datetime(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _check_holder_jwk(jwk: dict[str, Any] | None, *, field: str) -> dict[str, Any] | None:
    """The holder's wallet key for ``cnf``: a usable public JWK (private members refused)."""
    if jwk is None:
        return None
    try:
        import_public_jwk(jwk)
    except (ValueError, TypeError, KeyError, JoseError) as exc:
        raise InvalidHolderKey(f"{field}: not a usable public JWK ({exc})", field=field) from exc
    return dict(jwk)


def authorised_type(
    session: Session,
    *,
    agency: Agency,
    type_code: str,
    known: dict[str, LicenseType] | None = None,
) -> LicenseType:
    """The catalogue entry, if the agency may issue it; ``known`` caches it for a batch."""
    license_type = known.get(type_code) if known is not None else None
    if license_type is None:
        license_type = catalogue.get_type(session, code=type_code, field="type")
        if known is not None:
            known[type_code] = license_type
    if license_type.code not in {t.code for t in agency.license_types}:
        raise NotAuthorisedForType(
            f"type: {agency.name} is not authorised to issue {license_type.code} "
            f"({license_type.name_en})",
            field="type",
        )
    return license_type


def _credential(
    session: Session,
    *,
    registry: Registry,
    values: Mapping[str, Any],
    key_owner: str,
    list_id: str,
    license_type: LicenseType,
    holder_code: str,
    fields: dict[str, Any],
    salts: Callable[[], bytes] | None = None,
) -> str:
    """The signed SD-JWT VC of a license version, from its column ``values``."""
    valid_from: date = values["valid_from"]
    valid_until: date | None = values["valid_until"]
    claims: dict[str, Any] = {
        "license_type_name": license_type.name_zh,
        "license_number": values["license_number"],
        "holder_name": values["holder_name"],
        "holder_code": holder_code,
        "holder_code_type": values["holder_code_type"],
        "issuing_agency_name": values["issuer_name"],
        "issuing_agency_code": values["issuer_code"],
        "defining_agency": license_type.defining_agency_name,
        "issue_date": values["issue_date"].isoformat(),
        "valid_from": valid_from.isoformat(),
        "area_code": values["area_code"],
        "fields": fields,
    }
    if valid_until is not None:
        claims["valid_until"] = valid_until.isoformat()
    if values["service_item"]:
        claims["service_item"] = values["service_item"]
    over_18 = age_over_18(license_type, fields, today=registry.today())
    if over_18 is not None:
        claims["age_over_18"] = over_18
    issued = sdjwt.issue_credential(
        signer=registry.keystore.signer(session, owner=key_owner, alg=AGENCY_ALG),
        iss=registry.agency_issuer(values["issuer_code"]),
        vct=license_type.code,
        claims=claims,
        always_visible={"license_id": values["identifier"]},
        iat=registry.now(),
        nbf=_as_datetime(valid_from),
        exp=_as_datetime(valid_until) if valid_until else None,
        status=status_claim(registry, list_id=list_id, index=values["status_index"]),
        cnf_jwk=values["holder_jwk"],
        salt_source=salts,
    )
    return issued.credential


def age_over_18(license_type: LicenseType, fields: dict[str, Any], *, today: date) -> bool | None:
    """A derived, selectively disclosable claim for types with a birth date
    (``age_over_18_fields``), so the holder can prove majority without disclosing the
    date; ``None`` when the type has none. Computed at issuance (a re-issue refreshes it)."""
    for name in license_type.age_over_18_fields:
        value = fields.get(name)
        if not isinstance(value, str):
            continue
        try:
            born = date.fromisoformat(value)
        except ValueError:
            continue
        return catalogue.add_years(born, 18) <= today
    return None


def status_claim_for(registry: Registry, row: License) -> dict[str, Any]:
    return status_claim(registry, list_id=row.status_list.list_id, index=row.status_index)


def _find_idempotent(session: Session, *, agency: Agency, key: str) -> IdempotencyKey | None:
    return session.scalars(
        select(IdempotencyKey).where(
            IdempotencyKey.agency_id == agency.id, IdempotencyKey.key == key
        )
    ).one_or_none()


def check_key(idempotency_key: str) -> None:
    if not 1 <= len(idempotency_key) <= 255 or not idempotency_key.isprintable():
        raise InvalidIdempotencyKey(
            "Idempotency-Key: 1 to 255 printable characters", field="Idempotency-Key"
        )


def check_replay(record: IdempotencyKey, *, body_hash: str) -> None:
    if record.request_hash != body_hash:
        raise IdempotencyKeyReused(
            "Idempotency-Key: this key was used with a different request body; "
            "use a new key for a new license",
            field="Idempotency-Key",
        )


def _replay(session: Session, *, record: IdempotencyKey, body_hash: str) -> IssueOutcome:
    check_replay(record, body_hash=body_hash)
    return IssueOutcome(session.get_one(License, record.license_id), replayed=True)


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    """A request that passed every check: what its license row and credential are made of."""

    license_type: LicenseType
    holder_code: str
    holder_name: str
    holder_jwk: dict[str, Any] | None
    fields: dict[str, Any]
    area_code: str
    valid_from: date
    valid_until: date | None
    service_item: str | None
    license_number: str | None


def check_request(
    request: LicenseCreate,
    *,
    registry: Registry,
    license_type: LicenseType,
    field_prefix: str = "",
) -> CheckedRequest:
    """Every check of a request after its type (no database access); the first failure raises."""

    def name(field: str) -> str:
        return f"{field_prefix}{field}"

    today = registry.today()
    holder_code = validate_id_number(
        request.holder.id_number, field=name("holder.id_number"), today=today
    )
    holder_name = request.holder.name.strip()
    if not holder_name:
        raise InvalidHolder(f"{name('holder.name')}: must not be blank", field=name("holder.name"))
    holder_jwk = _check_holder_jwk(request.holder.jwk, field=name("holder.jwk"))
    catalogue.validate_fields(license_type, request.fields, field=name("fields"))
    area_code = validate_region_code(request.area_code, field=name("area_code"))
    valid_from = request.valid_from or today
    valid_until = catalogue.validity_period(
        license_type, valid_from=valid_from, valid_until=request.valid_until
    )
    if valid_until is not None and valid_until <= today:
        raise catalogue.InvalidValidity(
            f"{name('valid_until')}: the license would already have expired",
            field=name("valid_until"),
        )
    return CheckedRequest(
        license_type=license_type,
        holder_code=holder_code,
        holder_name=holder_name,
        holder_jwk=holder_jwk,
        fields=request.fields,
        area_code=area_code,
        valid_from=valid_from,
        valid_until=valid_until,
        service_item=request.service_item,
        license_number=request.license_number,
    )


def first_version(
    session: Session,
    *,
    registry: Registry,
    agency: Agency,
    checked: CheckedRequest,
    entry: StatusEntry,
    salts: Callable[[], bytes] | None = None,
) -> dict[str, Any]:
    """The column values (signed credential included) of a new license."""
    serial = new_serial(registry.today())
    # Every part comes from the registry itself (a catalogue code, the agency's checked
    # credit code, a fresh serial), so :func:`identifiers.build` need not check them again.
    identifier = identifiers.LicenseIdentifier(
        checked.license_type.code, agency.credit_code, serial, 1
    )
    return _license_values(
        session,
        registry=registry,
        agency=agency,
        license_type=checked.license_type,
        identifier=identifier,
        entry=entry,
        holder_code=checked.holder_code,
        holder_name=checked.holder_name,
        holder_jwk=checked.holder_jwk,
        fields=checked.fields,
        valid_from=checked.valid_from,
        valid_until=checked.valid_until,
        area_code=checked.area_code,
        service_item=checked.service_item,
        license_number=checked.license_number or serial,
        salts=salts,
    )


def _persist(
    session: Session, values: Mapping[str, Any], *, agency: Agency, entry: StatusEntry
) -> License:
    """Add one license version to the session (flushed)."""
    row = License(**values)
    row.agency = agency
    row.status_list = entry.list_row
    session.add(row)
    session.flush()
    return row


def issued_entry(agency: Agency, values: Mapping[str, Any]) -> EntryDraft:
    return EntryDraft(
        actor=f"agency:{agency.credit_code}",
        action="license.issued",
        subject=values["identifier"],
        details={"type": values["type_code"], "version": 1, "status_index": values["status_index"]},
    )


def checked_audit(
    audit: AuditHook | None, drafts: Sequence[EntryDraft], *, now: datetime
) -> list[CheckedEntry] | None:
    """The entries :func:`write_audit` would append with the registry's own hook, checked
    now, without the database (a bulk import checks them before its writer takes the
    chain's head); ``None`` for any other hook, which is called per entry when written."""
    if audit is not append_entry:
        return None
    return check_drafts(drafts, now=now)


def write_audit(
    session: Session, audit: AuditHook | None, drafts: Sequence[EntryDraft], *, now: datetime
) -> None:
    """The registry's own hook writes a batch at once; any other is called per entry."""
    if audit is None or not drafts:
        return
    if audit is append_entry:
        append_entries(session, drafts, now=now)
        return
    for draft in drafts:
        audit(
            session,
            actor=draft.actor,
            action=draft.action,
            subject=draft.subject,
            details=draft.details,
            now=now,
        )


def issue(
    session: Session,
    *,
    registry: Registry,
    agency: Agency,
    request: LicenseCreate,
    idempotency_key: str | None = None,
    audit: AuditHook | None = None,
    field_prefix: str = "",
) -> IssueOutcome:
    """Validate and issue one license (flushes; the caller commits)."""
    body_hash = request_hash(request.model_dump(mode="json"))
    if idempotency_key is not None:
        check_key(idempotency_key)
        record = _find_idempotent(session, agency=agency, key=idempotency_key)
        if record is not None:
            return _replay(session, record=record, body_hash=body_hash)
    license_type = authorised_type(session, agency=agency, type_code=request.type)
    checked = check_request(
        request, registry=registry, license_type=license_type, field_prefix=field_prefix
    )
    try:
        # One savepoint for the license and its key: if a concurrent request with the same
        # key committed first, both vanish and that request's license is the answer.
        with session.begin_nested():
            (entry,) = allocate(session, now=registry.now())
            values = first_version(
                session, registry=registry, agency=agency, checked=checked, entry=entry
            )
            row = _persist(session, values, agency=agency, entry=entry)
            if idempotency_key is not None:
                session.add(
                    IdempotencyKey(
                        agency_id=agency.id,
                        key=idempotency_key,
                        request_hash=body_hash,
                        license_id=row.id,
                        created_at=registry.now(),
                    )
                )
                session.flush()
    except IntegrityError:
        record = (
            _find_idempotent(session, agency=agency, key=idempotency_key)
            if idempotency_key is not None
            else None
        )
        if record is None:
            raise
        return _replay(session, record=record, body_hash=body_hash)
    write_audit(session, audit, [issued_entry(agency, values)], now=registry.now())
    return IssueOutcome(row, replayed=False)


def _license_values(
    session: Session,
    *,
    registry: Registry,
    agency: Agency,
    license_type: LicenseType,
    identifier: identifiers.LicenseIdentifier,
    entry: StatusEntry,
    holder_code: str,
    holder_name: str,
    holder_jwk: dict[str, Any] | None,
    fields: dict[str, Any],
    valid_from: date,
    valid_until: date | None,
    area_code: str,
    service_item: str | None,
    license_number: str,
    previous: License | None = None,
    salts: Callable[[], bytes] | None = None,
) -> dict[str, Any]:
    """Every column of a license version, its signed credential included."""
    text_id = str(identifier)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "identifier": text_id,
        "type_code": license_type.code,
        "type_name": license_type.name_zh,
        "license_number": license_number,
        "serial": identifier.serial,
        "version": identifier.version,
        "agency_id": agency.id,
        "issuer_name": agency.name,
        "issuer_code": agency.credit_code,
        "defining_agency_name": license_type.defining_agency_name,
        "holder_name": holder_name,
        "holder_code_type": HOLDER_CODE_TYPE_RESIDENT_ID,
        "holder_digest": registry.holder_digest.digest(holder_code),
        "holder_code_encrypted": registry.holder_cipher.encrypt_text(holder_code, aad=text_id),
        "fields_encrypted": registry.fields_cipher.encrypt_text(
            json.dumps(fields, ensure_ascii=False), aad=text_id
        ),
        "holder_jwk": holder_jwk,
        "issue_date": registry.today(),
        "valid_from": valid_from,
        "valid_until": valid_until,
        "area_code": area_code,
        "service_item": service_item,
        "status": LicenseStatus.VALID.value,
        "status_reason": None,
        "status_changed_at": None,
        "status_list_id": entry.list_row.id,
        "status_index": entry.index,
        "previous_id": previous.id if previous is not None else None,
        "created_at": registry.now(),
    }
    values["credential"] = _credential(
        session,
        registry=registry,
        values=values,
        key_owner=agency.key_owner,
        list_id=entry.list_row.list_id,
        license_type=license_type,
        holder_code=holder_code,
        fields=fields,
        salts=salts,
    )
    return values


def get_license(
    session: Session, *, identifier: str, agency: Agency | None = None, field: str = "id"
) -> License:
    """A license by its identifier (400/422 if malformed, 404 if unknown or not the agency's)."""
    identifiers.parse(identifier, field=field)
    row = session.scalars(select(License).where(License.identifier == identifier)).one_or_none()
    if row is None or (agency is not None and row.agency_id != agency.id):
        raise LicenseNotFound(f"{field}: no license {identifier}", field=field)
    return row


def holder_code_of(registry: Registry, row: License) -> str:
    return registry.holder_cipher.decrypt_text(row.holder_code_encrypted, aad=row.identifier)


def fields_of(registry: Registry, row: License) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(
        registry.fields_cipher.decrypt_text(row.fields_encrypted, aad=row.identifier)
    )
    return value


def reissue(
    session: Session,
    *,
    registry: Registry,
    agency: Agency,
    license_row: License,
    request: Reissue,
    audit: AuditHook | None = None,
    actor: str | None = None,
) -> License:
    """A new version with the same serial; the old version is revoked in the same transaction."""
    lock_license(session, license_row=license_row)
    if LicenseStatus(license_row.status) not in {LicenseStatus.VALID, LicenseStatus.SUSPENDED}:
        raise InvalidStatusTransition(
            f"cannot reissue a license that is {license_row.status}", field="status"
        )
    license_type = authorised_type(session, agency=agency, type_code=license_row.type_code)
    fields = request.fields if request.fields is not None else fields_of(registry, license_row)
    catalogue.validate_fields(license_type, fields, field="fields")
    valid_from = request.valid_from or license_row.valid_from
    valid_until = catalogue.validity_period(
        license_type,
        valid_from=valid_from,
        valid_until=request.valid_until
        if request.valid_until is not None or request.valid_from is not None
        else license_row.valid_until,
    )
    holder_jwk = (
        _check_holder_jwk(request.holder_jwk, field="holder_jwk")
        if request.holder_jwk is not None
        else license_row.holder_jwk
    )
    new_identifier = identifiers.parse(license_row.identifier).next_version()
    change_status(
        session,
        registry=registry,
        license_row=license_row,
        action="revoke",
        reason=f"superseded by version {new_identifier.version:03d}: {request.reason}",
        audit=None,
    )
    (entry,) = allocate(session, now=registry.now())
    values = _license_values(
        session,
        registry=registry,
        agency=agency,
        license_type=license_type,
        identifier=new_identifier,
        entry=entry,
        holder_code=holder_code_of(registry, license_row),
        holder_name=request.holder_name or license_row.holder_name,
        holder_jwk=holder_jwk,
        fields=fields,
        valid_from=valid_from,
        valid_until=valid_until,
        area_code=license_row.area_code,
        service_item=license_row.service_item,
        license_number=license_row.license_number,
        previous=license_row,
    )
    row = _persist(session, values, agency=agency, entry=entry)
    if audit is not None:
        audit(
            session,
            actor=actor or f"agency:{agency.credit_code}",
            action="license.reissued",
            subject=row.identifier,
            details={"previous": license_row.identifier, "reason": request.reason},
            now=registry.now(),
        )
    return row


def licenses_of_holder(session: Session, *, registry: Registry, id_number: str) -> list[License]:
    """Every license version held by the owner of ``id_number`` (by keyed digest)."""
    digest = registry.holder_digest.digest(id_number)
    return list(
        session.scalars(
            select(License)
            .where(License.holder_digest == digest)
            .order_by(License.created_at, License.identifier)
        )
    )


def status_public(row: License, registry: Registry) -> dict[str, Any]:
    return {
        "value": row.status,
        "reason": row.status_reason,
        "changed_at": row.status_changed_at.isoformat() if row.status_changed_at else None,
        "status_list": status_claim_for(registry, row)["status_list"],
    }


def license_public(row: License, registry: Registry, *, for_issuer: bool) -> dict[str, Any]:
    """The directory entry (ARCHITECTURE.md "license directory fields") and the credential.

    ``for_issuer`` adds what only the issuing agency may read back: the holder's identity
    number and the subject fields.
    """
    holder: dict[str, Any] = {"name": row.holder_name, "code_type": row.holder_code_type}
    if for_issuer:
        holder["id_number"] = holder_code_of(registry, row)
    entry: dict[str, Any] = {
        "id": row.identifier,
        "type": row.type_code,
        "type_name": row.type_name,
        "license_number": row.license_number,
        "serial": row.serial,
        "version": row.version,
        "holder": holder,
        "issuing_agency": {"name": row.issuer_name, "credit_code": row.issuer_code},
        "defining_agency": row.defining_agency_name,
        "issue_date": row.issue_date.isoformat(),
        "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "area_code": row.area_code,
        "service_item": row.service_item,
        "status": status_public(row, registry),
        "previous_version": row.previous.identifier if row.previous is not None else None,
        "credential": row.credential,
    }
    if for_issuer:
        entry["fields"] = fields_of(registry, row)
    return entry
