"""Reading a QR code out of an image, for the verifier page's upload form and ``verify-qr``.

QR code: ISO/IEC 18004. The decoder is an interface (:class:`QrDecoder`) with a real
implementation — ZXing-C++ (``zxing-cpp`` on PyPI), independent of the ``qrcode`` package
that draws our codes — and a loud development one that reads the QR *text* from a text
file, for machines without the ZXing wheel. ``GOVWALLET_QR_DECODER`` chooses by name
(:func:`qr_decoder`); production refuses ``development``.
"""

from __future__ import annotations

import io
import warnings
from typing import Protocol, runtime_checkable

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


class ZxingQrDecoder:
    """ZXing-C++ over a Pillow image: photos of a screen or paper, any rotation, inverted."""

    name = "zxing"

    def __init__(self) -> None:
        import zxingcpp  # the runtime dependency; imported here so a missing wheel names itself

        self._zxing = zxingcpp

    def decode(self, image: bytes) -> str:
        from PIL import Image, UnidentifiedImageError

        _check_size(image)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(image)) as opened:
                    if opened.width * opened.height > MAX_IMAGE_PIXELS:
                        raise QrImageTooLarge(
                            f"the image has {opened.width}×{opened.height} pixels; at most "
                            f"{MAX_IMAGE_PIXELS} are read"
                        )
                    picture = opened.convert("L")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise QrImageError(f"the file is not an image Pillow can read ({exc})") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise QrImageTooLarge("the image is too large to decode") from None
        found = self._zxing.read_barcodes(picture, formats=self._zxing.BarcodeFormat.QRCode)
        for barcode in found:
            if barcode.valid and barcode.text:
                return str(barcode.text)
        raise QrCodeNotFound("no QR code was found in the image")


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
