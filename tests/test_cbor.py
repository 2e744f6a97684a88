"""The strict CBOR profile: every rejection, the deterministic encoder, and properties.

cbor2 serves as an independent oracle. Its ``canonical=True`` map order is
length-first (RFC 7049 section 3.9), not the bytewise order of RFC 8949 section
4.2.1, so the encoder is compared with cbor2 fed maps already in bytewise order of
cbor2-encoded keys, and never with cbor2's own canonical mode.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
from enum import IntEnum
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    VitaleCredError,
)
from vitale_cred.hazmat.cbor import MAX_DEPTH, MAX_INPUT_BYTES, MAX_ITEMS, Tagged, decode, encode
from vitale_cred.registry import CardLabel, CoseTag

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _refused(cls: type[VitaleCredError], code: str, data: Any, **options: Any) -> None:
    """``decode(data)`` raises exactly ``cls`` (not a subclass) carrying ``code``."""
    with pytest.raises(cls) as info:
        decode(data, **options)
    assert type(info.value) is cls
    assert info.value.code == code


def _strict_equal(left: Any, right: Any) -> bool:
    """Equality that also compares types, so that ``True`` never passes for ``1``."""
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_strict_equal, left, right))
    if isinstance(left, dict):
        right_keys = {(type(k), k) for k in right}
        return (
            left.keys() == right.keys()
            and all((type(k), k) in right_keys for k in left)
            and all(_strict_equal(left[k], right[k]) for k in left)
        )
    if isinstance(left, Tagged):
        return left.tag == right.tag and _strict_equal(left.value, right.value)
    return bool(left == right)


# --- well-formed input that the profile accepts -------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"\x00", 0),
        (b"\x17", 23),
        (b"\x18\x18", 24),
        (b"\x18\xff", 255),
        (b"\x19\x01\x00", 256),
        (b"\x19\xff\xff", 65535),
        (b"\x1a\x00\x01\x00\x00", 65536),
        (b"\x1a\xff\xff\xff\xff", 2**32 - 1),
        (b"\x1b\x00\x00\x00\x01\x00\x00\x00\x00", 2**32),
        (b"\x1b" + b"\xff" * 8, 2**64 - 1),
        (b"\x20", -1),
        (b"\x37", -24),
        (b"\x38\x18", -25),
        (b"\x3b" + b"\xff" * 8, -(2**64)),
        (b"\x40", b""),
        (b"\x43abc", b"abc"),
        (b"\x60", ""),
        (b"\x62\xc3\xa9", "é"),
        (b"\xf4", False),
        (b"\xf5", True),
        (b"\x80", []),
        (b"\x83\x01\x02\x03", [1, 2, 3]),
        (b"\xa0", {}),
        (b"\xa2\x01\x02\x20\x03", {1: 2, -1: 3}),
        (b"\xa1\x41\x00\x61a", {b"\x00": "a"}),
    ],
)
def test_profile_items_decode_to_their_python_values(data: bytes, value: Any) -> None:
    decoded = decode(data)
    assert _strict_equal(decoded, value)


@pytest.mark.parametrize("wrap", [bytearray, memoryview])
def test_bytearray_and_memoryview_inputs_are_accepted_like_bytes(wrap: Any) -> None:
    assert decode(wrap(b"\x82\x01\x41\x02")) == [1, b"\x02"]


# --- truncation, trailing bytes, size cap --------------------------------------------


def test_empty_input_is_refused_as_length_exceeds_input() -> None:
    _refused(CborLengthExceedsInput, "cbor.length_exceeds_input", b"")


@pytest.mark.parametrize(
    "data",
    [
        b"\x18",  # 1-byte argument missing
        b"\x19\x01",  # 2-byte argument cut
        b"\x1a\x00\x01\x00",  # 4-byte argument cut
        b"\x1b\x00\x00\x00\x01\x00\x00\x00",  # 8-byte argument cut
        b"\x43ab",  # byte string shorter than declared
        b"\x63ab",  # text string shorter than declared
        b"\x78\x20" + b"a" * 31,  # long text shorter than declared
        b"\x82\x01",  # array missing an item
        b"\x82\x01\x63ab",  # array whose text item is cut
        b"\xa1\x01",  # map missing a value
        b"\xa2\x01\x02\x03",  # map missing the last value
        b"\xa1\x01\x63ab",  # map whose text value is cut
        b"\xd2",  # tag without its item
        b"\x81\x81",  # nested array missing its item
    ],
)
def test_truncated_items_are_refused_as_length_exceeds_input(data: bytes) -> None:
    _refused(
        CborLengthExceedsInput,
        "cbor.length_exceeds_input",
        data,
        tags=frozenset({CoseTag.COSE_SIGN1}),
    )


@pytest.mark.parametrize("data", [b"\x00\x00", b"\x80\xff", b"\xa0\x00", b"\x61a\x00\x00"])
def test_bytes_after_the_top_level_item_are_refused_as_trailing_bytes(data: bytes) -> None:
    _refused(CborTrailingBytes, "cbor.trailing_bytes", data)


def test_input_over_the_default_size_cap_is_refused_before_parsing() -> None:
    # A valid byte string of MAX_INPUT_BYTES + 1 bytes in total.
    body = MAX_INPUT_BYTES + 1 - 3
    data = b"\x59" + body.to_bytes(2, "big") + bytes(body)
    assert len(data) == MAX_INPUT_BYTES + 1
    _refused(CborTooLarge, "cbor.too_large", data)


def test_input_exactly_at_the_default_size_cap_is_accepted() -> None:
    body = MAX_INPUT_BYTES - 3
    data = b"\x59" + body.to_bytes(2, "big") + bytes(body)
    assert decode(data) == bytes(body)


def test_input_over_a_caller_size_cap_is_refused_as_too_large() -> None:
    _refused(CborTooLarge, "cbor.too_large", b"\x44abcd", max_size=4)
    assert decode(b"\x43abc", max_size=4) == b"abc"


# --- indefinite lengths, reserved and break codes --------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x5f\x41a\xff",  # indefinite byte string
        b"\x7f\x61a\xff",  # indefinite text string
        b"\x9f\x01\xff",  # indefinite array
        b"\xbf\x01\x02\xff",  # indefinite map
        b"\x5f\xff",  # empty indefinite byte string
        b"\x81\x9f\xff",  # nested indefinite array
        b"\xff",  # a lone break code
    ],
)
def test_indefinite_lengths_are_refused(data: bytes) -> None:
    _refused(CborIndefiniteLength, "cbor.indefinite_length", data, deterministic=False)
    _refused(CborIndefiniteLength, "cbor.indefinite_length", data)


@pytest.mark.parametrize("major", range(8))
@pytest.mark.parametrize("ai", [28, 29, 30])
def test_reserved_additional_information_is_refused_as_malformed(major: int, ai: int) -> None:
    data = bytes((major << 5 | ai,)) + bytes(8)
    _refused(CborError, "cbor.malformed", data)
    _refused(CborError, "cbor.malformed", data, deterministic=False)


# --- shortest-form heads ---------------------------------------------------------------


NON_SHORTEST = [
    (b"\x18\x05", 5),
    (b"\x18\x17", 23),
    (b"\x19\x00\x10", 16),
    (b"\x19\x00\xff", 255),
    (b"\x1a\x00\x00\x00\x10", 16),
    (b"\x1a\x00\x00\xff\xff", 65535),
    (b"\x1b\x00\x00\x00\x00\x00\x00\x00\x10", 16),
    (b"\x1b\x00\x00\x00\x00\xff\xff\xff\xff", 2**32 - 1),
    (b"\x38\x05", -6),
    (b"\x39\x00\x05", -6),
    (b"\x58\x01a", b"a"),
    (b"\x79\x00\x01a", "a"),
    (b"\x98\x01\x01", [1]),
    (b"\xb8\x01\x01\x02", {1: 2}),
    (b"\x81\x18\x05", [5]),
    (b"\xa1\x01\x18\x05", {1: 5}),
    (b"\xa1\x18\x01\x02", {1: 2}),
]


@pytest.mark.parametrize(("data", "value"), NON_SHORTEST)
def test_non_shortest_heads_are_refused_in_deterministic_mode(data: bytes, value: Any) -> None:
    _refused(CborNonDeterministic, "cbor.non_deterministic", data)


@pytest.mark.parametrize(("data", "value"), NON_SHORTEST)
def test_non_shortest_heads_are_accepted_when_not_deterministic(data: bytes, value: Any) -> None:
    assert _strict_equal(decode(data, deterministic=False), value)


def test_non_shortest_tag_number_is_refused_in_deterministic_mode() -> None:
    tags = frozenset({CoseTag.COSE_SIGN1})
    _refused(CborNonDeterministic, "cbor.non_deterministic", b"\xd8\x12\x00", tags=tags)
    assert decode(b"\xd8\x12\x00", tags=tags, deterministic=False) == Tagged(18, 0)


@pytest.mark.parametrize(
    "data",
    [b"\x18\x18", b"\x19\x01\x00", b"\x1a\x00\x01\x00\x00", b"\x1b\x00\x00\x00\x01" + bytes(4)],
)
def test_smallest_value_of_each_head_width_is_shortest_form(data: bytes) -> None:
    assert decode(data) == int.from_bytes(data[1:], "big")


# --- maps: order, duplicates, key types --------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xa2\x02\x00\x01\x00",  # 2 before 1
        b"\xa2\x20\x00\x00\x00",  # -1 (0x20) before 0 (0x00)
        b"\xa2\x18\x64\x00\x0a\x00",  # 100 before 10
        b"\xa2\x61z\x00\x61a\x00",  # "z" before "a"
        b"\xa2\x62aa\x00\x61z\x00",  # "aa" (0x62..) before "z" (0x61..)
        b"\xa2\x61a\x00\x41\x00\x00",  # text (0x61..) before bytes (0x41..)
        b"\xa2\x41\x00\x00\x01\x00",  # bytes before int
    ],
)
def test_map_keys_out_of_bytewise_order_are_refused_in_deterministic_mode(data: bytes) -> None:
    _refused(CborNonDeterministic, "cbor.non_deterministic", data)
    assert len(decode(data, deterministic=False)) == 2


def test_map_with_length_first_but_not_bytewise_order_is_refused() -> None:
    # cbor2's canonical (length-first) order puts -1 (0x20) before 100 (0x18 0x64);
    # RFC 8949 4.2.1 orders 0x18 0x64 first.
    _refused(CborNonDeterministic, "cbor.non_deterministic", b"\xa2\x20\x00\x18\x64\x00")
    assert decode(b"\xa2\x18\x64\x00\x20\x00") == {100: 0, -1: 0}


@pytest.mark.parametrize("deterministic", [True, False])
@pytest.mark.parametrize(
    "data",
    [
        b"\xa2\x01\x00\x01\x00",  # int key twice
        b"\xa2\x20\x00\x20\x00",  # negative int key twice
        b"\xa2\x61a\x00\x61a\x00",  # text key twice
        b"\xa2\x41\x00\x00\x41\x00\x00",  # bytes key twice
        b"\xa3\x01\x00\x02\x00\x01\x00",  # non-adjacent duplicate
        b"\xa3\x61a\x00\x61b\x00\x61a\x01",  # non-adjacent text duplicate
        b"\xa2\x18\x64\x00\x18\x64\x01",  # two-byte head duplicate
    ],
)
def test_duplicate_map_keys_are_refused_in_both_modes(data: bytes, deterministic: bool) -> None:
    _refused(CborDuplicateKey, "cbor.duplicate_key", data, deterministic=deterministic)


def test_duplicate_key_written_in_two_head_widths_is_refused_when_not_deterministic() -> None:
    _refused(
        CborDuplicateKey, "cbor.duplicate_key", b"\xa2\x01\x00\x18\x01\x00", deterministic=False
    )


@pytest.mark.parametrize("deterministic", [True, False])
@pytest.mark.parametrize(
    "data",
    [
        b"\xa1\x80\x00",  # array key
        b"\xa1\x81\x01\x00",  # non-empty array key
        b"\xa1\xa0\x00",  # map key
        b"\xa1\xf4\x00",  # false key
        b"\xa1\xf5\x00",  # true key
        b"\xa1\xf6\x00",  # null key
        b"\xa1\xd2\x01\x00",  # tagged key (tag 18 allowed)
        b"\xa1\xc1\x00\x00",  # tagged key, tag 1 not allowed: the key check comes first
        b"\xa1\xd8\x3d\x00\x00",  # tagged key, tag 61 refused by every structure
        b"\xa1\x81\xf7\x00",  # array key holding undefined: its items are not examined
        b"\xa1\x81\x1c\x00",  # array key holding a reserved head
        b"\xa1\xa1\x01\x01\x00",  # map key holding a map
        b"\xa1\x81\xa2\x02\x00\x01\x00\x00",  # array key holding an unsorted map
        b"\xa1\xa2\x01\x00\x01\x00\x00",  # map key with a duplicate key inside
    ],
)
def test_map_keys_of_non_profile_types_are_refused(data: bytes, deterministic: bool) -> None:
    _refused(
        CborTypeNotAllowed,
        "cbor.type_not_allowed",
        data,
        deterministic=deterministic,
        tags=frozenset({CoseTag.COSE_SIGN1}),
    )


def test_map_keys_of_int_text_and_bytes_may_mix_in_bytewise_order() -> None:
    data = bytes.fromhex("a60a011864022003410006617a0462616105")
    assert decode(data) == {10: 1, 100: 2, -1: 3, b"\x00": 6, "z": 4, "aa": 5}
    assert list(decode(data)) == [10, 100, -1, b"\x00", "z", "aa"]


# --- floats, undefined, simple values -------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xf9\x3c\x00",  # half 1.0
        b"\xfa\x3f\x80\x00\x00",  # single 1.0
        b"\xfb\x3f\xf0\x00\x00\x00\x00\x00\x00",  # double 1.0
        b"\xf9\x7e\x00",  # half NaN
        b"\x81\xfb\x00\x00\x00\x00\x00\x00\x00\x00",  # float inside an array
        b"\xa1\x01\xf9\x00\x00",  # float as a map value
        b"\xa1\xf9\x00\x00\x01",  # float as a map key
    ],
)
def test_floats_are_refused(data: bytes) -> None:
    _refused(CborTypeNotAllowed, "cbor.type_not_allowed", data)
    _refused(CborTypeNotAllowed, "cbor.type_not_allowed", data, deterministic=False)


@pytest.mark.parametrize(
    "data",
    [
        b"\xf7",  # undefined
        b"\xe0",  # simple(0)
        b"\xf0",  # simple(16)
        b"\xf3",  # simple(19)
        b"\xf8\x20",  # simple(32)
        b"\xf8\xff",  # simple(255)
        b"\xf8\x14",  # false in the two-byte form
        b"\x81\xf7",  # undefined inside an array
    ],
)
def test_undefined_and_simple_values_are_refused(data: bytes) -> None:
    _refused(CborTypeNotAllowed, "cbor.type_not_allowed", data)


# --- tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "options", "cls", "code"),
    [
        # The key's own checks before 12 still come first (spec/encoding.md 2.3 order):
        (b"\xa1\x80\x00", {"max_depth": 1}, CborTooDeep, "cbor.too_deep"),
        (b"\xa1\xc1\x00\x00", {"max_depth": 1}, CborTooDeep, "cbor.too_deep"),
        (b"\xa1\x9f\xff\x00", {}, CborIndefiniteLength, "cbor.indefinite_length"),
        (b"\xa1\x98\x01\x00\x00", {}, CborNonDeterministic, "cbor.non_deterministic"),
        (b"\xa1\x82\x00", {}, CborLengthExceedsInput, "cbor.length_exceeds_input"),
        (b"\xa1\x99\x10\x01" + b"\x00" * 4098, {}, CborTooLarge, "cbor.too_large"),
        # ... then check 12, before anything inside the key or its tag number:
        (b"\xa1\xc1\x00\x00", {}, CborTypeNotAllowed, "cbor.type_not_allowed"),
        (b"\xa1\x81\x81\x80\x00", {"max_depth": 2}, CborTypeNotAllowed,
         "cbor.type_not_allowed"),
        (b"\xa1\x81\x19\x00\x01\x00", {}, CborTypeNotAllowed, "cbor.type_not_allowed"),
        (b"\xa1\x81\xf6\x00", {}, CborTypeNotAllowed, "cbor.type_not_allowed"),
    ],
)  # fmt: skip
def test_map_key_checks_follow_the_spec_order(
    data: bytes, options: dict[str, Any], cls: type[VitaleCredError], code: str
) -> None:
    _refused(cls, code, data, **options)


@pytest.mark.parametrize(
    "data",
    [
        b"\xf6",  # the whole item
        b"\x81\xf6",  # an array element
        b"\xa1\x04\xf6",  # a map value: a null exp(4) must not read as absent
        b"\xa2\x01\x00\x02\xf6",  # a later map value
        b"\xd2\xf6",  # a tagged item
        b"\x82\x01\xa1\x07\xf6",  # nested
    ],
)
@pytest.mark.parametrize("deterministic", [True, False])
def test_null_is_refused_everywhere(data: bytes, deterministic: bool) -> None:
    _refused(
        CborTypeNotAllowed,
        "cbor.type_not_allowed",
        data,
        deterministic=deterministic,
        tags=frozenset({CoseTag.COSE_SIGN1}),
    )


@pytest.mark.parametrize(
    "data",
    [
        b"\xc0\x60",  # tag 0 (date/time)
        b"\xc1\x00",  # tag 1 (epoch)
        b"\xc2\x41\x01",  # tag 2 (bignum)
        b"\xd2\x80",  # tag 18 when not allowed
        b"\xd8\x3d\x80",  # tag 61 when not allowed
        b"\xd9\xd9\xf7\x00",  # self-described CBOR
        b"\xdb" + b"\xff" * 8 + b"\x00",  # largest tag number
        b"\x81\xd2\x00",  # tag inside an array
    ],
)
def test_tags_outside_the_allow_list_are_refused(data: bytes) -> None:
    _refused(CborTagNotAllowed, "cbor.tag_not_allowed", data)


def test_tag_outside_a_non_empty_allow_list_is_refused() -> None:
    _refused(CborTagNotAllowed, "cbor.tag_not_allowed", b"\xd8\x3d\x00", tags=frozenset({18}))


def test_allowed_tags_decode_as_tagged() -> None:
    tags = frozenset({CoseTag.COSE_SIGN1, CoseTag.CWT})
    assert decode(b"\xd2\x84\x40\xa0\x40\x40", tags=tags) == Tagged(18, [b"", {}, b"", b""])
    assert decode(b"\xd8\x3d\xd2\x00", tags=tags) == Tagged(61, Tagged(18, 0))
    decoded = decode(b"\xa1\x01\xd2\x00", tags=tags)
    assert decoded == {1: Tagged(18, 0)}
    assert type(decoded[1]) is Tagged


# --- depth and item count ----------------------------------------------------------------------


def _nested_arrays(levels: int) -> bytes:
    return b"\x81" * (levels - 1) + b"\x80"


def _nested_maps(levels: int) -> bytes:
    return b"\xa1\x00" * (levels - 1) + b"\xa0"


def _nested_tags(levels: int) -> bytes:
    return b"\xd2" * levels + b"\x00"


@pytest.mark.parametrize("build", [_nested_arrays, _nested_maps, _nested_tags])
def test_nesting_exactly_at_the_default_depth_is_accepted(build: Any) -> None:
    decode(build(MAX_DEPTH), tags=frozenset({18}))


@pytest.mark.parametrize("build", [_nested_arrays, _nested_maps, _nested_tags])
def test_nesting_one_past_the_default_depth_is_refused(build: Any) -> None:
    _refused(CborTooDeep, "cbor.too_deep", build(MAX_DEPTH + 1), tags=frozenset({18}))


@pytest.mark.parametrize("build", [_nested_arrays, _nested_maps, _nested_tags])
def test_caller_depth_bound_is_inclusive(build: Any) -> None:
    tags = frozenset({18})
    decode(build(3), max_depth=3, tags=tags)
    _refused(CborTooDeep, "cbor.too_deep", build(4), max_depth=3, tags=tags)


def test_mixed_nesting_of_arrays_maps_and_tags_counts_every_level() -> None:
    data = b"\x81\xa1\x00\xd2\x81\x80"  # array > map > tag > array > array
    decode(data, max_depth=5, tags=frozenset({18}))
    _refused(CborTooDeep, "cbor.too_deep", data, max_depth=4, tags=frozenset({18}))


def test_scalars_do_not_count_as_nesting_levels() -> None:
    assert decode(b"\x00", max_depth=0) == 0
    _refused(CborTooDeep, "cbor.too_deep", b"\x80", max_depth=0)


def test_array_of_max_items_is_accepted() -> None:
    data = b"\x99" + MAX_ITEMS.to_bytes(2, "big") + bytes(MAX_ITEMS)
    assert decode(data) == [0] * MAX_ITEMS


def test_array_over_max_items_is_refused_as_too_large() -> None:
    count = MAX_ITEMS + 1
    _refused(CborTooLarge, "cbor.too_large", b"\x99" + count.to_bytes(2, "big") + bytes(count))


def test_items_are_counted_across_nested_containers() -> None:
    # Two arrays of 3 items plus the outer array's 2: 8 items.
    data = b"\x82\x83\x00\x00\x00\x83\x00\x00\x00"
    assert decode(data, max_items=8) == [[0, 0, 0], [0, 0, 0]]
    _refused(CborTooLarge, "cbor.too_large", data, max_items=7)


def test_map_pairs_count_as_two_items() -> None:
    data = b"\xa2\x00\x00\x01\x00"
    assert decode(data, max_items=4) == {0: 0, 1: 0}
    _refused(CborTooLarge, "cbor.too_large", data, max_items=3)


# --- huge declared lengths --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x5b" + b"\xff" * 8,  # byte string of 2**64-1 bytes
        b"\x7b" + b"\xff" * 8,  # text string of 2**64-1 bytes
        b"\x5a\xff\xff\xff\xff",  # byte string of 2**32-1 bytes
        b"\x5b" + b"\xff" * 8 + b"\x00" * 16,
    ],
)
def test_huge_declared_string_lengths_are_refused_as_length_exceeds_input(data: bytes) -> None:
    _refused(CborLengthExceedsInput, "cbor.length_exceeds_input", data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x9b\x00\x00\x00\x01\x00\x00\x00\x00",  # array of 2**32 items
        b"\x9b" + b"\xff" * 8,  # array of 2**64-1 items
        b"\xbb" + b"\xff" * 8,  # map of 2**64-1 pairs
        b"\x9a\xff\xff\xff\xff\x00",  # array of 2**32-1 items
    ],
)
def test_huge_declared_container_lengths_are_refused_by_the_item_budget(data: bytes) -> None:
    _refused(CborTooLarge, "cbor.too_large", data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x9b\x00\x00\x00\x01\x00\x00\x00\x00",
        b"\xbb\x00\x00\x00\x01\x00\x00\x00\x00",
        b"\x99\x01\x00" + bytes(255),  # one item short
        b"\xb8\x80" + bytes(255),  # one byte short of 128 pairs
    ],
)
def test_declared_container_lengths_beyond_the_input_are_refused_without_a_budget(
    data: bytes,
) -> None:
    _refused(CborLengthExceedsInput, "cbor.length_exceeds_input", data, max_items=2**70)


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x61\xff",  # invalid byte
        b"\x62\xc3\x28",  # bad continuation
        b"\x63\xed\xa0\x80",  # UTF-16 surrogate encoded in UTF-8
        b"\x62\xc0\x80",  # overlong NUL
        b"\x61\x80",  # lone continuation byte
        b"\x81\x61\xff",  # inside an array (fast path)
        b"\xa1\x01\x61\xff",  # as a map value (fast path)
        b"\xa1\x61\xff\x00",  # as a map key
        b"\x78\x18" + b"a" * 23 + b"\xff",  # a long text
    ],
)
def test_invalid_utf8_in_text_is_refused_as_malformed(data: bytes) -> None:
    _refused(CborError, "cbor.malformed", data)


def test_invalid_utf8_in_a_byte_string_is_accepted() -> None:
    assert decode(b"\x41\xff") == b"\xff"


# --- argument checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["\x00", 0, None, [0], bytearray, object()])
def test_non_bytes_input_is_refused_as_invalid_argument(data: Any) -> None:
    _refused(InvalidArgument, "usage.invalid_argument", data)


# --- order of the checks (spec/encoding.md section 2.3) ------------------------------------


@pytest.mark.parametrize(
    ("data", "options", "cls", "code"),
    [
        # 1: the size cap comes before any parsing.
        (b"\xff" * 5, {"max_size": 4}, CborTooLarge, "cbor.too_large"),
        (b"\x1c" * 5, {"max_size": 4}, CborTooLarge, "cbor.too_large"),
        # 4 before 5: a truncated head is reported even when it is not shortest.
        (b"\x19\x00", {}, CborLengthExceedsInput, "cbor.length_exceeds_input"),
        # 5 before 6: a non-shortest string length is reported before its overrun.
        (b"\x58\x01", {}, CborNonDeterministic, "cbor.non_deterministic"),
        # 6 before 7: an overrun is reported before the UTF-8 check.
        (b"\x62\xff", {}, CborLengthExceedsInput, "cbor.length_exceeds_input"),
        # 9 before 10: depth is checked before the item budget.
        (b"\x81\x82\x00\x00", {"max_depth": 1, "max_items": 1}, CborTooDeep, "cbor.too_deep"),
        # 9 before 15: a tag past the depth bound is too deep, whatever its number.
        (b"\x81" * MAX_DEPTH + b"\xd2\x00", {}, CborTooDeep, "cbor.too_deep"),
        # 10 before 11: the budget is checked before the length against the input.
        (b"\x9a\x00\x01\x00\x00", {}, CborTooLarge, "cbor.too_large"),
        # 13 before 14: a repeated key is a duplicate, not an ordering defect.
        (b"\xa3\x01\x00\x02\x00\x01\x00", {}, CborDuplicateKey, "cbor.duplicate_key"),
        # 16 last: a defect inside the item wins over trailing bytes.
        (b"\x18\x05\x00", {}, CborNonDeterministic, "cbor.non_deterministic"),
        (b"\xf7\x00", {}, CborTypeNotAllowed, "cbor.type_not_allowed"),
        # Items are checked depth first in encoding order: the first defect wins.
        (b"\x82\x18\x05\xf7", {}, CborNonDeterministic, "cbor.non_deterministic"),
        (b"\x82\xf7\x18\x05", {}, CborTypeNotAllowed, "cbor.type_not_allowed"),
        (b"\xa2\x02\x00\x01\xf7", {}, CborNonDeterministic, "cbor.non_deterministic"),
        (b"\x82\xd2\x00\x5f", {}, CborTagNotAllowed, "cbor.tag_not_allowed"),
    ],
)
def test_the_first_defect_in_the_documented_check_order_is_reported(
    data: bytes, options: dict[str, Any], cls: type[VitaleCredError], code: str
) -> None:
    _refused(cls, code, data, **options)


# --- encoder ------------------------------------------------------------------------------------


def test_encoder_orders_map_keys_bytewise_by_their_encoding() -> None:
    value = {"aa": 5, b"\x00": 6, "z": 4, -1: 3, 100: 2, 10: 1}
    encoded = encode(value)
    assert encoded == bytes.fromhex("a60a011864022003410006617a0462616105")
    assert list(decode(encoded)) == [10, 100, -1, b"\x00", "z", "aa"]


def test_encoder_puts_100_before_minus_1_where_length_first_order_would_not() -> None:
    value = {-1: 0, 100: 0}
    assert encode(value) == b"\xa2\x18\x64\x00\x20\x00"
    # cbor2's canonical mode is length-first (RFC 7049) in the 5.x and 6.x releases
    # checked; it may only ever agree with the bytewise order or differ as shown.
    assert cbor2.dumps(value, canonical=True) in (encode(value), b"\xa2\x20\x00\x18\x64\x00")


def test_encoder_orders_nested_maps_too() -> None:
    assert encode([{2: 0, 1: {"b": 0, "a": 0}}]) == b"\x81\xa2\x01\xa2\x61a\x00\x61b\x00\x02\x00"


@pytest.mark.parametrize(
    ("value", "hexed"),
    [
        (0, "00"),
        (23, "17"),
        (24, "1818"),
        (255, "18ff"),
        (256, "190100"),
        (65535, "19ffff"),
        (65536, "1a00010000"),
        (2**32 - 1, "1affffffff"),
        (2**32, "1b0000000100000000"),
        (2**64 - 1, "1bffffffffffffffff"),
        (-1, "20"),
        (-24, "37"),
        (-25, "3818"),
        (-256, "38ff"),
        (-257, "390100"),
        (-(2**64), "3bffffffffffffffff"),
        (b"", "40"),
        ("", "60"),
        ("a" * 24, "7818" + "61" * 24),
        ([0] * 24, "9818" + "00" * 24),
        (True, "f5"),
        (False, "f4"),
        (None, "f6"),
    ],
)
def test_encoder_uses_shortest_heads(value: Any, hexed: str) -> None:
    assert encode(value).hex() == hexed


@pytest.mark.parametrize(
    "value", [1.0, 0.5, float("nan"), float("inf"), [1.5], {1: 0.25}, {"a": [{"b": -0.0}]}]
)
def test_encoder_refuses_floats_as_invalid_argument(value: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        encode(value)
    assert info.value.code == "usage.invalid_argument"


@pytest.mark.parametrize("value", [2**64, -(2**64) - 1, 2**100, [2**64], {1: -(2**65)}])
def test_encoder_refuses_integers_beyond_64_bits_as_invalid_argument(value: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        encode(value)
    assert info.value.code == "usage.invalid_argument"


@pytest.mark.parametrize("key", [2**64, -(2**64) - 1])
def test_encoder_refuses_map_keys_beyond_64_bits_as_invalid_argument(key: int) -> None:
    with pytest.raises(InvalidArgument) as info:
        encode({key: 0})
    assert info.value.code == "usage.invalid_argument"


@pytest.mark.parametrize("key", [True, None, 1.5, (1, 2), frozenset()])
def test_encoder_refuses_map_keys_of_non_profile_types(key: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        encode({key: 0})
    assert info.value.code == "usage.invalid_argument"


@pytest.mark.parametrize(
    "value",
    [dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=dt.UTC), {1, 2}, decimal.Decimal("1.5")],
    ids=["date", "datetime", "set", "decimal"],
)
def test_encoder_refuses_python_types_that_cbor2_would_silently_tag(value: Any) -> None:
    # cbor2 writes these as tags 1004, 0, 258 and 4: bytes that decode() refuses.
    with pytest.raises(InvalidArgument) as info:
        encode(value)
    assert info.value.code == "usage.invalid_argument"


@pytest.mark.parametrize("value", ["\ud800", ["a\udfff"], {"\ud800": 0}])
def test_encoder_refuses_text_with_lone_surrogates_as_invalid_argument(value: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        encode(value)
    assert info.value.code == "usage.invalid_argument"


class _Label(IntEnum):
    ONE = 1
    TWENTY_FOUR = 24
    MINUS = -2


def test_intenum_keys_are_encoded_as_plain_ints() -> None:
    assert encode({_Label.TWENTY_FOUR: 0, _Label.ONE: 0, _Label.MINUS: 0}) == encode(
        {24: 0, 1: 0, -2: 0}
    )
    assert encode({CardLabel.NIR: 1}) == b"\xa1\x01\x01"
    decoded = decode(encode({CardLabel.NIR: 1}))
    assert [type(k) for k in decoded] == [int]


def test_intenum_values_are_encoded_as_plain_ints() -> None:
    assert encode([_Label.TWENTY_FOUR, _Label.MINUS]) == b"\x82\x18\x18\x21"


def test_tuples_are_encoded_as_arrays() -> None:
    assert encode((1, (2,))) == b"\x82\x01\x81\x02"


def test_tagged_values_are_encoded_as_tags() -> None:
    value = Tagged(18, [b"", {2: 0, 1: 0}])
    assert encode(value) == b"\xd2\x82\x40\xa2\x01\x00\x02\x00"
    assert decode(encode(value), tags=frozenset({18})) == Tagged(18, [b"", {1: 0, 2: 0}])


# --- property tests ------------------------------------------------------------------------------

INT64 = st.integers(min_value=-(2**64), max_value=2**64 - 1)
SCALARS = st.one_of(
    INT64,
    st.integers(min_value=-30, max_value=30),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.booleans(),
)
KEYS = st.one_of(INT64, st.integers(-30, 300), st.text(max_size=8), st.binary(max_size=8))


def _profile_values(max_depth: int) -> st.SearchStrategy[Any]:
    level: st.SearchStrategy[Any] = SCALARS
    for _ in range(max_depth):
        level = st.one_of(
            SCALARS,
            st.lists(level, max_size=4),
            st.dictionaries(KEYS, level, max_size=4),
        )
    return level


PROFILE_VALUES = _profile_values(6)


def _is_bytewise_ordered(value: Any) -> bool:
    """Every map of ``value`` lists its keys in bytewise order of their cbor2 encodings."""
    if isinstance(value, dict):
        encoded = [cbor2.dumps(k) for k in value]
        return encoded == sorted(encoded) and all(_is_bytewise_ordered(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_bytewise_ordered(v) for v in value)
    return True


def _in_bytewise_order(value: Any) -> Any:
    """Rebuild ``value`` with maps in bytewise order of cbor2-encoded keys."""
    if isinstance(value, dict):
        return {k: _in_bytewise_order(value[k]) for k in sorted(value, key=cbor2.dumps)}
    if isinstance(value, list):
        return [_in_bytewise_order(v) for v in value]
    return value


@PROPERTY
@given(PROFILE_VALUES)
def test_decode_inverts_encode_exactly(value: Any) -> None:
    assert _strict_equal(decode(encode(value)), value)


def _with_null_at(value: Any, choice: int) -> Any:
    """``value`` with one element, map value or the whole item replaced by null."""
    slots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            slots.extend((node, k) for k in node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            slots.extend((node, i) for i in range(len(node)))
            for v in node:
                walk(v)

    walk(value)
    if not slots:
        return None
    container, slot = slots[choice % len(slots)]
    container[slot] = None
    return value


@PROPERTY
@given(PROFILE_VALUES, st.integers(min_value=0), st.booleans())
def test_null_anywhere_is_refused(value: Any, choice: int, deterministic: bool) -> None:
    # spec/encoding.md 2.3 check 8: no v1 structure uses null, wherever it sits.
    data = encode(_with_null_at(value, choice))
    _refused(CborTypeNotAllowed, "cbor.type_not_allowed", data, deterministic=deterministic)


@PROPERTY
@given(PROFILE_VALUES)
def test_cbor2_reads_what_the_encoder_writes(value: Any) -> None:
    assert _strict_equal(cbor2.loads(encode(value)), value)


@PROPERTY
@given(PROFILE_VALUES)
def test_encoder_output_equals_cbor2_fed_maps_in_bytewise_order(value: Any) -> None:
    encoded = encode(value)
    assert encoded == cbor2.dumps(_in_bytewise_order(value))
    assert _is_bytewise_ordered(cbor2.loads(encoded))


@PROPERTY
@given(PROFILE_VALUES)
def test_encoding_is_independent_of_map_insertion_order(value: Any) -> None:
    def reversed_maps(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: reversed_maps(v[k]) for k in reversed(list(v))}
        if isinstance(v, list):
            return [reversed_maps(x) for x in v]
        return v

    assert encode(reversed_maps(value)) == encode(value)


@PROPERTY
@given(PROFILE_VALUES)
def test_decoded_maps_keep_the_wire_order_and_reencode_identically(value: Any) -> None:
    encoded = encode(value)
    assert encode(decode(encoded)) == encoded
    assert _is_bytewise_ordered(decode(encoded))


@PROPERTY
@given(PROFILE_VALUES)
def test_cbor2_non_canonical_output_decodes_equal_when_not_deterministic(value: Any) -> None:
    assert _strict_equal(decode(cbor2.dumps(value), deterministic=False), value)


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    if not data:
        return st.just(data)
    index = st.integers(0, len(data) - 1)
    return st.one_of(
        st.tuples(index, st.integers(0, 255)).map(
            lambda p: data[: p[0]] + bytes((p[1],)) + data[p[0] + 1 :]
        ),
        index.map(lambda i: data[:i] + data[i + 1 :]),
        st.tuples(index, st.integers(0, 255)).map(
            lambda p: data[: p[0]] + bytes((p[1],)) + data[p[0] :]
        ),
        index.map(lambda i: data[:i]),
    )


ARBITRARY_BYTES = st.one_of(
    st.binary(max_size=64),
    st.lists(
        st.sampled_from(
            [
                0x18,
                0x19,
                0x1A,
                0x1B,
                0x5F,
                0x7F,
                0x9F,
                0xBF,
                0xFF,
                0xF7,
                0x81,
                0xA1,
                0xD2,
                0x61,
                0x00,
            ]
        ),
        max_size=40,
    ).map(bytes),
    PROFILE_VALUES.map(encode).flatmap(_mutations),
)


@FUZZ
@given(ARBITRARY_BYTES, st.booleans())
def test_arbitrary_bytes_raise_only_cbor_errors(data: bytes, deterministic: bool) -> None:
    with contextlib.suppress(CborError):
        decode(data, deterministic=deterministic, tags=frozenset({18, 61}))


ANY_SCALARS = st.one_of(
    st.integers(),
    st.floats(),
    st.text(max_size=10),
    st.binary(max_size=10),
    st.booleans(),
    st.none(),
)
ANY_KEYS = st.one_of(
    st.integers(),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
ANY_VALUES = st.recursive(
    ANY_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(ANY_KEYS, inner, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(ANY_VALUES, st.booleans(), st.booleans())
def test_cbor2_encodings_of_arbitrary_values_decode_equal_or_raise_cbor_errors(
    value: Any, canonical: bool, deterministic: bool
) -> None:
    data = cbor2.dumps(value, canonical=canonical)
    try:
        decoded = decode(data, deterministic=deterministic)
    except CborError:
        return
    assert _strict_equal(decoded, value)
