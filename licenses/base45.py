"""Base45, RFC 9285: binary data as text in the QR-code alphanumeric character set.

https://www.rfc-editor.org/rfc/rfc9285

Two bytes ``[a, b]`` are the number ``n = a * 256 + b``, written as three characters
``c d e`` with ``n = c + d * 45 + e * 45 * 45`` (least significant first); a trailing
single byte becomes two characters. The alphabet is the 45 characters of QR alphanumeric
mode, so a Base45 string is stored at 5.5 bits a character in a QR code.

Decoding is strict: only the 45 characters (upper case, the space included), no length
of the form ``3k + 1``, and no group whose value exceeds what it can hold (RFC 9285
§6: "GGW" is 65536 and "MUST" not decode).

The PyPI ``base45`` package was considered; its last release is from 2022 and it is a
few dozen lines, so this module implements the RFC and tests it with the RFC's examples
(``docs/decisions.md``).
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUES = {character: value for value, character in enumerate(ALPHABET)}


class Base45Error(ValueError):
    """The text is not valid Base45."""


def b45encode(data: bytes) -> str:
    """RFC 9285 §4: encode bytes as Base45 text."""
    out: list[str] = []
    for start in range(0, len(data) - 1, 2):
        n = data[start] * 256 + data[start + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """RFC 9285 §4.2: decode Base45 text; raises :class:`Base45Error` on any invalid input."""
    if len(text) % 3 == 1:
        raise Base45Error(
            f"Base45 text of {len(text)} characters is impossible (a length of 3k + 1)"
        )
    try:
        values = [_VALUES[character] for character in text]
    except KeyError as exc:
        raise Base45Error(f"{exc.args[0]!r} is not a Base45 character") from None
    out = bytearray()
    for start in range(0, len(values), 3):
        group = values[start : start + 3]
        n = sum(value * 45**position for position, value in enumerate(group))
        if len(group) == 3:
            # RFC 9285 §6: a triplet whose value exceeds 65535 is invalid.
            if n > 0xFFFF:
                raise Base45Error(f"Base45 group at {start} has the value {n} > 65535")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise Base45Error(f"Base45 final pair has the value {n} > 255")
            out.append(n)
    return bytes(out)
