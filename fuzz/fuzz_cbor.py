"""Fuzz the strict CBOR decoder (``vitale_cred.hazmat.cbor.decode``).

Input: one mode byte (bit 0 set: non-deterministic profile), then the CBOR bytes.
Expected: a value or a ``CborError``. Properties checked on every accepted input:
the deterministic re-encoding equals the input (deterministic profile), decoding
the re-encoding gives the same value, and cbor2 reads the same value (no tags).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    import cbor2

    from vitale_cred.errors import CborError
    from vitale_cred.hazmat import cbor as _cbor

TAGS = frozenset({18, 24, 61})


def _has_tag(value: object) -> bool:
    if isinstance(value, _cbor.Tagged):
        return True
    if isinstance(value, list):
        return any(_has_tag(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tag(v) for v in value.values())
    return False


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    deterministic = not data[0] & 1
    body = data[1:]
    try:
        value = _cbor.decode(body, tags=TAGS, deterministic=deterministic)
    except CborError:
        return
    encoded = _cbor.encode(value)
    if deterministic and encoded != body:
        raise AssertionError(f"re-encoding differs: {body.hex()} -> {encoded.hex()}")
    if _cbor.decode(encoded, tags=TAGS) != value:
        raise AssertionError(f"decode(encode(x)) != x for {body.hex()}")
    if not _has_tag(value) and cbor2.loads(body) != value:
        raise AssertionError(f"cbor2 reads another value from {body.hex()}")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
