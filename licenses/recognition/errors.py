"""Errors of mutual recognition and the service-item catalogue (RFC 9457 problems)."""

from __future__ import annotations

from licenses.codes import RegistryError


class RecognitionError(RegistryError):
    """Base of recognition's errors; ``field`` names the input at fault."""

    code = "recognition-error"
    status = 400


class InvalidRecognitionRule(RecognitionError):
    code = "invalid-recognition-rule"
    status = 422


class DuplicateRecognitionRule(RecognitionError):
    code = "duplicate-recognition-rule"
    status = 409


class RecognitionRuleNotFound(RecognitionError):
    code = "recognition-rule-not-found"
    status = 404


class ForeignRecognitionRule(RecognitionError):
    """An agency tried to create or delete a rule that is not its own."""

    code = "foreign-recognition-rule"
    status = 403


class InvalidCatalogue(RecognitionError):
    code = "invalid-service-item-catalogue"
    status = 422


class ServiceItemNotFound(RecognitionError):
    code = "service-item-not-found"
    status = 404


class InvalidHeldLicense(RecognitionError):
    code = "invalid-held-license"
    status = 422
