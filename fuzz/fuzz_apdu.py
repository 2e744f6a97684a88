"""Fuzz the ISO/IEC 7816-4 codec: command and response parsing, chaining, 61xx/6Cxx.

Input: a sequence of APDUs, each behind a 2-byte length (``_world.frame``). Each is
parsed as a command and as a response; parsed commands go through a
``ChainAssembler`` and a ``ResponseSplitter``, parsed responses through a
``ResponseCollector``. Expected: only ``ApduError`` subclasses. Properties: every
accepted command and response re-encodes to exactly the input.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    from vitale_cred.errors import ApduError
    from vitale_cred.hazmat.apdu import (
        ChainAssembler,
        CommandApdu,
        Ins,
        ResponseApdu,
        ResponseCollector,
        ResponseSplitter,
        parse_command,
        parse_response,
    )

    import _world

call = _world.call
PENDING = ResponseApdu(bytes(range(256)) * 3, 0x9000)
REQUEST = CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, b"\xa0", le=256)


def TestOneInput(data: bytes) -> None:
    messages = _world.unframe(data)
    assembler = ChainAssembler(1024, chainable_ins=(Ins.PRESENTATION_REQUEST,))
    splitter = ResponseSplitter(max_chunk=1 + (data[0] if data else 0))
    collector = ResponseCollector(REQUEST, 4096)
    for raw in messages:
        command = call(ApduError, parse_command, raw)
        if command is not None:
            extended = len(raw) >= 7 and raw[4] == 0
            if command.encode(extended=extended) != raw:
                raise AssertionError(f"command does not re-encode: {raw.hex()}")
            if command.ins == Ins.GET_RESPONSE:
                call(ApduError, splitter.get_response, command)
            else:
                splitter.start(PENDING, le=command.le)
                call(ApduError, assembler.feed, command)
        response = call(ApduError, parse_response, raw)
        if response is not None:
            if response.encode() != raw:
                raise AssertionError(f"response does not re-encode: {raw.hex()}")
            if collector.done:
                collector = ResponseCollector(REQUEST, 4096)
            call(ApduError, collector.feed, response)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
