"""Base45 (RFC 9285): the RFC vectors, strictness, and property tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitale_cred.errors import (
    Base45BadCharacter,
    Base45BadLength,
    Base45Error,
    Base45Overflow,
    InvalidArgument,
)
from vitale_cred.hazmat.base45 import ALPHABET, b45decode, b45encode

VECTORS_FILE = Path(__file__).parent / "vectors" / "rfc9285-base45" / "base45_vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VALID = [c for c in VECTORS["cases"] if c["valid"]]
INVALID = [c for c in VECTORS["cases"] if not c["valid"]]

# "length_or_char" is "BB8\n": characters are checked before the length, so the
# newline is what gets reported.
ERROR_BY_REASON: dict[str, type[Base45Error]] = {
    "overflow": Base45Overflow,
    "length": Base45BadLength,
    "char": Base45BadCharacter,
    "length_or_char": Base45BadCharacter,
}


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['id']:02d}-{case['kind']}-{case['base45']!r}"


def test_vector_file_alphabet_matches_the_module_alphabet() -> None:
    assert VECTORS["alphabet"] == ALPHABET
    assert len(ALPHABET) == 45


def test_vector_file_has_valid_and_invalid_cases() -> None:
    assert len(VALID) == 11
    assert len(INVALID) == 9


@pytest.mark.parametrize("case", VALID, ids=_case_id)
def test_valid_vector_encodes_to_the_expected_text(case: dict[str, Any]) -> None:
    assert b45encode(bytes.fromhex(case["input_hex"])) == case["base45"]


@pytest.mark.parametrize("case", VALID, ids=_case_id)
def test_valid_vector_decodes_to_the_expected_bytes(case: dict[str, Any]) -> None:
    assert b45decode(case["base45"]) == bytes.fromhex(case["input_hex"])


@pytest.mark.parametrize("case", INVALID, ids=_case_id)
def test_invalid_vector_is_rejected_with_the_error_for_its_reason(case: dict[str, Any]) -> None:
    expected = ERROR_BY_REASON[case["reason"]]
    with pytest.raises(expected) as info:
        b45decode(case["base45"])
    assert type(info.value) is expected
    assert info.value.code == expected.code


def test_every_alphabet_character_decodes_to_its_index() -> None:
    for value, char in enumerate(ALPHABET):
        # "<char>0" is the 2-character group for the byte value itself.
        if value <= 0xFF:
            assert b45decode(char + "0") == bytes((value,))


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("bb8", 0),
        ("BB8 b8", 4),
        ("BB8\n", 3),
        ("\tBB8", 0),
        ("BB=", 2),
        ("BB_", 2),
        ("BB8é", 3),
        ("BB8€€", 3),
        ("BB\x00", 2),
        ("BB\x7f", 2),
    ],
)
def test_character_outside_alphabet_raises_bad_character_naming_its_index(
    text: str, index: int
) -> None:
    with pytest.raises(Base45BadCharacter) as info:
        b45decode(text)
    assert type(info.value) is Base45BadCharacter
    assert info.value.code == "base45.bad_character"
    assert f"index {index}" in str(info.value)


def test_lower_case_is_rejected_not_folded() -> None:
    assert b45decode("BB8") == b"AB"
    with pytest.raises(Base45BadCharacter) as info:
        b45decode("bB8")
    assert info.value.code == "base45.bad_character"


def test_space_is_in_the_alphabet_but_other_whitespace_is_not() -> None:
    assert b45decode("%69 VD92EX0") == b"Hello!!"
    for whitespace in ("\t", "\n", "\r", "\x0b", "\x0c", "\u00a0"):
        with pytest.raises(Base45BadCharacter):
            b45decode("%69" + whitespace + "VD92EX0")


@pytest.mark.parametrize("length", [1, 4, 7, 1000])
def test_length_one_modulo_three_raises_bad_length(length: int) -> None:
    with pytest.raises(Base45BadLength) as info:
        b45decode("0" * length)
    assert type(info.value) is Base45BadLength
    assert info.value.code == "base45.bad_length"


def test_largest_three_character_group_decodes_to_ffff() -> None:
    assert b45decode("FGW") == b"\xff\xff"


def test_three_character_group_of_65536_raises_overflow() -> None:
    with pytest.raises(Base45Overflow) as info:
        b45decode("GGW")
    assert info.value.code == "base45.overflow"


def test_overflow_in_a_later_group_is_reported_at_its_index() -> None:
    with pytest.raises(Base45Overflow) as info:
        b45decode("000FGWGGW")
    assert "index 6" in str(info.value)


def test_largest_final_two_character_group_decodes_to_ff() -> None:
    assert b45decode("U5") == b"\xff"


def test_final_two_character_group_of_256_raises_overflow() -> None:
    # 256 = 31 + 5 * 45 -> "V5"
    with pytest.raises(Base45Overflow) as info:
        b45decode("000V5")
    assert type(info.value) is Base45Overflow
    assert info.value.code == "base45.overflow"


@pytest.mark.parametrize("value", [b"BB8", bytearray(b"BB8"), None, 42, ["B", "B", "8"]])
def test_decode_of_non_str_raises_invalid_argument(value: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        b45decode(value)  # type: ignore[arg-type]
    assert info.value.code == "usage.invalid_argument"


@pytest.mark.parametrize("value", ["AB", None, 42, [65, 66]])
def test_encode_of_non_bytes_raises_invalid_argument(value: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        b45encode(value)  # type: ignore[arg-type]
    assert info.value.code == "usage.invalid_argument"


def test_encode_accepts_bytearray_and_memoryview() -> None:
    assert b45encode(bytearray(b"AB")) == "BB8"
    assert b45encode(memoryview(b"Hello!!")) == "%69 VD92EX0"


def test_encoded_length_is_three_per_pair_plus_two_for_an_odd_byte() -> None:
    for n in range(20):
        assert len(b45encode(bytes(n))) == 3 * (n // 2) + 2 * (n % 2)


@given(st.binary(max_size=2048))
def test_round_trip_of_arbitrary_bytes(data: bytes) -> None:
    text = b45encode(data)
    assert set(text) <= set(ALPHABET)
    assert b45decode(text) == data


@given(st.text(max_size=64))
def test_arbitrary_text_decodes_or_raises_only_library_errors(text: str) -> None:
    # Any exception other than a Base45Error fails the test.
    try:
        decoded = b45decode(text)
    except Base45Error:
        return
    assert b45encode(decoded) == text


@given(st.text(alphabet=ALPHABET, max_size=64))
def test_alphabet_text_decodes_or_raises_only_length_or_overflow(text: str) -> None:
    try:
        decoded = b45decode(text)
    except (Base45BadLength, Base45Overflow):
        return
    # Base45 is canonical: a decodable text is the only encoding of its bytes.
    assert b45encode(decoded) == text
