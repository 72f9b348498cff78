"""Errors of the wallet, one class per code (rendered as RFC 9457 problems)."""

from __future__ import annotations

from licenses.codes import RegistryError


class WalletError(RegistryError):
    code = "wallet-error"
    status = 400


class NotYourLicense(WalletError):
    """Not a license of this citizen (answered like an unknown one: no probing)."""

    code = "license-not-found"
    status = 404


class LicenseNotPresentable(WalletError):
    """Revoked, cancelled, withdrawn, expired or superseded: nothing to show a verifier."""

    code = "license-not-presentable"
    status = 409


class InvalidPresentationRequest(WalletError):
    code = "invalid-presentation-request"
    status = 422


class UnknownAudience(WalletError):
    code = "unknown-audience"
    status = 422


class OnlinePresentationNotFound(WalletError):
    code = "online-presentation-not-found"
    status = 404


class OnlinePresentationGone(WalletError):
    """Used once already, or held past its time: the citizen makes a new QR code."""

    code = "online-presentation-gone"
    status = 410

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, field="qr")
        self.reason = reason

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "reason": self.reason}
