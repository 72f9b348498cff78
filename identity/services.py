"""Citizens' accounts: registration, login, second factor, register, claims.

Every function takes keyword-only arguments; the first is the SQLAlchemy session,
``identity`` the process's :class:`identity.config.IdentityConfig`. Functions
flush but never commit: the caller commits. The one exception: a failed login or
second-factor check commits the session before raising, so the failure stays
counted by the throttle (see :mod:`identity.throttle`).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from identity import throttle, totp
from identity.config import IdentityConfig
from identity.errors import (
    CitizenAlreadyRegistered,
    IdentityError,
    InvalidIdNumber,
    InvalidName,
    InvalidOtp,
    InvalidPhone,
    LoginFailed,
    LoginThrottled,
    TotpAlreadyEnrolled,
    TotpNotEnrolled,
)
from identity.models import Citizen, LevelOfAssurance, RecoveryCode
from identity.passwords import check_strength
from identity.register import LocalRegister, normalise_name
from identity.single_use import mark_once
from identity.throttle import ThrottleKeys
from identity.validators import ResidentIdNumber, normalise_id_number, parse_id_number

ACR_PREFIX = "urn:govwallet:loa:"
_PHONE = re.compile(r"1[3-9][0-9]{9}")
_NAME_MAX = 100


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# -- input normalisation ----------------------------------------------------------------


def normalise_phone(phone: str) -> str:
    """A mainland mobile number as 11 digits; ``+86``/``0086`` prefixes, spaces, dashes dropped."""
    digits = re.sub(r"[\s\-()]", "", phone)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not _PHONE.fullmatch(digits):
        raise InvalidPhone("The phone must be a mainland mobile number of 11 digits (1XXXXXXXXXX).")
    return digits


def validate_name(name: str) -> str:
    """The name as registered: NFKC-normalised, 1–100 characters, no control characters."""
    cleaned = normalise_name(name)
    if not cleaned:
        raise InvalidName("Enter your name as it appears on your identity card.")
    if len(cleaned) > _NAME_MAX:
        raise InvalidName(f"The name must be at most {_NAME_MAX} characters.")
    if any(unicodedata.category(c).startswith("C") for c in cleaned):
        raise InvalidName("The name must not contain control characters.")
    return cleaned


# -- registration -----------------------------------------------------------------------


def register_citizen(
    session: Session,
    *,
    identity: IdentityConfig,
    id_number: str,
    name: str,
    password: str,
    phone: str | None = None,
    now: datetime | None = None,
) -> Citizen:
    """Create an account; loa 2 when the population register confirms number AND name, else 1.

    Raises :class:`InvalidIdNumber` (naming the rule), :class:`InvalidName`,
    :class:`InvalidPhone`, :class:`WeakPassword` or :class:`CitizenAlreadyRegistered`;
    nothing is written unless every check passed.
    """
    now = _now(now)
    parsed = parse_id_number(id_number, today=now.date())
    name = validate_name(name)
    phone = normalise_phone(phone) if phone else None
    check_strength(
        password,
        policy=identity.passwords.policy,
        personal=(parsed.number, parsed.number[6:14], phone or ""),
    )
    crypto = identity.crypto
    number_digest = crypto.id_number_digest.digest(parsed.number)
    if session.scalar(select(Citizen.id).where(Citizen.id_number_digest == number_digest)):
        raise CitizenAlreadyRegistered("An account with this identity number exists already.")
    phone_digest = crypto.phone_digest.digest(phone) if phone else None
    if phone_digest and session.scalar(
        select(Citizen.id).where(Citizen.phone_digest == phone_digest)
    ):
        raise CitizenAlreadyRegistered("This phone number is used by another account.")
    verified = identity.register.confirms(session, id_number=parsed.number, name=name)
    subject = secrets.token_urlsafe(24)
    citizen = Citizen(
        subject=subject,
        id_number_digest=number_digest,
        id_number_encrypted=crypto.id_number_cipher.encrypt_text(parsed.number, aad=subject),
        name=name,
        phone_digest=phone_digest,
        phone_encrypted=crypto.phone_cipher.encrypt_text(phone, aad=subject) if phone else None,
        password_hash=identity.passwords.hash(password),
        loa=int(LevelOfAssurance.REAL_NAME if verified else LevelOfAssurance.SELF_ASSERTED),
        real_name_verified_at=now if verified else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(citizen)
    except IntegrityError:
        raise CitizenAlreadyRegistered(
            "An account with this identity number or phone exists already."
        ) from None
    return citizen


# -- login ------------------------------------------------------------------------------


def find_citizen_by_username(
    session: Session, *, identity: IdentityConfig, username: str
) -> Citizen | None:
    """The account named by an identity number (``x`` or ``X``) or a mobile phone number."""
    try:
        phone = normalise_phone(username)
    except InvalidPhone:
        phone = None
    if phone is not None:
        digest = identity.crypto.phone_digest.digest(phone)
        return session.scalar(select(Citizen).where(Citizen.phone_digest == digest))
    digest = identity.crypto.id_number_digest.digest(normalise_id_number(username.strip()))
    return session.scalar(select(Citizen).where(Citizen.id_number_digest == digest))


def find_citizen_by_subject(session: Session, *, subject: str) -> Citizen | None:
    """The account whose public subject identifier is ``subject``."""
    return session.scalar(select(Citizen).where(Citizen.subject == subject))


def _fail(
    session: Session,
    *,
    identity: IdentityConfig,
    keys: ThrottleKeys,
    now: datetime,
    error: IdentityError,
) -> NoReturn:
    """Count the failure, COMMIT it (it must outlive the failed request), raise ``error``.

    Raises :class:`LoginThrottled` instead when this failure reached a limit.
    """
    locked_for = throttle.record_failure(session, policy=identity.throttle, keys=keys, now=now)
    session.commit()
    if locked_for is not None:
        raise LoginThrottled(locked_for)
    raise error


def authenticate(
    session: Session,
    *,
    identity: IdentityConfig,
    username: str,
    password: str,
    client_address: str,
    now: datetime | None = None,
) -> Citizen:
    """Check a username (identity number or phone) and password; return the citizen.

    Raises :class:`LoginThrottled` (with ``retry_after`` seconds) while the account or
    the client address is locked, and :class:`LoginFailed` otherwise. The same
    error, the same message and the same Argon2 work answer an unknown username and a
    wrong password. A failure is counted and the session COMMITTED before the error is
    raised. A successful login re-hashes a password hashed with old Argon2 parameters
    and sets ``last_login_at``; the caller commits.
    """
    now = _now(now)
    citizen = find_citizen_by_username(session, identity=identity, username=username)
    account = f"citizen:{citizen.id}" if citizen else f"username:{username.strip().upper()}"
    keys = ThrottleKeys.for_attempt(identity.crypto, account=account, client_address=client_address)
    standing = throttle.ensure_not_locked(session, keys=keys, now=now)
    if citizen is None:
        identity.passwords.dummy_verify(password)
        verification = None
    else:
        verification = identity.passwords.verify(citizen.password_hash, password)
    if verification is None or not verification.ok:
        _fail(session, identity=identity, keys=keys, now=now, error=LoginFailed())
    assert citizen is not None
    if verification.needs_rehash:
        citizen.password_hash = identity.passwords.hash(password)
    citizen.last_login_at = now
    citizen.updated_at = now
    throttle.clear_account(session, keys=keys, standing=standing)
    session.flush()
    return citizen


# -- second factor ----------------------------------------------------------------------


def _totp_secret(identity: IdentityConfig, citizen: Citizen) -> str:
    assert citizen.totp_secret_encrypted is not None
    return identity.crypto.totp_cipher.decrypt_text(
        citizen.totp_secret_encrypted, aad=citizen.subject
    )


def _enrolment(identity: IdentityConfig, citizen: Citizen, secret: str) -> totp.TotpEnrolment:
    uri = totp.provisioning_uri(secret, account_label=citizen.name)
    return totp.TotpEnrolment(secret=secret, uri=uri, qr_svg=totp.qr_svg(uri))


def begin_totp_enrolment(
    session: Session, *, identity: IdentityConfig, citizen: Citizen, now: datetime | None = None
) -> totp.TotpEnrolment:
    """Start (or restart) TOTP enrolment: a new seed, its ``otpauth://`` URI and QR code.

    The seed is stored encrypted but not in force until :func:`confirm_totp_enrolment`.
    Raises :class:`TotpAlreadyEnrolled` when TOTP is already on.
    """
    if citizen.totp_enabled:
        raise TotpAlreadyEnrolled("Two-step verification is already on for this account.")
    secret = totp.new_secret()
    citizen.totp_secret_encrypted = identity.crypto.totp_cipher.encrypt_text(
        secret, aad=citizen.subject
    )
    citizen.totp_last_step = None
    citizen.updated_at = _now(now)
    session.flush()
    return _enrolment(identity, citizen, secret)


def pending_totp_enrolment(
    *, identity: IdentityConfig, citizen: Citizen
) -> totp.TotpEnrolment | None:
    """The enrolment started but not confirmed yet (to show the QR code again), if any."""
    if citizen.totp_enabled or citizen.totp_secret_encrypted is None:
        return None
    return _enrolment(identity, citizen, _totp_secret(identity, citizen))


def _replace_recovery_codes(
    session: Session, *, identity: IdentityConfig, citizen: Citizen, now: datetime
) -> list[str]:
    for old in list(citizen.recovery_codes):
        citizen.recovery_codes.remove(old)
    codes = totp.new_recovery_codes()
    for code in codes:
        digest = identity.crypto.recovery_code_digest.digest(
            f"{citizen.subject}:{totp.normalise_recovery_code(code)}"
        )
        citizen.recovery_codes.append(RecoveryCode(code_digest=digest, created_at=now))
    session.flush()
    return codes


def confirm_totp_enrolment(
    session: Session,
    *,
    identity: IdentityConfig,
    citizen: Citizen,
    otp: str,
    now: datetime | None = None,
) -> list[str]:
    """Turn TOTP on once the first code checks out; return the recovery codes (shown once).

    Raises :class:`TotpNotEnrolled` when no enrolment was started, :class:`InvalidOtp`
    for a wrong code.
    """
    now = _now(now)
    if citizen.totp_enabled:
        raise TotpAlreadyEnrolled("Two-step verification is already on for this account.")
    if citizen.totp_secret_encrypted is None:
        raise TotpNotEnrolled("Start the set-up of two-step verification first.")
    step = totp.matching_step(_totp_secret(identity, citizen), otp, now=now, after_step=None)
    if step is None:
        raise InvalidOtp()
    citizen.totp_enabled_at = now
    citizen.totp_last_step = step
    citizen.updated_at = now
    return _replace_recovery_codes(session, identity=identity, citizen=citizen, now=now)


def verify_second_factor(
    session: Session,
    *,
    identity: IdentityConfig,
    citizen: Citizen,
    otp: str,
    client_address: str | None = None,
    now: datetime | None = None,
) -> None:
    """Accept a TOTP code (each time step once) or an unused recovery code (then spent).

    Raises :class:`InvalidOtp` for a wrong, replayed or spent code,
    :class:`LoginThrottled` after too many wrong codes, :class:`TotpNotEnrolled` when
    the citizen has no second factor. A wrong code is counted and the session
    COMMITTED before raising; on success the caller commits (the code is spent then).
    """
    now = _now(now)
    if not citizen.totp_enabled:
        raise TotpNotEnrolled("This account has no second factor.")
    keys = ThrottleKeys.for_attempt(
        identity.crypto, account=f"otp:{citizen.id}", client_address=client_address
    )
    throttle.ensure_not_locked(session, keys=keys, now=now)
    step = totp.matching_step(
        _totp_secret(identity, citizen), otp, now=now, after_step=citizen.totp_last_step
    )
    # Each step and each recovery code once, also against requests racing with the same
    # code (identity.single_use); the one that comes second is a replayed, wrong code.
    if step is not None:
        later = or_(Citizen.totp_last_step.is_(None), Citizen.totp_last_step < step)
        if mark_once(session, citizen, attribute="totp_last_step", value=step, unused=later):
            return
    else:
        recovery = f"{citizen.subject}:{totp.normalise_recovery_code(otp)}"
        spent = next(
            (
                code
                for code in citizen.recovery_codes
                if code.used_at is None
                and identity.crypto.recovery_code_digest.matches(recovery, code.code_digest)
            ),
            None,
        )
        if spent is not None and mark_once(session, spent, attribute="used_at", value=now):
            return
    _fail(session, identity=identity, keys=keys, now=now, error=InvalidOtp())


def regenerate_recovery_codes(
    session: Session,
    *,
    identity: IdentityConfig,
    citizen: Citizen,
    otp: str,
    now: datetime | None = None,
) -> list[str]:
    """New recovery codes (the old ones stop working), after a valid second factor."""
    now = _now(now)
    verify_second_factor(session, identity=identity, citizen=citizen, otp=otp, now=now)
    return _replace_recovery_codes(session, identity=identity, citizen=citizen, now=now)


def disable_totp(
    session: Session,
    *,
    identity: IdentityConfig,
    citizen: Citizen,
    otp: str,
    now: datetime | None = None,
) -> None:
    """Turn TOTP off (seed and recovery codes erased), after a valid second factor."""
    now = _now(now)
    verify_second_factor(session, identity=identity, citizen=citizen, otp=otp, now=now)
    citizen.totp_secret_encrypted = None
    citizen.totp_enabled_at = None
    citizen.totp_last_step = None
    citizen.updated_at = now
    for old in list(citizen.recovery_codes):
        citizen.recovery_codes.remove(old)
    session.flush()


def unused_recovery_codes(*, citizen: Citizen) -> int:
    """How many recovery codes the citizen has left."""
    return sum(1 for code in citizen.recovery_codes if code.used_at is None)


# -- levels of assurance and claims -------------------------------------------------------


def loa_for(*, citizen: Citizen, second_factor: bool) -> int:
    """The level of assurance of one authentication: 3 = real name verified + second factor."""
    if second_factor and citizen.loa >= LevelOfAssurance.REAL_NAME:
        return int(LevelOfAssurance.REAL_NAME_SECOND_FACTOR)
    return citizen.loa


def acr_for(*, citizen: Citizen, second_factor: bool) -> str:
    """The ``acr`` value (``urn:govwallet:loa:N``) of one authentication."""
    return f"{ACR_PREFIX}{loa_for(citizen=citizen, second_factor=second_factor)}"


def citizen_id_number(*, identity: IdentityConfig, citizen: Citizen) -> str:
    """Decrypt the citizen's identity number. Only for a caller that must disclose it."""
    return identity.crypto.id_number_cipher.decrypt_text(
        citizen.id_number_encrypted, aad=citizen.subject
    )


def citizen_phone(*, identity: IdentityConfig, citizen: Citizen) -> str | None:
    if citizen.phone_encrypted is None:
        return None
    return identity.crypto.phone_cipher.decrypt_text(citizen.phone_encrypted, aad=citizen.subject)


def citizen_birth_facts(*, identity: IdentityConfig, citizen: Citizen) -> ResidentIdNumber:
    """Birth date and gender, read from the (decrypted) identity number."""
    number = citizen_id_number(identity=identity, citizen=citizen)
    return parse_id_number(number, today=datetime.max.date())


def citizen_claims(
    *,
    identity: IdentityConfig,
    citizen: Citizen,
    scopes: Iterable[str],
    include_id_number: bool = False,
) -> dict[str, Any]:
    """OpenID claims for the granted ``scopes`` (``sub`` is the caller's to add).

    ``profile`` → ``name``, ``birthdate`` (``YYYY-MM-DD``), ``gender``
    (``male``/``female``), ``loa``; ``phone`` → ``phone_number`` (E.164) and
    ``phone_number_verified`` (false: not confirmed by SMS); ``idcard`` →
    ``id_number``, only when ``include_id_number`` (the client is registered for it).
    """
    granted = set(scopes)
    claims: dict[str, Any] = {}
    if "profile" in granted:
        facts = citizen_birth_facts(identity=identity, citizen=citizen)
        claims.update(
            name=citizen.name,
            birthdate=facts.birth_date.isoformat(),
            gender=facts.gender,
            loa=citizen.loa,
        )
    if "phone" in granted:
        phone = citizen_phone(identity=identity, citizen=citizen)
        if phone is not None:
            claims.update(phone_number=f"+86{phone}", phone_number_verified=False)
    if "idcard" in granted and include_id_number:
        claims["id_number"] = citizen_id_number(identity=identity, citizen=citizen)
    return claims


# -- the local population register -------------------------------------------------------


def add_register_entry(
    session: Session,
    *,
    identity: IdentityConfig,
    id_number: str,
    name: str,
    now: datetime | None = None,
) -> bool:
    """Add a person to the local register; True if new, False if already there (same name).

    A citizen already registered under this number and name is raised to loa 2.
    Raises :class:`InvalidIdNumber`, :class:`InvalidName` or
    :class:`RegisterEntryConflict` (number held under another name).
    """
    now = _now(now)
    parsed = parse_id_number(id_number, today=now.date())
    name = validate_name(name)
    _entry, created = LocalRegister(identity.crypto).add(
        session, id_number=parsed.number, name=name, now=now
    )
    digest = identity.crypto.id_number_digest.digest(parsed.number)
    citizen = session.scalar(select(Citizen).where(Citizen.id_number_digest == digest))
    if citizen is not None and citizen.name == name and citizen.loa < LevelOfAssurance.REAL_NAME:
        citizen.loa = int(LevelOfAssurance.REAL_NAME)
        citizen.real_name_verified_at = now
        citizen.updated_at = now
    session.flush()
    return created


@dataclass
class RegisterImportReport:
    """Outcome of an import. ``errors`` lists ``(line, message)``; when it is not
    empty nothing was imported."""

    added: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_register_csv(
    session: Session, *, identity: IdentityConfig, text: str, now: datetime | None = None
) -> RegisterImportReport:
    """Import a CSV with the header row ``id_number,name``: all rows or none.

    Every row is checked first; if any is bad (invalid number, empty name, a number
    held under another name, the same number twice with different names) the report
    lists each bad row by line number and nothing is written. Rows already in the
    register under the same name are counted as unchanged, so a re-run is harmless.
    """
    now = _now(now)
    report = RegisterImportReport()
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != ["id_number", "name"]:
        report.errors.append((1, "the header row must be exactly: id_number,name"))
        return report
    seen: dict[str, tuple[int, str]] = {}
    valid: list[tuple[str, str]] = []
    local = LocalRegister(identity.crypto)
    for row in reader:
        line = reader.line_num
        try:
            if None in row or any(v is None for v in row.values()):
                raise InvalidName("the row must have exactly two fields: id_number,name")
            number = parse_id_number((row["id_number"] or "").strip(), today=now.date()).number
            name = validate_name(row["name"] or "")
        except (InvalidIdNumber, InvalidName) as exc:
            report.errors.append((line, str(exc)))
            continue
        if number in seen:
            first_line, first_name = seen[number]
            if first_name != name:
                report.errors.append(
                    (line, f"the same identity number as line {first_line} with another name")
                )
            continue
        seen[number] = (line, name)
        existing = local.entry(session, id_number=number)
        if existing is not None and existing.name != name:
            report.errors.append(
                (line, "the register already holds this identity number under another name")
            )
            continue
        valid.append((number, name))
    if report.errors:
        return report
    for number, name in valid:
        created = add_register_entry(
            session, identity=identity, id_number=number, name=name, now=now
        )
        if created:
            report.added += 1
        else:
            report.unchanged += 1
    return report
