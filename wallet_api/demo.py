"""Demo data for ``govwallet serve --demo``: seeded idempotently and printed at start."""

from __future__ import annotations

from identity import services as identity_services
from wallet_api.runtime import Runtime

#: The demo citizen: a synthetic identity number (tests/vectors/id_numbers.csv), in the
#: local population register, so the account is real-name verified (loa 2).
DEMO_CITIZEN_ID_NUMBER = "620102199901013189"
DEMO_CITIZEN_NAME = "李华"
DEMO_CITIZEN_PASSWORD = "Demo-Citizen-2026"  # noqa: S105 (printed at start, demo only)
DEMO_CITIZEN_PHONE = "13800138000"


def seed_citizen(runtime: Runtime) -> list[str]:
    """The demo citizen and its register entry, created once; the lines to print."""
    identity = runtime.identity
    with runtime.transaction() as session:
        identity_services.add_register_entry(
            session, identity=identity, id_number=DEMO_CITIZEN_ID_NUMBER, name=DEMO_CITIZEN_NAME
        )
        citizen = identity_services.find_citizen_by_username(
            session, identity=identity, username=DEMO_CITIZEN_ID_NUMBER
        )
        if citizen is None:
            citizen = identity_services.register_citizen(
                session,
                identity=identity,
                id_number=DEMO_CITIZEN_ID_NUMBER,
                name=DEMO_CITIZEN_NAME,
                password=DEMO_CITIZEN_PASSWORD,
                phone=DEMO_CITIZEN_PHONE,
            )
        loa, subject = citizen.loa, citizen.subject
    return [
        f"citizen number:  {DEMO_CITIZEN_ID_NUMBER} (or phone {DEMO_CITIZEN_PHONE})",
        f"citizen name:    {DEMO_CITIZEN_NAME}",
        f"citizen password: {DEMO_CITIZEN_PASSWORD}",
        f"citizen sub:     {subject} (level of assurance {loa})",
    ]


def seed(runtime: Runtime) -> list[str]:
    """Seed the demo data; return the lines to print (what a tester needs to log in)."""
    lines = [f"issuer:          {runtime.settings.issuer_url}"]
    lines.append(f"discovery:       {runtime.settings.issuer_url}/.well-known/openid-configuration")
    lines += seed_citizen(runtime)
    return lines
