"""Append to, seal, list and verify the hash-chained audit log.

Each entry's hash is SHA-256 over the canonical JSON of every other column (its
number, time, actor, action, subject, details and the previous entry's hash), so
changing, inserting, deleting or reordering an entry breaks the chain at that
point. Deleting the *last* entries leaves a shorter chain that is consistent in
itself: the chain-head row and the signed checkpoints (a JWS by the platform's
``provider`` ES256 key over ``{"seq", "hash", "iat"}``) catch that.

Concurrent writers (several app nodes on PostgreSQL, several threads on SQLite)
are serialised on the one-row chain head: an append starts with an ``UPDATE`` of
that row, which takes PostgreSQL's row lock and SQLite's write lock, and keeps it
until the caller's transaction ends. The unique entry number is the backstop.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from keys import KeyedDigest, KeyStore, KeyStoreError, MasterSecret
from licenses.audit.errors import InvalidAuditEntry, InvalidCheckpoint, SensitiveAuditValue
from licenses.audit.models import GENESIS_HASH, HEAD_ID, AuditCheckpoint, AuditEntry, AuditHead
from licenses.audit.schemas import ChainProblem, ChainReport
from licenses.codes import InvalidIdNumber, validate_id_number
from licenses.copy_rows import insert_rows

#: Owner and algorithm of the platform key that signs checkpoints.
PROVIDER_OWNER = "provider"
CHECKPOINT_ALG = "ES256"
CHECKPOINT_TYP = "govwallet-audit-checkpoint+jwt"

_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
#: An 18-character token standing alone (not part of a dotted license identifier).
_ID_NUMBER_TOKEN = re.compile(r"(?<![0-9A-Za-z.])\d{17}[\dXx](?![0-9A-Za-z.])")
#: How far back an "inserted entries" diagnosis looks for the hash a link points to.
_LINK_WINDOW = 4096
_MAX_PROBLEMS = 100


# -- canonical encoding ---------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 text; no NaN or infinities."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def hash_time(moment: datetime) -> str:
    """The time as hashed: ISO 8601 in UTC with microseconds (SQLite returns naive UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_entry_hash(
    *,
    seq: int,
    occurred_at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: str,
    prev_hash: str,
) -> str:
    return _entry_hash(seq, hash_time(occurred_at), actor, action, subject, details, prev_hash)


def _entry_hash(
    seq: int, time: str, actor: str, action: str, subject: str, details: str, prev_hash: str
) -> str:
    """The hash of an entry whose time is already in its hashed form (:func:`hash_time`)."""
    record = {
        "seq": seq,
        "time": time,
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def _recomputed_hash(entry: AuditEntry) -> str:
    return compute_entry_hash(
        seq=entry.seq,
        occurred_at=entry.occurred_at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        details=entry.details,
        prev_hash=entry.prev_hash,
    )


# -- input checks ---------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _refuse_identity_numbers(value: Any, *, field: str) -> None:
    """Identity numbers are never logged in clear: refuse anything that is one."""
    for text in (value,) if isinstance(value, str) else _strings(value):
        if _ID_NUMBER_TOKEN.search(text) is None:
            continue  # the usual case: not even a candidate
        today = date.today()
        for match in _ID_NUMBER_TOKEN.finditer(text):
            try:
                validate_id_number(match.group(), today=today)
            except InvalidIdNumber:
                continue
            raise SensitiveAuditValue(
                f"{field}: contains a resident identity number; reference the person by a "
                "keyed digest (licenses.audit.services.holder_reference) instead",
                field=field,
            )


def _text(value: str, *, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidAuditEntry(f"{field}: a non-empty string is required", field=field)
    if len(value) > max_length:
        raise InvalidAuditEntry(
            f"{field}: at most {max_length} characters, got {len(value)}", field=field
        )
    return value


def _details_text(details: Mapping[str, Any]) -> str:
    if not isinstance(details, Mapping):
        raise InvalidAuditEntry("details: a JSON object is required", field="details")
    try:
        return canonical_json(dict(details))
    except (TypeError, ValueError) as exc:
        raise InvalidAuditEntry(
            f"details: only JSON values (no {exc.__class__.__name__}) can be logged: {exc}",
            field="details",
        ) from exc


def _instant(now: datetime | None) -> datetime:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise InvalidAuditEntry("now: an aware datetime is required", field="now")
    return moment.astimezone(UTC)


def holder_reference(master: MasterSecret, id_number: str) -> str:
    """How an entry names a person: a keyed digest of the identity number, never the number."""
    return "holder:" + KeyedDigest(master, "audit-holder").digest(id_number)


# -- the chain head -------------------------------------------------------------------


def _lock_head(session: Session, *, now: datetime) -> AuditHead:
    """Take the chain head for this transaction (a write first, so SQLite locks too)."""
    if session.execute(_TAKE_HEAD).one_or_none() is None:
        session.add(AuditHead(id=HEAD_ID, seq=0, entry_hash=GENESIS_HASH, updated_at=now))
        session.flush()
    head = session.get(AuditHead, HEAD_ID, populate_existing=True)
    assert head is not None
    return head


def _checked_details(*, actor: str, action: str, subject: str, details: Mapping[str, Any]) -> str:
    """Refuse a malformed entry or one holding an identity number; the details as hashed."""
    _text(actor, field="actor", max_length=200)
    _text(subject, field="subject", max_length=200)
    if not isinstance(action, str) or len(action) > 64 or not _ACTION.fullmatch(action):
        raise InvalidAuditEntry(
            "action: a dotted lower-case verb such as 'license.issued' is required",
            field="action",
        )
    details_text = _details_text(details)
    _refuse_identity_numbers(actor, field="actor")
    _refuse_identity_numbers(subject, field="subject")
    _refuse_identity_numbers(details, field="details")
    return details_text


@dataclass(frozen=True, slots=True)
class CheckedEntry:
    """An entry whose fields passed every input check, not yet in the chain."""

    occurred_at: datetime
    actor: str
    action: str
    subject: str
    details: str


def check_entry(
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    now: datetime | None = None,
) -> CheckedEntry:
    """Every input check of :func:`append_entry`, without touching the database."""
    details_text = _checked_details(actor=actor, action=action, subject=subject, details=details)
    return CheckedEntry(
        occurred_at=_instant(now),
        actor=actor,
        action=action,
        subject=subject,
        details=details_text,
    )


def append_entry(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    now: datetime | None = None,
    keystore: KeyStore | None = None,
) -> AuditEntry:
    """Add one entry to the chain in the caller's transaction (flushed, not committed).

    The entry commits or rolls back with the change it records. With ``keystore``
    the new head is sealed at once (one ES256 signature), so even the last entry
    cannot be deleted unnoticed.
    """
    checked = check_entry(actor=actor, action=action, subject=subject, details=details, now=now)
    (row,) = append_checked(session, [checked])
    entry = AuditEntry(**row)  # the inserted row's values; not added to the session
    if keystore is not None:
        seal(session, keystore=keystore, now=checked.occurred_at)
    return entry


def append_checked(session: Session, entries: Sequence[CheckedEntry]) -> list[dict[str, Any]]:
    """Chain checked entries, in order, in the caller's transaction (not committed).

    Three statements however many entries: take the head (an ``UPDATE … RETURNING``
    that locks it), insert the entries (``licenses.copy_rows.insert_rows``), move the head. Answers
    the inserted rows' column values; nothing is loaded into the session (a batch's
    entries share one time, hashed once).
    """
    if not entries:
        return []
    session.flush()
    seq, prev_hash = _take_head(session, now=entries[0].occurred_at)
    hashed_times: dict[datetime, str] = {}
    rows = []
    for checked in entries:
        seq += 1
        at = checked.occurred_at
        time = hashed_times.get(at)
        if time is None:
            time = hashed_times[at] = hash_time(at)
        entry_hash = _entry_hash(
            seq, time, checked.actor, checked.action, checked.subject, checked.details, prev_hash
        )
        rows.append(
            {
                "id": uuid.uuid4(),
                "seq": seq,
                "occurred_at": at,
                "actor": checked.actor,
                "action": checked.action,
                "subject": checked.subject,
                "details": checked.details,
                "prev_hash": prev_hash,
                "entry_hash": entry_hash,
            }
        )
        prev_hash = entry_hash
    insert_rows(session, _ENTRIES, rows)
    session.execute(
        _MOVE_HEAD,
        {"to_seq": seq, "to_hash": prev_hash, "to_updated_at": entries[-1].occurred_at},
    )
    held = session.identity_map.get(identity_key(AuditHead, HEAD_ID))
    if held is not None:  # a head this session loaded is read again when next used
        session.expire(held)
    return rows


#: The statements of every append, built once and on the tables (SQLAlchemy Core): an
#: ORM statement is annotated, keyed and synchronised with the session on each
#: execution, which cost more CPU than the statements themselves (the verify API
#: appends on every call).
_HEAD = AuditHead.__table__
_ENTRIES = AuditEntry.__table__
_TAKE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(updated_at=_HEAD.c.updated_at)
    .returning(_HEAD.c.seq, _HEAD.c.entry_hash)
)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(
        seq=bindparam("to_seq"),
        entry_hash=bindparam("to_hash"),
        updated_at=bindparam("to_updated_at"),
    )
)


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """One entry of a batch for :func:`append_entries`: all of it but the time."""

    actor: str
    action: str
    subject: str
    details: Mapping[str, Any]


def check_drafts(
    drafts: Sequence[EntryDraft], *, now: datetime | None = None
) -> list[CheckedEntry]:
    """:func:`check_entry` for each draft, all at ``now``: no database, so a bulk import
    checks a chunk's entries before its writer takes the chain's head."""
    return [
        check_entry(
            actor=draft.actor,
            action=draft.action,
            subject=draft.subject,
            details=draft.details,
            now=now,
        )
        for draft in drafts
    ]


def append_entries(
    session: Session, drafts: Sequence[EntryDraft], *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """:func:`append_entry` for many entries at once (same checks, one head lock)."""
    return append_checked(session, check_drafts(drafts, now=now))


def _take_head(session: Session, *, now: datetime) -> tuple[int, str]:
    """Lock the chain head for this transaction and answer its ``(seq, entry_hash)``."""
    row = session.execute(_TAKE_HEAD).one_or_none()
    if row is not None:
        return int(row.seq), str(row.entry_hash)
    head = _lock_head(session, now=now)
    return head.seq, head.entry_hash


# -- checkpoints ----------------------------------------------------------------------


def seal(
    session: Session, *, keystore: KeyStore, now: datetime | None = None
) -> AuditCheckpoint | None:
    """Sign the current head with the provider's ES256 key; ``None`` for an empty chain.

    A head already sealed is sealed again only when the active key has changed
    (after ``govwallet keys rotate``), so checkpoints outlive their keys' removal.
    """
    moment = _instant(now)
    head = _lock_head(session, now=moment)
    if head.seq == 0:
        return None
    signer = keystore.signer(session, owner=PROVIDER_OWNER, alg=CHECKPOINT_ALG)
    checkpoint = session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.seq == head.seq)
    ).one_or_none()
    if checkpoint is not None and _kid_of(checkpoint.jws) == signer.kid:
        return checkpoint
    payload = {"seq": head.seq, "hash": head.entry_hash, "iat": int(moment.timestamp())}
    token = signer.sign_compact(
        header={"typ": CHECKPOINT_TYP}, payload=canonical_json(payload).encode("utf-8")
    )
    if checkpoint is None:
        checkpoint = AuditCheckpoint(seq=head.seq, entry_hash=head.entry_hash)
        session.add(checkpoint)
    checkpoint.signed_at = moment
    checkpoint.jws = token
    session.flush()
    return checkpoint


def _kid_of(token: str) -> str | None:
    try:
        return str(jws.extract_compact(token.encode("ascii")).headers().get("kid"))
    except (JoseError, ValueError, UnicodeError):
        return None


def _verified_checkpoint(session: Session, *, keystore: KeyStore, token: str) -> dict[str, Any]:
    """The payload of a checkpoint JWS whose provider signature verifies; raises otherwise."""
    try:
        unverified_header = jws.extract_compact(token.encode("ascii")).headers()
        kid = str(unverified_header["kid"])
        jwk = keystore.public_jwk(session, kid=kid)
        key = ECKey.import_key(jwk)
        verified = jws.deserialize_compact(token, key, algorithms=[CHECKPOINT_ALG])
    except (JoseError, KeyStoreError, KeyError, ValueError, TypeError, UnicodeError) as exc:
        raise InvalidCheckpoint(f"checkpoint signature does not verify: {exc}") from exc
    if verified.headers().get("typ") != CHECKPOINT_TYP:
        raise InvalidCheckpoint("checkpoint: wrong typ header")
    payload = json.loads(verified.payload)
    if not isinstance(payload.get("seq"), int) or not isinstance(payload.get("hash"), str):
        raise InvalidCheckpoint("checkpoint: payload lacks seq and hash")
    return dict(payload)


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).one_or_none()


# -- reading --------------------------------------------------------------------------


def list_entries(
    session: Session,
    *,
    subject: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> list[AuditEntry]:
    """Entries in chain order, optionally only one subject's, action's or actor's."""
    stmt = select(AuditEntry).where(AuditEntry.seq > after_seq)
    if subject is not None:
        stmt = stmt.where(AuditEntry.subject == subject)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    return list(session.scalars(stmt.order_by(AuditEntry.seq).limit(max(1, min(limit, 10_000)))))


# -- verification ---------------------------------------------------------------------


class _ChainWalk:
    """Walks the entries in order, recording what is wrong with each."""

    def __init__(self, report: ChainReport, pinned: dict[int, list[tuple[str, str]]]) -> None:
        self.report = report
        self.pinned = pinned
        self.prev_seq = 0
        self.prev_hash = GENESIS_HASH
        self.recent: OrderedDict[str, int] = OrderedDict()

    def problem(
        self, kind: str, detail: str, entry: AuditEntry | None = None, seq: int | None = None
    ) -> None:
        if len(self.report.problems) < _MAX_PROBLEMS:
            self.report.problems.append(
                ChainProblem(
                    kind=kind,
                    detail=detail,
                    seq=entry.seq if entry is not None and seq is None else seq,
                    entry_id=str(entry.id) if entry is not None else None,
                )
            )

    def visit(self, entry: AuditEntry) -> None:
        self.report.entries += 1
        expected = self.prev_seq + 1
        gap = entry.seq > expected
        if gap:
            self.problem(
                "deleted",
                f"entries #{expected}..#{entry.seq - 1} are missing before entry #{entry.seq}",
                seq=expected,
            )
        linked_earlier = self.recent.get(entry.prev_hash)
        if not gap and linked_earlier is not None and linked_earlier < self.prev_seq:
            # It links past its predecessor: what lies between was slipped in.
            self.problem(
                "inserted",
                f"entries #{linked_earlier + 1}..#{entry.seq - 1} were inserted: entry "
                f"#{entry.seq} links to #{linked_earlier}",
                seq=linked_earlier + 1,
            )
        if _recomputed_hash(entry) != entry.entry_hash:
            self.problem(
                "altered", f"entry #{entry.seq}: its content does not match its hash", entry
            )
        elif not gap and linked_earlier is None and entry.prev_hash != self.prev_hash:
            self.problem(
                "broken-link",
                f"entry #{entry.seq} does not link to entry #{self.prev_seq} "
                "(reordered or replaced)",
                entry,
            )
        for source, pinned_hash in self.pinned.get(entry.seq, []):
            if entry.entry_hash != pinned_hash:
                self.problem(
                    "rewritten",
                    f"entry #{entry.seq} differs from the {source}: the chain was rewritten "
                    f"at or before #{entry.seq}",
                    entry,
                )
        self.recent[entry.entry_hash] = entry.seq
        if len(self.recent) > _LINK_WINDOW:
            self.recent.popitem(last=False)
        self.prev_seq = entry.seq
        self.prev_hash = entry.entry_hash


def verify_chain(
    session: Session, *, keystore: KeyStore, trusted_checkpoint: str | None = None
) -> ChainReport:
    """Check every entry, the head row, the latest signed checkpoint and, if given, a
    checkpoint JWS kept outside the database; name the first bad entry."""
    report = ChainReport()
    pinned: dict[int, list[tuple[str, str]]] = {}
    walk = _ChainWalk(report, pinned)

    checkpoints: list[tuple[str, int]] = []
    stored = latest_checkpoint(session)
    if stored is not None:
        try:
            payload = _verified_checkpoint(session, keystore=keystore, token=stored.jws)
        except InvalidCheckpoint as exc:
            walk.problem("checkpoint-invalid", f"the latest stored checkpoint: {exc}")
        else:
            if payload["seq"] != stored.seq or payload["hash"] != stored.entry_hash:
                walk.problem(
                    "checkpoint-invalid",
                    "the stored checkpoint's columns differ from what was signed",
                )
            report.checkpoint_seq = payload["seq"]
            report.checkpoint_signed_at = stored.signed_at
            pinned.setdefault(payload["seq"], []).append(("signed checkpoint", payload["hash"]))
            checkpoints.append(("signed checkpoint", payload["seq"]))
    if trusted_checkpoint is not None:
        payload = _verified_checkpoint(session, keystore=keystore, token=trusted_checkpoint.strip())
        pinned.setdefault(payload["seq"], []).append(("external checkpoint", payload["hash"]))
        checkpoints.append(("external checkpoint", payload["seq"]))

    rows = session.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000)
    )
    for entry in rows:
        walk.visit(entry)
    report.last_seq = walk.prev_seq

    head = session.get(AuditHead, HEAD_ID, populate_existing=True)
    report.head_seq = head.seq if head is not None else 0
    if report.head_seq > report.last_seq:
        walk.problem(
            "deleted",
            f"entries #{report.last_seq + 1}..#{report.head_seq} were deleted from the end "
            f"(the head records #{report.head_seq})",
            seq=report.last_seq + 1,
        )
    elif report.head_seq < report.last_seq:
        walk.problem(
            "inserted",
            f"entries #{report.head_seq + 1}..#{report.last_seq} lie beyond the chain head",
            seq=report.head_seq + 1,
        )
    elif head is not None and report.last_seq and head.entry_hash != walk.prev_hash:
        walk.problem(
            "head-mismatch",
            f"the chain head does not match entry #{report.last_seq}",
            seq=report.last_seq,
        )
    for source, seq in checkpoints:
        if seq > report.last_seq:
            walk.problem(
                "deleted",
                f"the {source} covers #{seq} but the chain ends at #{report.last_seq}: "
                f"entries #{report.last_seq + 1}..#{seq} were deleted",
                seq=report.last_seq + 1,
            )
    report.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return report
