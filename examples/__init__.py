"""Worked examples that use govwallet from the outside (not part of the service)."""
