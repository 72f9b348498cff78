"""QR code images (PNG, SVG) of a presentation's QR payload, with the ``qrcode`` package.

QR code: ISO/IEC 18004. The format of the payloads is ``docs/qr-format.md``:

- error-correction level **M** (about 15 % of the symbol can be damaged);
- an offline payload (``GW1:`` + Base45) is one **alphanumeric-mode** segment — 5.5 bits a
  character instead of 8 — which is what its character set was chosen for;
- anything else (an online link) is one byte-mode segment (UTF-8);
- the smallest version that holds the payload, reported with the image, with the
  four-module quiet zone the standard requires.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Literal, cast

import qrcode
from qrcode.exceptions import DataOverflowError
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

from licenses.base45 import ALPHABET as QR_ALPHANUMERIC
from licenses.qr import QrError, is_offline_payload

ERROR_CORRECTION = "M"
#: ISO/IEC 18004 §9.1: "The quiet zone shall be 4X wide" (X = one module).
QUIET_ZONE_MODULES = 4
MAX_VERSION = 40
_ALPHANUMERIC = frozenset(QR_ALPHANUMERIC)
_MODE_NAMES = {MODE_ALPHA_NUM: "alphanumeric", MODE_8BIT_BYTE: "byte"}


class QrPayloadTooLarge(QrError):
    """The payload does not fit a version-40 symbol at error-correction level M."""

    code = "qr-payload-too-large"
    status = 422


class QrPayloadNotAlphanumeric(QrError):
    """An offline payload holds a character outside the QR alphanumeric set."""

    code = "qr-payload-not-alphanumeric"
    status = 422


@dataclass(frozen=True, slots=True)
class QrImage:
    """One rendered QR code and what was chosen for it."""

    content: bytes
    media_type: str
    version: int
    mode: str
    error_correction: str = ERROR_CORRECTION

    @property
    def modules(self) -> int:
        """Modules per side, without the quiet zone (ISO/IEC 18004: 17 + 4 × version)."""
        return 17 + 4 * self.version


def _symbol(payload: str, *, box_size: int) -> tuple[qrcode.QRCode[Any], int]:
    if is_offline_payload(payload):
        if not set(payload) <= _ALPHANUMERIC:
            raise QrPayloadNotAlphanumeric(
                "an offline QR payload uses only 0-9, A-Z, space and $%*+-./:"
            )
        mode = MODE_ALPHA_NUM
    else:
        mode = MODE_8BIT_BYTE
    symbol = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=QUIET_ZONE_MODULES,
    )
    # optimize=0: one segment in the mode chosen above, not qrcode's own mix of modes.
    # (qrcode's stubs type the MODE_ constants as int, QRData's mode as their literals.)
    symbol.add_data(QRData(payload, mode=cast(Literal[2, 4], mode)), optimize=0)
    try:
        symbol.make(fit=True)
    except (DataOverflowError, ValueError):  # qrcode 8 says "Invalid version (was 41 …)"
        raise QrPayloadTooLarge(
            f"a payload of {len(payload)} characters does not fit a QR code "
            f"(version {MAX_VERSION}, level {ERROR_CORRECTION})"
        ) from None
    return symbol, mode


def render_png(payload: str, *, box_size: int = 8) -> QrImage:
    """The QR code of ``payload`` as a PNG, ``box_size`` pixels per module."""
    symbol, mode = _symbol(payload, box_size=box_size)
    out = io.BytesIO()
    symbol.make_image(image_factory=PilImage).save(out)
    return QrImage(out.getvalue(), "image/png", symbol.version, _MODE_NAMES[mode])


def render_svg(payload: str, *, box_size: int = 10) -> QrImage:
    """The QR code of ``payload`` as SVG (one path; ``box_size`` 10 = 1 mm per module)."""
    symbol, mode = _symbol(payload, box_size=box_size)
    content = symbol.make_image(image_factory=SvgPathImage).to_string(encoding="utf-8")
    return QrImage(content, "image/svg+xml", symbol.version, _MODE_NAMES[mode])
