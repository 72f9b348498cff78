"""Demo data for ``govwallet serve --demo``: seeded idempotently and printed at start."""

from __future__ import annotations

from identity import services as identity_services
from identity.oidc import services as oidc_services
from identity.oidc.errors import UnknownClient
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


#: The demo relying platform (an OAuth client): a fixed id and a secret derived from the
#: master secret, so every start prints the same working credentials.
DEMO_CLIENT_ID = "demo-platform"
DEMO_CLIENT_REDIRECT_URI = "http://127.0.0.1:8765/callback"
DEMO_CLIENT_POST_LOGOUT_URI = "http://127.0.0.1:8765/logged-out"
DEMO_CLIENT_SCOPES = ("openid", "profile", "phone", "idcard", "offline_access", "wallet")


def seed_client(runtime: Runtime) -> list[str]:
    """The demo relying-platform client, created once; the lines to print."""
    from keys import KeyedDigest

    secret = KeyedDigest(runtime.settings.master_secret, "demo/client-secret").digest("demo")
    with runtime.transaction() as session:
        try:
            oidc_services.get_client_row(session, client_id=DEMO_CLIENT_ID)
        except UnknownClient:
            client, _ = oidc_services.register_client(
                session,
                name="Demo relying platform",
                redirect_uris=[DEMO_CLIENT_REDIRECT_URI],
                post_logout_redirect_uris=[DEMO_CLIENT_POST_LOGOUT_URI],
                scopes=DEMO_CLIENT_SCOPES,
                grant_types=("authorization_code", "refresh_token"),
                master=runtime.settings.master_secret,
            )
            client.client_id = DEMO_CLIENT_ID
            client.client_secret_digest = oidc_services.client_secret_digest(
                runtime.settings.master_secret
            ).digest(secret)
    return [
        f"client id:       {DEMO_CLIENT_ID}",
        f"client secret:   {secret}",
        f"redirect uri:    {DEMO_CLIENT_REDIRECT_URI}",
        f"scopes:          {' '.join(DEMO_CLIENT_SCOPES)}",
    ]


def seed(runtime: Runtime) -> list[str]:
    """Seed the demo data; return the lines to print (what a tester needs to log in)."""
    lines = [f"issuer:          {runtime.settings.issuer_url}"]
    lines.append(f"discovery:       {runtime.settings.issuer_url}/.well-known/openid-configuration")
    lines += seed_citizen(runtime)
    lines += seed_client(runtime)
    lines += seed_agencies(runtime)
    lines += seed_service_items(runtime)
    lines += seed_clerk(runtime)
    return lines


def seed_agencies(runtime: Runtime) -> list[str]:
    """Two demo agencies in different regions and licenses issued to the demo citizen."""
    from wallet_api.cli.license import seed_demo

    return seed_demo(
        runtime, holder_id_number=DEMO_CITIZEN_ID_NUMBER, holder_name=DEMO_CITIZEN_NAME
    )


def seed_service_items(runtime: Runtime) -> list[str]:
    """The service-item catalogue and recognition rules between the demo agencies' regions."""
    from wallet_api.cli.service_item import seed_demo

    return seed_demo(runtime)


#: The demo citizen is also a counter clerk of the Beijing demo agency, whose region
#: recognises the Jilin-issued licenses (the verifier page at /verifier).
DEMO_CLERK_AGENCY = "12110000400777687U"


def seed_clerk(runtime: Runtime) -> list[str]:
    """The demo citizen as a clerk of the demo verifying agency (idempotent)."""
    from wallet_api.cli.clerk import appoint_clerk

    with runtime.transaction() as session:
        citizen = identity_services.find_citizen_by_username(
            session, identity=runtime.identity, username=DEMO_CITIZEN_ID_NUMBER
        )
        assert citizen is not None, "seed_citizen runs first"
        subject = citizen.subject
    clerk = appoint_clerk(runtime, agency_ref=DEMO_CLERK_AGENCY, subject=subject)
    return [f"clerk of:        {clerk['agency_name']} (verifier page /verifier)"]
