"""The verifier page over HTTP against a live demo server, without JavaScript.

A clerk logs in through govwallet's own provider (the portal login: login form, consent,
callback), uploads a photo of a license QR code with the plain multipart form, and gets
the verdict rendered by the server. Also: only clerks get the page, forms need their CSRF
token, and bad uploads get a clear 4xx page, never a 500.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from licenses import qr, qr_images, sdjwt
from tests.support.live_server import LiveServer, live_server
from tests.unit.identity.factories import id_number as factory_id_number
from wallet_api.demo import DEMO_CITIZEN_ID_NUMBER, DEMO_CITIZEN_PASSWORD

pytestmark = pytest.mark.e2e

ID_CARD = "111000000000130013001"
JILIN = "11220000013544541J"
DISCLOSE = ["holder_name", "license_number", "issue_date", "valid_until", "issuing_agency_name"]
_INPUT = re.compile(r"<input[^>]*>")
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def hidden_fields(page: str, action: str) -> dict[str, str]:
    """The hidden inputs of the form posting to ``action``."""
    start = page.index(f'action="{action}"')
    form = page[start : page.index("</form>", start)]
    fields = {}
    for tag in _INPUT.findall(form):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(tag)}
        if attrs.get("type") == "hidden":
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def portal_login(
    client: httpx.Client, *, username: str, password: str, start: str = "/verifier"
) -> httpx.Response:
    """Follow the portal login through the provider's forms; the final page's response."""
    response = client.get(start, headers={"Accept": "text/html"})
    for _ in range(12):
        if response.is_redirect:
            response = client.get(response.headers["location"], headers={"Accept": "text/html"})
        elif 'action="/login"' in response.text:
            fields = hidden_fields(response.text, "/login")
            response = client.post(
                "/login", data={**fields, "username": username, "password": password}
            )
        elif 'action="/authorize"' in response.text:
            fields = hidden_fields(response.text, "/authorize")
            response = client.post("/authorize", data={**fields, "decision": "allow"})
        else:
            return response
    raise AssertionError("the login did not finish")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("verifier-page"), demo=True) as running:
        yield running


@pytest.fixture(scope="module")
def clerk(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        page = portal_login(client, username=DEMO_CITIZEN_ID_NUMBER, password=DEMO_CITIZEN_PASSWORD)
        assert page.status_code == 200, page.text
        assert str(page.url).endswith("/verifier")
        yield client


def issue_id_card(server: LiveServer, tmp_path: Path) -> dict[str, Any]:
    example = json.loads(server.cli("license-type", "example", ID_CARD).stdout)["fields"]
    body = tmp_path / "body.json"
    body.write_text(
        json.dumps(
            {
                "type": ID_CARD,
                "holder": {"id_number": "11010519491231002X", "name": "张三"},
                "fields": example,
                "area_code": "220102",
            }
        ),
        encoding="utf-8",
    )
    issued: dict[str, Any] = json.loads(
        server.cli("license", "issue", "--agency", JILIN, str(body), "--json").stdout
    )
    return issued


def qr_png(issued: dict[str, Any]) -> bytes:
    presentation = sdjwt.present(
        credential=issued["credential"],
        disclose=DISCLOSE,
        holder=None,
        audience="unused",
        nonce="unused",
        iat=datetime.now(UTC),
    )
    return qr_images.render_png(qr.encode_offline(presentation)).content


def upload(client: httpx.Client, image: bytes | None, *, csrf: str | None = None) -> httpx.Response:
    page = client.get("/verifier", headers={"Accept": "text/html"})
    action = re.search(r'action="(/verifier/upload[^"]*)"', page.text)
    assert action is not None
    target = html.unescape(action.group(1))
    fields = hidden_fields(page.text, target)
    if csrf is not None:
        fields["csrf_token"] = csrf
    files = {"image": ("qr.png", image, "image/png")} if image is not None else None
    return client.post(target, data=fields, files=files)


def test_the_page_is_for_logged_in_clerks_and_sets_a_strict_policy(
    server: LiveServer, clerk: httpx.Client
) -> None:
    anonymous = httpx.get(
        f"{server.base_url}/verifier", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/verifier/login?next=")

    page = clerk.get("/verifier")
    assert page.status_code == 200
    assert "北京市住房和城乡建设委员会" in page.text  # the demo clerk's agency
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert scripts
    assert all(re.search(r'src="/static/[^"]+"', s) for s in scripts)
    assert "<script>" not in page.text
    assert 'enctype="multipart/form-data"' in page.text

    worker = clerk.get("/verifier-sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/verifier"


def test_a_citizen_who_is_no_clerk_gets_a_clear_403_page(
    server: LiveServer, tmp_path: Path
) -> None:
    id_number = factory_id_number(30)
    server.cli("register", "add", "--id-number", id_number, "--name", "王五")
    server.cli(
        "citizen",
        "add",
        "--id-number",
        id_number,
        "--name",
        "王五",
        "--password",
        "Another-Citizen-7",
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        page = portal_login(client, username=id_number, password="Another-Citizen-7")
        assert page.status_code == 403
        assert "govwallet agency clerk add" in page.text
        verify = client.post("/verifier/verify", json={"qr": "GW1:X"})
        assert verify.status_code == 403


def test_the_upload_form_without_javascript_shows_valid_with_materials(
    server: LiveServer, clerk: httpx.Client, tmp_path: Path
) -> None:
    issued = issue_id_card(server, tmp_path)
    answer = upload(clerk, qr_png(issued))
    assert answer.status_code == 200, answer.text
    assert 'class="verdict verdict-valid"' in answer.text
    assert "张三" in answer.text
    assert "吉林省住房和城乡建设厅" in answer.text  # the issuer
    # Beijing recognises Jilin's identity cards for the applicant's ID (demo rules).
    assert "申请人有效身份证件" in answer.text
    assert issued["id"] in answer.text
    assert '<th data-claim="holder_name">持证主体</th>' in answer.text  # zh-CN labels

    revoked = server.cli("license", "revoke", issued["id"], "--reason", "issued in error")
    assert revoked.returncode == 0
    after = upload(clerk, qr_png(issued))
    assert after.status_code == 200
    assert 'class="verdict verdict-invalid"' in after.text
    assert "the license has been revoked" in after.text
    assert "申请人有效身份证件" not in after.text


def test_bad_uploads_are_clear_4xx_pages_and_csrf_is_required(clerk: httpx.Client) -> None:
    blank = io.BytesIO()
    Image.new("L", (80, 80), 255).save(blank, format="PNG")
    cases = [
        (blank.getvalue(), "no QR code was found"),
        (b"not an image", "not an image"),
        (qr_images.render_png("GW1:AAAA").content, "qr:"),
    ]
    for image, message in cases:
        answer = upload(clerk, image)
        assert answer.status_code == 422, answer.text
        assert 'class="verdict verdict-error"' in answer.text
        assert message in answer.text
    missing = upload(clerk, None)
    assert missing.status_code == 422
    forged = upload(clerk, blank.getvalue(), csrf="forged")
    assert forged.status_code == 403

    no_header = clerk.post("/verifier/verify", json={"qr": "GW1:AAAA"})
    assert no_header.status_code == 403
    assert no_header.json()["type"].endswith("csrf-failed")


def page_csrf(client: httpx.Client) -> str:
    page = client.get("/verifier", headers={"Accept": "text/html"})
    match = re.search(r'data-csrf-token="([^"]+)"', page.text)
    assert match is not None
    return html.unescape(match.group(1))


def test_a_citizens_wallet_presentation_offline_and_online_at_the_counter(
    server: LiveServer, clerk: httpx.Client
) -> None:
    """The demo citizen's own Jilin ID card, presented from the wallet (holder-bound)."""
    from tests.protocol.oidc_helpers import Browser, Citizen, RegisteredClient, code_flow
    from wallet_api import demo

    secret = re.search(r"client secret:\s+(\S+)\s+redirect uri:", server.log())
    assert secret is not None
    client = RegisteredClient(demo.DEMO_CLIENT_ID, secret.group(1), demo.DEMO_CLIENT_REDIRECT_URI)
    citizen = Citizen(DEMO_CITIZEN_ID_NUMBER, "李华", DEMO_CITIZEN_PASSWORD)
    browser = Browser(server)
    try:
        _, token, _ = code_flow(server, browser, client, citizen, scope="openid wallet")
    finally:
        browser.close()
    wallet = {"Authorization": f"Bearer {token['access_token']}"}
    held = httpx.get(f"{server.base_url}/api/v1/wallet/licenses", headers=wallet).json()
    card = next(item for item in held["licenses"] if item["type"]["code"] == ID_CARD)
    presented = httpx.post(
        f"{server.base_url}/api/v1/wallet/licenses/{card['id']}/presentations",
        json={"preset": "identity"},
        headers=wallet,
    )
    assert presented.status_code in (200, 201), presented.text
    body = presented.json()

    answer = upload(clerk, qr_images.render_png(body["qr"]["offline"]).content)
    assert answer.status_code == 200, answer.text
    assert 'class="verdict verdict-valid"' in answer.text
    assert "李华" in answer.text
    assert "申请人有效身份证件" in answer.text

    headers = {"X-CSRF-Token": page_csrf(clerk)}
    online = clerk.post("/verifier/verify", json={"qr": body["qr"]["online"]}, headers=headers)
    assert online.status_code == 200, online.text
    result = online.json()
    assert result["valid"] is True
    assert result["checks"]["key_binding"]["outcome"] == "passed"
    assert [m["code"] for m in result["recognised_materials"]] == ["M-APPLICANT-ID"]
    again = clerk.post("/verifier/verify", json={"qr": body["qr"]["online"]}, headers=headers)
    assert again.status_code == 410
    assert again.json()["reason"] == "already-used"


def test_a_clerk_of_two_agencies_chooses_which_one_it_acts_for(
    server: LiveServer, clerk: httpx.Client
) -> None:
    server.cli("agency", "clerk", "add", "--agency", JILIN, "--id-number", DEMO_CITIZEN_ID_NUMBER)
    try:
        beijing = clerk.get("/verifier", params={"agency": "12110000400777687U"})
        assert beijing.status_code == 200
        assert 'name="agency"' in beijing.text  # the switcher lists both agencies
        assert "吉林省住房和城乡建设厅" in beijing.text
        jilin = clerk.get("/verifier", params={"agency": JILIN})
        assert jilin.status_code == 200
        assert f'action="/verifier/upload?agency={JILIN}"' in jilin.text
        other = clerk.get("/verifier", params={"agency": "11110000000021135M"})
        assert other.status_code == 403
    finally:
        server.cli(
            "agency", "clerk", "remove", "--agency", JILIN, "--id-number", DEMO_CITIZEN_ID_NUMBER
        )
    assert 'name="agency"' not in clerk.get("/verifier").text
