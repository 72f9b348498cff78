"""The append-only, hash-chained audit log of issuance, status changes, presentations,
verifications and data access (``docs/license-records.md``)."""
