"""Second factor: TOTP (RFC 6238) and one-time recovery codes.

https://www.rfc-editor.org/rfc/rfc6238

Enrolment shows the ``otpauth://`` URI (Key Uri Format) as a QR code; it is
confirmed by a first code. A code is accepted once: the time step of the last
accepted code is stored and any code of that step or an earlier one is refused
(RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the OTP after
the successful validation has been issued for the first OTP").
"""

from __future__ import annotations

import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg
from qrcode.image.pil import PilImage

ISSUER_NAME = "govwallet"
#: RFC 6238 §5.2 recommends at most one time step of network delay either way.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_secret() -> str:
    """A 160-bit base32 seed (RFC 4226 §4 R6 recommends 160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, *, account_label: str, issuer: str = ISSUER_NAME) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_label, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an SVG QR code (a standalone ``<svg>`` element)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def qr_png(uri: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(uri, image_factory=PilImage, box_size=8, border=2).save(buffer, format="PNG")
    return buffer.getvalue()


def matching_step(secret: str, code: str, *, now: datetime, after_step: int | None) -> int | None:
    """The time step ``code`` is valid for (within the window), if later than ``after_step``."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, when: datetime) -> str:
    """The code an authenticator app shows at ``when`` (used by tests and the demo)."""
    return pyotp.TOTP(secret).at(when)


@dataclass(frozen=True)
class TotpEnrolment:
    """What the enrolment page shows: the seed (for manual entry), the URI and its QR code."""

    secret: str
    uri: str
    qr_svg: str

    def __repr__(self) -> str:
        return "TotpEnrolment(<redacted>)"


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Codes of 10 characters (50 bits) shown as ``XXXXX-XXXXX``."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()
