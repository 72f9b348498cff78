"""Consent-based license sharing end to end over HTTP against a live ``govwallet serve
--demo``: the platform asks with RFC 9396 ``authorization_details``, the citizen approves
some licenses and fields and refuses others, the platform reads exactly those (every
disclosure decoded), every read is recorded and shown to the citizen, and a withdrawal
makes the platform's reads fail."""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from licenses import sdjwt, statuslist, trustlist, verification
from tests.protocol.oidc_helpers import (
    Browser,
    Citizen,
    RegisteredClient,
    add_client,
    callback_params,
    discovery,
    rp_client,
)
from tests.support.databases import database_url_for
from tests.support.live_server import LiveServer, free_port, live_server
from wallet_api import demo

pytestmark = pytest.mark.e2e

ID_CARD = "111000000000130013001"
DRIVING_LICENSE = "111000000000130013002"
SERVICE_ITEM = "110000-XK-0002"
CHECKBOX = re.compile(r'<input type="checkbox" name="share" value="([^"]+)"')
DEMO_CITIZEN = Citizen(
    demo.DEMO_CITIZEN_ID_NUMBER, demo.DEMO_CITIZEN_NAME, demo.DEMO_CITIZEN_PASSWORD
)

ASKED = [
    {
        "type": "govwallet_license",
        "license_type": ID_CARD,
        "fields": ["holder_name", "age_over_18", "fields.birth_date", "fields.address"],
        "service_item": SERVICE_ITEM,
        "purpose": "Check the applicant's identity",
    },
    {
        "type": "govwallet_license",
        "license_type": DRIVING_LICENSE,
        "fields": ["license_number", "fields.vehicle_class"],
        "service_item": SERVICE_ITEM,
    },
]
#: The citizen approves two ID-card fields and refuses the rest and the driving license.
APPROVED = [f"{ID_CARD}|holder_name", f"{ID_CARD}|age_over_18"]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("sharing-e2e")
    with (
        database_url_for(request.param, tmp) as url,
        live_server(
            tmp, demo=True, database_url=url if request.param == "postgres" else None
        ) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def platform(server: LiveServer) -> RegisteredClient:
    return add_client(server, "--scope", "openid")


@dataclass
class Authorized:
    token: dict[str, Any]
    consent_page: str
    browser: Browser


def authorize_with_details(
    server: LiveServer,
    client: RegisteredClient,
    details: Any,
    *,
    approve: list[str] | None,
    decision: str = "allow",
    browser: Browser | None = None,
) -> Authorized:
    """Code flow with PKCE and ``authorization_details``; at the consent page tick exactly
    ``approve`` (``None``: keep the page's defaults)."""
    meta = discovery(server)
    rp = rp_client(server, client, "openid")
    verifier = secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"],
        code_verifier=verifier,
        authorization_details=json.dumps(details),
    )
    browser = browser or Browser(server)
    response = browser.get(url)
    if response.status_code == 303 and response.headers["location"].startswith("/login"):
        next_url = parse_qs(urlsplit(response.headers["location"]).query)["next"][0]
        response = browser.login(DEMO_CITIZEN, next_url=next_url)
        response = browser.get(response.headers["location"])
    assert response.status_code == 200, response.text[:500]
    page = response.text
    fields = browser.form_fields(response)
    ticked = [html.unescape(v) for v in CHECKBOX.findall(page)] if approve is None else approve
    response = browser.post("/authorize", data={**fields, "decision": decision, "share": ticked})
    params = callback_params(response)
    assert params["state"] == state
    if decision != "allow":
        return Authorized(token={"error": params.get("error")}, consent_page=page, browser=browser)
    token = rp.fetch_token(
        meta["token_endpoint"],
        authorization_response=response.headers["location"],
        code_verifier=verifier,
    )
    return Authorized(token=dict(token), consent_page=page, browser=browser)


def read_shared(server: LiveServer, token: dict[str, Any], **params: str) -> httpx.Response:
    return httpx.get(
        f"{server.base_url}/api/v1/shared-licenses",
        params=params,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )


def disclosed(presentation: str) -> dict[str, Any]:
    """Every disclosure of the presentation, decoded (nested ones under their parent)."""
    parts = sdjwt.parse_presentation(presentation)
    decoded = [sdjwt.Disclosure.parse(encoded) for encoded in parts.disclosures]
    return {item.name or "[array]": item.value for item in decoded}


def kb_claims(presentation: str) -> dict[str, Any]:
    kb = sdjwt.parse_presentation(presentation).key_binding_jwt
    assert kb is not None
    segment = kb.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return claims


def verify_offline(server: LiveServer, presentation: str, *, audience: str, nonce: str) -> Any:
    """The relying platform's own check with the served trust list and status list."""
    jwks = httpx.get(f"{server.base_url}/jwks.json").json()
    now = datetime.now(UTC)
    trust = trustlist.verify_trust_list(
        token=httpx.get(f"{server.base_url}/api/v1/trust-list").text,
        jwks=jwks,
        expected_iss=server.base_url,
        now=now,
    )
    payload = sdjwt.parse_presentation(presentation).unverified_claims
    uri = payload["status"]["status_list"]["uri"]
    lists = verification.CachedStatusLists()
    lists.add(
        statuslist.verify_status_list_token(
            token=httpx.get(uri).text, jwks=jwks, expected_sub=uri, now=now
        )
    )
    return verification.verify_presentation(
        presentation=presentation,
        trust_list=trust,
        status_lists=lists,
        audience=audience,
        nonce=nonce,
        now=now,
        key_binding_max_age=timedelta(minutes=5),
        require_key_binding=True,
    )


def test_discovery_advertises_the_license_type(server: LiveServer) -> None:
    assert discovery(server)["authorization_details_types_supported"] == ["govwallet_license"]


def test_platform_reads_exactly_the_approved_licenses_and_fields(
    server: LiveServer, platform: RegisteredClient
) -> None:
    flow = authorize_with_details(server, platform, ASKED, approve=APPROVED)
    try:
        # The consent page named each license, field and why.
        page = flow.consent_page
        for value in ("holder_name", "fields.birth_date", "Check the applicant", SERVICE_ITEM):
            assert value in page
        assert sorted(CHECKBOX.findall(page)) == sorted(
            f"{item['license_type']}|{name}" for item in ASKED for name in item["fields"]
        )
        granted = [
            {
                "type": "govwallet_license",
                "license_type": ID_CARD,
                "fields": ["holder_name", "age_over_18"],
                "service_item": SERVICE_ITEM,
                "purpose": "Check the applicant's identity",
            }
        ]
        #: RFC 9396 §7: the token response carries what was granted, not what was asked.
        assert flow.token["authorization_details"] == granted
        introspection = httpx.post(
            f"{server.base_url}/introspect",
            data={"token": flow.token["access_token"]},
            auth=(platform.client_id, platform.client_secret or ""),
        ).json()
        assert introspection["active"] is True
        assert introspection["authorization_details"] == granted

        nonce = secrets.token_urlsafe(16)
        response = read_shared(server, flow.token, nonce=nonce)
        assert response.status_code == 200, response.text
        body = response.json()
        assert [item["license_type"] for item in body["licenses"]] == [ID_CARD]
        presentation = body["licenses"][0]["presentation"]
        # Nothing but the approved claims is disclosed.
        assert set(disclosed(presentation)) == {"holder_name", "age_over_18"}
        assert disclosed(presentation)["holder_name"] == demo.DEMO_CITIZEN_NAME
        assert demo.DEMO_CITIZEN_ID_NUMBER not in json.dumps(disclosed(presentation))
        kb = kb_claims(presentation)
        assert kb["aud"] == platform.client_id
        assert kb["nonce"] == nonce
        result = verify_offline(server, presentation, audience=platform.client_id, nonce=nonce)
        assert result.valid is True, result.as_dict()
        assert set(result.claims) >= {"holder_name", "age_over_18"}
        assert "fields" not in result.claims
        # The same presentation under another audience fails key binding.
        wrong = verify_offline(server, presentation, audience="someone-else", nonce=nonce)
        assert wrong.valid is False
    finally:
        flow.browser.close()


def test_reads_are_recorded_and_a_withdrawal_stops_them(
    server: LiveServer, platform: RegisteredClient
) -> None:
    flow = authorize_with_details(server, platform, ASKED[:1], approve=[f"{ID_CARD}|holder_name"])
    browser = flow.browser
    try:
        assert read_shared(server, flow.token).status_code == 200
        assert read_shared(server, flow.token).status_code == 200
        page = browser.get("/account/shares", headers={"accept": "text/html"})
        assert page.status_code == 200
        sections = re.findall(
            r'<section class="share" data-share-id="([^"]+)" data-client-id="([^"]+)" '
            r'data-state="([^"]+)">(.*?)</section>',
            page.text,
            re.S,
        )
        mine = [s for s in sections if s[1] == platform.client_id and s[2] == "active"]
        share_id, _, _, content = next(s for s in mine if 'class="read"' in s[3])
        assert content.count('class="read"') == 2
        assert 'data-field="holder_name"' in content
        assert 'data-field="age_over_18"' not in content

        # Withdrawing needs the CSRF token.
        refused = browser.post(f"/account/shares/{share_id}/withdraw", data={})
        assert refused.status_code in (400, 403)
        fields = browser.form_fields(page)
        done = browser.post(
            f"/account/shares/{share_id}/withdraw", data={"csrf_token": fields["csrf_token"]}
        )
        assert done.status_code == 303
        response = read_shared(server, flow.token)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "urn:govwallet:problem:share-withdrawn"
        assert "withdrew" in response.json()["detail"]
        after = browser.get("/account/shares", headers={"accept": "text/html"}).text
        assert f'data-share-id="{share_id}" data-client-id="{platform.client_id}" ' in after
        assert 'data-state="withdrawn"' in after

        for action, count in (("license.share.read", 2), ("license.share.withdrawn", 1)):
            listed = server.cli("audit", "list", "--action", action, "--limit", "10000", "--json")
            entries = json.loads(listed.stdout)
            assert len([e for e in entries if _about(e, share_id)]) == count, entries
    finally:
        browser.close()


def _about(entry: dict[str, Any], share_id: str) -> bool:
    return share_id in json.dumps(entry)


def test_refusing_everything_shares_nothing(server: LiveServer, platform: RegisteredClient) -> None:
    flow = authorize_with_details(server, platform, ASKED, approve=[])
    try:
        assert flow.token["authorization_details"] == []
        response = read_shared(server, flow.token)
        assert response.status_code == 403
        assert response.json()["type"] == "urn:govwallet:problem:no-shared-licenses"
    finally:
        flow.browser.close()


def test_deny_answers_access_denied(server: LiveServer, platform: RegisteredClient) -> None:
    flow = authorize_with_details(server, platform, ASKED, approve=APPROVED, decision="deny")
    flow.browser.close()
    assert flow.token["error"] == "access_denied"


def test_a_token_without_details_reads_nothing(server: LiveServer) -> None:
    response = httpx.get(f"{server.base_url}/api/v1/shared-licenses")
    assert response.status_code == 401


def test_a_checkbox_not_asked_for_is_refused(
    server: LiveServer, platform: RegisteredClient
) -> None:
    """A crafted form value the page never offered: 422 naming the field, nothing stored."""
    meta = discovery(server)
    rp = rp_client(server, platform, "openid")
    url, _ = rp.create_authorization_url(
        meta["authorization_endpoint"],
        code_verifier=secrets.token_urlsafe(48),
        authorization_details=json.dumps(ASKED[:1]),
    )
    browser = Browser(server)
    try:
        response = browser.authorize(url, DEMO_CITIZEN, decision="consent-page")
        assert response.status_code == 422  # decision must be allow or deny
        page = browser.get(url)
        fields = browser.form_fields(page)
        response = browser.post(
            "/authorize",
            data={**fields, "decision": "allow", "share": [f"{ID_CARD}|holder_code"]},
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "share"
    finally:
        browser.close()


def test_refreshed_tokens_keep_the_granted_details(server: LiveServer) -> None:
    client = add_client(
        server,
        "--scope",
        "openid",
        "--scope",
        "offline_access",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        redirect_uri=f"http://127.0.0.1:{free_port()}/callback",
    )
    meta = discovery(server)
    rp = rp_client(server, client, "openid offline_access")
    verifier = secrets.token_urlsafe(48)
    url, _ = rp.create_authorization_url(
        meta["authorization_endpoint"],
        code_verifier=verifier,
        authorization_details=json.dumps(ASKED[:1]),
        prompt="consent",
    )
    browser = Browser(server)
    try:
        browser.login(DEMO_CITIZEN)
        response = browser.get(url)
        page = response.text
        assert "共享您的证照" in page  # zh-CN by default
        english = browser.get(url + "&ui_locales=en").text
        assert "Share your licenses" in english
        assert "Why" in english
        response = browser.post(
            "/authorize",
            data={**browser.form_fields(response), "decision": "allow", "share": APPROVED},
        )
        token = rp.fetch_token(
            meta["token_endpoint"],
            authorization_response=response.headers["location"],
            code_verifier=verifier,
        )
    finally:
        browser.close()
    refreshed = rp.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["authorization_details"] == token["authorization_details"]
    body = read_shared(server, dict(refreshed)).json()
    assert set(disclosed(body["licenses"][0]["presentation"])) == {"holder_name", "age_over_18"}


def test_the_shares_page_needs_a_logged_in_citizen(server: LiveServer) -> None:
    page = httpx.get(f"{server.base_url}/account/shares", headers={"accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?")
    withdraw = httpx.post(f"{server.base_url}/account/shares/{uuid.uuid4()}/withdraw")
    assert withdraw.status_code in (401, 403)
