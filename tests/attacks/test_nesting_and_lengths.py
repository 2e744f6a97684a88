"""Deep nesting and huge declared lengths: the decoder's work is bounded up front.

Depth is capped per structure (16 by default, 8 for a COSE_Sign1 and claims, 4 for
a protected header, 2 for a presentation payload), item counts are charged against
a budget before anything is allocated, and a declared length must fit the input.
"""

from __future__ import annotations

import time

from vitale_cred.errors import (
    ApduBodyTruncated,
    CborLengthExceedsInput,
    CborTooDeep,
    CborTooLarge,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.apdu import parse_command
from vitale_cred.presentation import MAX_PRESENTATION_BYTES
from vitale_cred.registry import CwtClaim

from ._support import bstr, claims_map, expect, head, issuer_signs, sign1_bytes, tag
from _world import World


def test_claims_nested_deeper_than_their_bound_are_refused_even_when_signed(
    world: World,
) -> None:
    claims = claims_map(world)
    deep: object = 1
    for _ in range(8):
        deep = [deep]
    claims[CwtClaim.ISS] = deep
    forged = issuer_signs(world, _cbor.encode(claims))
    expect(CborTooDeep, "cbor.too_deep", world.verifier().verify_credential, forged)


def test_eight_thousand_nested_arrays_fail_fast_without_recursion_error(world: World) -> None:
    bomb = b"\x81" * 8_000 + b"\x00"
    started = time.perf_counter()
    expect(CborTooDeep, "cbor.too_deep", world.verifier().verify_presentation, bomb)
    assert time.perf_counter() - started < 0.2


def test_a_thousand_nested_tag_18s_fail_on_depth(world: World) -> None:
    bomb = b"\xd2" * 1000 + b"\x80"
    expect(CborTooDeep, "cbor.too_deep", world.verifier().verify_credential, bomb)


def test_protected_header_nested_past_depth_4_is_refused(world: World) -> None:
    protected = b"\xa1\x01" + b"\x81" * 4 + b"\x26"
    forged = sign1_bytes(bstr(protected), b"\xa0", bstr(b"\xa0"), bstr(bytes(64)))
    expect(CborTooDeep, "cbor.too_deep", world.verifier().verify_credential, forged)


def test_flood_of_4097_one_byte_items_is_refused(world: World) -> None:
    flood = head(4, 4097) + b"\x00" * 4097
    expect(CborTooLarge, "cbor.too_large", world.verifier().verify_presentation, flood)


def test_byte_string_declaring_2_to_the_64_minus_1_bytes_is_refused(world: World) -> None:
    lie = tag(18, b"\x84" + b"\x5b" + b"\xff" * 8)
    expect(
        CborLengthExceedsInput,
        "cbor.length_exceeds_input",
        world.verifier().verify_credential,
        lie,
    )


def test_text_declaring_2_to_the_32_minus_1_bytes_is_refused(world: World) -> None:
    lie = b"\x7a\xff\xff\xff\xff" + b"A" * 16
    expect(CborLengthExceedsInput, "cbor.length_exceeds_input", _cbor.decode, lie)


def test_array_declaring_2_to_the_64_minus_1_items_is_refused_before_allocation(
    world: World,
) -> None:
    lie = b"\x9b" + b"\xff" * 8 + b"\x00"
    started = time.perf_counter()
    expect(CborTooLarge, "cbor.too_large", world.verifier().verify_presentation, lie)
    assert time.perf_counter() - started < 0.1


def test_map_declaring_2_to_the_32_pairs_in_ten_bytes_is_refused(world: World) -> None:
    lie = b"\xba\xff\xff\xff\xff" + b"\x00\x00"
    expect(CborTooLarge, "cbor.too_large", world.verifier().verify_presentation, lie)


def test_token_one_byte_over_the_size_cap_is_refused_before_parsing(world: World) -> None:
    oversized = b"\x00" * (MAX_PRESENTATION_BYTES + 1)
    expect(CborTooLarge, "cbor.too_large", world.verifier().verify_presentation, oversized)


def test_apdu_extended_lc_of_65535_over_a_short_body_is_refused() -> None:
    expect(
        ApduBodyTruncated,
        "apdu.body_truncated",
        parse_command,
        b"\x80\x3a\x00\x00\x00\xff\xff" + b"\x00" * 10,
    )
