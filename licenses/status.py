"""License status: the registry's status changes and the status lists that publish them.

IETF Token Status List, https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/ —
2 bits per license: ``0`` VALID, ``1`` INVALID (revoked, cancelled, withdrawn, superseded),
``2`` SUSPENDED. The encoding and the signed ``statuslist+jwt`` come from
:mod:`licenses.statuslist`; this module keeps the bits in the database and changes
them **in the same transaction as the license's status**, so the published list never
disagrees with the registry.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from licenses import statuslist
from licenses.codes import RegistryError
from licenses.models import License, LicenseStatus, StatusList

if TYPE_CHECKING:
    from licenses.services import Registry

V = TypeVar("V")

#: The platform's own key-store owner: it signs status lists and the trust list.
PLATFORM_OWNER = "provider"
PLATFORM_ALG = "ES256"
#: Entries per list: 2 bits each, so 16 KiB uncompressed.
LIST_CAPACITY = 65_536
#: Status List Token lifetime and the ``ttl`` hint to verifiers.
TOKEN_LIFETIME = timedelta(hours=24)
TOKEN_TTL = timedelta(minutes=5)

VALID, INVALID, SUSPENDED = 0, 1, 2

#: The status-list value that publishes each registry status.
LIST_VALUE = {
    LicenseStatus.VALID: VALID,
    LicenseStatus.SUSPENDED: SUSPENDED,
    LicenseStatus.REVOKED: INVALID,
    LicenseStatus.CANCELLED: INVALID,
    LicenseStatus.WITHDRAWN: INVALID,
    LicenseStatus.EXPIRED: INVALID,
}

#: Allowed transitions: action -> (statuses it applies to, resulting status).
TRANSITIONS: dict[str, tuple[frozenset[LicenseStatus], LicenseStatus]] = {
    "suspend": (frozenset({LicenseStatus.VALID}), LicenseStatus.SUSPENDED),
    "reinstate": (frozenset({LicenseStatus.SUSPENDED}), LicenseStatus.VALID),
    "revoke": (frozenset({LicenseStatus.VALID, LicenseStatus.SUSPENDED}), LicenseStatus.REVOKED),
    "cancel": (
        frozenset({LicenseStatus.VALID, LicenseStatus.SUSPENDED}),
        LicenseStatus.CANCELLED,
    ),
    "withdraw": (
        frozenset({LicenseStatus.VALID, LicenseStatus.SUSPENDED}),
        LicenseStatus.WITHDRAWN,
    ),
    "expire": (
        frozenset({LicenseStatus.VALID, LicenseStatus.SUSPENDED}),
        LicenseStatus.EXPIRED,
    ),
}

#: Audit action per registry action.
AUDIT_ACTIONS = {
    "suspend": "license.suspended",
    "reinstate": "license.reinstated",
    "revoke": "license.revoked",
    "cancel": "license.cancelled",
    "withdraw": "license.withdrawn",
    "expire": "license.expired",
}


class InvalidStatusTransition(RegistryError):
    code = "invalid-status-transition"
    status = 409


class UnknownStatusList(RegistryError):
    code = "unknown-status-list"
    status = 404


@dataclass(frozen=True, slots=True)
class StatusEntry:
    list_row: StatusList
    index: int


def _new_list(session: Session, *, now: datetime) -> StatusList:
    row = StatusList(
        list_id=secrets.token_hex(8),
        bits=bytes(LIST_CAPACITY // 4),
        capacity=LIST_CAPACITY,
        next_index=0,
        version=1,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def allocate(session: Session, *, now: datetime, count: int = 1) -> list[StatusEntry]:
    """Reserve the next ``count`` free entries (VALID), opening a new list when one fills.

    One locked read-modify-write per list touched, however many entries: ``SELECT … FOR
    NO KEY UPDATE`` on PostgreSQL (it waits for other allocations but not for
    transactions that only insert licenses referring to the list), the write lock a
    savepoint takes on SQLite
    (``wallet_api.db``); ``populate_existing`` re-reads a row this session loaded earlier.
    Concurrent issuance on several nodes never hands out one index twice; the unique
    constraint on (list, index) is the second line of defence. A reserved entry already
    reads VALID (a new list is all zeros and only reserved entries ever change), so
    issuing needs no :func:`publish`; the list's version still moves, so its ETag does.
    """
    entries: list[StatusEntry] = []
    if count < 1:
        return entries
    with session.begin_nested():
        while len(entries) < count:
            row = session.scalars(
                select(StatusList)
                .where(StatusList.next_index < StatusList.capacity)
                .order_by(StatusList.updated_at.desc(), StatusList.list_id)
                .limit(1)
                .with_for_update(key_share=True)
                .execution_options(populate_existing=True)
            ).first()
            if row is None:
                row = _new_list(session, now=now)
            start = row.next_index
            stop = min(row.capacity, start + count - len(entries))
            _ensure_valid(row, range(start, stop))
            entries += [StatusEntry(row, index) for index in range(start, stop)]
            row.next_index = stop
            row.version += 1
            row.updated_at = now
            session.flush()
    return entries


def _ensure_valid(row: StatusList, indexes: range) -> None:
    """Reserved entries must read VALID; they always do unless a list was edited by hand."""
    entries = _entries(row)
    stale = [index for index in indexes if index < entries.size and entries.get(index) != VALID]
    for index in stale:
        entries.set(index, VALID)
    if stale:
        row.bits = entries.to_bytes()


def _entries(row: StatusList) -> statuslist.StatusList:
    return statuslist.StatusList.from_bytes(row.bits, bits=2)


def list_value(row: StatusList, index: int) -> int:
    return _entries(row).get(index)


def publish(session: Session, *, license_row: License, now: datetime) -> None:
    """Make the license's status list entry say what its registry status says.

    Locked like :func:`allocate`, so concurrent changes to one list never lose an update.
    """
    with session.begin_nested():
        list_row = session.scalars(
            select(StatusList)
            .where(StatusList.id == license_row.status_list_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        entries = _entries(list_row)
        entries.set(license_row.status_index, LIST_VALUE[LicenseStatus(license_row.status)])
        list_row.bits = entries.to_bytes()
        list_row.version += 1
        list_row.updated_at = now
        session.flush()


def lock_license(session: Session, *, license_row: License) -> None:
    """Re-read the license under a row lock, so concurrent changes see each other.

    ``FOR UPDATE OF`` the license row on PostgreSQL; on SQLite the savepoint takes the
    database write lock (``wallet_api.db``). ``populate_existing`` refreshes the object.
    """
    with session.begin_nested():
        session.scalars(
            select(License)
            .where(License.id == license_row.id)
            .with_for_update(of=License)
            .execution_options(populate_existing=True)
        ).one()


def change_status(
    session: Session,
    *,
    registry: Registry,
    license_row: License,
    action: str,
    reason: str,
    audit: Callable[..., object] | None = None,
    actor: str | None = None,
) -> License:
    """Apply ``action`` (suspend, reinstate, revoke, cancel, withdraw) with its reason.

    ``actor`` is who the audit log names (default: the issuing agency).
    """
    allowed_from, result = TRANSITIONS[action]
    lock_license(session, license_row=license_row)
    current = LicenseStatus(license_row.status)
    if current not in allowed_from:
        raise InvalidStatusTransition(
            f"cannot {action} a license that is {current.value}", field="status"
        )
    now = registry.now()
    license_row.status = result.value
    license_row.status_reason = reason
    license_row.status_changed_at = now
    publish(session, license_row=license_row, now=now)
    if audit is not None:
        audit(
            session,
            actor=actor or f"agency:{license_row.issuer_code}",
            action=AUDIT_ACTIONS[action],
            subject=license_row.identifier,
            details={"reason": reason, "status": result.value},
            now=now,
        )
    return license_row


#: Built once: SQLAlchemy builds and keys a statement in about as long as it executes it.
_LISTS = StatusList.__table__
_VERSION_OF_LIST = select(_LISTS.c.version).where(_LISTS.c.list_id == bindparam("list_id"))
_LIST_BY_ID = select(StatusList).where(StatusList.list_id == bindparam("list_id"))


def get_list(session: Session, *, list_id: str) -> StatusList:
    row = session.scalars(_LIST_BY_ID, {"list_id": list_id}).one_or_none()
    if row is None:
        raise UnknownStatusList(f"no status list {list_id!r}", field="list_id")
    return row


def etag(row: StatusList) -> str:
    return f'"{row.list_id}-{row.version}"'


class _VersionCache(Generic[V]):
    """Values per (URI, list version), used while younger than half the token ``ttl``.

    A list changes version with every status change, so a cached value never shows a
    stale status for longer than the version check takes; the caches only save signing
    (and compressing) the same bytes for every verifier that polls, and verifying them
    again for every online verification.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[tuple[str, int], tuple[V, datetime]] = OrderedDict()

    def get(self, key: tuple[str, int], *, now: datetime) -> V | None:
        with self._lock:
            hit = self._values.get(key)
            if hit is None or now - hit[1] > TOKEN_TTL / 2 or now < hit[1]:
                return None
            self._values.move_to_end(key)
            return hit[0]

    def put(self, key: tuple[str, int], value: V, *, made_at: datetime) -> None:
        with self._lock:
            self._values[key] = (value, made_at)
            while len(self._values) > self._size:
                self._values.popitem(last=False)


#: Signed tokens, aged from their signing.
_tokens: _VersionCache[str] = _VersionCache()
#: The same tokens verified, aged from the token's ``iat`` (not from their verification):
#: half the ``ttl`` is far inside the token's ``exp``, so a kept list has not expired.
_verified: _VersionCache[statuslist.VerifiedStatusList] = _VersionCache()


def status_list_token(session: Session, *, registry: Registry, row: StatusList) -> str:
    """The signed ``statuslist+jwt`` for one list, signed by the platform (ES256)."""
    now = registry.now()
    uri = registry.status_list_uri(row.list_id)
    cached = _tokens.get((uri, row.version), now=now)
    if cached is not None:
        return cached
    token = statuslist.build_status_list_token(
        signer=registry.keystore.signer(session, owner=PLATFORM_OWNER, alg=PLATFORM_ALG),
        sub=uri,
        status_list=_entries(row),
        iat=now,
        exp=now + TOKEN_LIFETIME,
        ttl=TOKEN_TTL,
    )
    _tokens.put((uri, row.version), token, made_at=now)
    return token


def status_claim(registry: Registry, *, list_id: str, index: int) -> dict[str, object]:
    """The credential's ``status`` claim: ``{"status_list": {"idx", "uri"}}``."""
    return dict(statuslist.status_claim(uri=registry.status_list_uri(list_id), idx=index))


class RegistryStatusLists:
    """A :class:`licenses.verification.StatusListSource` reading this registry's own lists.

    Each list is signed and then verified like any fetched list, so the online verifier
    runs exactly the checks an offline one runs on a cached copy.
    """

    def __init__(self, session: Session, *, registry: Registry) -> None:
        self._session = session
        self._registry = registry
        self._prefix = registry.status_list_uri("")

    def get(self, uri: str) -> statuslist.VerifiedStatusList | None:
        if not uri.startswith(self._prefix):
            return None
        list_id = uri[len(self._prefix) :]
        now = self._registry.now()
        # The version alone first: while it is unchanged, the list verified for it is
        # still the list (16 KiB of bits not read, no signature verified again).
        version = self._session.scalar(_VERSION_OF_LIST, {"list_id": list_id})
        if version is None:
            return None
        verified = _verified.get((uri, version), now=now)
        if verified is not None:
            return verified
        row = self._session.scalars(_LIST_BY_ID, {"list_id": list_id}).one_or_none()
        if row is None:
            return None
        verified = statuslist.verify_status_list_token(
            token=status_list_token(self._session, registry=self._registry, row=row),
            jwks=self._registry.keystore.jwks(self._session, owner=PLATFORM_OWNER),
            expected_sub=uri,
            now=now,
        )
        _verified.put((uri, row.version), verified, made_at=verified.issued_at)
        return verified


def expire_due(
    session: Session,
    *,
    registry: Registry,
    audit: Callable[..., object] | None = None,
    limit: int = 10_000,
) -> list[str]:
    """Mark licenses whose validity has ended as expired (失效); their entries become INVALID."""
    today = registry.today()
    due = session.scalars(
        select(License)
        .where(
            License.valid_until.is_not(None),
            License.valid_until < today,
            License.status.in_([LicenseStatus.VALID.value, LicenseStatus.SUSPENDED.value]),
        )
        .order_by(License.valid_until, License.identifier)
        .limit(limit)
    ).all()
    for row in due:
        change_status(
            session,
            registry=registry,
            license_row=row,
            action="expire",
            reason=f"validity ended on {row.valid_until}",
            audit=audit,
            actor="system",
        )
    return [row.identifier for row in due]
