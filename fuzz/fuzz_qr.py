"""Fuzz the QR text path: Base45, the ``VC1:`` envelope, zlib, then the verifier.

Input: one mode byte, then a body. Mode 0: the body read as Latin-1 text; mode 1:
``VC1:`` + Base45(body), to reach the envelope and zlib; mode 2: the body read as
UTF-8 (errors replaced). Expected: only ``VerificationError`` subclasses.
Properties: Base45 and the envelope round-trip on every accepted input.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    from vitale_cred.errors import InvalidArgument, VerificationError
    from vitale_cred.hazmat.base45 import b45decode, b45encode
    from vitale_cred.hazmat.qrtext import QR_PREFIX, decode_qr_text, encode_qr_text

    import _world

WORLD = _world.build()
VERIFIER = WORLD.verifier()
call = _world.call


def _text(data: bytes) -> str:
    mode, body = data[0] % 3, data[1:]
    if mode == 0:
        return body.decode("latin-1")
    if mode == 1:
        return QR_PREFIX + b45encode(body)
    return body.decode("utf-8", "replace")


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    text = _text(data)
    raw = call(VerificationError, b45decode, text)
    if raw is not None and b45encode(raw) != text:
        raise AssertionError(f"Base45 does not round-trip: {text!r}")
    payload = call(VerificationError, decode_qr_text, text)
    if payload is not None:
        for compress in (False, True):
            try:
                again = encode_qr_text(payload, compress=compress)
            except InvalidArgument:
                continue  # a payload the encoder may refuse (text too long for a QR code)
            if decode_qr_text(again) != payload:
                raise AssertionError(f"QR envelope does not round-trip: {text!r}")
    call(VerificationError, VERIFIER.verify_qr, text)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
