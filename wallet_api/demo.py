"""Demo data for ``govwallet serve --demo``: seeded idempotently and printed at start."""

from __future__ import annotations

from wallet_api.runtime import Runtime


def seed(runtime: Runtime) -> list[str]:
    """Seed the demo data; return the lines to print (what a tester needs to log in)."""
    lines = [f"issuer:          {runtime.settings.issuer_url}"]
    lines.append(f"discovery:       {runtime.settings.issuer_url}/.well-known/openid-configuration")
    return lines
