"""The usual credential payload, read in one pass by the shape each label holds.

:func:`read_usual` returns exactly what the strict decoder
(:func:`vitale_cred.hazmat.cbor.decode` under the credential's limits) returns for
the same bytes, or None. It knows where the claims, the ``cnf`` key, the card, the
beneficiary and its INS sit, and what kind of value each label holds, so it reads
each value inline where the general decoder dispatches on every head and recurses
into every container: a little over half the cost (about 104k machine instructions
for a 160-byte payload, against 181k), on every cold verification.

It is a shortcut, never a second rule: it accepts only bytes the strict decoder
accepts (deterministic heads and key order, definite lengths, no tags, no ``null``,
no floats, valid UTF-8, every length within the input), and anything it does not
expect (an unusual label, a value of another shape, a long string, an uncompressed
key) makes it answer None, so that the strict decoder reads the bytes and names
their defect. The tests compare both readers on the vectors, on random cards and on
mutations of them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["read_usual"]

# The strict decoder counts at most 4,096 data items, and every item takes at least
# one byte: a payload of this size or less can never exceed that budget.
_MOST_BYTES = 4_096
# cnf(8) holding the compressed P-256 device key every holder has:
# {1: {1: 2 (EC2), -1: 1 (P-256), -2: x (32 bytes), -3: sign of y}}.
_CNF_HEAD = b"\x08\xa1\x01\xa4\x01\x02\x20\x01\x21\x58\x20"
_CARD_KEY = b"\x3a\x00\x01\x00\x00"  # card(-65537)
# Width of the argument of each long head, and the smallest value it may carry
# (shortest-form rule), by additional information 24 to 27.
_WIDTH = {24: 1, 25: 2, 26: 4, 27: 8}
_SHORTEST = {24: 24, 25: 0x100, 26: 0x1_0000, 27: 0x1_0000_0000}


class _Unusual(Exception):
    """The bytes leave the usual layout: the strict decoder reads them."""


def read_usual(payload: bytes) -> dict[int, Any] | None:
    """The decoded claims map of a usual credential payload, or None (see module)."""
    if type(payload) is not bytes or len(payload) > _MOST_BYTES:
        return None
    try:
        return _claims(payload)
    except (_Unusual, IndexError, KeyError, UnicodeDecodeError):
        # IndexError: a head past the end of the input; KeyError: a head this reader
        # does not take; UnicodeDecodeError: invalid UTF-8. The strict decoder names
        # each of them.
        return None


# Each reader takes the input and the offset of a value's head, and returns the value
# and the offset after it. The usual one-byte heads are read inline by the callers
# (a call costs more than the read); these take the rest.


def _count(data: bytes, pos: int, major: int) -> int:
    """The item count of the array (``0x80``) or map (``0xa0``) head at ``pos``: at most
    23, which every container of a usual payload holds."""
    count = data[pos] - major
    if not 0 <= count < 24:
        raise _Unusual
    return count


def _long_uint(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned integer under a 1-, 2-, 4- or 8-byte argument, in shortest form."""
    initial = data[pos]  # KeyError below for anything but 0x18..0x1b
    stop = pos + 1 + _WIDTH[initial]
    value = int.from_bytes(data[pos + 1 : stop], "big")
    if value < _SHORTEST[initial]:
        raise _Unusual
    return value, stop


def _int(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned or negative integer (birth dates are either)."""
    initial = data[pos]
    if initial < 0x18:
        return initial, pos + 1
    if initial < 0x20:
        return _long_uint(data, pos)
    if initial < 0x38:
        return 0x1F - initial, pos + 1
    ai = initial - 0x20
    stop = pos + 1 + _WIDTH[ai]
    value = int.from_bytes(data[pos + 1 : stop], "big")
    if value < _SHORTEST[ai]:
        raise _Unusual
    return -1 - value, stop


def _long_text(data: bytes, pos: int) -> tuple[str, int]:
    """A text string of 24 to 255 bytes (under a 1-byte length)."""
    if data[pos] != 0x78:
        raise _Unusual
    length = data[pos + 1]
    if length < 24:
        raise _Unusual
    stop = pos + 2 + length
    return data[pos + 2 : stop].decode("utf-8"), stop


def _scalars(data: bytes, pos: int) -> tuple[list[str | int], int]:
    """An array of at most 23 text strings and unsigned integers: given names, a
    period, an AMC attachment, a status reference. The model checks which it needs."""
    count = _count(data, pos, 0x80)
    pos += 1
    out: list[str | int] = []
    for _ in range(count):
        initial = data[pos]
        if 0x60 <= initial < 0x78:
            stop = pos + initial - 0x5F
            out.append(data[pos + 1 : stop].decode("utf-8"))
            pos = stop
        elif initial < 0x18:
            out.append(initial)
            pos += 1
        elif initial < 0x1C:
            value, pos = _long_uint(data, pos)
            out.append(value)
        else:
            text, pos = _long_text(data, pos)
            out.append(text)
    return out, pos


def _arrays(data: bytes, pos: int) -> tuple[list[list[str | int]], int]:
    """An array of arrays of scalars (rights periods, exonerations)."""
    count = _count(data, pos, 0x80)
    pos += 1
    out = []
    for _ in range(count):
        items, pos = _scalars(data, pos)
        out.append(items)
    return out, pos


def _bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    """A byte string of at most 23 bytes (a NIR, a matricule)."""
    initial = data[pos]
    if not 0x40 <= initial < 0x58:
        raise _Unusual
    stop = pos + initial - 0x3F
    return data[pos + 1 : stop], stop


def _text(data: bytes, pos: int) -> tuple[str, int]:
    """A text string of at most 255 bytes."""
    initial = data[pos]
    if 0x60 <= initial < 0x78:
        stop = pos + initial - 0x5F
        return data[pos + 1 : stop].decode("utf-8"), stop
    return _long_text(data, pos)


def _labelled(data: bytes, pos: int, readers: dict[int, Any]) -> tuple[dict[int, Any], int]:
    """A map whose keys are labels ``1..len(readers)`` in increasing order, each value
    read by the reader of its label."""
    count = _count(data, pos, 0xA0)
    pos += 1
    out: dict[int, Any] = {}
    previous, last = 0, len(readers)
    for _ in range(count):
        key = data[pos]
        if not previous < key <= last:
            raise _Unusual
        previous = key
        out[key], pos = readers[key](data, pos + 1)
    return out, pos


def _ins(data: bytes, pos: int) -> tuple[dict[int, Any], int]:
    """The INS map: matricule (bytes), names (text, arrays of text), birth place."""
    return _labelled(data, pos, _INS_VALUES)


_INS_VALUES: dict[int, Any] = {1: _bytes, 2: _text, 3: _scalars, 4: _text, 5: _scalars}


def _beneficiary(data: bytes, pos: int) -> tuple[dict[int, Any], int]:
    """A beneficiary map: labels 1 to 11, each read by the shape it holds."""
    count = _count(data, pos, 0xA0)
    pos += 1
    out: dict[int, Any] = {}
    previous = 0
    for _ in range(count):
        key = data[pos]
        if not previous < key <= 11:
            raise _Unusual
        previous = key
        pos += 1
        initial = data[pos]
        if key == 1 or (key == 2 and initial >> 5 == 3):
            # The family name, one given name.
            if 0x60 <= initial < 0x78:
                stop = pos + initial - 0x5F
                out[key] = data[pos + 1 : stop].decode("utf-8")
                pos = stop
            else:
                out[key], pos = _long_text(data, pos)
        elif key == 2:
            out[2], pos = _scalars(data, pos)
        elif key == 3:
            out[3], pos = _int(data, pos)
        elif key == 11 and initial == 0xA0:
            # The usual INS: everything implied by the beneficiary.
            out[11] = {}
            pos += 1
        elif key < 6 and initial < 0x18:
            out[key] = initial  # birth rank, qualité
            pos += 1
        else:
            out[key], pos = _BENEFICIARY_VALUES[key](data, pos)
    return out, pos


_BENEFICIARY_VALUES: dict[int, Any] = {
    4: _long_uint,
    5: _long_uint,
    6: _arrays,
    7: _arrays,
    8: _scalars,
    9: _scalars,
    10: _bytes,
    11: _ins,
}


def _card(data: bytes, pos: int) -> tuple[dict[int, Any], int]:
    """The card map: NIR (bytes), numbers, the beneficiary, the status reference."""
    return _labelled(data, pos, _CARD_VALUES)


def _uint(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned integer under its shortest head."""
    initial = data[pos]
    if initial < 0x18:
        return initial, pos + 1
    return _long_uint(data, pos)


_CARD_VALUES: dict[int, Any] = {
    1: _bytes,
    2: _uint,
    3: _uint,
    4: _uint,
    5: _beneficiary,
    6: _uint,
    7: _scalars,
}


def _claims(data: bytes) -> dict[int, Any]:
    """The claims map: iss, exp, nbf, iat, cnf, card, in that (deterministic) order."""
    count = _count(data, 0, 0xA0)
    pos = 1
    out: dict[int, Any] = {}
    # The last key read, as its place in encoding order: keys strictly increase.
    previous = 0
    for _ in range(count):
        key = data[pos]
        if key == 0x08 and previous < 8:
            if data[pos : pos + 11] != _CNF_HEAD:
                raise _Unusual
            # Built in the strict decoder's insertion order (the encoding order).
            out[8] = {
                1: {
                    1: 2,
                    -1: 1,
                    -2: data[pos + 11 : pos + 43],
                    -3: _SIGN[data[pos + 43 : pos + 45]],
                }
            }
            pos += 45
            previous = 8
        elif key == 0x3A and previous < 9:
            if data[pos : pos + 5] != _CARD_KEY:
                raise _Unusual
            out[-65537], pos = _card(data, pos + 5)
            previous = 9
        elif key == 1 and previous < 1:
            out[1], pos = _text(data, pos + 1)
            previous = 1
        elif key in _TIMES and previous < key:
            pos += 1
            if data[pos] < 0x18:
                out[key] = data[pos]
                pos += 1
            else:
                out[key], pos = _long_uint(data, pos)
            previous = key
        else:
            raise _Unusual
    if pos != len(data):
        # Also every string or head that ran past the end: slices never raise, and
        # ``pos`` then lies beyond it.
        raise _Unusual
    return out


_TIMES = frozenset({4, 5, 6})  # exp, nbf, iat
# The sign of y of the compressed device key: CBOR false or true under label -3.
_SIGN = {b"\x22\xf4": False, b"\x22\xf5": True}
