"""Reading a QR code out of an image, for the verifier page's upload form and ``verify-qr``.

QR code: ISO/IEC 18004. The decoder is an interface (:class:`QrDecoder`) with a real
implementation — ZXing-C++ (``zxing-cpp`` on PyPI), independent of the ``qrcode`` package
that draws our codes — and a loud development one that reads the QR *text* from a text
file, for machines without the ZXing wheel. ``GOVWALLET_QR_DECODER`` chooses by name
(:func:`qr_decoder`); production refuses ``development``.
"""

from __future__ import annotations

import io
import re
import warnings
from typing import Any, Protocol, runtime_checkable

from licenses.qr import QrError

#: An uploaded photo of a QR code is far below this; anything larger is refused unread.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
#: Pillow's decompression-bomb guard, made an error: a 40-megapixel photo is plenty.
MAX_IMAGE_PIXELS = 40_000_000


class QrImageError(QrError):
    """The image could not be read as a picture of one QR code."""

    code = "qr-image-unreadable"
    status = 422


class QrImageTooLarge(QrImageError):
    code = "qr-image-too-large"
    status = 413


class QrCodeNotFound(QrImageError):
    """The image is readable but holds no QR code ZXing can decode."""

    code = "qr-code-not-found"


@runtime_checkable
class QrDecoder(Protocol):
    """Decodes the text of the QR code in an image (PNG, JPEG, GIF, BMP, WebP …)."""

    #: The settings name that selects this implementation.
    name: str

    def decode(self, image: bytes) -> str:
        """The text of the (first) QR code in ``image``.

        Raises :class:`QrImageTooLarge`, :class:`QrImageError` (not an image) or
        :class:`QrCodeNotFound`.
        """
        ...


def _check_size(image: bytes) -> None:
    if len(image) > MAX_IMAGE_BYTES:
        raise QrImageTooLarge(
            f"the image is {len(image)} bytes; at most {MAX_IMAGE_BYTES} are read"
        )
    if not image:
        raise QrImageError("the image is empty")


#: The SVG QR codes ``licenses.qr_images.render_svg`` draws: one path of unit squares
#: ``M x,y H x2 V y2 H x z`` in a ``viewBox`` of whole modules. Read without an XML parser.
_SVG_START = re.compile(rb"\s*(<\?xml[^>]*>\s*)?<svg\b")
_SVG_VIEWBOX = re.compile(rb'viewBox="0 0 (\d{1,3}) (\d{1,3})"')
#: Version 40 is 177 modules a side, plus the quiet zone.
_SVG_MAX_MODULES = 200
_SVG_PATH = re.compile(rb'<path[^>]*\sd="([^"]*)"')
_SVG_SQUARE = re.compile(rb"M(\d+),(\d+)H(\d+)V(\d+)H\1z")
_SVG_SCALE = 8


def _svg_modules(image: bytes) -> Any:
    """Rasterise a QR SVG made of axis-aligned unit squares (what ``qrcode`` draws)."""
    from PIL import Image, ImageDraw

    box = _SVG_VIEWBOX.search(image)
    paths = _SVG_PATH.findall(image)
    if box is None or not paths:
        raise QrImageError("only SVG QR codes drawn as one path of squares can be read")
    width, height = int(box.group(1)), int(box.group(2))
    if not 0 < width <= _SVG_MAX_MODULES or not 0 < height <= _SVG_MAX_MODULES:
        raise QrImageError(f"an SVG QR code is at most {_SVG_MAX_MODULES} modules a side")
    picture = Image.new("L", (width * _SVG_SCALE, height * _SVG_SCALE), 255)
    draw = ImageDraw.Draw(picture)
    for path in paths:
        squares = _SVG_SQUARE.findall(path)
        if _SVG_SQUARE.sub(b"", path).strip():
            raise QrImageError("the SVG path holds shapes other than squares")
        for x, y, x2, y2 in ((int(v) for v in square) for square in squares):
            draw.rectangle(
                (x * _SVG_SCALE, y * _SVG_SCALE, x2 * _SVG_SCALE - 1, y2 * _SVG_SCALE - 1),
                fill=0,
            )
    return picture


class ZxingQrDecoder:
    """ZXing-C++ over a Pillow image: photos of a screen or paper, any rotation, inverted.

    Also reads the SVG QR codes govwallet draws (a path of squares), rasterised first.
    """

    name = "zxing"

    def __init__(self) -> None:
        import zxingcpp  # the runtime dependency; imported here so a missing wheel names itself

        self._zxing = zxingcpp
        self._formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

    def decode(self, image: bytes) -> str:
        _check_size(image)
        picture = _svg_modules(image) if _SVG_START.match(image) else self._raster(image)
        found = self._zxing.read_barcodes(picture, formats=self._formats)
        for barcode in found:
            if barcode.valid and barcode.text:
                return str(barcode.text)
        raise QrCodeNotFound("no QR code was found in the image")

    @staticmethod
    def _raster(image: bytes) -> Any:
        from PIL import Image, UnidentifiedImageError

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(image)) as opened:
                    if opened.width * opened.height > MAX_IMAGE_PIXELS:
                        raise QrImageTooLarge(
                            f"the image has {opened.width}×{opened.height} pixels; at most "
                            f"{MAX_IMAGE_PIXELS} are read"
                        )
                    return opened.convert("L")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise QrImageError(f"the file is not an image Pillow can read ({exc})") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise QrImageTooLarge("the image is too large to decode") from None


class DevelopmentQrDecoderWarning(UserWarning):
    """The development QR decoder is in use: nothing is read from pixels."""


class DevelopmentQrDecoder:
    """Takes the upload to *be* the QR text (UTF-8): for trying the page without ZXing."""

    name = "development"

    def __init__(self) -> None:
        warnings.warn(
            "development QR decoder: uploads are read as the QR TEXT itself, no image is "
            "decoded; never use it at a counter (set GOVWALLET_QR_DECODER=zxing)",
            DevelopmentQrDecoderWarning,
            stacklevel=2,
        )

    def decode(self, image: bytes) -> str:
        _check_size(image)
        try:
            text = image.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise QrImageError(
                "the development QR decoder reads text files holding the QR text, not images"
            ) from None
        if not text:
            raise QrCodeNotFound("the file holds no QR text")
        return text


IMPLEMENTATIONS: dict[str, type[ZxingQrDecoder] | type[DevelopmentQrDecoder]] = {
    ZxingQrDecoder.name: ZxingQrDecoder,
    DevelopmentQrDecoder.name: DevelopmentQrDecoder,
}


class UnknownQrDecoder(ValueError):
    """The settings name no QR decoder."""


def qr_decoder(name: str) -> QrDecoder:
    """The implementation the settings name."""
    try:
        implementation = IMPLEMENTATIONS[name]
    except KeyError:
        raise UnknownQrDecoder(
            f"unknown QR decoder {name!r}; known: {', '.join(sorted(IMPLEMENTATIONS))}"
        ) from None
    return implementation()
