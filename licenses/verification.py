"""The one verification of a license presentation: API, CLI and verifier page all call it.

:func:`verify_presentation` takes a presentation (an SD-JWT VC with the chosen
disclosures and optionally a key-binding JWT), a verified :class:`TrustList`, a source of
verified status lists, the verifier's audience and nonce, and the time. It never raises
on bad input: every check is reported, in order, with a reason for every failure, and
it needs no network when the lists are cached.

Checks (docs/license-credential.md):

``format`` — RFC 9901 §4 shape, ``typ`` ``dc+sd-jwt``, ``alg`` ES256;
``signature`` — the issuer-signed JWT verifies with the trust-list key named by ``kid``;
``issuer_trusted`` — ``iss`` is a trust-list agency and the key is one of its keys;
``issuer_authorised`` — the agency may issue ``vct``;
``validity_period`` — ``nbf`` / ``exp`` / ``iat`` against ``now``;
``status`` — the Token Status List entry is VALID and the list has not expired;
``disclosures`` — RFC 9901 §7.1 digest processing;
``key_binding`` — RFC 9901 §7.3: signature by ``cnf.jwk``, ``aud``, ``nonce``, ``iat``
freshness, ``sd_hash``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from licenses.errors import (
    CredentialError,
    IssuerNotAuthorised,
    KeyBindingMissing,
    KeyBindingSignatureInvalid,
    LicenseRevoked,
    LicenseSuspended,
    MalformedPresentation,
    StatusListError,
    StatusListExpired,
    StatusListUnavailable,
    TrustListExpired,
    UntrustedIssuer,
)
from licenses.sdjwt import (
    DEFAULT_CLOCK_SKEW,
    KEY_BINDING_CHECKS,
    UnverifiedPresentation,
    check_key_binding,
    check_validity_period,
    disclosed_claims,
    holder_jwk,
    parse_presentation,
    verify_issuer_signature,
)
from licenses.statuslist import Status, VerifiedStatusList, status_reference
from licenses.trustlist import AgencyEntry, TrustList

#: Registered claims that describe the credential, not its subject: not shown as claims.
_ENVELOPE_CLAIMS = frozenset({"iss", "iat", "nbf", "exp", "vct", "status", "cnf", "_sd_alg"})

CHECKS = (
    "format",
    "signature",
    "issuer_trusted",
    "issuer_authorised",
    "validity_period",
    "status",
    "disclosures",
    "key_binding",
)


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Check:
    outcome: Outcome
    reason: str | None = None
    code: str | None = None
    details: dict[str, str] | None = None

    @classmethod
    def passed(cls, *, details: dict[str, str] | None = None) -> Check:
        return _PASSED if details is None else cls(Outcome.PASSED, details=details)

    @classmethod
    def failed(cls, error: CredentialError, *, details: dict[str, str] | None = None) -> Check:
        return cls(Outcome.FAILED, reason=str(error), code=error.code, details=details)

    @classmethod
    def skipped(cls, reason: str) -> Check:
        return cls(Outcome.SKIPPED, reason=reason)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome.value}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.code is not None:
            out["code"] = self.code
        if self.details is not None:
            out["details"] = dict(self.details)
        return out


#: Checks are immutable: every plain pass is this one.
_PASSED = Check(Outcome.PASSED)
#: The outcomes as the key-binding check's details spell them (an enum member's
#: ``value`` is a property, looked up at every use).
_PASSED_TEXT, _FAILED_TEXT, _SKIPPED_TEXT = (
    outcome.value for outcome in (Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED)
)


@runtime_checkable
class StatusListSource(Protocol):
    """Verified status lists by URI: a cache filled online, read offline."""

    def get(self, uri: str) -> VerifiedStatusList | None: ...


class CachedStatusLists:
    """A :class:`StatusListSource` over lists already verified (and kept in memory)."""

    def __init__(self, lists: Mapping[str, VerifiedStatusList] | None = None) -> None:
        self._lists: dict[str, VerifiedStatusList] = dict(lists or {})

    def add(self, status_list: VerifiedStatusList) -> None:
        self._lists[status_list.uri] = status_list

    def get(self, uri: str) -> VerifiedStatusList | None:
        return self._lists.get(uri)


@dataclass(frozen=True, slots=True)
class VerificationResult:
    valid: bool
    checks: dict[str, Check]
    claims: dict[str, Any]
    license_id: str | None
    license_type: str | None
    status: str | None
    issuer: AgencyEntry | None
    trust_list: dict[str, Any]
    status_list: dict[str, Any] | None = None
    key_binding: dict[str, Any] | None = field(default=None)

    def failed_checks(self) -> list[str]:
        return [name for name, check in self.checks.items() if check.outcome is Outcome.FAILED]

    def as_dict(self) -> dict[str, Any]:
        """The JSON the verify API and ``govwallet license verify --json`` print."""
        return {
            "valid": self.valid,
            "checks": {name: check.as_dict() for name, check in self.checks.items()},
            "claims": self.claims,
            "license_id": self.license_id,
            "license_type": self.license_type,
            "status": self.status,
            "issuer": self.issuer.summary() if self.issuer is not None else None,
            "trust_list": self.trust_list,
            "status_list": self.status_list,
        }


def verify_presentation(
    *,
    presentation: str,
    trust_list: TrustList,
    status_lists: StatusListSource,
    audience: str | None,
    nonce: str | None,
    now: datetime,
    key_binding_max_age: timedelta,
    require_key_binding: bool,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> VerificationResult:
    """Verify a presentation and report every check (see the module docstring)."""
    run = _Run(now=now, trust_list=trust_list)
    try:
        unverified = parse_presentation(presentation)
    except MalformedPresentation as exc:
        run.record("format", Check.failed(exc))
        return run.finish(require_key_binding=require_key_binding)
    run.record("format", Check.passed())

    payload = run.signature_and_issuer(unverified)
    if payload is None:
        return run.finish(require_key_binding=require_key_binding)
    run.license_type = _string(payload.get("vct"))
    run.license_id = _string(payload.get("license_id"))

    agency = run.agency
    assert agency is not None
    if payload["vct"] in agency.license_types:
        run.record("issuer_authorised", Check.passed())
    else:
        run.record(
            "issuer_authorised",
            Check.failed(
                IssuerNotAuthorised(f"{agency.name} is not authorised to issue {payload['vct']}")
            ),
        )
    run.attempt("validity_period", check_validity_period, payload, now=now, clock_skew=clock_skew)
    run.check_status(payload, status_lists)
    claims = run.attempt("disclosures", disclosed_claims, payload, unverified.disclosures)
    if claims is not None:
        run.claims = {k: v for k, v in claims.items() if k not in _ENVELOPE_CLAIMS}
    run.check_key_binding(
        unverified,
        payload,
        audience=audience,
        nonce=nonce,
        max_age=key_binding_max_age,
        clock_skew=clock_skew,
        required=require_key_binding,
    )
    return run.finish(require_key_binding=require_key_binding)


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass
class _Run:
    now: datetime
    trust_list: TrustList
    checks: dict[str, Check] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    agency: AgencyEntry | None = None
    license_id: str | None = None
    license_type: str | None = None
    status: str | None = None
    status_list: dict[str, Any] | None = None
    key_binding: dict[str, Any] | None = None

    def record(self, name: str, check: Check) -> None:
        self.checks[name] = check

    def attempt(self, name: str, step: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            value = step(*args, **kwargs)
        except CredentialError as exc:
            self.record(name, Check.failed(exc))
            return None
        self.record(name, Check.passed())
        return value

    def signature_and_issuer(self, unverified: UnverifiedPresentation) -> dict[str, Any] | None:
        """``signature`` and ``issuer_trusted``; the verified payload when both pass."""
        iss = unverified.unverified_claims["iss"]
        kid = unverified.kid
        located = self.trust_list.by_kid(kid) if kid is not None else None
        payload: dict[str, Any] | None = None
        if kid is None:
            self.record(
                "signature",
                Check.failed(UntrustedIssuer("the credential header names no signing key (kid)")),
            )
        elif located is None:
            self.record(
                "signature",
                Check.failed(UntrustedIssuer(f"the signing key {kid} is not in the trust list")),
            )
        else:
            payload = self.attempt(
                "signature", verify_issuer_signature, unverified, public_jwk=located[1]
            )
        self.agency = self.trust_list.by_iss(iss)
        error: CredentialError | None
        if self.agency is None:
            error = UntrustedIssuer(f"the issuer {iss} is not in the trust list")
        elif located is not None and located[0] is not self.agency:
            error = UntrustedIssuer(
                f"the credential names {self.agency.name} as issuer but is signed with a key "
                f"of {located[0].name}"
            )
        elif kid is not None and located is None:
            error = UntrustedIssuer(f"the key {kid} is not one of {self.agency.name}'s keys")
        elif self.trust_list.is_expired(self.now):
            error = TrustListExpired(
                f"the trust list expired at {self.trust_list.expires_at}; it is "
                f"{int(self.trust_list.age(self.now).total_seconds())} s old — refresh it"
            )
        else:
            error = None
        self.record("issuer_trusted", Check.passed() if error is None else Check.failed(error))
        if payload is None or error is not None:
            self.agency = None if payload is None else self.agency
            return None
        return payload

    def check_status(self, payload: Mapping[str, Any], source: StatusListSource) -> None:
        try:
            uri, idx = status_reference(payload)
            verified = source.get(uri)
            if verified is None:
                raise StatusListUnavailable(
                    f"no status list for {uri} is at hand; fetch it and verify again"
                )
            self.status_list = {"uri": uri, **verified.freshness(self.now)}
            #: draft-ietf-oauth-status-list §8.3: an expired Status List Token MUST NOT
            #: be relied upon.
            if self.status_list["expired"]:
                raise StatusListExpired(
                    f"the status list expired at {verified.expires_at}; it is "
                    f"{self.status_list['age_seconds']} s old — fetch a fresh one"
                )
            status = verified.status(idx)
        except CredentialError as exc:
            self.record("status", Check.failed(exc))
            return
        self.status = status.name.lower()
        if status is Status.VALID:
            self.record("status", Check.passed())
        elif status is Status.INVALID:
            self.record("status", Check.failed(LicenseRevoked("the license has been revoked")))
        elif status is Status.SUSPENDED:
            self.record("status", Check.failed(LicenseSuspended("the license is suspended")))
        else:
            self.record(
                "status",
                Check.failed(
                    StatusListError(
                        f"unknown status value {verified.value(idx)} for the license "
                        "(application-specific)"
                    )
                ),
            )

    def check_key_binding(
        self,
        unverified: UnverifiedPresentation,
        payload: Mapping[str, Any],
        *,
        audience: str | None,
        nonce: str | None,
        max_age: timedelta,
        clock_skew: timedelta,
        required: bool,
    ) -> None:
        if unverified.key_binding_jwt is None:
            if required:
                self.record(
                    "key_binding",
                    Check.failed(KeyBindingMissing("a key-binding JWT is required but missing")),
                )
            else:
                self.record("key_binding", Check.skipped("no key-binding JWT; none was required"))
            return
        try:
            jwk = holder_jwk(payload)
        except KeyBindingSignatureInvalid as exc:
            self.record("key_binding", Check.failed(exc))
            return
        report = check_key_binding(
            unverified,
            holder_jwk=jwk,
            audience=audience,
            nonce=nonce,
            now=self.now,
            max_age=max_age,
            clock_skew=clock_skew,
        )
        outcomes = report.outcomes
        details = {
            name: (
                _SKIPPED_TEXT
                if name not in outcomes
                else _PASSED_TEXT
                if outcomes[name] is None
                else _FAILED_TEXT
            )
            for name in KEY_BINDING_CHECKS
        }
        error = report.first_error
        self.key_binding = report.claims
        self.record(
            "key_binding",
            Check.passed(details=details)
            if error is None
            else Check.failed(error, details=details),
        )

    def finish(self, *, require_key_binding: bool) -> VerificationResult:
        if len(self.checks) < len(CHECKS):
            first_failure = next(
                (n for n, c in self.checks.items() if c.outcome is Outcome.FAILED), None
            )
            for name in CHECKS:
                if name not in self.checks:
                    reason = f"not checked: the {first_failure} check failed"
                    self.record(name, Check.skipped(reason))
        checks = {name: self.checks[name] for name in CHECKS}
        valid = all(
            check.outcome is Outcome.PASSED
            or (
                name == "key_binding"
                and check.outcome is Outcome.SKIPPED
                and not require_key_binding
            )
            for name, check in checks.items()
        )
        return VerificationResult(
            valid=valid,
            checks=checks,
            claims=self.claims,
            license_id=self.license_id,
            license_type=self.license_type,
            status=self.status,
            issuer=self.agency,
            trust_list=self.trust_list.freshness(self.now),
            status_list=self.status_list,
            key_binding=self.key_binding,
        )
