"""Mutual recognition rules and the coded service-item catalogue (``docs/license-records.md``)."""
