"""Errors of archive filing (RFC 9457 problems / CLI messages naming the input)."""

from __future__ import annotations

from licenses.codes import RegistryError


class ArchiveError(RegistryError):
    code = "archive-error"
    status = 400


class InvalidExportTarget(ArchiveError):
    """The output directory exists and is not empty, or cannot be written."""

    code = "invalid-archive-target"
    status = 422


class InvalidPackage(ArchiveError):
    """A directory is not an archive package at all (no manifest, unreadable)."""

    code = "invalid-archive-package"
    status = 422
