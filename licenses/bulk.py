"""Bulk issuance: a JSON Lines register moved over, streamed and resumable.

Each line is one ``POST /api/v1/licenses`` body, validated exactly like a single issue.
The file is named by its SHA-256; lines are committed in chunks together with the job's
``last_line``, so an interrupted import resumes after the last committed chunk. Each
line also carries an idempotency key derived from the file digest and its line number:
even a chunk replayed after a crash between commit and bookkeeping issues nothing twice.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from licenses.audit.services import CheckedEntry
from licenses.batch import Batch, BatchItem, check_batch, issued_entries, sign_batch, write_batch
from licenses.bulk_signing import ChunkSigning, LocalSigning, Signed, SigningJob
from licenses.codes import RegistryError
from licenses.errors import CredentialError
from licenses.issuance import AuditHook, IssueOutcome, checked_audit, issue
from licenses.models import Agency, ImportJob
from licenses.schemas import LicenseCreate
from licenses.services import Registry
from licenses.status import allocate

CHUNK_LINES = 1000
#: Failures kept on the job for the operator's report (the count is always exact).
MAX_RECORDED_FAILURES = 1000
Progress = Callable[[int, int], None]


class ImportFileError(RegistryError):
    code = "invalid-import-file"
    status = 422


@dataclass(frozen=True, slots=True)
class LineFailure:
    line: int
    field: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ImportReport:
    job_id: str
    total_lines: int
    issued: int
    failed: int
    resumed_from: int
    last_line: int
    state: str
    failures: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "total_lines": self.total_lines,
            "issued": self.issued,
            "failed": self.failed,
            "resumed_from": self.resumed_from,
            "last_line": self.last_line,
            "state": self.state,
            "failures": self.failures,
        }


def pydantic_failure(exc: ValidationError, *, prefix: str = "") -> tuple[str, str]:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or "body"
    return f"{prefix}{field}", f"{prefix}{field}: {first.get('msg', 'invalid')}"


def _refusal(exc: RegistryError | CredentialError, *, field_prefix: str = "") -> LineFailure:
    field, detail = getattr(exc, "field", None) or "body", str(exc)
    if field_prefix and not field.startswith(field_prefix):
        # Errors raised below issue() name the field without the batch position.
        if detail.startswith(f"{field}:"):
            detail = field_prefix + detail
        field = field_prefix + field
    return LineFailure(0, field, detail)


def issue_one(
    session: Session,
    *,
    registry: Registry,
    agency: Agency,
    body: Any,
    idempotency_key: str | None,
    audit: AuditHook | None,
    field_prefix: str = "",
) -> IssueOutcome | LineFailure:
    """Validate and issue one body inside a savepoint; a refusal leaves nothing behind."""
    try:
        request = LicenseCreate.model_validate(body)
    except ValidationError as exc:
        field, detail = pydantic_failure(exc, prefix=field_prefix)
        return LineFailure(0, field, detail)
    try:
        with session.begin_nested():
            return issue(
                session,
                registry=registry,
                agency=agency,
                request=request,
                idempotency_key=idempotency_key,
                audit=audit,
                field_prefix=field_prefix,
            )
    except (RegistryError, CredentialError) as exc:
        return _refusal(exc, field_prefix=field_prefix)


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 of the file and its number of lines, read in one streaming pass."""
    digest = hashlib.sha256()
    lines = 0
    with path.open("rb") as handle:
        for line in handle:
            digest.update(line)
            lines += 1
    return digest.hexdigest(), lines


def _numbered_lines(path: Path, *, after: int) -> Iterator[tuple[int, str]]:
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if number > after:
                yield number, line


def _job(
    session: Session, *, agency: Agency, digest: str, name: str, total: int, registry: Registry
) -> ImportJob:
    job = session.scalars(
        select(ImportJob).where(ImportJob.agency_id == agency.id, ImportJob.file_digest == digest)
    ).one_or_none()
    if job is None:
        now = registry.now()
        job = ImportJob(
            agency_id=agency.id,
            file_digest=digest,
            file_name=name[-500:],
            total_lines=total,
            last_line=0,
            issued=0,
            failed=0,
            failures=[],
            state="running",
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        session.flush()
    return job


def _parse_line(number: int, text: str) -> LicenseCreate | LineFailure:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        return LineFailure(number, "line", f"line {number}: not JSON ({exc.msg})")
    try:
        return LicenseCreate.model_validate(body)
    except ValidationError as exc:
        field, detail = pydantic_failure(exc)
        return LineFailure(number, field, f"line {number}: {detail}")


@dataclass(frozen=True, slots=True)
class _Chunk:
    """A chunk's lines, their parse failures and its batch (signed once
    :func:`_signed` has filled the batch's rows and checked their audit entries)."""

    lines: list[tuple[int, str]]
    failures: list[LineFailure]
    numbers: list[int]
    batch: Batch
    audit_entries: list[CheckedEntry] | None = None


@dataclass(frozen=True, slots=True)
class _CheckedChunk:
    """A chunk checked, its status entries reserved, its signing under way."""

    chunk: _Chunk
    job: SigningJob
    signed: Future[Signed]


def _check_chunk(
    sessions: sessionmaker[Session],
    *,
    registry: Registry,
    agency_id: uuid.UUID,
    lines: list[tuple[int, str]],
    digest: str,
    signing: ChunkSigning,
) -> _CheckedChunk:
    """Parse and check a chunk, reserve its status entries (committed at once, so the
    list is not held while signing), and hand it to ``signing``."""
    failures: list[LineFailure] = []
    numbers: list[int] = []
    items: list[BatchItem] = []
    for number, text in lines:
        if not text.strip():
            continue
        parsed = _parse_line(number, text)
        if isinstance(parsed, LineFailure):
            failures.append(parsed)
            continue
        numbers.append(number)
        items.append(BatchItem(parsed, idempotency_key=f"import:{digest[:32]}:{number}"))
    with sessions.begin() as session:
        agency = session.get_one(Agency, agency_id)
        batch = check_batch(session, registry=registry, agency=agency, items=items)
        entries = allocate(session, now=registry.now(), count=len(batch.todo))
    job = SigningJob(
        agency=agency,
        now=registry.now(),
        todo=[checked for _, checked in batch.todo],
        entries=list(entries),
    )
    return _CheckedChunk(
        chunk=_Chunk(lines=lines, failures=failures, numbers=numbers, batch=batch),
        job=job,
        signed=signing.submit(job),
    )


def _signed(chunk: _CheckedChunk, *, registry: Registry, audit: AuditHook | None) -> _Chunk:
    """Wait for a chunk's signatures; its rows, keys and audit entries, ready to write.

    The entries are checked here, not by the writer: it writes the chunks one after
    another, and is what a long import waits for (docs/decisions.md, 2026-12-07). They
    carry the chunk's time, as its licenses do."""
    job = chunk.job
    sign_batch(
        None,
        registry=dataclasses.replace(registry, clock=lambda: job.now),
        agency=job.agency,
        batch=chunk.chunk.batch,
        entries=(),
        signed=chunk.signed.result(),
    )
    drafts = issued_entries(job.agency, chunk.chunk.batch)
    return dataclasses.replace(chunk.chunk, audit_entries=checked_audit(audit, drafts, now=job.now))


def _write_chunk(
    sessions: sessionmaker[Session],
    *,
    registry: Registry,
    agency_id: uuid.UUID,
    job_id: uuid.UUID,
    chunk: _Chunk,
    total: int,
    audit: AuditHook | None,
    progress: Progress | None,
) -> None:
    """Write a signed chunk and move the job past it, in one transaction."""
    with sessions.begin() as session:
        agency = session.get_one(Agency, agency_id)
        job = session.get_one(ImportJob, job_id, with_for_update=True)
        if job.last_line != chunk.lines[0][0] - 1:
            raise ImportFileError(
                f"FILE: another import of this file is running (at line {job.last_line})"
            )
        results = write_batch(
            session,
            registry=registry,
            agency=agency,
            batch=chunk.batch,
            audit=audit,
            audit_entries=chunk.audit_entries,
        )
        failures = list(chunk.failures)
        for number, result in zip(chunk.numbers, results, strict=True):
            if result is not None:
                refusal = _refusal(result)
                failures.append(
                    LineFailure(number, refusal.field, f"line {number}: {refusal.detail}")
                )
        failures.sort(key=lambda failure: failure.line)
        done = chunk.lines[-1][0]
        if progress is not None:
            for number, _ in chunk.lines:
                progress(number, total)
        _record(job, registry=registry, done=done, issued=results.count(None), failures=failures)
        job.state = "done" if done >= total else "running"


def _next_chunk(
    lines: Iterator[tuple[int, str]], *, stop_at: int, chunk_lines: int
) -> list[tuple[int, str]]:
    """The lines up to the next multiple of ``chunk_lines`` (or ``stop_at``)."""
    chunk = []
    for number, text in lines:
        chunk.append((number, text))
        if number >= stop_at or number % chunk_lines == 0:
            break
    return chunk


@contextmanager
def _startup_objects_frozen() -> Iterator[None]:
    """Keep the objects alive before the import out of the collector's full passes.

    An import allocates millions of short-lived objects, so the cyclic collector runs
    often, and every full pass walked the whole heap of modules, metadata and caches
    again (~8 % of the import's time). ``gc.freeze`` parks them until the import ends;
    a process that froze its own start-up objects (the app's workers) is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def import_file(
    sessions: sessionmaker[Session],
    *,
    registry: Registry,
    agency_id: uuid.UUID | str,
    path: Path,
    audit: AuditHook | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
    chunk_lines: int = CHUNK_LINES,
    signing: ChunkSigning | None = None,
) -> ImportReport:
    """Import (or resume importing) ``path``; commit every ``chunk_lines`` lines.

    Each chunk is issued as one batch (:func:`licenses.batch.check_batch`, then
    ``sign_batch`` and ``write_batch``): a refused line is reported and the chunk's other
    lines are issued. The next chunk is checked while the ones before it are signed
    (``signing``: :class:`licenses.bulk_signing.ProcessSigning` in worker processes, by
    default here) and written (by a writer thread). ``limit`` stops after that many more
    lines (the job stays resumable); ``progress(done, total)`` is called for every line
    once its chunk is written, before the chunk commits. A status entry reserved for a
    line that is then not written (a crash, a refusal found only when signing) stays
    VALID and unused.
    """
    agency_id = uuid.UUID(str(agency_id))
    if not path.is_file():
        raise ImportFileError(f"FILE: {path} is not a readable file", field="file")
    digest, total = file_digest(path)
    with sessions.begin() as session:
        agency = session.get_one(Agency, agency_id)
        job = _job(
            session, agency=agency, digest=digest, name=str(path), total=total, registry=registry
        )
        job_id, resumed_from = job.id, job.last_line
    stop_at = total if limit is None else min(total, resumed_from + limit)
    lines = _numbered_lines(path, after=resumed_from)
    read_to = resumed_from
    signing = signing or LocalSigning(sessions=sessions, registry=registry)
    # Three stages overlap: this thread checks a chunk while ``signing`` signs the ones
    # before it (in other processes, or here at once) and a writer thread writes the one
    # before those. Chunks are written strictly in order.
    with (
        _startup_objects_frozen(),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer,
    ):
        written: Future[None] | None = None
        in_flight: deque[_CheckedChunk] = deque()

        def write_next() -> Future[None]:
            signed = _signed(in_flight.popleft(), registry=registry, audit=audit)
            if written is not None:
                written.result()
            return writer.submit(
                _write_chunk,
                sessions,
                registry=registry,
                agency_id=agency_id,
                job_id=job_id,
                chunk=signed,
                total=total,
                audit=audit,
                progress=progress,
            )

        try:
            while read_to < stop_at:
                try:
                    chunk_lines_read = _next_chunk(lines, stop_at=stop_at, chunk_lines=chunk_lines)
                except UnicodeDecodeError as exc:
                    raise ImportFileError(f"FILE: not UTF-8 text near line {read_to + 1}") from exc
                if not chunk_lines_read:
                    break
                read_to = chunk_lines_read[-1][0]
                in_flight.append(
                    _check_chunk(
                        sessions,
                        registry=registry,
                        agency_id=agency_id,
                        lines=chunk_lines_read,
                        digest=digest,
                        signing=signing,
                    )
                )
                if len(in_flight) > signing.ahead:
                    written = write_next()
            while in_flight:
                written = write_next()
        finally:
            for pending in in_flight:
                pending.signed.cancel()
        if written is not None:
            written.result()
    with sessions.begin() as session:
        job = session.get_one(ImportJob, job_id)
        return ImportReport(
            job_id=str(job.id),
            total_lines=job.total_lines,
            issued=job.issued,
            failed=job.failed,
            resumed_from=resumed_from,
            last_line=job.last_line,
            state=job.state,
            failures=list(job.failures),
        )


def _record(
    job: ImportJob,
    *,
    registry: Registry,
    done: int,
    issued: int,
    failures: Sequence[LineFailure],
) -> None:
    job.last_line = done
    job.issued += issued
    job.failed += len(failures)
    room = MAX_RECORDED_FAILURES - len(job.failures)
    if failures and room > 0:
        job.failures = [*job.failures, *(f.as_dict() for f in failures[:room])]
    job.updated_at = registry.now()
