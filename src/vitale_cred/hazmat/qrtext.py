"""The QR text envelope: CBOR payload bytes <-> the text carried by a QR code.

Format::

    QR text  = PREFIX + Base45(envelope)
    PREFIX   = "VC1:"
    envelope = 1 flag byte + body
    flag 0x00: body is the raw CBOR bytes
    flag 0x01: body is a zlib stream (RFC 1950, as ``zlib.compress`` produces)
               whose decompression is the CBOR bytes
    any other flag: rejected (QrError, code qr.malformed)

Every character of a QR text (the Base45 alphabet and ``VC1:``) belongs to the QR
alphanumeric mode, so the text packs at 5.5 bits per character.

Limits: a QR text holds at most :data:`MAX_QR_TEXT_CHARS` characters (the
alphanumeric capacity of a version-40-L QR code) and its payload at most
:data:`MAX_PAYLOAD_BYTES` bytes once decompressed.

:func:`decode_qr_text` is strict and raises only :class:`~vitale_cred.errors.VitaleCredError`
subclasses, each with its code:

* not a ``str``: ``usage.invalid_argument`` (:class:`~vitale_cred.errors.InvalidArgument`);
* longer than :data:`MAX_QR_TEXT_CHARS`, checked before any other work, or a raw
  body longer than :data:`MAX_PAYLOAD_BYTES`: ``qr.too_large``;
* missing or wrong prefix (``vc1:`` included): ``qr.bad_prefix``;
* invalid Base45: ``base45.bad_character``, ``base45.bad_length``, ``base45.overflow``;
* empty envelope, unknown flag or empty payload: ``qr.malformed``;
* invalid, truncated or trailing bytes after the zlib stream: ``compression.invalid``;
* decompressed size over :data:`MAX_PAYLOAD_BYTES`: ``compression.too_large``.
"""

from __future__ import annotations

import zlib

from vitale_cred.errors import (
    InvalidArgument,
    QrBadPrefix,
    QrError,
    QrTooLarge,
)
from vitale_cred.hazmat.base45 import b45decode, b45encode
from vitale_cred.hazmat.deflate import inflate

__all__ = [
    "FLAG_RAW",
    "FLAG_ZLIB",
    "MAX_PAYLOAD_BYTES",
    "MAX_QR_TEXT_CHARS",
    "QR_PREFIX",
    "decode_qr_text",
    "encode_qr_text",
]

QR_PREFIX = "VC1:"
MAX_QR_TEXT_CHARS = 4296
MAX_PAYLOAD_BYTES = 8192

FLAG_RAW = 0x00
FLAG_ZLIB = 0x01


def encode_qr_text(payload: bytes | bytearray | memoryview, *, compress: bool | None = None) -> str:
    """Wrap CBOR payload bytes into a QR text.

    ``compress=None`` compresses only when that makes the text shorter; ``True`` and
    ``False`` force the choice. Raises :class:`~vitale_cred.errors.InvalidArgument`
    for an empty or oversized payload, or when the text would not fit in a QR code.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise InvalidArgument(f"payload must be bytes, got {type(payload).__name__}")
    if compress is not None and not isinstance(compress, bool):
        raise InvalidArgument(f"compress must be True, False or None, got {compress!r}")
    payload = bytes(payload)
    if not payload:
        raise InvalidArgument("payload is empty")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidArgument(
            f"payload is {len(payload)} bytes, more than the {MAX_PAYLOAD_BYTES}-byte cap"
        )
    raw = bytes((FLAG_RAW,)) + payload
    if compress is False:
        envelope = raw
    else:
        packed = bytes((FLAG_ZLIB,)) + zlib.compress(payload, 9)
        # Ties go to the raw form: same size, and no decompression for the reader.
        envelope = packed if compress or len(packed) < len(raw) else raw
    text = QR_PREFIX + b45encode(envelope)
    if len(text) > MAX_QR_TEXT_CHARS:
        raise InvalidArgument(
            f"QR text would be {len(text)} characters, more than {MAX_QR_TEXT_CHARS}"
        )
    return text


def decode_qr_text(text: str) -> bytes:
    """Unwrap a QR text into its CBOR payload bytes; see the module docstring for errors."""
    if not isinstance(text, str):
        raise InvalidArgument(f"QR text must be str, got {type(text).__name__}")
    # Size first: an attacker-sized string must cost nothing more than len().
    if len(text) > MAX_QR_TEXT_CHARS:
        raise QrTooLarge(f"QR text is {len(text)} characters, more than {MAX_QR_TEXT_CHARS}")
    if not text.startswith(QR_PREFIX):
        raise QrBadPrefix(f"QR text does not start with {QR_PREFIX!r}")
    envelope = b45decode(text[len(QR_PREFIX) :])
    if not envelope:
        raise QrError("QR envelope is empty (no flag byte)")
    flag, body = envelope[0], envelope[1:]
    if flag == FLAG_RAW:
        payload = body
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise QrTooLarge(
                f"payload is {len(payload)} bytes, more than the {MAX_PAYLOAD_BYTES}-byte cap"
            )
    elif flag == FLAG_ZLIB:
        payload = _inflate(body)
    else:
        raise QrError(f"unknown envelope flag 0x{flag:02x}")
    if not payload:
        raise QrError("QR payload is empty")
    return payload


def _inflate(body: bytes) -> bytes:
    """Decompress exactly one complete zlib stream of at most MAX_PAYLOAD_BYTES."""
    return inflate(body, MAX_PAYLOAD_BYTES, "the QR payload")
