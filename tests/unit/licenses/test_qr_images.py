"""QR images read back by an independent decoder (zxing-cpp), and the size target of issue 5:
a typical license with five disclosed fields fits QR version 25 or below at level M."""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import qrcode
import zxingcpp
from PIL import Image, ImageDraw
from qrcode.util import MODE_8BIT_BYTE, QRData

from licenses.qr import decode_offline, encode_offline
from licenses.qr_images import (
    QrPayloadNotAlphanumeric,
    QrPayloadTooLarge,
    render_png,
    render_svg,
)
from tests.support.credentials import CredentialWorld, make_world
from tests.support.qr_reading import read_qr_codes

#: Five top-level directory fields: what a counter typically asks to see.
FIVE_FIELDS = ("holder_name", "license_type_name", "license_number", "valid_until", "holder_code")
SVG_NS = "{http://www.w3.org/2000/svg}"
JSQR = Path(__file__).resolve().parents[3] / "wallet_api" / "static" / "vendor" / "jsQR.js"
#: Feeds RGBA pixels from stdin to the vendored jsQR, as the verifier page does with a canvas.
JSQR_RUNNER = """
const jsQR = require(process.argv[1]);
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const [width, height] = process.argv.slice(2).map(Number);
  const pixels = new Uint8ClampedArray(Buffer.concat(chunks));
  const code = jsQR(pixels, width, height, { inversionAttempts: "dontInvert" });
  process.stdout.write(JSON.stringify(code ? code.data : null));
});
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CredentialWorld]:
    built = make_world(tmp_path_factory.mktemp("qr-images"))
    yield built
    built.runtime.close()


@pytest.fixture(scope="module")
def typical(world: CredentialWorld) -> str:
    """An SD-JWT VC signed ES256 by an agency key from the KeyStore: 14 selectively
    disclosable claims (tests/support/credentials.py), five disclosed, a KB-JWT signed by
    the holder's KeyStore key, with a 128-bit nonce."""
    credential = world.issue().credential
    return world.present(credential, disclose=FIVE_FIELDS, nonce=secrets.token_urlsafe(16))


def zxing_read(image: Image.Image) -> zxingcpp.Barcode:
    barcodes = read_qr_codes(image)
    assert len(barcodes) == 1
    return barcodes[0]


def read_png(content: bytes) -> zxingcpp.Barcode:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    return zxing_read(image)


def rasterise_svg(content: bytes, *, scale: int = 4) -> Image.Image:
    """Draw the SVG's module squares (``M x,y H x2 V y2 H x z``) on a white canvas."""
    root = ET.fromstring(content)
    assert root.tag == f"{SVG_NS}svg"
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    image = Image.new("L", (int(width * scale), int(height * scale)), 255)
    draw = ImageDraw.Draw(image)
    paths = root.findall(f"{SVG_NS}path")
    assert len(paths) == 1
    squares = re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H([\d.]+)z", paths[0].attrib["d"])
    assert squares
    for x, y, x2, y2, _ in squares:
        box = [float(x) * scale, float(y) * scale, float(x2) * scale - 1, float(y2) * scale - 1]
        draw.rectangle(box, fill=0)
    return image


def test_typical_license_fits_version_25_at_level_m(typical: str) -> None:
    payload = encode_offline(typical)
    image = render_png(payload)
    assert image.error_correction == "M"
    assert image.version <= 25, f"{len(payload)} characters need version {image.version}"
    barcode = read_png(image.content)
    assert barcode.text == payload
    # zxing-cpp's stub types Barcode.extra as object; it is a dict of strings.
    assert barcode.extra["Version"] == str(image.version)  # type: ignore[index]
    assert barcode.extra["ECLevel"] == "M"  # type: ignore[index]
    assert decode_offline(barcode.text) == typical


def test_offline_payload_is_one_alphanumeric_segment(typical: str) -> None:
    payload = encode_offline(typical)
    image = render_png(payload)
    assert image.mode == "alphanumeric"
    # Independently of the renderer's word: the same text in byte mode needs a larger symbol,
    # and the decoder read the version that only alphanumeric mode reaches.
    byte_mode = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    # types-qrcode declares MODE_8BIT_BYTE as Final[int], not the Literal[4] QRData takes.
    byte_mode.add_data(QRData(payload, mode=MODE_8BIT_BYTE), optimize=0)  # type: ignore[call-overload]
    byte_mode.make(fit=True)
    assert byte_mode.version > image.version
    assert read_png(image.content).extra["Version"] == str(image.version)  # type: ignore[index]


@pytest.mark.parametrize(
    "disclose",
    [
        (),
        ("holder_name",),
        ("fields.enterprise_name", "license_number"),
        ("fields",),
    ],
)
def test_png_read_back_by_zxing_equals_the_payload(
    world: CredentialWorld, disclose: tuple[str, ...]
) -> None:
    presentation = world.present(world.issue().credential, disclose=disclose)
    payload = encode_offline(presentation)
    image = render_png(payload, box_size=4)
    barcode = read_png(image.content)
    assert barcode.text == payload
    assert barcode.ec_level == "M"
    assert decode_offline(barcode.text) == presentation


def test_svg_is_well_formed_and_reads_back(typical: str) -> None:
    payload = encode_offline(typical)
    image = render_svg(payload)
    assert image.media_type == "image/svg+xml"
    assert image.mode == "alphanumeric"
    assert image.version == render_png(payload).version
    raster = rasterise_svg(image.content)
    # the viewBox is the symbol plus the 4-module quiet zone on each side
    assert raster.width == (image.modules + 8) * 4
    assert zxing_read(raster).text == payload


def test_online_link_is_byte_mode_and_reads_back() -> None:
    url = "https://gov.example/p/Xk3_9aQz"
    png = render_png(url)
    assert png.mode == "byte"
    assert read_png(png.content).text == url
    svg = render_svg(url)
    assert svg.mode == "byte"
    assert zxing_read(rasterise_svg(svg.content)).text == url


def test_a_payload_too_large_for_any_version_is_refused() -> None:
    with pytest.raises(QrPayloadTooLarge, match="version 40"):
        render_png("GW1:" + "A" * 4000)
    with pytest.raises(QrPayloadTooLarge):
        render_svg("https://gov.example/" + "a" * 3000)


def test_an_offline_payload_outside_the_alphanumeric_set_is_refused() -> None:
    with pytest.raises(QrPayloadNotAlphanumeric):
        render_png("GW1:abc")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_vendored_jsqr_of_the_verifier_page_reads_the_offline_qr(typical: str) -> None:
    payload = encode_offline(typical)
    image = Image.open(io.BytesIO(render_png(payload, box_size=4).content)).convert("RGBA")
    result = subprocess.run(
        ["node", "-e", JSQR_RUNNER, str(JSQR), str(image.width), str(image.height)],
        input=image.tobytes(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert json.loads(result.stdout) == payload
