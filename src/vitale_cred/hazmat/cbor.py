"""Strict CBOR profile: a bounded one-pass decoder and a deterministic encoder.

The decoder accepts only the profile of ``spec/encoding.md``:

* definite lengths only; no floats, no ``null``, no ``undefined``, no simple
  values other than ``false``/``true``. No structure of protocol v1 uses
  ``null``, and many decoders would read a ``null`` value as an absent label
  (a ``null`` ``exp`` as "never expires"): refusing it here, on sight, closes that
  class for every structure at once;
* map keys are integers, text or byte strings, never repeated; a key that is an
  array, a map or a tag is refused as soon as its head is read (its content is
  never looked at), as the order of checks of ``spec/encoding.md`` section 2.3 says;
* tags only from the caller's allow-list;
* nesting at most ``max_depth`` levels and at most ``max_items`` data items;
* no byte after the top-level item; every declared length fits the input;
* with ``deterministic=True`` (the default), heads in shortest form and map keys
  in bytewise order of their encodings (RFC 8949 section 4.2.1). With it, a
  duplicate key is a non-increasing key and two decoders cannot disagree on a map.

It is written by hand rather than layered on ``cbor2.loads`` because cbor2 silently
accepts duplicate keys, indefinite lengths and non-shortest heads, and changes its
tag representation between major versions. cbor2 is used to encode, after the
maps have been put in deterministic order here. The encoder still writes
``None`` as ``null``: refusal vectors and tests are built with it, and every
producer's output goes through :func:`decode` in the tests, which refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cbor2

from vitale_cred.errors import (
    CborDuplicateKey,
    CborError,
    CborIndefiniteLength,
    CborLengthExceedsInput,
    CborNonDeterministic,
    CborTagNotAllowed,
    CborTooDeep,
    CborTooLarge,
    CborTrailingBytes,
    CborTypeNotAllowed,
    InvalidArgument,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_INPUT_BYTES",
    "MAX_ITEMS",
    "Tagged",
    "decode",
    "encode",
]

#: Default size cap of a decode (bytes); callers name larger caps for bundles and lists.
MAX_INPUT_BYTES = 65_536
#: Deepest nesting of arrays, maps and tags.
MAX_DEPTH = 16
#: Highest ``max_depth`` a caller may ask for.
MAX_DEPTH_LIMIT = 64
#: Most data items in one input (guards against a flood of tiny items).
MAX_ITEMS = 4_096


@dataclass(frozen=True, slots=True)
class Tagged:
    """A tagged data item (major type 6)."""

    tag: int
    value: Any


# Smallest value that needs an argument of each width (shortest-form rule).
_SHORTEST = {1: 24, 2: 0x100, 4: 0x1_0000}


def decode(
    data: bytes,
    *,
    tags: frozenset[int] = frozenset(),
    max_size: int = MAX_INPUT_BYTES,
    max_depth: int = MAX_DEPTH,
    max_items: int = MAX_ITEMS,
    deterministic: bool = True,
) -> Any:
    """Decode exactly one CBOR data item from ``data`` under the strict profile.

    Raises a :class:`~vitale_cred.errors.CborError` subclass on any deviation.
    """
    if not isinstance(data, bytes):
        if not isinstance(data, bytearray | memoryview):
            raise InvalidArgument(f"CBOR input must be bytes, not {type(data).__name__}")
        data = bytes(data)
    if not 0 <= max_depth <= MAX_DEPTH_LIMIT:
        # The decoder recurses once per level: a bound far above any structure of the
        # protocol would only trade a CborTooDeep for a RecursionError.
        raise InvalidArgument(f"max_depth must be 0..{MAX_DEPTH_LIMIT}")
    end = len(data)
    if end > max_size:
        raise CborTooLarge(f"input of {end} bytes exceeds the cap of {max_size}")
    # Containers announce their item count up front; summing those bounds the work
    # before anything is allocated. Scalars are bounded by the input size.
    budget = [max_items]

    # The hot path of every verification: written as one closure with local
    # lookups only, because a method per item costs twice as much in CPython.
    # ``as_key`` is True for a map key: an array, map or tag there fails check 12 of
    # spec/encoding.md 2.3 once the checks that precede it (head, depth, item count,
    # length) have passed, before anything inside it (its tag number against the
    # allow-list, its items) is examined.
    def item(pos: int, depth: int, as_key: bool = False) -> tuple[Any, int]:
        head = pos
        initial = data[pos]
        major = initial >> 5
        ai = initial & 0x1F
        pos += 1
        if ai < 24:
            arg = ai
        elif ai == 24:
            arg = data[pos]
            pos += 1
            if deterministic and arg < 24 and major != 7:
                raise CborNonDeterministic(f"head at offset {pos - 2} is not in shortest form")
        elif ai < 28:
            width = 1 << (ai - 24)
            if pos + width > end:
                raise CborLengthExceedsInput(f"head at offset {pos - 1} runs past the input")
            arg = int.from_bytes(data[pos : pos + width], "big")
            if deterministic and major != 7 and arg < (1 << (4 * width)):
                raise CborNonDeterministic(f"head at offset {pos - 1} is not in shortest form")
            pos += width
        elif ai == 31:
            raise CborIndefiniteLength(f"indefinite length at offset {pos - 1}")
        else:
            raise CborError(f"reserved additional information {ai} at offset {pos - 1}")

        if major == 0:
            return arg, pos
        if major == 1:
            return -1 - arg, pos
        if major == 2 or major == 3:  # noqa: PLR1714 - a tuple test is slower here
            stop = pos + arg
            if stop > end:
                raise CborLengthExceedsInput(
                    f"string of {arg} bytes at offset {pos} exceeds the input"
                )
            if major == 2:
                return data[pos:stop], stop
            try:
                return data[pos:stop].decode("utf-8"), stop
            except UnicodeDecodeError as exc:
                raise CborError(f"invalid UTF-8 in text string at offset {pos}") from exc
        if major == 7:
            if ai == 20:
                return False, pos
            if ai == 21:
                return True, pos
            if ai == 22:
                # No v1 structure uses null; decoders that read .get(label) would
                # otherwise take a null value for an absent optional label.
                raise CborTypeNotAllowed(f"null at offset {pos - 1} is not allowed")
            if ai in (25, 26, 27):
                raise CborTypeNotAllowed("floating-point values are not allowed")
            if ai == 23:
                raise CborTypeNotAllowed("undefined is not allowed")
            raise CborTypeNotAllowed(f"simple value {arg} is not allowed")
        if depth >= max_depth:
            raise CborTooDeep(f"nesting deeper than {max_depth}")
        depth += 1
        if major == 4:
            budget[0] -= arg
            if budget[0] < 0:
                raise CborTooLarge(f"more than {max_items} data items")
            if arg > end - pos:
                raise CborLengthExceedsInput(f"array of {arg} items exceeds the input")
            if as_key:
                raise CborTypeNotAllowed(f"map key at offset {head} is an array")
            out_list: list[Any] = []
            append = out_list.append
            for _ in range(arg):
                # Inline fast path for one-byte-head scalars: it halves the number of
                # calls on a credential.
                initial = data[pos]
                if initial < 0x18:
                    append(initial)
                    pos += 1
                elif 0x60 <= initial < 0x78:
                    stop = pos + initial - 0x5F
                    if stop > end:
                        raise CborLengthExceedsInput(f"text at offset {pos} exceeds the input")
                    try:
                        append(data[pos + 1 : stop].decode("utf-8"))
                    except UnicodeDecodeError as exc:
                        raise CborError(f"invalid UTF-8 in text string at offset {pos}") from exc
                    pos = stop
                elif initial < 0x1B:
                    # Unsigned integers with a 1-, 2- or 4-byte argument (day numbers).
                    width = 1 << (initial - 0x18)
                    stop = pos + 1 + width
                    if stop > end:
                        raise CborLengthExceedsInput(f"head at offset {pos} runs past the input")
                    number = int.from_bytes(data[pos + 1 : stop], "big")
                    if deterministic and number < _SHORTEST[width]:
                        raise CborNonDeterministic(f"head at offset {pos} is not in shortest form")
                    append(number)
                    pos = stop
                elif 0x40 <= initial < 0x58:
                    # Short byte strings (headers, keys, signatures come with a 1-byte
                    # length below): the same checks as item(), without the call.
                    stop = pos + initial - 0x3F
                    if stop > end:
                        raise CborLengthExceedsInput(f"bytes at offset {pos} exceed the input")
                    append(data[pos + 1 : stop])
                    pos = stop
                elif initial == 0x58:
                    length = data[pos + 1]
                    if deterministic and length < 24:
                        raise CborNonDeterministic(f"head at offset {pos} is not in shortest form")
                    stop = pos + 2 + length
                    if stop > end:
                        raise CborLengthExceedsInput(f"bytes at offset {pos} exceed the input")
                    append(data[pos + 2 : stop])
                    pos = stop
                else:
                    value, pos = item(pos, depth)
                    append(value)
            return out_list, pos
        if major == 5:
            budget[0] -= 2 * arg
            if budget[0] < 0:
                raise CborTooLarge(f"more than {max_items} data items")
            if 2 * arg > end - pos:
                raise CborLengthExceedsInput(f"map of {arg} pairs exceeds the input")
            if as_key:
                raise CborTypeNotAllowed(f"map key at offset {head} is a map")
            out: dict[Any, Any] = {}
            previous = b""
            for _ in range(arg):
                start = pos
                initial = data[pos]
                if initial < 0x18:
                    key: Any = initial
                    pos += 1
                elif 0x20 <= initial < 0x38:
                    key = 0x1F - initial
                    pos += 1
                else:
                    key, pos = item(pos, depth, True)
                    key_type = type(key)
                    if key_type is not int and key_type is not str and key_type is not bytes:
                        raise CborTypeNotAllowed(
                            f"map key of type {key_type.__name__} is not allowed"
                        )
                if key in out:
                    raise CborDuplicateKey(f"duplicate map key {key!r}")
                if deterministic:
                    encoded = data[start:pos]
                    if encoded <= previous:
                        raise CborNonDeterministic(f"map key {key!r} is out of deterministic order")
                    previous = encoded
                initial = data[pos]
                if initial < 0x18:
                    out[key] = initial
                    pos += 1
                elif initial < 0x1B:
                    # Unsigned integers with a 1-, 2- or 4-byte argument: times, day
                    # numbers and dates fill the claims.
                    width = 1 << (initial - 0x18)
                    stop = pos + 1 + width
                    if stop > end:
                        raise CborLengthExceedsInput(f"head at offset {pos} runs past the input")
                    number = int.from_bytes(data[pos + 1 : stop], "big")
                    if deterministic and number < _SHORTEST[width]:
                        raise CborNonDeterministic(f"head at offset {pos} is not in shortest form")
                    out[key] = number
                    pos = stop
                elif 0x60 <= initial < 0x78:
                    stop = pos + initial - 0x5F
                    if stop > end:
                        raise CborLengthExceedsInput(f"text at offset {pos} exceeds the input")
                    try:
                        out[key] = data[pos + 1 : stop].decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise CborError(f"invalid UTF-8 in text string at offset {pos}") from exc
                    pos = stop
                elif 0x40 <= initial < 0x58:
                    stop = pos + initial - 0x3F
                    if stop > end:
                        raise CborLengthExceedsInput(f"bytes at offset {pos} exceed the input")
                    out[key] = data[pos + 1 : stop]
                    pos = stop
                elif initial == 0x58:
                    length = data[pos + 1]
                    if deterministic and length < 24:
                        raise CborNonDeterministic(f"head at offset {pos} is not in shortest form")
                    stop = pos + 2 + length
                    if stop > end:
                        raise CborLengthExceedsInput(f"bytes at offset {pos} exceed the input")
                    out[key] = data[pos + 2 : stop]
                    pos = stop
                elif 0x20 <= initial < 0x38:
                    out[key] = 0x1F - initial
                    pos += 1
                else:
                    out[key], pos = item(pos, depth)
            return out, pos
        # major 6
        if as_key:
            raise CborTypeNotAllowed(f"map key at offset {head} is a tag")
        if arg not in tags:
            raise CborTagNotAllowed(f"tag {arg} is not allowed here")
        value, pos = item(pos, depth)
        return Tagged(arg, value), pos

    try:
        value, pos = item(0, 0)
    except IndexError as exc:
        # Only data[pos] past the end raises it: the input is truncated.
        raise CborLengthExceedsInput("input ends inside a data item") from exc
    if pos != end:
        raise CborTrailingBytes(f"{end - pos} bytes after the data item")
    return value


def _head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes((major << 5 | arg,))
    if arg < 0x100:
        return bytes((major << 5 | 24, arg))
    if arg < 0x1_0000:
        return bytes((major << 5 | 25,)) + arg.to_bytes(2, "big")
    if arg < 0x1_0000_0000:
        return bytes((major << 5 | 26,)) + arg.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + arg.to_bytes(8, "big")


def _key_bytes(key: Any) -> bytes:
    """Encoded form of a map key, for ordering (keys are int, text or bytes)."""
    if isinstance(key, int) and not isinstance(key, bool):
        _check_int(key)
        return _head(0, key) if key >= 0 else _head(1, -1 - key)
    if isinstance(key, str):
        raw = _utf8(key)
        return _head(3, len(raw)) + raw
    if isinstance(key, bytes):
        return _head(2, len(key)) + key
    raise InvalidArgument(f"map key of type {type(key).__name__} is outside the CBOR profile")


def _check_int(value: int) -> None:
    if not -(2**64) <= value < 2**64:
        raise InvalidArgument("integers beyond 64 bits are outside the CBOR profile")


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument("text with lone surrogates is not valid UTF-8") from exc


def _canonical(value: Any) -> Any:
    """Rebuild ``value`` with maps in RFC 8949 4.2.1 order, for cbor2 to encode as is.

    Only the profile's types pass: cbor2 would silently tag dates, sets, decimals.
    """
    if value is None or isinstance(value, bool | bytes):
        return value
    if isinstance(value, int):
        _check_int(value)
        return int(value)
    if isinstance(value, str):
        _utf8(value)
        return value
    if isinstance(value, Mapping):
        pairs = sorted((_key_bytes(k), k) for k in value)
        return {(int(k) if isinstance(k, int) else k): _canonical(value[k]) for _, k in pairs}
    if isinstance(value, Tagged):
        return cbor2.CBORTag(value.tag, _canonical(value.value))
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    raise InvalidArgument(f"{type(value).__name__} values are outside the CBOR profile")


def encode(value: Any) -> bytes:
    """Encode ``value`` deterministically (RFC 8949 section 4.2.1, core requirements).

    Integers and lengths use their shortest form, maps are ordered bytewise by
    encoded key, lengths are definite. Floats and big integers are refused.
    """
    return bytes(cbor2.dumps(_canonical(value)))


def is_sequence(value: Any) -> bool:
    """True for a decoded CBOR array."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)
