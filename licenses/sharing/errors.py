"""Errors of license sharing, one class per code (rendered as RFC 9457 problems)."""

from __future__ import annotations

from licenses.codes import RegistryError


class SharingError(RegistryError):
    code = "sharing-error"
    status = 400


class NoSharedLicenses(SharingError):
    """The access token was not granted any license (no ``authorization_details``)."""

    code = "no-shared-licenses"
    status = 403


class ShareWithdrawn(SharingError):
    """The citizen withdrew a share this token relies on: the platform may read no more."""

    code = "share-withdrawn"
    status = 403


class ShareNotFound(SharingError):
    """No such share of this citizen (answered alike for someone else's)."""

    code = "share-not-found"
    status = 404


class InvalidShareRequest(SharingError):
    code = "invalid-share-request"
    status = 422


class SharedLicenseGone(SharingError):
    """A shared license is no longer in the registry (archived after its retention)."""

    code = "shared-license-gone"
    status = 410
