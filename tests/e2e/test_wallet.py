"""The citizen's wallet end to end over HTTP against a live ``govwallet serve --demo``:
portal login through the provider, licenses issued before registration, selective
disclosure, presentations verified raw and through both QR kinds, and every failure a
verifier must see (expired key binding, replayed or late online QR, wrong audience,
revoked license, tampering)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image
from stdnum.iso7064 import mod_11_2

from licenses import qr, sdjwt, statuslist, trustlist, verification
from tests.protocol.oidc_helpers import Browser, Citizen, RegisteredClient, code_flow
from tests.support.databases import database_url_for
from tests.support.live_server import LiveServer, live_server
from tests.support.qr_reading import read_qr_codes
from wallet_api import demo

pytestmark = pytest.mark.e2e

ID_CARD = "111000000000130013001"
DRIVING_LICENSE = "111000000000130013002"
BEIJING = "12110000400777687U"
JILIN = "11220000013544541J"
ONLINE_QR_SECONDS = 4
KB_LIFETIME_SECONDS = 300


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    env = {
        "GOVWALLET_WALLET_ONLINE_QR_SECONDS": str(ONLINE_QR_SECONDS),
        "GOVWALLET_WALLET_PRESENTATION_LIFETIME_SECONDS": str(KB_LIFETIME_SECONDS),
    }
    directory = tmp_path_factory.mktemp("wallet-e2e")
    with (
        database_url_for(request.param, directory) as url,
        live_server(
            directory,
            demo=True,
            extra_env=env,
            database_url=url if request.param == "postgres" else None,
        ) as running,
    ):
        yield running


def _printed(log: str, pattern: str) -> str:
    match = re.search(pattern, log)
    assert match, f"{pattern} not printed"
    return match.group(1)


def agency_headers(server: LiveServer, client_id: str) -> dict[str, str]:
    secret = _printed(
        server.log(), rf"client id:\s+{re.escape(client_id)}\s+client secret:\s+(\S+)"
    )
    response = httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "client_credentials",
            "scope": "licenses:issue licenses:read licenses:verify licenses:revoke",
        },
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def beijing(server: LiveServer) -> dict[str, str]:
    return agency_headers(server, "demo-agency-beijing")


@pytest.fixture(scope="module")
def jilin(server: LiveServer) -> dict[str, str]:
    return agency_headers(server, "demo-agency-jilin")


DEMO_CITIZEN = Citizen(
    demo.DEMO_CITIZEN_ID_NUMBER, demo.DEMO_CITIZEN_NAME, demo.DEMO_CITIZEN_PASSWORD
)


def wallet_headers(
    server: LiveServer, citizen: Citizen, scope: str = "openid wallet"
) -> dict[str, Any]:
    """A code-flow access token of the demo relying platform (registered for ``wallet``)."""
    secret = _printed(server.log(), r"client secret:\s+(\S+)\s+redirect uri:")
    client = RegisteredClient(demo.DEMO_CLIENT_ID, secret, demo.DEMO_CLIENT_REDIRECT_URI)
    browser = Browser(server)
    try:
        _, token, _ = code_flow(server, browser, client, citizen, scope=scope)
    finally:
        browser.close()
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture(scope="module")
def citizen_api(server: LiveServer) -> dict[str, str]:
    return wallet_headers(server, DEMO_CITIZEN)


def licenses_of(server: LiveServer, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.base_url}/api/v1/wallet/licenses", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["licenses"])


def license_of_type(server: LiveServer, headers: dict[str, str], type_code: str) -> dict[str, Any]:
    found = [
        item
        for item in licenses_of(server, headers)
        if item["type"]["code"] == type_code and item["status"]["value"] == "valid"
    ]
    assert found, type_code
    return found[0]


def present(
    server: LiveServer, headers: dict[str, str], license_id: str, **body: Any
) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/api/v1/wallet/licenses/{license_id}/presentations",
        json=body,
        headers=headers,
    )


def verify(server: LiveServer, headers: dict[str, str], **body: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/v1/verify", json=body, headers=headers)


def disclosed(presentation: str) -> dict[str, Any]:
    """Every disclosure of the presentation, decoded: name -> value."""
    parts = sdjwt.parse_presentation(presentation)
    decoded = [sdjwt.Disclosure.parse(encoded) for encoded in parts.disclosures]
    return {item.name: item.value for item in decoded if item.name is not None}


def b64_json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def issue(server: LiveServer, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.base_url}/api/v1/licenses", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def id_card_body(id_number: str, name: str) -> dict[str, Any]:
    return {
        "type": ID_CARD,
        "holder": {"id_number": id_number, "name": name},
        "fields": {
            "name": name,
            "sex": "男",
            "ethnicity": "汉",
            "birth_date": f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
            "address": "吉林省长春市朝阳区人民大街2号",
            "id_number": id_number,
        },
        "area_code": "220104",
    }


def new_id_number(sequence: int) -> str:
    body = f"22010419850203{sequence:03d}"
    return body + mod_11_2.calc_check_digit(body)


# -- the portal logs in through the provider ------------------------------------------


def portal_login(server: LiveServer, citizen: Citizen) -> Browser:
    browser = Browser(server)
    first = browser.get("/wallet", headers={"accept": "text/html"})
    assert first.status_code == 303
    assert first.headers["location"].startswith("/wallet/login?next=")
    start = browser.get(first.headers["location"])
    authorize = start.headers["location"]
    assert authorize.startswith("/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == ["govwallet-wallet"]
    assert {"state", "nonce", "code_challenge"} <= set(query)
    back = browser.authorize(authorize, citizen)
    callback = back.headers["location"]
    assert callback.startswith(f"{server.base_url}/wallet/callback?")
    landed = browser.get(callback)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/wallet"
    return browser


def test_portal_logs_in_through_the_provider_and_out_through_end_session(
    server: LiveServer,
) -> None:
    browser = portal_login(server, DEMO_CITIZEN)
    assert "gw_wallet" in browser.http.cookies
    assert browser.http.cookies["gw_wallet"] != browser.http.cookies.get("gw_session")
    page = browser.get("/wallet")
    assert page.status_code == 200
    assert demo.DEMO_CITIZEN_NAME in page.text
    assert page.text.count('class="license-card"') >= 4
    csrf = Browser.form_fields(page)["csrf_token"]
    out = browser.post("/wallet/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    end_session = out.headers["location"]
    assert end_session.startswith("/end-session?")
    assert "id_token_hint" in parse_qs(urlsplit(end_session).query)
    done = browser.get(end_session)
    assert done.headers["location"] == f"{server.base_url}/wallet/logged-out"
    again = browser.get("/wallet", headers={"accept": "text/html"})
    assert again.status_code == 303  # portal session and SSO session both ended
    browser.close()


def test_portal_pages_present_print_and_refuse_bad_input(server: LiveServer) -> None:
    browser = portal_login(server, DEMO_CITIZEN)
    listing = browser.get("/wallet?lang=en")
    assert "My licenses" in listing.text
    license_path = re.findall(r'href="(/wallet/licenses/[^"]+)"', listing.text)[0]
    page = browser.get(license_path)
    assert page.status_code == 200
    csrf = Browser.form_fields(page)["csrf_token"]
    bad = browser.post(
        f"{license_path}/present", data={"csrf_token": csrf, "preset": "identity", "nonce": "a b"}
    )
    assert bad.status_code == 422
    assert 'role="alert"' in bad.text
    assert "nonce" in bad.text
    no_csrf = browser.post(f"{license_path}/present", data={"preset": "identity"})
    assert no_csrf.status_code == 403
    made = browser.post(
        f"{license_path}/present",
        data={"csrf_token": csrf, "preset": "custom", "disclose": ["holder_name"]},
    )
    assert made.status_code == 303
    shown = browser.get(made.headers["location"])
    assert re.findall(r'data-disclosed="([^"]+)"', shown.text) == ["holder_name"]
    printable = browser.get(made.headers["location"], params={"print": "1"})
    assert printable.status_code == 200
    assert 'class="printable"' in printable.text
    assert "qr.svg?kind=offline" in printable.text
    svg = browser.get(made.headers["location"] + "/qr.svg", params={"kind": "offline"})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    stranger = Browser(server).get(made.headers["location"] + "/qr.png")
    assert stranger.status_code == 401  # no portal session: no image
    browser.close()


def test_portal_callback_refuses_a_forged_state(server: LiveServer) -> None:
    browser = Browser(server)
    browser.get("/wallet/login")
    response = browser.get("/wallet/callback", params={"code": "x", "state": "forged"})
    assert response.status_code == 400
    assert response.json()["type"].endswith("portal-login-failed")
    no_login = Browser(server).get("/wallet/callback", params={"code": "x", "state": "y"})
    assert no_login.status_code == 400
    browser.close()


# -- the licenses -------------------------------------------------------------------------


def test_wallet_lists_licenses_issued_before_registration(
    server: LiveServer, jilin: dict[str, str]
) -> None:
    id_number = new_id_number(11)
    issued = issue(server, jilin, id_card_body(id_number, "赵六"))
    server.cli("register", "add", "--id-number", id_number, "--name", "赵六")
    citizen = Citizen(id_number, "赵六", "Wallet-Test-2026")
    server.cli(
        "citizen", "add", "--id-number", id_number, "--name", "赵六",
        "--password", citizen.password,
    )  # fmt: skip
    listed = licenses_of(server, wallet_headers(server, citizen))
    assert len(listed) == 1
    item = listed[0]
    # Claimed by the wallet: the same license (serial) re-issued as version 2, bound to the
    # holder key; the old version is revoked.
    old, new = issued["id"].split("."), item["id"].split(".")
    assert new[:-2] == old[:-2]
    assert new[-2] == "002"
    assert item["bound_to_wallet_key"] is True
    assert item["status"]["value"] == "valid"
    assert item["issuer"] == {"name": "吉林省住房和城乡建设厅", "credit_code": JILIN}
    assert item["type"]["name"] == {
        "zh-CN": "中华人民共和国居民身份证",
        "en": "Resident identity card",
    }
    fields = {field["name"]: field for field in item["fields"]}
    assert fields["birth_date"]["label"] == {"zh-CN": "出生", "en": "Date of birth"}
    assert fields["name"]["value"] == "赵六"
    assert item["valid_from"]
    assert item["valid_until"]
    previous = httpx.get(f"{server.base_url}/api/v1/licenses/{issued['id']}", headers=jilin)
    assert previous.json()["status"]["value"] == "revoked"
    bound = httpx.get(f"{server.base_url}/api/v1/licenses/{item['id']}", headers=jilin).json()
    cnf = b64_json(bound["credential"].split("~")[0].split(".")[1])["cnf"]["jwk"]
    assert cnf["kty"] == "EC"
    assert "d" not in cnf


def test_wallet_api_needs_a_citizen_token_with_the_wallet_scope(
    server: LiveServer, beijing: dict[str, str]
) -> None:
    url = f"{server.base_url}/api/v1/wallet/licenses"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert httpx.get(url, headers=beijing).status_code == 403  # no wallet scope
    no_scope = wallet_headers(server, DEMO_CITIZEN, scope="openid profile")
    assert httpx.get(url, headers=no_scope).status_code == 403


def test_the_wallet_is_for_real_name_verified_citizens(server: LiveServer) -> None:
    id_number = new_id_number(13)
    citizen = Citizen(id_number, "孙八", "Wallet-Test-2026")
    server.cli(
        "citizen", "add", "--id-number", id_number, "--name", citizen.name,
        "--password", citizen.password,
    )  # fmt: skip
    response = httpx.get(
        f"{server.base_url}/api/v1/wallet/licenses", headers=wallet_headers(server, citizen)
    )
    assert response.status_code == 403
    assert response.json()["type"].endswith("real-name-required")


def test_refusing_consent_ends_the_portal_login_with_403(server: LiveServer) -> None:
    citizen = Citizen(new_id_number(14), "周九", "Wallet-Test-2026")
    server.cli(
        "citizen", "add", "--id-number", citizen.id_number, "--name", citizen.name,
        "--password", citizen.password,
    )  # fmt: skip
    browser = Browser(server)
    start = browser.get("/wallet/login")
    back = browser.authorize(start.headers["location"], citizen, decision="deny")
    callback = back.headers["location"]
    assert "error=access_denied" in callback
    refused = browser.get(callback)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("portal-login-denied")
    browser.close()


# -- presentations --------------------------------------------------------------------


def test_presentation_reveals_only_what_was_chosen(
    server: LiveServer, citizen_api: dict[str, str]
) -> None:
    card = license_of_type(server, citizen_api, ID_CARD)
    response = present(server, citizen_api, card["id"], disclose=["holder_name", "issue_date"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert disclosed(body["presentation"]) == {
        "holder_name": demo.DEMO_CITIZEN_NAME,
        "issue_date": card["issue_date"],
    }
    # Nothing else is in the presentation: every part decoded, no other value anywhere.
    parts = body["presentation"].split("~")
    decoded = json.dumps([b64_json(part.split(".")[1]) for part in (parts[0], parts[-1])])
    for secret in ("1999-01-01", "吉林省长春市", demo.DEMO_CITIZEN_ID_NUMBER):
        assert secret not in decoded
        assert secret not in json.dumps(disclosed(body["presentation"]))
    # Offline QR text carries exactly the same presentation.
    assert qr.decode_offline(body["qr"]["offline"]) == body["presentation"]


def test_age_preset_proves_majority_without_the_birth_date(
    server: LiveServer, citizen_api: dict[str, str]
) -> None:
    card = license_of_type(server, citizen_api, DRIVING_LICENSE)
    presets = {preset["id"]: preset for preset in card["presets"]}
    assert presets["age-over-18"]["disclose"] == ["license_type_name", "age_over_18"]
    body = present(server, citizen_api, card["id"], preset="age-over-18").json()
    revealed = disclosed(body["presentation"])
    assert revealed == {"license_type_name": "中华人民共和国机动车驾驶证", "age_over_18": True}
    assert "1999-01-01" not in json.dumps(revealed)


def test_nested_field_discloses_only_that_property(
    server: LiveServer, citizen_api: dict[str, str]
) -> None:
    card = license_of_type(server, citizen_api, DRIVING_LICENSE)
    body = present(server, citizen_api, card["id"], disclose=["fields.vehicle_class"]).json()
    revealed = disclosed(body["presentation"])
    assert revealed["vehicle_class"] == "C1"
    assert set(revealed) == {"fields", "vehicle_class"}
    assert set(revealed["fields"]) == {"_sd"}  # only digests of the other properties


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"disclose": ["birth_place"]}, "disclose[0]"),
        ({"disclose": []}, "disclose"),
        ({"preset": "everything-and-more"}, "preset"),
        ({"disclose": ["holder_name"], "audience": "91110000MA01ABCD1X"}, "audience"),
        ({"disclose": ["holder_name"], "nonce": "short"}, "nonce"),
    ],
)
def test_bad_presentation_requests_are_422_naming_the_field(
    server: LiveServer, citizen_api: dict[str, str], body: dict[str, Any], field: str
) -> None:
    card = license_of_type(server, citizen_api, ID_CARD)
    response = present(server, citizen_api, card["id"], **body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field


def test_another_citizens_license_is_not_found(
    server: LiveServer, citizen_api: dict[str, str], jilin: dict[str, str]
) -> None:
    other = issue(server, jilin, id_card_body(new_id_number(12), "钱七"))
    response = present(server, citizen_api, other["id"], disclose=["holder_name"])
    assert response.status_code == 404
    malformed = present(server, citizen_api, "not-an-identifier", disclose=["holder_name"])
    assert malformed.status_code in (400, 422)


def test_presentations_verify_raw_and_through_both_qr_kinds(
    server: LiveServer, citizen_api: dict[str, str], beijing: dict[str, str]
) -> None:
    card = license_of_type(server, citizen_api, ID_CARD)
    for form in ("presentation", "offline", "online"):
        body = present(
            server, citizen_api, card["id"], preset="identity", audience=BEIJING,
            nonce=f"counter-7-{form}",
        ).json()  # fmt: skip
        sent = (
            {"presentation": body["presentation"]}
            if form == "presentation"
            else {"qr": body["qr"][form]}
        )
        result = verify(
            server, beijing, **sent, audience=body["audience"], nonce=f"counter-7-{form}"
        )
        assert result.status_code == 200, result.text
        report = result.json()
        assert report["valid"] is True, report["checks"]
        assert report["checks"]["key_binding"]["outcome"] == "passed"
        assert report["claims"]["holder_name"] == demo.DEMO_CITIZEN_NAME
        assert set(report["claims"]) == {"license_id", *body["disclosed"]}
        assert body["audience"] == f"{server.base_url}/agencies/{BEIJING}"


def test_online_qr_is_one_time_and_short_lived(
    server: LiveServer, citizen_api: dict[str, str], beijing: dict[str, str]
) -> None:
    card = license_of_type(server, citizen_api, ID_CARD)
    first = present(server, citizen_api, card["id"], preset="identity").json()
    link = first["qr"]["online"]
    assert re.fullmatch(rf"{re.escape(server.base_url)}/p/[A-Za-z0-9_-]{{22}}", link)
    # A person opening it in a browser does not use it up.
    page = httpx.get(link, headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    taken = httpx.get(link, headers={"accept": "application/json"})
    assert taken.status_code == 200
    assert taken.json()["presentation"] == first["presentation"]
    again = verify(server, beijing, qr=link)
    assert again.status_code == 410
    assert again.json()["reason"] == "already-used"
    second = present(server, citizen_api, card["id"], preset="identity").json()
    time.sleep(ONLINE_QR_SECONDS + 1)
    late = verify(server, beijing, qr=second["qr"]["online"])
    assert late.status_code == 410
    assert late.json()["reason"] == "expired"
    unknown = httpx.get(f"{server.base_url}/p/{'A' * 22}", headers={"accept": "application/json"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


def test_wrong_audience_and_wrong_nonce_fail_key_binding(
    server: LiveServer, citizen_api: dict[str, str], jilin: dict[str, str]
) -> None:
    card = license_of_type(server, citizen_api, ID_CARD)
    body = present(
        server, citizen_api, card["id"], preset="identity", audience=BEIJING, nonce="nonce-abc-123"
    ).json()
    wrong_aud = verify(
        server, jilin, presentation=body["presentation"],
        audience=f"{server.base_url}/agencies/{JILIN}", nonce="nonce-abc-123",
    ).json()  # fmt: skip
    assert wrong_aud["valid"] is False
    assert wrong_aud["checks"]["key_binding"]["outcome"] == "failed"
    assert "aud" in wrong_aud["checks"]["key_binding"]["reason"]
    wrong_nonce = verify(
        server, jilin, presentation=body["presentation"], audience=body["audience"],
        nonce="another-nonce",
    ).json()  # fmt: skip
    assert wrong_nonce["valid"] is False
    assert wrong_nonce["checks"]["key_binding"]["outcome"] == "failed"


def test_revoked_license_fails_its_status_check(
    server: LiveServer, citizen_api: dict[str, str], jilin: dict[str, str]
) -> None:
    fresh = issue(server, jilin, id_card_body(demo.DEMO_CITIZEN_ID_NUMBER, demo.DEMO_CITIZEN_NAME))
    claimed = [
        item for item in licenses_of(server, citizen_api)
        if item["id"].split(".")[-3] == fresh["id"].split(".")[-3]
    ]  # fmt: skip
    assert len(claimed) == 1
    body = present(server, citizen_api, claimed[0]["id"], preset="identity").json()
    revoked = httpx.post(
        f"{server.base_url}/api/v1/licenses/{claimed[0]['id']}/revoke",
        json={"reason": "issued in error"},
        headers=jilin,
    )
    assert revoked.status_code == 200, revoked.text
    report = verify(server, jilin, presentation=body["presentation"]).json()
    assert report["valid"] is False
    assert report["checks"]["status"]["code"] == "license-revoked"
    assert report["claims"]["holder_name"] == demo.DEMO_CITIZEN_NAME  # still says whose it is
    refused = present(server, citizen_api, claimed[0]["id"], preset="identity")
    assert refused.status_code == 409


def test_tampered_presentations_fail(
    server: LiveServer, citizen_api: dict[str, str], beijing: dict[str, str]
) -> None:
    card = license_of_type(server, citizen_api, ID_CARD)
    body = present(server, citizen_api, card["id"], disclose=["holder_name"]).json()
    issuer_jwt, disclosure, kb = body["presentation"].split("~")
    salt, name, _value = b64_json(disclosure)
    forged = (
        base64.urlsafe_b64encode(json.dumps([salt, name, "冒名顶替"], ensure_ascii=False).encode())
        .rstrip(b"=")
        .decode()
    )
    swapped = verify(server, beijing, presentation=f"{issuer_jwt}~{forged}~{kb}").json()
    assert swapped["valid"] is False
    assert swapped["checks"]["disclosures"]["outcome"] == "failed"
    header, payload, signature = issuer_jwt.split(".")
    claims = b64_json(payload)
    claims["license_id"] = claims["license_id"][:-1] + "0"
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged_jwt = f"{header}.{altered}.{signature}~{disclosure}~{kb}"
    report = verify(server, beijing, presentation=forged_jwt).json()
    assert report["valid"] is False
    assert report["checks"]["signature"]["outcome"] == "failed"


def test_expired_key_binding_fails_offline_with_cached_lists(
    server: LiveServer, citizen_api: dict[str, str]
) -> None:
    """An offline verifier (trust list and status list fetched earlier) checking the
    presentation after its key-binding lifetime: not fresh."""
    card = license_of_type(server, citizen_api, ID_CARD)
    body = present(server, citizen_api, card["id"], preset="identity").json()
    presentation = qr.decode_offline(body["qr"]["offline"])
    platform_jwks = httpx.get(f"{server.base_url}/jwks.json").json()
    now = datetime.now(UTC)
    trust = trustlist.verify_trust_list(
        token=httpx.get(f"{server.base_url}/api/v1/trust-list").text,
        jwks=platform_jwks,
        expected_iss=server.base_url,
        now=now,
    )
    uri = b64_json(presentation.split(".")[1])["status"]["status_list"]["uri"]
    lists = verification.CachedStatusLists()
    lists.add(
        statuslist.verify_status_list_token(
            token=httpx.get(uri).text, jwks=platform_jwks, expected_sub=uri, now=now
        )
    )
    options: dict[str, Any] = {
        "presentation": presentation,
        "trust_list": trust,
        "status_lists": lists,
        "audience": None,
        "nonce": None,
        "key_binding_max_age": timedelta(seconds=KB_LIFETIME_SECONDS),
        "require_key_binding": True,
    }
    assert verification.verify_presentation(now=now, **options).valid is True
    later = now + timedelta(seconds=KB_LIFETIME_SECONDS + 120)
    stale = verification.verify_presentation(now=later, **options)
    assert stale.valid is False
    assert stale.checks["key_binding"].outcome == "failed"


def test_qr_images_decode_to_the_same_text(
    server: LiveServer, citizen_api: dict[str, str], tmp_path: Path
) -> None:
    card = license_of_type(server, citizen_api, ID_CARD)
    body = present(server, citizen_api, card["id"], preset="identity").json()
    for kind, expected in (("offline", body["qr"]["offline"]), ("online", body["qr"]["online"])):
        image = httpx.get(
            f"{server.base_url}{body['qr']['images'][f'{kind}_png']}", headers=citizen_api
        )
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        path = tmp_path / f"{kind}.png"
        path.write_bytes(image.content)
        results = read_qr_codes(Image.open(path))
        assert [result.text for result in results] == [expected]
        svg = httpx.get(
            f"{server.base_url}{body['qr']['images'][f'{kind}_svg']}", headers=citizen_api
        )
        assert svg.status_code == 200
        assert svg.headers["content-type"].startswith("image/svg+xml")
    assert int(image.headers["x-qr-version"]) <= 10  # the online link is short
