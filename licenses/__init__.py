"""License types, agencies and trust, issuance, status lists, verification and audit."""
