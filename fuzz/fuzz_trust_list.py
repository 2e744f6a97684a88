"""Fuzz signed trust lists: verification, the reader's update, and the entry parser.

Input: trust list bytes. Expected: only ``VerificationError`` subclasses.
Property: a parsed ``TrustList`` round-trips through its wire form.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    from vitale_cred.clock import FixedClock
    from vitale_cred.errors import VerificationError
    from vitale_cred.hazmat import cbor as _cbor
    from vitale_cred.trustlist import (
        StalePolicy,
        TrustList,
        TrustListReader,
        verify_trust_list,
    )

    import _world

WORLD = _world.build()
call = _world.call


def TestOneInput(data: bytes) -> None:
    call(
        VerificationError,
        verify_trust_list,
        data,
        WORLD.authority,
        clock=FixedClock(_world.NOW),
        stale=StalePolicy.ACCEPT_STALE,
    )
    reader = TrustListReader(WORLD.authority, stale=StalePolicy.ACCEPT_STALE)
    call(VerificationError, reader.update, data, clock=FixedClock(_world.NOW))
    value = call(VerificationError, _cbor.decode, data, max_depth=8)
    if value is None:
        return
    trust_list = call(VerificationError, TrustList.from_wire, value)
    if trust_list is None:
        return
    again = TrustList.from_wire(_cbor.decode(_cbor.encode(trust_list.to_wire())))
    if again != trust_list:
        raise AssertionError(f"trust list does not round-trip: {data.hex()}")
    for entry in trust_list.entries:
        call(VerificationError, entry.trusted_key)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
