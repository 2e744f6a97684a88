"""Fuzz presentation decoding and the whole verifier (``Verifier.verify_presentation``).

Input: the bytes of a presentation token. Expected: only ``VerificationError``
subclasses. Property: an accepted payload round-trips through its wire form.
"""

from __future__ import annotations

import hashlib
import sys

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    from vitale_cred.errors import VerificationError
    from vitale_cred.hazmat import cbor as _cbor
    from vitale_cred.hazmat import cose
    from vitale_cred.presentation import MAX_PRESENTATION_BYTES, decode_presentation_payload

    import _world

WORLD = _world.build()
VERIFIER = WORLD.verifier()
TRANSCRIPT = hashlib.sha256(b"fuzz transcript").digest()
call = _world.call


def TestOneInput(data: bytes) -> None:
    payload = call(VerificationError, decode_presentation_payload, data)
    if payload is not None and decode_presentation_payload(_cbor.encode(payload.to_wire())) != (
        payload
    ):
        raise AssertionError(f"presentation payload does not round-trip: {data.hex()}")
    message = call(VerificationError, cose.decode_sign1, data, max_size=MAX_PRESENTATION_BYTES)
    if message is not None:
        call(VerificationError, decode_presentation_payload, message.payload)
    call(VerificationError, VERIFIER.verify_presentation, data)
    call(VerificationError, VERIFIER.verify_presentation, data, transcript=TRANSCRIPT)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
