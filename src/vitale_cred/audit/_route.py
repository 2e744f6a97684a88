"""Which check partition a record goes to: the device key its presentation claims.

The audit checks records partitioned by device (``spec/evidence.md`` section 7.8
allows any split): every record of one phone is checked by the same task, so its
credentials are verified cold once, whatever the number of workers, and its time
line (section 7.5) is found in one partition. The key is read from the record's
bytes without decoding or verifying anything: the ``x`` coordinate of the ``cnf``
key of the credential inside the presentation, found by walking CBOR heads
(evidence map, or the professional's COSE_Sign1 around it; the presentation's
COSE_Sign1; its payload; the credential's COSE_Sign1; its claims).

Routing decides where a record is checked, never what is found: the cross-record
checks still bucket their entries by the device key the verifier returns. For a
record that verifies, that key is the one read here (the same bytes, decoded
strictly), so its time line stays in its partition; a record whose bytes lead to
no key goes to a partition chosen by its position, and cannot be authentic.
"""

from __future__ import annotations

from typing import Final

__all__ = ["claimed_device"]

_TAG_SIGN1: Final = 18
#: Deeper than any header of the protocol: a bound on the walk, not a check.
_MAX_DEPTH: Final = 16
# Map keys, as the one byte of their head.
_EVIDENCE_PRESENTATION: Final = 0x02  # presentation(2)
_PAYLOAD_CREDENTIAL: Final = 0x01  # credential(1)
_CLAIM_CNF: Final = 0x08  # cnf(8)
_CNF_COSE_KEY: Final = 0x01  # COSE_Key(1)
_KEY_X: Final = 0x21  # x(-2)
#: The x coordinate of a P-256 key.
_X_BYTES: Final = 32


def _head(data: bytes, pos: int) -> tuple[int, int, int]:
    """Major type, argument and the offset after the head at ``pos``. A head cut
    short reads a smaller argument: the walk then fails later, or routes a record
    that cannot verify."""
    initial = data[pos]
    ai = initial & 0x1F
    if ai < 24:
        return initial >> 5, ai, pos + 1
    if ai < 28:
        end = pos + 1 + (1 << (ai - 24))
        return initial >> 5, int.from_bytes(data[pos + 1 : end], "big"), end
    raise ValueError  # indefinite lengths and reserved values: not a record


def _skip(data: bytes, pos: int, depth: int = 0) -> int:
    """The offset after the data item at ``pos`` (past the end when it is cut short)."""
    initial = data[pos]
    if initial < 0x18 or 0x20 <= initial < 0x38:  # small integers: most keys and labels
        return pos + 1
    major, arg, pos = _head(data, pos)
    if major == 2 or major == 3:  # noqa: PLR1714 - a tuple test is slower here
        return pos + arg
    if major <= 1 or major == 7:
        return pos
    if depth >= _MAX_DEPTH:
        raise ValueError
    # Every item takes a byte at least: a count beyond the input ends in IndexError.
    for _ in range(arg if major == 4 else 2 * arg if major == 5 else 1):
        pos = _skip(data, pos, depth + 1)
    return pos


def _bytes(data: bytes, pos: int) -> int:
    """The offset of the content of the byte string at ``pos``."""
    major, arg, pos = _head(data, pos)
    if major != 2 or pos + arg > len(data):
        raise ValueError
    return pos


def _sign1_payload(data: bytes, pos: int) -> int:
    """The offset of the payload's content of the COSE_Sign1 (tagged or not) at ``pos``."""
    major, arg, pos = _head(data, pos)
    if major == 6 and arg == _TAG_SIGN1:
        major, arg, pos = _head(data, pos)
    if major != 4 or arg != 4:
        raise ValueError
    return _bytes(data, _skip(data, _skip(data, pos)))  # after protected, unprotected


def _member(data: bytes, pos: int, key: int) -> int:
    """The offset of the value of ``key`` (the first byte of its head: an integer
    from -24 to 23) in the map at ``pos``."""
    major, pairs, pos = _head(data, pos)
    if major != 5:
        raise ValueError
    for _ in range(pairs):
        if data[pos] == key:
            return pos + 1
        pos = _skip(data, _skip(data, pos))
    raise ValueError


def claimed_device(record: bytes) -> bytes | None:
    """The device key ``x`` the record's presentation claims, or None when its bytes do
    not lead to one. Nothing is checked: this only routes the record."""
    try:
        # Signed by the professional: the evidence map is the payload.
        at = _sign1_payload(record, 0) if record[:1] == b"\xd2" else 0
        at = _sign1_payload(record, _bytes(record, _member(record, at, _EVIDENCE_PRESENTATION)))
        at = _sign1_payload(record, _bytes(record, _member(record, at, _PAYLOAD_CREDENTIAL)))
        at = _member(
            record, _member(record, _member(record, at, _CLAIM_CNF), _CNF_COSE_KEY), _KEY_X
        )
        major, length, at = _head(record, at)
    except (IndexError, ValueError):
        return None
    x = record[at : at + _X_BYTES]
    return x if major == 2 and length == len(x) == _X_BYTES else None
