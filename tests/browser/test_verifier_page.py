"""The verifier page in a real Chromium: upload, camera, and offline verification.

Playwright drives the system Chromium (never ``playwright install``) against a live demo
server. The demo citizen is a clerk of the Beijing demo agency and logs in through the
provider's own forms. The QR codes are generated from licenses issued by the Jilin demo
agency, so a valid one also shows the Beijing material it stands in for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from licenses import qr, qr_images, sdjwt
from tests.support.browser import CHROMIUM, LAUNCH_ARGS, require_chromium
from tests.support.live_server import REPO_ROOT, LiveServer, live_server
from wallet_api.demo import DEMO_CITIZEN_ID_NUMBER, DEMO_CITIZEN_PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ID_CARD = "111000000000130013001"
JILIN = "11220000013544541J"
DISCLOSE = ["holder_name", "license_number", "issue_date", "valid_until", "issuing_agency_name"]
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "verifier-valid.png"
TIMEOUT_MS = 60_000

require_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("verifier-browser"), demo=True) as running:
        yield running


def issue_qr_image(server: LiveServer, directory: Path) -> tuple[str, Path]:
    """A Jilin identity card, issued now; its id and the PNG of its offline QR code."""
    example = json.loads(server.cli("license-type", "example", ID_CARD).stdout)["fields"]
    body = directory / "body.json"
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
    issued = json.loads(
        server.cli("license", "issue", "--agency", JILIN, str(body), "--json").stdout
    )
    presentation = sdjwt.present(
        credential=issued["credential"],
        disclose=DISCLOSE,
        holder=None,
        audience="unused",
        nonce="unused",
        iat=datetime.now(UTC),
    )
    path = directory / f"{issued['id']}.png"
    path.write_bytes(qr_images.render_png(qr.encode_offline(presentation), box_size=4).content)
    return issued["id"], path


@pytest.fixture(scope="module")
def qr_image(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PNG of an offline QR code: a Jilin identity card, five fields disclosed."""
    return issue_qr_image(server, tmp_path_factory.mktemp("qr"))[1]


@pytest.fixture(scope="module")
def revoked_qr_image(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of QR code, of a license revoked since."""
    license_id, path = issue_qr_image(server, tmp_path_factory.mktemp("revoked"))
    server.cli("license", "revoke", license_id, "--reason", "issued in error")
    return path


def fake_camera_video(png: Path, target: Path, *, width: int = 640, height: int = 480) -> Path:
    """A YUV4MPEG2 video (30 identical frames) of the QR code on a white page."""
    frame = Image.new("L", (width, height), 255)
    code = Image.open(png).convert("L")
    code.thumbnail((height - 20, height - 20))
    frame.paste(code, ((width - code.width) // 2, (height - code.height) // 2))
    chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)
    with target.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(30):
            out.write(b"FRAME\n" + frame.tobytes() + chroma)
    return target


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_api.sync_playwright() as running:
        yield running


def launch(playwright: Playwright, *extra: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*LAUNCH_ARGS, *extra]
    )


def log_in_as_clerk(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.base_url}/verifier?lang=en")
    page.fill("#username", DEMO_CITIZEN_ID_NUMBER)
    page.fill("#password", DEMO_CITIZEN_PASSWORD)
    with page.expect_navigation(timeout=TIMEOUT_MS):
        page.click("form[action='/login'] button[type=submit]")
    if "/authorize" in page.url:  # first use: the provider asks for consent
        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.click("button[value=allow]")
    assert page.url.startswith(f"{server.base_url}/verifier"), page.url
    page.wait_for_selector("[data-qr-verifier]", timeout=TIMEOUT_MS)


def test_an_uploaded_qr_image_shows_valid(
    server: LiveServer, qr_image: Path, playwright: Playwright
) -> None:
    browser = launch(playwright)
    try:
        context = browser.new_context(locale="en-US", viewport={"width": 900, "height": 1400})
        page = context.new_page()
        log_in_as_clerk(page, server)
        page.set_input_files("[data-qr-file]", str(qr_image))
        verdict = page.wait_for_selector(".verdict-valid", timeout=TIMEOUT_MS)
        assert verdict is not None  # None only when waiting for "hidden"
        assert verdict.inner_text().strip().startswith("VALID")
        result = page.inner_text("[data-qr-result]")
        assert "张三" in result
        assert "吉林省住房和城乡建设厅" in result
        assert "Applicant's identity card" in result  # Beijing recognises Jilin's ID cards
        assert page.locator(".verdict-invalid, .verdict-error").count() == 0
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    finally:
        browser.close()


def test_the_camera_reads_the_qr_code(
    server: LiveServer, qr_image: Path, playwright: Playwright, tmp_path: Path
) -> None:
    video = fake_camera_video(qr_image, tmp_path / "camera.y4m")
    browser = launch(
        playwright,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    try:
        context = browser.new_context(locale="en-US", permissions=["camera"])
        page = context.new_page()
        log_in_as_clerk(page, server)
        page.click("[data-qr-start]")
        verdict = page.wait_for_selector(".verdict-valid", timeout=TIMEOUT_MS)
        assert verdict is not None  # None only when waiting for "hidden"
        assert verdict.inner_text().strip().startswith("VALID")
        assert "张三" in page.inner_text("[data-qr-result]")
        # The scanner stopped the camera once it had read a code.
        assert "qr-scanning" not in (page.get_attribute("[data-qr-verifier]", "class") or "")
    finally:
        browser.close()


def test_offline_the_page_verifies_with_its_cached_lists_and_says_how_old(
    server: LiveServer, qr_image: Path, revoked_qr_image: Path, playwright: Playwright
) -> None:
    browser = launch(playwright)
    try:
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        log_in_as_clerk(page, server)
        page.wait_for_selector("[data-qr-verifier][data-offline-ready]", timeout=TIMEOUT_MS)
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now under the service worker, which caches the shell
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)
        page.wait_for_selector("[data-qr-verifier][data-offline-ready]", timeout=TIMEOUT_MS)

        context.set_offline(True)
        page.reload()  # the page itself now comes from the service worker's cache
        page.wait_for_selector("[data-qr-verifier]", timeout=TIMEOUT_MS)
        assert "cached" in page.inner_text("[data-offline-status]")
        page.set_input_files("[data-qr-file]", str(qr_image))
        verdict = page.wait_for_selector(".verdict-valid[data-offline]", timeout=TIMEOUT_MS)
        assert verdict is not None  # None only when waiting for "hidden"
        text = verdict.inner_text()
        assert text.strip().startswith("VALID")
        assert "Verified offline, trust list" in text
        assert " old" in text
        result = page.inner_text("[data-qr-result]")
        assert "张三" in result
        assert "Status list: checked against a list" in result

        # The cached status list knows the revocation made before it was fetched.
        page.set_input_files("[data-qr-file]", str(revoked_qr_image))
        refused = page.wait_for_selector(".verdict-invalid[data-offline]", timeout=TIMEOUT_MS)
        assert refused is not None  # None only when waiting for "hidden"
        assert refused.inner_text().strip().startswith("NOT VALID")
        assert "the license has been revoked" in page.inner_text("[data-qr-result]")
    finally:
        browser.close()
