"""``govwallet license``: status changes, re-issue, bulk import, show and verify."""

from __future__ import annotations

import getpass
import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from keys import KeyedDigest
from licenses import bulk, issuance, qr, services, status
from licenses.audit.services import append_entry
from licenses.bulk_signing import ChunkSigning, LocalSigning, ProcessSigning, default_processes
from licenses.codes import DATA_DIR, RegistryError
from licenses.errors import CredentialError
from licenses.schemas import Reissue
from wallet_api.cli.common import fail, print_json, runtime_or_exit, settings_or_exit
from wallet_api.runtime import Runtime
from wallet_api.settings import DevelopmentSecretWarning, load_settings

app = typer.Typer(help="Licenses: status changes, re-issue, import, verify.", no_args_is_help=True)

LicenseId = Annotated[str, typer.Argument(help="The GB/T 36904 license identifier.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the registry and audit log).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _registry(runtime: Runtime) -> services.Registry:
    return runtime.registry


def signing_worker() -> tuple[sessionmaker[Session], services.Registry]:
    """A bulk import's signing process: its own runtime, from the inherited environment
    (licenses.bulk_signing). The importing process already warned about a development
    secret."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DevelopmentSecretWarning)
        runtime = Runtime(load_settings())
    return runtime.sessions, _registry(runtime)


#: Files shorter than this are signed in the importing process: starting signing
#: processes (about a second each) would cost more than they save.
PROCESS_SIGNING_MIN_LINES = 5_000


def _signing(
    runtime: Runtime, registry: services.Registry, *, file: Path, signers: int | None
) -> ChunkSigning:
    if signers is None:
        with file.open("rb") as handle:
            long_file = sum(1 for _ in handle) >= PROCESS_SIGNING_MIN_LINES
        signers = default_processes() if long_file else 0
    if signers == 0:
        return LocalSigning(sessions=runtime.sessions, registry=registry)
    return ProcessSigning(processes=signers, setup=signing_worker)


def issue_license(
    runtime: Runtime, *, agency_ref: str, body: Any, idempotency_key: str | None = None
) -> dict[str, Any]:
    """Issue one license as the agency (the same validation as ``POST /api/v1/licenses``)."""
    registry = _registry(runtime)
    with runtime.transaction() as session:
        agency = services.get_agency(session, agency_ref=agency_ref)
        outcome = bulk.issue_one(
            session,
            registry=registry,
            agency=agency,
            body=body,
            idempotency_key=idempotency_key,
            audit=append_entry,
        )
        if isinstance(outcome, bulk.LineFailure):
            raise InvalidLicenseRequest(outcome.detail, field=outcome.field)
        row = outcome.license
        return {
            "id": row.identifier,
            "credential": row.credential,
            "status": issuance.status_public(row, registry),
        }


class InvalidLicenseRequest(RegistryError):
    code = "invalid-license-request"
    status = 422


def seed_demo(runtime: Runtime, *, holder_id_number: str, holder_name: str) -> list[str]:
    """Demo agencies (fixed credentials) and licenses for the demo citizen; lines to print."""
    from wallet_api.cli.agency import ensure_agency

    demo = json.loads((DATA_DIR / "demo_licenses.json").read_text(encoding="utf-8"))
    lines = []
    for spec in demo["agencies"]:
        secret = KeyedDigest(runtime.settings.master_secret, "demo/agency-secret").digest(
            spec["credit_code"]
        )
        agency = ensure_agency(runtime, **spec, client_secret=secret[:43])
        lines += [
            f"agency:          {agency['name']} ({agency['credit_code']})",
            f"  region:        {agency['region']}",
            f"  agency id:     {agency['agency_id']}",
            f"  client id:     {agency['client_id']}",
            f"  client secret: {agency['client_secret']}",
            f"  license types: {' '.join(agency['license_types'])}",
        ]
    holder = {"id_number": holder_id_number, "name": holder_name}
    for spec in demo["licenses"]:
        placeholders = {"{holder_name}": holder_name, "{holder_id_number}": holder_id_number}
        fields = {
            k: placeholders.get(v, v) if isinstance(v, str) else v
            for k, v in spec["fields"].items()
        }
        body = {
            "type": spec["type"],
            "holder": holder,
            "fields": fields,
            "area_code": spec["area_code"],
        }
        issued = issue_license(
            runtime,
            agency_ref=spec["agency"],
            body=body,
            idempotency_key=f"demo:{spec['type']}:{holder_id_number[-4:]}",
        )
        lines.append(f"demo license:    {issued['id']}")
    return lines


def _operator() -> str:
    return f"operator:{getpass.getuser()}"


def _change(license_id: str, action: str, reason: str, as_json: bool) -> None:
    with runtime_or_exit() as runtime:
        registry = _registry(runtime)
        try:
            with runtime.transaction() as session:
                row = issuance.get_license(session, identifier=license_id)
                status.change_status(
                    session,
                    registry=registry,
                    license_row=row,
                    action=action,
                    reason=reason,
                    audit=append_entry,
                    actor=_operator(),
                )
                result: dict[str, Any] = {
                    "id": row.identifier,
                    "status": issuance.status_public(row, registry),
                }
        except RegistryError as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
    else:
        typer.echo(f"{result['id']}: {result['status']['value']}")


@app.command("suspend")
def suspend_command(license_id: LicenseId, reason: Reason, as_json: AsJson = False) -> None:
    """Suspend a valid license (status list: SUSPENDED)."""
    _change(license_id, "suspend", reason, as_json)


@app.command("reinstate")
def reinstate_command(license_id: LicenseId, reason: Reason, as_json: AsJson = False) -> None:
    """Reinstate a suspended license (status list: VALID)."""
    _change(license_id, "reinstate", reason, as_json)


@app.command("revoke")
def revoke_command(license_id: LicenseId, reason: Reason, as_json: AsJson = False) -> None:
    """Revoke (撤销) a license (status list: INVALID)."""
    _change(license_id, "revoke", reason, as_json)


@app.command("cancel")
def cancel_command(license_id: LicenseId, reason: Reason, as_json: AsJson = False) -> None:
    """Cancel (注销) a license (status list: INVALID)."""
    _change(license_id, "cancel", reason, as_json)


@app.command("withdraw")
def withdraw_command(license_id: LicenseId, reason: Reason, as_json: AsJson = False) -> None:
    """Withdraw (吊销) a license as a penalty (status list: INVALID)."""
    _change(license_id, "withdraw", reason, as_json)


@app.command("reissue")
def reissue_command(license_id: LicenseId, reason: Reason, as_json: AsJson = False) -> None:
    """Issue the next version (same serial); the current version is revoked."""
    with runtime_or_exit() as runtime:
        registry = _registry(runtime)
        try:
            with runtime.transaction() as session:
                row = issuance.get_license(session, identifier=license_id)
                new_row = issuance.reissue(
                    session,
                    registry=registry,
                    agency=row.agency,
                    license_row=row,
                    request=Reissue(reason=reason),
                    audit=append_entry,
                    actor=_operator(),
                )
                result = {
                    "id": new_row.identifier,
                    "previous": row.identifier,
                    "credential": new_row.credential,
                    "status": issuance.status_public(new_row, registry),
                }
        except (RegistryError, CredentialError) as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
    else:
        typer.echo(f"{result['previous']} -> {result['id']}")


@app.command("expire")
def expire_command(as_json: AsJson = False) -> None:
    """Mark licenses past their validity as expired (run it daily, e.g. from cron)."""
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        expired = status.expire_due(session, registry=_registry(runtime), audit=append_entry)
    if as_json:
        print_json({"expired": expired})
    else:
        typer.echo(f"{len(expired)} license(s) expired")


@app.command("issue")
def issue_command(
    file: Annotated[Path, typer.Argument(help="A POST /api/v1/licenses body (JSON).")],
    agency: Annotated[str, typer.Option("--agency", help="Agency id or credit code.")],
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Retry-safe key.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Issue one license as the agency, validated exactly like the API."""
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"FILE: cannot read a JSON body from {file}: {exc}")
    with runtime_or_exit() as runtime:
        try:
            result = issue_license(
                runtime, agency_ref=agency, body=body, idempotency_key=idempotency_key
            )
        except (RegistryError, CredentialError) as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
    else:
        typer.echo(result["id"])


@app.command("show")
def show_command(license_id: LicenseId, as_json: AsJson = False) -> None:
    """Show a license's directory entry and status (the holder's number is not printed)."""
    with runtime_or_exit() as runtime:
        registry = _registry(runtime)
        try:
            with runtime.transaction() as session:
                row = issuance.get_license(session, identifier=license_id)
                result = issuance.license_public(row, registry, for_issuer=False)
        except RegistryError as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
        return
    for key in ("id", "type", "type_name", "version", "issue_date", "valid_until"):
        typer.echo(f"{key:<12} {result[key]}")
    typer.echo(f"{'status':<12} {result['status']['value']} {result['status']['reason'] or ''}")


@app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(help="JSON Lines: one POST /api/v1/licenses body a line.")
    ],
    agency: Annotated[str, typer.Option("--agency", help="Agency id or credit code.")],
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Stop after this many more lines.")
    ] = None,
    chunk: Annotated[
        int,
        typer.Option(
            "--chunk",
            min=1,
            max=10_000,
            help="Lines issued and committed together (memory grows with it).",
        ),
    ] = bulk.CHUNK_LINES,
    signers: Annotated[
        int | None,
        typer.Option(
            "--signers",
            min=0,
            max=64,
            help="Processes that sign licenses while this one checks and writes; 0 signs "
            "here. Default: one per core up to 4 (none on one core), for files of 5,000 "
            "lines or more.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Issue every line of FILE for the agency; run it again to resume where it stopped."""
    with runtime_or_exit() as runtime:
        registry = _registry(runtime)
        signing = (
            _signing(runtime, registry, file=file, signers=signers) if file.is_file() else None
        )
        try:
            with runtime.transaction() as session:
                agency_id = services.get_agency(session, agency_ref=agency).id
            with typer.progressbar(length=1, label="importing", file=sys.stderr) as bar:

                def progress(done: int, total: int) -> None:
                    bar.length = total
                    bar.update(done - bar.pos)

                report = bulk.import_file(
                    runtime.sessions,
                    registry=registry,
                    agency_id=agency_id,
                    path=file,
                    audit=append_entry,
                    progress=progress,
                    limit=limit,
                    chunk_lines=chunk,
                    signing=signing,
                )
        except RegistryError as exc:
            fail(str(exc))
        finally:
            if signing is not None:
                signing.close()
    result: dict[str, Any] = report.as_dict()
    if as_json:
        print_json(result)
    else:
        typer.echo(
            f"{result['state']}: line {result['last_line']} of {result['total_lines']}, "
            f"{result['issued']} issued, {result['failed']} refused"
        )
        for failure in result["failures"][:20]:
            typer.echo(f"  {failure['detail']}")
    if result["failed"]:
        raise typer.Exit(1)


Audience = Annotated[str | None, typer.Option(help="Expected key-binding audience.")]
Nonce = Annotated[str | None, typer.Option(help="Expected key-binding nonce.")]


def _verify_text(
    text: str, *, what: str, audience: str | None, nonce: str | None, as_json: bool
) -> None:
    """Verify a presentation or offline QR text; print the result; exit 1 when invalid."""
    if qr.is_offline_payload(text):
        try:
            text = qr.decode_offline(text)
        except qr.QrError as exc:
            fail(f"{what}: {exc}")
    with runtime_or_exit() as runtime, runtime.transaction() as session:
        result = services.verify_online(
            session,
            registry=_registry(runtime),
            presentation=text,
            audience=audience,
            nonce=nonce,
        )
    if as_json:
        print_json(result)
    else:
        typer.echo("VALID" if result["valid"] else "INVALID")
        for name, check in result["checks"].items():
            reason = f": {check['reason']}" if check.get("reason") else ""
            typer.echo(f"  {name:<18} {check['outcome']}{reason}")
    if not result["valid"]:
        raise typer.Exit(1)


@app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(help="A presentation (SD-JWT) or offline QR text.")],
    audience: Audience = None,
    nonce: Nonce = None,
    as_json: AsJson = False,
) -> None:
    """Verify a presentation against this registry's trust and status lists (exit 1 if invalid)."""
    try:
        text = file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"FILE: cannot read {file}: {exc}")
    _verify_text(text, what="FILE", audience=audience, nonce=nonce, as_json=as_json)


@app.command("verify-qr")
def verify_qr_command(
    image: Annotated[Path, typer.Argument(help="A PNG/JPEG photo or scan of an offline QR code.")],
    audience: Audience = None,
    nonce: Nonce = None,
    as_json: AsJson = False,
) -> None:
    """Read the QR code in IMAGE (the configured QrDecoder) and verify what it carries."""
    from wallet_api.qr_decoder import qr_decoder

    try:
        data = image.read_bytes()
    except OSError as exc:
        fail(f"IMAGE: cannot read {image}: {exc}")
    try:
        text = qr_decoder(settings_or_exit().qr_decoder).decode(data).strip()
    except qr.QrError as exc:
        fail(f"IMAGE: {image}: {exc}")
    if not qr.is_offline_payload(text):
        fail(
            "IMAGE: this QR code is not an offline presentation (an online link is opened "
            "by the verifier page instead)"
        )
    _verify_text(text, what="IMAGE", audience=audience, nonce=nonce, as_json=as_json)
