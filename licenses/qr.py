"""The QR payloads of a license presentation: offline ``GW1:`` text and the online link.

The format is specified in ``docs/qr-format.md``; this docstring is its summary.

- SD-JWT compact serialization, RFC 9901 §4 — https://www.rfc-editor.org/rfc/rfc9901
- Base45, RFC 9285 — https://www.rfc-editor.org/rfc/rfc9285
- zlib, RFC 1950 (preset dictionary §2.2); deflate, RFC 1951

**Offline QR** — a self-contained presentation that a verifier checks with no network::

    "GW1:" + Base45( zlib( frame, preset dictionary GW1_DICTIONARY ) )

The frame holds the presentation's base64url parts decoded to bytes, each segment
prefixed with its length (unsigned LEB128)::

    flags:u8               bit 0 = a key-binding JWT is present; bits 1-7 zero
    count:varint           number of disclosures
    text segments          disclosures 1..count, issuer JWT header, payload,
                           [key-binding JWT header, payload]
    signature segments     issuer JWT signature, [key-binding JWT signature]
    byte pool              the rest of the frame

Inside a text segment the byte 0x01 (which JSON never holds raw) starts a reference to
what the reader can rebuild: the digest of an earlier disclosure (RFC 9901 §4.2.3), the
key-binding JWT's ``sd_hash`` (§4.3.1), or the base64url of the next bytes of the byte
pool (random values: salts, digests, key coordinates, nonces, stored as bytes). Every
reference expands to exactly the bytes it replaced, and every base64url part must be
canonical, so decoding reproduces the presentation byte for byte: signatures cover those
bytes, and no JSON is ever re-serialised.

The preset dictionary and the frame are fixed for ``GW1``; any change is a new prefix
(``GW2:``…). The whole text stays in the QR alphanumeric character set
(``0-9 A-Z space $%*+-./:``). Decoding raises one :class:`QrFormatError` subclass per
failure: unknown prefix, unsupported version, bad Base45, bad compression, truncated or
malformed frame.

**Online QR** — :func:`encode_online` answers the short one-time URL itself (the
registry mints it and holds the presentation behind it for a few minutes); the QR code
carries the URL unchanged, in byte mode.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from licenses.base45 import Base45Error, b45decode, b45encode

VERSION = 1
OFFLINE_PREFIX = f"GW{VERSION}:"
#: Anything of the form ``GW<digits>:`` is one of our versioned offline payloads.
_VERSIONED_PREFIX = re.compile(r"GW(\d+):")
#: A decoded frame larger than this is refused before it is inflated further (no zip bombs:
#: the largest QR code holds 4296 alphanumeric characters, about 2.8 KB of deflate data).
MAX_FRAME_BYTES = 64 * 1024
_FLAG_KEY_BINDING = 0x01
_MAX_VARINT_BYTES = 3
#: References inside text segments (docs/qr-format.md §4): 0x01 (which valid JSON never
#: holds raw) then 0x00-0xEF the digest of that disclosure, 0xF0 the key-binding JWT's
#: sd_hash, 0xF1 <n> the base64url of the next n bytes of the byte pool, 0xFF a literal 0x01.
_REF = 0x01
_MAX_DIGEST_REFERENCES = 0xF0
_REF_SD_HASH = 0xF0
_REF_BYTES = 0xF1
_REF_LITERAL = 0xFF
#: Quoted base64url strings of 16 bytes or more are candidates for a reference.
_QUOTED_BASE64URL = re.compile(rb'"([A-Za-z0-9_-]{22,340})"')
_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")
_COMPRESSION_LEVEL = 9

#: The zlib preset dictionary (RFC 1950 §2.2, FDICT): what every govwallet SD-JWT VC
#: presentation repeats (docs/license-credential.md), as it stands in a frame — with its
#: references (``\x01…``) in place. Deflate finds matches anywhere in the dictionary.
#: Fixed for GW1: changing one byte is a new version.
GW1_DICTIONARY_FRAGMENTS: tuple[bytes, ...] = (
    # values that recur in Chinese license texts
    "中华人民共和国".encode(),
    "人民政府".encode(),
    "公安局".encode(),
    "分局".encode(),
    "市场监督管理局".encode(),
    "居民身份证".encode(),
    "营业执照".encode(),
    # property names of the catalogue's license-type fields (disclosed inside "fields")
    b'","name","',
    b'","sex","',
    b'","ethnicity","',
    b'","birth_date","',
    b'","address","',
    b'","id_number","',
    b'","entity_name","',
    b'","credit_code","',
    b'","legal_representative","',
    b'","registered_capital","',
    b'","certificate_number","',
    # disclosures: ["<salt: 16 pooled bytes>","<claim name>",<value>]
    b'","fields",{"_sd":["',
    b'","service_item","',
    b'","area_code","',
    b'","defining_agency","',
    b'","issuing_agency_code","',
    b'","issuing_agency_name","',
    b'","holder_code_type","111"]',
    b'","issue_date","20',
    b'","valid_from","20',
    b'","valid_until","20',
    b'","holder_code","',
    b'","holder_name","',
    b'","license_number","',
    b'","license_type_name","',
    b'["\x01\xf1\x10',
    # the issuer-signed JWT
    b'{"typ":"dc+sd-jwt","alg":"ES256","kid":"\x01\xf1 "}',
    b'{"iss":"https://',
    b"/agencies/",
    b'","iat":1',
    b',"nbf":1',
    b',"exp":',
    b',"vct":"',
    b'","status":{"status_list":{"idx":',
    b',"uri":"https://',
    b"/api/v1/status-lists/",
    b'"}},"cnf":{"jwk":{"crv":"P-256","x":"\x01\xf1 ","y":"\x01\xf1 ","kty":"EC"',
    b'"}},"cnf":{"jwk":{"alg":"ES256","crv":"P-256","kid":"',
    b'","kty":"EC","use":"sig","x":"\x01\xf1 ","y":"\x01\xf1 "}},"license_id":"',
    b"1.2.156.3005.2.",
    b'","_sd":["\x01\xf1 ","\x01',
    b'"],"_sd_alg":"sha-256"}',
    # the key-binding JWT
    b'{"typ":"kb+jwt","alg":"ES256","kid":"',
    b'{"iat":1',
    b',"aud":"https://',
    b'","nonce":"\x01\xf1\x10","sd_hash":"\x01\xf0"}',
)
GW1_DICTIONARY = b"".join(GW1_DICTIONARY_FRAGMENTS)


# -- errors ------------------------------------------------------------------------------------


class QrError(Exception):
    """Base of the QR codec's errors (``code`` and ``status`` as the problem renderer wants)."""

    code = "qr-error"
    status = 400


class QrFormatError(QrError):
    """The scanned text is not a readable offline presentation."""

    code = "qr-format-invalid"
    status = 422


class UnknownQrPrefix(QrFormatError):
    """The text does not start with a ``GW<n>:`` prefix: not a govwallet offline QR."""

    code = "qr-unknown-prefix"


class UnsupportedQrVersion(QrFormatError):
    """A ``GW<n>:`` prefix of a version this codec does not read."""

    code = "qr-unsupported-version"


class InvalidQrBase45(QrFormatError):
    """The text after the prefix is not valid RFC 9285 Base45."""

    code = "qr-invalid-base45"


class InvalidQrCompression(QrFormatError):
    """The bytes are not one complete zlib stream within the size limit."""

    code = "qr-invalid-compression"


class TruncatedQrFrame(QrFormatError):
    """The frame ends before the segments it announces."""

    code = "qr-truncated-frame"


class MalformedQrFrame(QrFormatError):
    """The frame has reserved flags set, a non-minimal length, or bytes after its end."""

    code = "qr-malformed-frame"


class PresentationNotEncodable(QrError):
    """The presentation is not an SD-JWT compact serialization the offline QR can carry."""

    code = "qr-presentation-not-encodable"
    status = 422


class InvalidOnlineUrl(QrError):
    """The online QR link is not an absolute http(s) URL."""

    code = "qr-invalid-online-url"
    status = 422


# -- the presentation's structure ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parts:
    """An SD-JWT presentation as bytes: ``<jwt>~<disclosure>~…~[<kb-jwt>]``."""

    issuer_jwt: tuple[bytes, bytes, bytes]
    disclosures: tuple[bytes, ...]
    key_binding_jwt: tuple[bytes, bytes, bytes] | None

    def sd_jwt(self) -> str:
        """The presentation without its key-binding JWT (what ``sd_hash`` covers)."""
        disclosures = "".join(_b64url(d) + "~" for d in self.disclosures)
        return f"{_jwt_text(self.issuer_jwt)}~{disclosures}"

    def compact(self) -> str:
        kb = _jwt_text(self.key_binding_jwt) if self.key_binding_jwt else ""
        return self.sd_jwt() + kb


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt_text(segments: tuple[bytes, bytes, bytes]) -> str:
    return ".".join(_b64url(s) for s in segments)


def _canonical_b64url_bytes(text: bytes) -> bytes | None:
    """The bytes of ``text`` if it is base64url without padding in canonical form, else None.

    RFC 4648 §3.5: in canonical form the unused bits of the last character are zero, so
    re-encoding the bytes gives ``text`` back exactly.
    """
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    return data if _b64url(data).encode("ascii") == text else None


def _canonical_bytes(text: str, what: str) -> bytes:
    """Decode one base64url part of the presentation, or refuse it."""
    data = _canonical_b64url_bytes(text.encode("ascii"))
    if data is None:
        raise PresentationNotEncodable(f"{what} is not canonical base64url without padding")
    return data


def _jwt_segments(text: str, what: str) -> tuple[bytes, bytes, bytes]:
    segments = text.split(".")
    if len(segments) != 3:
        raise PresentationNotEncodable(
            f"{what} has {len(segments)} dot-separated parts; a compact JWS has 3"
        )
    header, payload, signature = (
        _canonical_bytes(s, f"{what} {name}")
        for s, name in zip(segments, ("header", "payload", "signature"), strict=True)
    )
    return header, payload, signature


def _parse(presentation: str) -> _Parts:
    """RFC 9901 §4: ``<Issuer-signed JWT>~<Disclosure 1>~…~<Disclosure N>~<optional KB-JWT>``."""
    if not isinstance(presentation, str) or not presentation.isascii():
        raise PresentationNotEncodable("a presentation is ASCII text")
    parts = presentation.split("~")
    if len(parts) < 2:
        raise PresentationNotEncodable("an SD-JWT presentation contains at least one '~'")
    issuer_jwt = _jwt_segments(parts[0], "the issuer-signed JWT")
    disclosures = tuple(
        _canonical_bytes(d, f"disclosure {i}") for i, d in enumerate(parts[1:-1], start=1)
    )
    key_binding = _jwt_segments(parts[-1], "the key-binding JWT") if parts[-1] else None
    return _Parts(issuer_jwt, disclosures, key_binding)


# -- the frame (docs/qr-format.md §3, §4) ------------------------------------------------------


def _varint(value: int) -> bytes:
    """Unsigned LEB128: 7 bits a byte, least significant group first, high bit = more."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _sha256_b64url(text: bytes) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(text).digest()).rstrip(b"=")


def _disclosure_digest(disclosure: bytes) -> bytes:
    """RFC 9901 §4.2.3: base64url(SHA-256(the ASCII bytes of the disclosure's base64url))."""
    return _sha256_b64url(_b64url(disclosure).encode("ascii"))


def _digest_references(digests: Sequence[bytes]) -> dict[int, bytes]:
    return dict(enumerate(digests[:_MAX_DIGEST_REFERENCES]))


def _text_segments(parts: _Parts) -> list[tuple[bytes, dict[int, bytes]]]:
    """Each text segment in frame order, with the derived values it may refer to.

    A disclosure refers only to the digests of disclosures before it (a nested object's
    disclosure follows its properties' disclosures); the JWTs refer to every digest, and the
    key-binding JWT also to its ``sd_hash`` (RFC 9901 §4.3.1: the digest of
    ``<issuer JWT>~<disclosure>~…~``).
    """
    digests = [_disclosure_digest(d) for d in parts.disclosures]
    segments = [(d, _digest_references(digests[:i])) for i, d in enumerate(parts.disclosures)]
    values = _digest_references(digests)
    header, payload, _ = parts.issuer_jwt
    segments += [(header, values), (payload, values)]
    if parts.key_binding_jwt is not None:
        values = {**values, _REF_SD_HASH: _sha256_b64url(parts.sd_jwt().encode("ascii"))}
        header, payload, _ = parts.key_binding_jwt
        segments += [(header, values), (payload, values)]
    return segments


def _pooled_bytes(value: bytes) -> bytes | None:
    """The bytes of a quoted base64url string, if they can go to the byte pool."""
    raw = _canonical_b64url_bytes(value)
    return raw if raw is not None and len(raw) <= 0xFF else None


def _encode_text(
    segment: bytes, values: dict[int, bytes], repeated: set[bytes], pool: bytearray
) -> bytes:
    """Escape 0x01, then replace quoted base64url strings by references, in one pass.

    A derived value becomes its reference; any other base64url string that occurs only once
    in the frame moves to the byte pool (one that recurs stays text, for deflate to match).
    """
    reference = {value: number for number, value in reversed(values.items())}

    def replace(match: re.Match[bytes]) -> bytes:
        value = match.group(1)
        if value in reference:
            return b'"' + bytes([_REF, reference[value]]) + b'"'
        raw = None if value in repeated else _pooled_bytes(value)
        if raw is None:
            return match.group(0)
        pool.extend(raw)
        return b'"' + bytes([_REF, _REF_BYTES, len(raw)]) + b'"'

    escaped = segment.replace(bytes([_REF]), bytes([_REF, _REF_LITERAL]))
    return _QUOTED_BASE64URL.sub(replace, escaped)


def _frame(parts: _Parts) -> tuple[bytes, bytes]:
    """The frame, split where the signatures and the byte pool start.

    Both halves go into one zlib stream, but the second starts a new deflate block so that
    random bytes do not spoil the Huffman codes of the text.
    """
    segments = _text_segments(parts)
    seen: dict[bytes, int] = {}
    for segment, _ in segments:
        for match in _QUOTED_BASE64URL.finditer(segment):
            seen[match.group(1)] = seen.get(match.group(1), 0) + 1
    repeated = {value for value, count in seen.items() if count > 1}
    pool = bytearray()
    encoded = [_encode_text(segment, values, repeated, pool) for segment, values in segments]

    flags = _FLAG_KEY_BINDING if parts.key_binding_jwt else 0
    text = bytes([flags]) + _varint(len(parts.disclosures))
    text += b"".join(_varint(len(segment)) + segment for segment in encoded)
    signatures = [parts.issuer_jwt[2]]
    if parts.key_binding_jwt is not None:
        signatures.append(parts.key_binding_jwt[2])
    binary = b"".join(_varint(len(signature)) + signature for signature in signatures)
    return text, binary + pool


class _FrameReader:
    """Reads a frame front to back; every shortfall is a :class:`TruncatedQrFrame`."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, length: int, what: str) -> bytes:
        end = self._at + length
        if end > len(self._data):
            raise TruncatedQrFrame(
                f"the frame ends {end - len(self._data)} bytes short of the end of {what}"
            )
        value = self._data[self._at : end]
        self._at = end
        return value

    def varint(self, what: str) -> int:
        value = 0
        for position in range(_MAX_VARINT_BYTES):
            byte = self.take(1, what)[0]
            value |= (byte & 0x7F) << (7 * position)
            if not byte & 0x80:
                if position and not byte:
                    raise MalformedQrFrame(f"{what} is not a minimal varint")
                return value
        raise MalformedQrFrame(f"{what} is longer than {_MAX_VARINT_BYTES} varint bytes")

    def segment(self, what: str) -> bytes:
        return self.take(self.varint(f"the length of {what}"), what)

    def rest(self) -> _FrameReader:
        """A reader of what is left (the byte pool)."""
        return _FrameReader(self._data[self._at :])

    def end(self, what: str) -> None:
        if self._at != len(self._data):
            raise MalformedQrFrame(f"{len(self._data) - self._at} bytes of {what} are unused")


def _decode_text(segment: bytes, values: dict[int, bytes], pool: _FrameReader, what: str) -> bytes:
    """The inverse of :func:`_encode_text`."""
    out = bytearray()
    at = 0
    while (found := segment.find(_REF, at)) >= 0:
        out += segment[at:found]
        if found + 1 == len(segment):
            raise MalformedQrFrame(f"{what} ends inside a reference")
        number, at = segment[found + 1], found + 2
        if number == _REF_LITERAL:
            out.append(_REF)
        elif number == _REF_BYTES:
            if at == len(segment) or segment[at] == 0:
                raise MalformedQrFrame(f"{what} has a byte-pool reference without a length")
            out += _b64url(pool.take(segment[at], f"a value of {what} in the byte pool")).encode()
            at += 1
        elif number in values:
            out += values[number]
        else:
            raise MalformedQrFrame(f"{what} refers to value 0x{number:02x}, which it cannot")
    return bytes(out + segment[at:])


def _unframe(data: bytes) -> _Parts:
    reader = _FrameReader(data)
    flags = reader.take(1, "the flags byte")[0]
    if flags & ~_FLAG_KEY_BINDING:
        raise MalformedQrFrame(f"reserved flag bits are set (flags 0x{flags:02x})")
    key_binding = bool(flags & _FLAG_KEY_BINDING)
    count = reader.varint("the disclosure count")
    names = [f"disclosure {i}" for i in range(1, count + 1)]
    names += ["the issuer-signed JWT header", "the issuer-signed JWT payload"]
    if key_binding:
        names += ["the key-binding JWT header", "the key-binding JWT payload"]
    texts = [reader.segment(name) for name in names]
    issuer_signature = reader.segment("the issuer-signed JWT signature")
    kb_signature = reader.segment("the key-binding JWT signature") if key_binding else b""
    pool = reader.rest()

    disclosures: list[bytes] = []
    values: dict[int, bytes] = {}  # the digests of the disclosures read so far
    for name, text in zip(names[:count], texts[:count], strict=True):
        disclosures.append(_decode_text(text, values, pool, name))
        if len(values) < _MAX_DIGEST_REFERENCES:
            values[len(values)] = _disclosure_digest(disclosures[-1])
    header, payload = (
        _decode_text(text, values, pool, name)
        for name, text in zip(names[count : count + 2], texts[count : count + 2], strict=True)
    )
    parts = _Parts((header, payload, issuer_signature), tuple(disclosures), None)
    if key_binding:
        values[_REF_SD_HASH] = _sha256_b64url(parts.sd_jwt().encode("ascii"))
        header, payload = (
            _decode_text(text, values, pool, name)
            for name, text in zip(names[count + 2 :], texts[count + 2 :], strict=True)
        )
        parts = _Parts(parts.issuer_jwt, parts.disclosures, (header, payload, kb_signature))
    pool.end("the byte pool")
    return parts


# -- compression -------------------------------------------------------------------------------


def _compress(text: bytes, binary: bytes) -> bytes:
    """One zlib stream of ``text + binary``; ``binary`` starts a new deflate block."""
    compressor = zlib.compressobj(level=_COMPRESSION_LEVEL, zdict=GW1_DICTIONARY)
    return (
        compressor.compress(text)
        + compressor.flush(zlib.Z_BLOCK)
        + compressor.compress(binary)
        + compressor.flush()
    )


def _decompress(data: bytes) -> bytes:
    inflater = zlib.decompressobj(zdict=GW1_DICTIONARY)
    try:
        frame = inflater.decompress(data, MAX_FRAME_BYTES + 1)
    except zlib.error as exc:
        raise InvalidQrCompression(f"the payload is not a GW1 zlib stream ({exc})") from None
    if len(frame) > MAX_FRAME_BYTES:
        raise InvalidQrCompression(f"the payload inflates beyond {MAX_FRAME_BYTES} bytes")
    if not inflater.eof:
        raise InvalidQrCompression("the zlib stream is incomplete")
    if inflater.unused_data:
        raise InvalidQrCompression(
            f"{len(inflater.unused_data)} bytes follow the end of the zlib stream"
        )
    return frame


# -- public interface --------------------------------------------------------------------------


def encode_offline(presentation: str) -> str:
    """The offline QR text (``GW1:…``) of an SD-JWT presentation.

    Raises :class:`PresentationNotEncodable` when ``presentation`` is not an SD-JWT compact
    serialization in canonical base64url.
    """
    return OFFLINE_PREFIX + b45encode(_compress(*_frame(_parse(presentation))))


def decode_offline(text: str) -> str:
    """The presentation carried by offline QR text, byte for byte as it was encoded.

    Raises a :class:`QrFormatError` subclass naming what is wrong. The presentation is
    *not* verified here: that is ``licenses.verification``'s work.
    """
    if not text.startswith(OFFLINE_PREFIX):
        versioned = _VERSIONED_PREFIX.match(text)
        if versioned:
            raise UnsupportedQrVersion(
                f"offline QR version {versioned.group(1)} is not supported (this reader "
                f"reads {OFFLINE_PREFIX!r})"
            )
        raise UnknownQrPrefix(f"offline QR text starts with {OFFLINE_PREFIX!r}")
    try:
        compressed = b45decode(text[len(OFFLINE_PREFIX) :])
    except Base45Error as exc:
        raise InvalidQrBase45(str(exc)) from None
    return _unframe(_decompress(compressed)).compact()


def is_offline_payload(text: str) -> bool:
    """Whether scanned text claims to be an offline payload (of any ``GW<n>:`` version).

    Lets a verifier tell offline QR text from an online link before decoding it.
    """
    return _VERSIONED_PREFIX.match(text) is not None


def encode_online(url: str) -> str:
    """The online QR text: the short one-time URL itself, unchanged.

    The registry mints the URL and holds the presentation behind it; scanning it twice or
    late fails there, not here. Only absolute ``https``/``http`` URLs without whitespace are
    accepted, so a QR code never carries something a scanner would not open.
    """
    parts = urlsplit(url)
    if (
        parts.scheme not in {"https", "http"}
        or not parts.netloc
        or any(c.isspace() or not c.isprintable() for c in url)
    ):
        raise InvalidOnlineUrl("the online QR link is an absolute http(s) URL without spaces")
    return url
