"""Consent-based sharing of licenses with relying platforms (docs/sharing.md)."""
