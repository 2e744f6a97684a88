"""Fuzz the NFC reader: any sequence of response APDUs from a (malicious) holder.

Input: one configuration byte (``_world.reader``), then response APDUs behind
2-byte lengths, fed one per command the reader sends. The reader's random source
is reproducible, so recorded seed exchanges decrypt and reach the verifier.
Expected: ``ReaderSession.feed`` raises only ``VerificationError`` subclasses.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    from vitale_cred.errors import VerificationError
    from vitale_cred.nfc import ReaderState

    import _world

WORLD = _world.build()
VERIFIER = WORLD.verifier()


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    reader = _world.reader(VERIFIER, data[0])
    for response in _world.unframe(data[1:]):
        if reader.state is ReaderState.LOCKED:
            reader.retry()
        if reader.next_command() is None:
            return
        try:
            reader.feed(response)
        except VerificationError:
            return


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
