"""Fuzz the NFC holder (card side): any sequence of command APDUs.

Input: one configuration byte (``_world.holder``), then command APDUs behind
2-byte lengths. The holder uses a reproducible random source, so the seed
exchanges recorded by ``make_corpus.py`` replay into a full encrypted session.
Expected: ``HolderSession.process`` never raises on peer input and always
answers a well-formed response APDU.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    from vitale_cred.hazmat.apdu import parse_response
    from vitale_cred.nfc import credentials_by_index

    import _world

WORLD = _world.build()
CREDENTIALS = credentials_by_index(WORLD.bundle.credentials)


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    holder = _world.holder(WORLD, data[0], CREDENTIALS)
    for command in _world.unframe(data[1:]):
        response = holder.process(command)
        parse_response(response)
        holder.events()


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
