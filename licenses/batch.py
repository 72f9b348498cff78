"""Issuing many licenses at once: what :func:`licenses.issuance.issue` does, per batch.

A batch goes through three stages, each in a session of its own so that a caller (the
bulk import, :mod:`licenses.bulk`) can sign one batch while the one before it is being
written: :func:`check_batch` (one query for the batch's idempotency keys, the catalogue
read once, every check of a single issue), :func:`sign_batch` (the credentials, on
status entries reserved for the batch by :func:`licenses.status.allocate`) and
:func:`write_batch` (one multi-row ``INSERT`` each for the licenses, their keys and their
audit entries). An item that fails a check is refused alone; the others are issued.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licenses.audit.services import CheckedEntry, EntryDraft, append_checked
from licenses.codes import RegistryError
from licenses.copy_rows import insert_rows
from licenses.errors import CredentialError
from licenses.issuance import (
    AuditHook,
    CheckedRequest,
    authorised_type,
    check_key,
    check_replay,
    check_request,
    first_version,
    issue,
    issued_entry,
    request_hash,
    write_audit,
)
from licenses.models import Agency, IdempotencyKey, License, LicenseType
from licenses.schemas import LicenseCreate
from licenses.services import Registry
from licenses.status import StatusEntry, allocate


class LicenseNotStored(RegistryError):
    """A batch item the database refused although every check passed (a constraint)."""

    code = "license-not-stored"
    status = 409


@dataclass(frozen=True, slots=True)
class BatchItem:
    request: LicenseCreate
    idempotency_key: str | None = None


#: What a batch answers per item: ``None`` when issued (or replayed), else why not.
Refusal = RegistryError | CredentialError


@dataclass(slots=True)
class Batch:
    """A batch on its way: checked (:func:`check_batch`), signed (:func:`sign_batch`),
    written (:func:`write_batch`). Each stage runs in a session of its own, so a caller
    can sign one batch while the one before it is being written."""

    items: Sequence[BatchItem]
    results: list[Refusal | None]
    hashes: list[str]
    #: The items to issue, with what their checks produced.
    todo: list[tuple[int, CheckedRequest]] = dataclasses.field(default_factory=list)
    #: Items whose key an earlier item of the batch holds: issued alone after it.
    later: list[int] = dataclasses.field(default_factory=list)
    #: Column values of the licenses and idempotency keys, once signed.
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    keys: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def check_batch(
    session: Session, *, registry: Registry, agency: Agency, items: Sequence[BatchItem]
) -> Batch:
    """Every check :func:`issue` makes, for a batch: one query for its idempotency keys
    (a replay is answered at once), the catalogue entries read once. Reads only."""
    batch = Batch(
        items=items,
        results=[None] * len(items),
        hashes=[request_hash(item.request.model_dump(mode="json")) for item in items],
    )
    records = _known_keys(session, agency=agency, items=items)
    known: dict[str, LicenseType] = {}
    claimed: set[str] = set()
    for position, item in enumerate(items):
        key = item.idempotency_key
        try:
            if key is not None:
                check_key(key)
                if key in records:
                    check_replay(records[key], body_hash=batch.hashes[position])
                    continue
                if key in claimed:
                    batch.later.append(position)
                    continue
            license_type = authorised_type(
                session, agency=agency, type_code=item.request.type, known=known
            )
            checked = check_request(item.request, registry=registry, license_type=license_type)
        except RegistryError as exc:
            batch.results[position] = exc
            continue
        if key is not None:
            claimed.add(key)
        batch.todo.append((position, checked))
    return batch


def sign_items(
    session: Session,
    *,
    registry: Registry,
    agency: Agency,
    todo: Sequence[CheckedRequest],
    entries: Sequence[StatusEntry],
) -> list[dict[str, Any] | Refusal]:
    """The column values (signed credential included) of each checked request on its
    reserved status entry, or why it could not be signed. Reads nothing but the signing
    key (cached by the key store), so it can run in another process
    (:mod:`licenses.bulk_signing`)."""
    salts = _Salts()
    signed: list[dict[str, Any] | Refusal] = []
    for checked, entry in zip(todo, entries, strict=True):
        try:
            signed.append(
                first_version(
                    session,
                    registry=registry,
                    agency=agency,
                    checked=checked,
                    entry=entry,
                    salts=salts,
                )
            )
        except (RegistryError, CredentialError) as exc:
            signed.append(exc)  # its entry stays unused, VALID and unreferenced
    return signed


def sign_batch(
    session: Session | None,
    *,
    registry: Registry,
    agency: Agency,
    batch: Batch,
    entries: Sequence[StatusEntry],
    signed: Sequence[dict[str, Any] | Refusal] | None = None,
) -> None:
    """Build and sign every license of ``batch.todo`` on its reserved status entry
    (:func:`licenses.status.allocate` with ``count=len(batch.todo)``), or take what
    :func:`sign_items` made elsewhere (``signed``). The session is only for the signing
    key, which the key store caches."""
    now = registry.now()
    if signed is None:
        assert session is not None
        signed = sign_items(
            session,
            registry=registry,
            agency=agency,
            todo=[checked for _, checked in batch.todo],
            entries=entries,
        )
    for (position, _), values in zip(batch.todo, signed, strict=True):
        if not isinstance(values, dict):
            batch.results[position] = values
            continue
        batch.rows.append(values)
        key = batch.items[position].idempotency_key
        if key is not None:
            batch.keys.append(
                {
                    "id": uuid.uuid4(),
                    "agency_id": agency.id,
                    "key": key,
                    "request_hash": batch.hashes[position],
                    "license_id": values["id"],
                    "created_at": now,
                }
            )


def write_batch(
    session: Session,
    *,
    registry: Registry,
    agency: Agency,
    batch: Batch,
    audit: AuditHook | None = None,
    audit_entries: Sequence[CheckedEntry] | None = None,
) -> list[Refusal | None]:
    """Insert a signed batch: the licenses, their keys and audit entries with one multi-row
    ``INSERT`` each, in one savepoint. If that hits a constraint (say a concurrent request
    took one of the keys), the savepoint is rolled back and each item is issued by
    :func:`issue` in a savepoint of its own, so the good ones still land and the bad one
    is refused. Flushes; the caller commits. Answers each item's refusal or ``None``.

    ``audit_entries``: the rows' audit entries already checked
    (:func:`licenses.issuance.checked_audit`), appended as they are.
    """
    try:
        with session.begin_nested():
            insert_rows(session, License.__table__, batch.rows)
            insert_rows(session, IdempotencyKey.__table__, batch.keys)
            if audit_entries is not None:
                append_checked(session, audit_entries)
            else:
                write_audit(session, audit, issued_entries(agency, batch), now=registry.now())
    except IntegrityError:
        alone = [position for position, _ in batch.todo if batch.results[position] is None]
    else:
        alone = []
    for position in [*alone, *batch.later]:
        batch.results[position] = _issue_alone(
            session, registry=registry, agency=agency, item=batch.items[position], audit=audit
        )
    return batch.results


def issued_entries(agency: Agency, batch: Batch) -> list[EntryDraft]:
    """The audit entries of a signed batch's licenses, in order."""
    return [issued_entry(agency, values) for values in batch.rows]


def issue_many(
    session: Session,
    *,
    registry: Registry,
    agency: Agency,
    items: Sequence[BatchItem],
    audit: AuditHook | None = None,
) -> list[Refusal | None]:
    """Issue each item as :func:`issue` would, in a few statements for the whole batch
    (the three stages in one session). Flushes; the caller commits."""
    batch = check_batch(session, registry=registry, agency=agency, items=items)
    entries = allocate(session, now=registry.now(), count=len(batch.todo))
    sign_batch(session, registry=registry, agency=agency, batch=batch, entries=entries)
    return write_batch(session, registry=registry, agency=agency, batch=batch, audit=audit)


def _known_keys(
    session: Session, *, agency: Agency, items: Sequence[BatchItem]
) -> dict[str, IdempotencyKey]:
    keys = sorted({item.idempotency_key for item in items if item.idempotency_key is not None})
    if not keys:
        return {}
    query = select(IdempotencyKey).where(IdempotencyKey.agency_id == agency.id)
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter joined by the unique (agency_id, key) index. ``key IN
        # (:k1, ... :k1000)`` became a prepared statement whose generic plan compared
        # every row of the agency against the 1,000 parameters one by one: a chunk's
        # lookup took over a second at 80,000 keys and grew with the table.
        wanted = (
            func.unnest(bindparam("wanted_keys", keys, type_=ARRAY(String(255))))
            .table_valued("key")
            .render_derived(name="wanted")
        )
        query = query.join(wanted, IdempotencyKey.key == wanted.c.key)
    else:
        query = query.where(IdempotencyKey.key.in_(keys))
    return {row.key: row for row in session.scalars(query)}


class _Salts:
    """SD-JWT salts cut from one ``os.urandom`` read per 256 of them instead of a system
    call per disclosure: each is still fresh CSPRNG output and used once."""

    _SIZE = 16
    _COUNT = 256

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def __call__(self) -> bytes:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(self._SIZE * self._COUNT), 0
        self._at += self._SIZE
        return self._pool[self._at - self._SIZE : self._at]


def _issue_alone(
    session: Session,
    *,
    registry: Registry,
    agency: Agency,
    item: BatchItem,
    audit: AuditHook | None,
) -> Refusal | None:
    try:
        with session.begin_nested():
            issue(
                session,
                registry=registry,
                agency=agency,
                request=item.request,
                idempotency_key=item.idempotency_key,
                audit=audit,
            )
    except (RegistryError, CredentialError) as exc:
        return exc
    except IntegrityError as exc:
        return LicenseNotStored(
            f"could not be stored: {type(exc.orig).__name__ if exc.orig else 'constraint'}"
        )
    return None
