"""Reading the QR codes govwallet draws with zxing-cpp, as a phone or a scanner does."""

from __future__ import annotations

import zxingcpp
from PIL import Image


def read_qr_codes(image: Image.Image) -> list[zxingcpp.Barcode]:
    """Every QR code in ``image``, and nothing else.

    A reader that looks for every format now and then finds a linear barcode (an EAN-13)
    among a QR code's modules: a test that read every format failed once in CI that way.
    """
    # zxing-cpp's stub names only BarcodeFormats; its docstring and runtime also take one
    # BarcodeFormat.
    return list(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))  # type: ignore[arg-type]
