"""Base45 (RFC 9285), table-driven and strict.

Every two bytes ``[a, b]`` become the number ``n = a * 256 + b``, written as three
characters ``n % 45, (n // 45) % 45, n // 2025``; a lone final byte becomes two
characters. The alphabet is ``0-9 A-Z``, space and ``$%*+-./:``: exactly the
characters of the QR alphanumeric mode.

Decoding is strict. It checks, in this order:

1. the input is a :class:`str`, else :class:`~vitale_cred.errors.InvalidArgument`;
2. the text holds at most ``max_chars`` characters (default :data:`MAX_DECODE_CHARS`,
   the alphanumeric capacity of a QR code), else
   :class:`~vitale_cred.errors.QrTooLarge` (``qr.too_large``); a caller that decodes
   longer texts names its own cap;
3. every character is in the alphabet (lower case and whitespace are not), else
   :class:`~vitale_cred.errors.Base45BadCharacter`;
4. the length is not 1 modulo 3, else :class:`~vitale_cred.errors.Base45BadLength`;
5. every 3-character group is at most 65535 and a final 2-character group at most
   255, else :class:`~vitale_cred.errors.Base45Overflow`.

So ``"BB8\\n"`` (a trailing newline) is reported as a bad character, not a bad length.
"""

from __future__ import annotations

import struct

from vitale_cred.errors import (
    Base45BadCharacter,
    Base45BadLength,
    Base45Overflow,
    InvalidArgument,
    QrTooLarge,
)

__all__ = ["ALPHABET", "MAX_DECODE_CHARS", "b45decode", "b45encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

#: Default cap of :func:`b45decode`: the alphanumeric capacity of a version-40-L QR
#: code. Base45 text read from a code can never be longer, so anything longer is
#: refused before it costs a copy.
MAX_DECODE_CHARS = 4296

_BAD = 0xFF
_DECODE = bytearray([_BAD]) * 256
for _value, _char in enumerate(ALPHABET):
    _DECODE[ord(_char)] = _value
# bytes.translate maps every character to its value in C; 0xFF marks "not in alphabet".
_DECODE_TABLE = bytes(_DECODE)
del _DECODE, _value, _char

# The low two characters of a 16-bit group, indexed by n % 2025: one lookup
# instead of two divmods per group.
_LOW_PAIRS = [ALPHABET[i % 45] + ALPHABET[i // 45] for i in range(45 * 45)]


def b45encode(data: bytes | bytearray | memoryview) -> str:
    """Encode bytes as Base45 text (RFC 9285 section 4)."""
    if not isinstance(data, bytes):
        if not isinstance(data, bytearray | memoryview):
            raise InvalidArgument(f"b45encode expects bytes, got {type(data).__name__}")
        data = bytes(data)
    pairs = len(data) // 2
    words = struct.unpack(f">{pairs}H", data[: 2 * pairs])
    text = "".join([_LOW_PAIRS[w % 2025] + ALPHABET[w // 2025] for w in words])
    if len(data) % 2:
        text += _LOW_PAIRS[data[-1]]
    return text


# One mask per group count, with 0xFF at the low byte of every 3-byte lane. Bounded
# by MAX_DECODE_CHARS // 3 entries, and in practice a handful (QR texts of one size).
_LANE_MASKS: dict[int, int] = {}


def _lane_mask(count: int) -> int:
    mask = _LANE_MASKS.get(count)
    if mask is None:
        if len(_LANE_MASKS) >= 64:
            _LANE_MASKS.clear()
        mask = _LANE_MASKS[count] = int.from_bytes(b"\xff\0\0" * count, "little")
    return mask


def _groups(values: bytes, full: int) -> bytes:
    """Decode the 3-character groups of ``values[:full]`` (character values 0..44).

    The groups are summed in parallel: the text is read as one little-endian integer
    whose 3-byte lanes are the groups, each column is masked out of it, and
    ``a + 45 b + 2025 c`` runs once in C for the whole text; no lane can carry into
    the next (91 124 < 2^24). A lane whose high byte is set holds a group above
    65 535.
    """
    count = full // 3
    lanes = int.from_bytes(values[:full], "little")
    mask = _lane_mask(count)
    total = ((lanes & mask) + 45 * ((lanes >> 8) & mask) + 2025 * ((lanes >> 16) & mask)).to_bytes(
        3 * count, "little"
    )
    if total[2::3].strip(b"\0"):
        words = [
            a + b * 45 + c * 2025
            for a, b, c in zip(values[0:full:3], values[1:full:3], values[2:full:3], strict=True)
        ]
        group = next(i for i, w in enumerate(words) if w > 0xFFFF)
        raise Base45Overflow(f"group at index {3 * group} decodes to {words[group]} > 65535")
    out = bytearray(2 * count)
    out[0::2] = total[1::3]
    out[1::2] = total[0::3]
    return bytes(out)


def b45decode(text: str, *, max_chars: int = MAX_DECODE_CHARS) -> bytes:
    """Decode Base45 text (RFC 9285 section 4) strictly; see the module docstring.

    ``max_chars`` bounds the work: longer text is refused with ``qr.too_large`` before
    any character is read.
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"b45decode expects str, got {type(text).__name__}")
    if type(max_chars) is not int or max_chars < 0:
        raise InvalidArgument(f"max_chars must be a non-negative int, got {max_chars!r}")
    if len(text) > max_chars:
        raise QrTooLarge(f"Base45 text is {len(text)} characters, more than {max_chars}")
    if not text.isascii():
        index = next(i for i, ch in enumerate(text) if not ch.isascii())
        raise Base45BadCharacter(f"character {text[index]!r} at index {index} is not Base45")
    values = text.encode("ascii").translate(_DECODE_TABLE)
    index = values.find(_BAD)
    if index >= 0:
        raise Base45BadCharacter(f"character {text[index]!r} at index {index} is not Base45")
    tail = len(values) % 3
    if tail == 1:
        raise Base45BadLength(f"length {len(values)} is 1 modulo 3")
    full = len(values) - tail
    decoded = _groups(values, full)
    if tail:
        last = values[full] + values[full + 1] * 45
        if last > 0xFF:
            raise Base45Overflow(f"final group at index {full} decodes to {last} > 255")
        decoded += bytes((last,))
    return decoded
