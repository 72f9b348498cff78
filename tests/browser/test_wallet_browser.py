"""The citizen wallet in a real Chromium: log in through the provider's form, open a
license, make its QR code, and read the QR code shown on the page back with zxing-cpp.

Playwright drives the system Chromium (never ``playwright install``) against a live demo
server; the screenshot is kept in ``docs/screenshots/wallet-license.png``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image

from licenses import qr
from tests.support.browser import CHROMIUM, LAUNCH_ARGS, require_chromium
from tests.support.live_server import REPO_ROOT, LiveServer, live_server
from tests.support.qr_reading import read_qr_codes
from wallet_api import demo

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "wallet-license.png"
TIMEOUT_MS = 20_000

require_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("wallet-browser"), demo=True) as running:
        yield running


def test_citizen_logs_in_opens_a_license_and_shows_its_qr_code(server: LiveServer) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 900, "height": 1400})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{server.base_url}/wallet")
            # The provider's own login form (no side door), then its consent page.
            page.fill("input[name=username]", demo.DEMO_CITIZEN_ID_NUMBER)
            page.fill("input[name=password]", demo.DEMO_CITIZEN_PASSWORD)
            page.click("button[type=submit]")
            page.click("button[name=decision][value=allow]")
            page.wait_for_url(f"{server.base_url}/wallet")
            assert page.locator(".license-card").count() >= 4
            page.click("text=中华人民共和国居民身份证")
            page.wait_for_url("**/wallet/licenses/*")
            assert page.locator("[data-status=valid]").first.is_visible()
            assert page.locator("dd[data-field=birth_date]").inner_text() == "1999-01-01"
            page.check("input[name=preset][value=identity]")
            page.click("form[action$='/present'] button[type=submit]")
            page.wait_for_url("**/presentations/*")
            image = page.locator("img#qr-offline")
            image.wait_for()
            assert page.evaluate("document.querySelector('img#qr-offline').naturalWidth") > 0
            shown = [item.get_attribute("data-disclosed") for item in
                     page.locator("[data-disclosed]").all()]  # fmt: skip
            assert "holder_name" in shown
            assert "birth_date" not in shown
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            picture = Image.open(io.BytesIO(image.screenshot()))
            results = read_qr_codes(picture)
            assert len(results) == 1
            presentation = qr.decode_offline(results[0].text)
            assert presentation.count("~") == len(shown) + 1  # the chosen disclosures + KB-JWT
        finally:
            browser.close()
