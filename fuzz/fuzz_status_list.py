"""Fuzz Status List Tokens: verification, the peek, inflation, references, checking.

Input: token bytes (first byte also picks the ``bits`` for the raw inflation).
Expected: only ``VerificationError`` subclasses; ``StatusChecker.check`` returns
or raises a ``status.*`` error.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    from vitale_cred.clock import FixedClock
    from vitale_cred.errors import VerificationError
    from vitale_cred.hazmat import cbor as _cbor
    from vitale_cred.status import (
        InMemoryStatusProvider,
        StatusChecker,
        StatusList,
        StatusPolicy,
        StatusReference,
        peek_status_list,
        verify_status_list,
    )

    import _world

WORLD = _world.build()
call = _world.call
REFERENCE = StatusReference(_world.STATUS_LIST, 3)
MAX_BYTES = 1 << 20  # keeps one input under a few milliseconds


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    verified = call(
        VerificationError,
        verify_status_list,
        data,
        WORLD.trust,
        clock=FixedClock(_world.NOW),
        max_bytes=MAX_BYTES,
    )
    if verified is not None and verified.size:
        call(VerificationError, verified.status, data[0] % (verified.size + 1))
    call(VerificationError, peek_status_list, data)
    call(VerificationError, InMemoryStatusProvider().publish, data)
    bits = 1 << (data[0] & 3)
    status_list = call(
        VerificationError, StatusList.from_compressed, data[1:], bits, max_bytes=4096
    )
    if status_list is not None and status_list.size:
        status_list.get(status_list.size - 1)
    value = call(VerificationError, _cbor.decode, data, deterministic=False)
    if value is not None:
        call(VerificationError, StatusReference.from_wire, value)
    # Whatever the channel hands over for the issuer's list is checked as that list.
    checker = StatusChecker(
        _Channel(data), WORLD.trust, policy=StatusPolicy(on_undetermined="accept")
    )
    call(VerificationError, checker.check, REFERENCE, _world.NOW, issuer_kid=WORLD.issuer_kid)


class _Channel:
    """A provider serving the same bytes for every list."""

    def __init__(self, token: bytes) -> None:
        self._token = token

    def fetch(self, kid: bytes, list_id: int) -> bytes | None:
        return self._token


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
