"""The QR decoders: both conform to the QrDecoder Protocol; settings choose; errors are clear."""

from __future__ import annotations

import io
from contextlib import nullcontext
from pathlib import Path

import pytest
from PIL import Image

from licenses import qr_images
from wallet_api import qr_decoder as decoders
from wallet_api.settings import SettingsError, load_settings

PAYLOAD = "GW1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWE+7K1L30XL1S8BT"


def png_of(payload: str) -> bytes:
    return qr_images.render_png(payload, box_size=4).content


@pytest.mark.parametrize("name", sorted(decoders.IMPLEMENTATIONS))
def test_every_implementation_conforms_to_the_protocol(name: str) -> None:
    with (
        pytest.warns(decoders.DevelopmentQrDecoderWarning)
        if name == "development"
        else nullcontext()
    ):
        decoder = decoders.qr_decoder(name)
    assert isinstance(decoder, decoders.QrDecoder)
    assert decoder.name == name
    with pytest.raises(decoders.QrImageError):
        decoder.decode(b"")
    with pytest.raises(decoders.QrImageTooLarge):
        decoder.decode(b"x" * (decoders.MAX_IMAGE_BYTES + 1))


def test_zxing_reads_what_qrcode_draws_as_png_and_jpeg() -> None:
    decoder = decoders.ZxingQrDecoder()
    assert decoder.decode(png_of(PAYLOAD)) == PAYLOAD
    assert decoder.decode(png_of("https://gov.example/q/abc")) == "https://gov.example/q/abc"
    photo = io.BytesIO()
    Image.open(io.BytesIO(png_of(PAYLOAD))).convert("RGB").rotate(90, expand=True).save(
        photo, format="JPEG", quality=90
    )
    assert decoder.decode(photo.getvalue()) == PAYLOAD


def test_zxing_refuses_non_images_blank_images_and_bombs() -> None:
    decoder = decoders.ZxingQrDecoder()
    with pytest.raises(decoders.QrImageError, match="not an image"):
        decoder.decode(b"GIF89a but not really")
    blank = io.BytesIO()
    Image.new("L", (100, 100), 255).save(blank, format="PNG")
    with pytest.raises(decoders.QrCodeNotFound):
        decoder.decode(blank.getvalue())
    huge = io.BytesIO()
    Image.new("1", (8000, 8000), 1).save(huge, format="PNG")
    assert len(huge.getvalue()) < decoders.MAX_IMAGE_BYTES
    with pytest.raises(decoders.QrImageTooLarge):
        decoder.decode(huge.getvalue())


def test_the_development_decoder_warns_and_reads_text_only() -> None:
    with pytest.warns(decoders.DevelopmentQrDecoderWarning, match="never use it at a counter"):
        decoder = decoders.DevelopmentQrDecoder()
    assert decoder.decode(f"  {PAYLOAD}\n".encode()) == PAYLOAD
    with pytest.raises(decoders.QrImageError, match="text files"):
        decoder.decode(png_of(PAYLOAD))


def test_settings_choose_and_production_refuses_the_development_decoder(tmp_path: Path) -> None:
    assert load_settings(data_dir=tmp_path).qr_decoder == "zxing"
    assert load_settings(data_dir=tmp_path, qr_decoder="development").qr_decoder == "development"
    with pytest.raises(SettingsError, match="GOVWALLET_QR_DECODER"):
        load_settings(data_dir=tmp_path, qr_decoder="magic")
    with pytest.raises(SettingsError, match=r"QR_DECODER: .development. is not allowed"):
        load_settings(
            environment="production",
            issuer="https://gov.example",
            key_encryption_secret="x" * 40,
            qr_decoder="development",
        )
    with pytest.raises(decoders.UnknownQrDecoder, match="known: development, zxing"):
        decoders.qr_decoder("magic")


def test_zxing_reads_the_svg_qr_codes_govwallet_draws() -> None:
    decoder = decoders.ZxingQrDecoder()
    svg = qr_images.render_svg(PAYLOAD).content
    assert decoder.decode(svg) == PAYLOAD
    assert decoder.decode(b'<?xml version="1.0"?>\n' + svg) == PAYLOAD
    with pytest.raises(decoders.QrImageError, match="path of squares"):
        decoder.decode(b'<svg viewBox="0 0 10 10"><circle r="4"/></svg>')
    with pytest.raises(decoders.QrImageError, match="other than squares"):
        decoder.decode(b'<svg viewBox="0 0 10 10"><path d="M0,0L9,9z"/></svg>')
    with pytest.raises(decoders.QrImageError, match="at most 200 modules"):
        decoder.decode(b'<svg viewBox="0 0 999 999"><path d="M0,0H1V1H0z"/></svg>')
