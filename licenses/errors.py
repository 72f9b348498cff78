"""Errors of the licenses package: one class per failure code.

Each class carries ``code`` (the stable problem type suffix) and ``status`` (the HTTP
status the problem renderer uses). The message is what a person reads; it never
contains license fields or identity numbers.
"""

from __future__ import annotations

# -- credentials, presentations, status lists and trust lists --------------------------------
# (licenses/sdjwt.py, statuslist.py, trustlist.py, verification.py; see
# docs/license-credential.md)


class CredentialError(Exception):
    """Base of credential, status-list and trust-list errors."""

    code = "credential-error"
    status = 400


class InvalidCredentialInput(CredentialError):
    """The issuer asked for a credential that cannot be built as given."""

    code = "invalid-credential-input"
    status = 422


class ReservedClaimName(CredentialError):
    """A claim uses a name RFC 9901 or SD-JWT VC reserves (``_sd``, ``...``, ``iss``, …)."""

    code = "reserved-claim-name"
    status = 422


class UnknownClaim(CredentialError):
    """A presentation was asked to disclose a claim the credential does not hold."""

    code = "unknown-claim"
    status = 422


class MalformedPresentation(CredentialError):
    """Not an SD-JWT: wrong separators, bad base64url, bad JSON, wrong ``typ``/``alg``."""

    code = "malformed-presentation"
    status = 422


class InvalidSignature(CredentialError):
    """The issuer-signed JWT does not verify with the key it names."""

    code = "invalid-signature"
    status = 422


class UntrustedIssuer(CredentialError):
    """The issuer (or its signing key) is not in the trust list."""

    code = "untrusted-issuer"
    status = 422


class IssuerNotAuthorised(CredentialError):
    """The issuer is trusted but not authorised for this license type."""

    code = "issuer-not-authorised"
    status = 422


class CredentialExpired(CredentialError):
    code = "credential-expired"
    status = 422


class CredentialNotYetValid(CredentialError):
    code = "credential-not-yet-valid"
    status = 422


class InvalidDisclosure(CredentialError):
    """A disclosure is not a well-formed RFC 9901 §4.2 array."""

    code = "invalid-disclosure"
    status = 422


class DuplicateDisclosure(InvalidDisclosure):
    code = "duplicate-disclosure"


class DuplicateDigest(InvalidDisclosure):
    code = "duplicate-digest"


class UnreferencedDisclosure(InvalidDisclosure):
    code = "unreferenced-disclosure"


class ClaimNameCollision(InvalidDisclosure):
    code = "claim-name-collision"


class UnsupportedDigestAlgorithm(InvalidDisclosure):
    code = "unsupported-digest-algorithm"


class KeyBindingError(CredentialError):
    """Base of key-binding JWT failures (RFC 9901 §7.3)."""

    code = "key-binding-invalid"
    status = 422


class KeyBindingMissing(KeyBindingError):
    code = "key-binding-missing"


class KeyBindingMalformed(KeyBindingError):
    code = "key-binding-malformed"


class KeyBindingSignatureInvalid(KeyBindingError):
    code = "key-binding-signature-invalid"


class KeyBindingAudienceMismatch(KeyBindingError):
    code = "key-binding-audience-mismatch"


class KeyBindingNonceMismatch(KeyBindingError):
    code = "key-binding-nonce-mismatch"


class KeyBindingNotFresh(KeyBindingError):
    code = "key-binding-not-fresh"


class KeyBindingHashMismatch(KeyBindingError):
    code = "key-binding-hash-mismatch"


class StatusListError(CredentialError):
    """A Status List Token or a status reference is unusable."""

    code = "invalid-status-list"
    status = 422


class StatusIndexOutOfRange(StatusListError):
    code = "status-index-out-of-range"


class StatusListExpired(StatusListError):
    code = "status-list-expired"


class StatusListUnavailable(StatusListError):
    code = "status-list-unavailable"
    status = 503


class LicenseRevoked(CredentialError):
    """The status list says INVALID (revoked, cancelled or withdrawn)."""

    code = "license-revoked"
    status = 422


class LicenseSuspended(CredentialError):
    code = "license-suspended"
    status = 422


class TrustListError(CredentialError):
    code = "invalid-trust-list"
    status = 422


class TrustListExpired(TrustListError):
    code = "trust-list-expired"


# -- end of the credential errors --------------------------------------------------------------
