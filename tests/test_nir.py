"""NIR: the collected vectors, the accepted profile, the key, and the compact wire form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitale_cred.errors import NirInvalid
from vitale_cred.nir import WIRE_LENGTH, Nir, nir_key

VECTORS_FILE = Path(__file__).parent / "vectors" / "fr-nir" / "nir_examples.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VALID = [c for c in VECTORS["cases"] if c["valid"]]
INVALID = [c for c in VECTORS["cases"] if not c["valid"]]

PROPERTY = settings(max_examples=300, deadline=None)


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['id']:02d}-{case.get('failure', 'valid')}-{case['compact']}"


def _key(body: str) -> int:
    """The control key, computed here independently of the module."""
    numeric = body[:5] + {"2A": "19", "2B": "18"}.get(body[5:7], body[5:7]) + body[7:]
    return 97 - int(numeric) % 97


def _with_key(body: str) -> str:
    return f"{body}{_key(body):02d}"


def _wire(number: int) -> bytes:
    """The 6-byte big-endian form of a wire number, built here independently."""
    return number.to_bytes(6, "big")


def _refused(value: Any, build: Any = Nir) -> None:
    with pytest.raises(NirInvalid) as info:
        build(value)
    assert type(info.value) is NirInvalid
    assert info.value.code == "card.nir_invalid"


# --- vectors -----------------------------------------------------------------------------


def test_vector_file_holds_13_valid_and_7_invalid_cases() -> None:
    assert len(VALID) == 13
    assert len(INVALID) == 7


@pytest.mark.parametrize("case", VALID, ids=_case_id)
def test_valid_vector_parses_to_its_compact_form(case: dict[str, Any]) -> None:
    nir = Nir.parse(case["input"])
    assert nir.value == case["compact"]
    assert nir.value[13:] == case["expected_check_digits"]
    assert nir_key(nir.value[:13]) == int(case["expected_check_digits"])


@pytest.mark.parametrize("case", VALID, ids=_case_id)
def test_valid_vector_round_trips_through_the_wire_form(case: dict[str, Any]) -> None:
    nir = Nir.parse(case["input"])
    assert Nir.from_wire(nir.to_wire()) == nir


@pytest.mark.parametrize("case", INVALID, ids=_case_id)
def test_invalid_vector_is_refused(case: dict[str, Any]) -> None:
    _refused(case["input"], Nir.parse)


# --- examples --------------------------------------------------------------------------------


def test_family5_nir_parses_and_has_its_compact_wire_form() -> None:
    nir = Nir.parse("1 78 04 75 056 123 27")
    assert nir.value == "178047505612327"
    assert nir.to_wire() == bytes.fromhex("019e8c954ffb") == _wire(1_780_475_056_123)
    assert str(nir) == "178047505612327"
    assert not nir.is_temporary


# (printed NIR, body for the key, wire number v, wire bytes as in spec/data-model.md 3.1)
SPEC_EXAMPLES = [
    ("1 78 04 75 056 123 27", "1780475056123", 1_780_475_056_123, "019e8c954ffb"),
    ("2 85 05 2A 012 345 29", "2850519012345", 12_850_520_012_345, "0baffeae3639"),
    ("2 85 05 2B 012 345 56", "2850518012345", 22_850_520_012_345, "14c84d20d639"),
    ("7 95 01 99 123 456 26", "7950199123456", 7_950_199_123_456, "073b0ccb6e00"),
    ("2 80 35 20 012 345 48", "2803520012345", 2_803_520_012_345, "028cbed08039"),
]


@pytest.mark.parametrize(("text", "numeric_body", "number", "wire_hex"), SPEC_EXAMPLES)
def test_spec_examples_have_their_documented_key_and_wire_form(
    text: str, numeric_body: str, number: int, wire_hex: str
) -> None:
    nir = Nir.parse(text)
    assert int(nir.value[13:]) == 97 - int(numeric_body) % 97
    assert nir.formatted() == text
    wire = bytes.fromhex(wire_hex)
    assert wire == _wire(number)
    assert nir.to_wire() == wire
    assert Nir.from_wire(wire) == nir


def test_parse_removes_spaces_and_dots() -> None:
    assert Nir.parse("1.78.04.75.056.123.27") == Nir("178047505612327")
    assert Nir.parse(" 1 78 04 . 75 056 123 27 ") == Nir("178047505612327")


def test_parse_upper_cases_a_lower_case_corsica_department() -> None:
    assert Nir.parse("253072a07300443").value == "253072A07300443"
    assert Nir.parse("2 53 07 2b 073 004 70").value == "253072B07300470"


def test_constructor_refuses_a_lower_case_corsica_department() -> None:
    _refused("253072a07300443")


def test_formatted_groups_as_printed_on_the_card() -> None:
    assert Nir("178047505612327").formatted() == "1 78 04 75 056 123 27"
    assert Nir("253072B07300470").formatted() == "2 53 07 2B 073 004 70"


@pytest.mark.parametrize(
    ("sex", "temporary"), [("1", False), ("2", False), ("7", True), ("8", True)]
)
def test_sex_digits_of_the_profile_are_accepted_and_7_8_are_temporary(
    sex: str, temporary: bool
) -> None:
    nir = Nir(_with_key(f"{sex}800175123456"))
    assert nir.is_temporary is temporary


@pytest.mark.parametrize("sex", ["0", "3", "4", "5", "6", "9"])
def test_sex_digits_outside_the_profile_are_refused(sex: str) -> None:
    _refused(_with_key(f"{sex}800175123456"))


@pytest.mark.parametrize("month", ["00", "13", "19", "43", "49"])
def test_months_outside_the_profile_are_refused_even_with_a_right_key(month: str) -> None:
    _refused(_with_key(f"180{month}75123456"))


@pytest.mark.parametrize("month", ["01", "12", "20", "42", "50", "99"])
def test_months_of_the_profile_are_accepted(month: str) -> None:
    Nir(_with_key(f"180{month}75123456"))


@pytest.mark.parametrize(
    "value",
    [
        "1800175A23456",  # letter in the commune
        "18X0175123456",  # letter in the year
        "1800175123 56",  # space inside (the constructor does not strip)
        "180017512345-",  # punctuation
        "1800175١23456",  # a non-ASCII digit
        "1800₁75123456",  # a subscript digit
        "180012C123456",  # a 2C department
        "18001AB123456",  # a letter department
        "1800102A12345",  # 2A outside the department position
    ],
)
def test_non_digit_characters_outside_a_corsica_department_are_refused(value: str) -> None:
    _refused(value + "01")
    _refused(value + "01", Nir.parse)


@pytest.mark.parametrize("key", ["0a", "a1", " 1", "١٢", "+1", "1."])
def test_non_digit_keys_are_refused(key: str) -> None:
    _refused("1800175123456" + key)


@pytest.mark.parametrize("length", [0, 13, 14, 16, 17])
def test_lengths_other_than_15_are_refused(length: int) -> None:
    text = ("178047505612327" + "0123456789")[:length]
    _refused(text)
    _refused(text, Nir.parse)


@pytest.mark.parametrize("value", [178047505612327, None, b"178047505612327", ["1"]])
def test_non_text_input_is_refused(value: Any) -> None:
    _refused(value)
    _refused(value, Nir.parse)


@pytest.mark.parametrize("body", [None, 1800175123456, "180017512345", "18001751234567"])
def test_nir_key_refuses_a_body_that_is_not_13_characters_of_text(body: Any) -> None:
    _refused(body, nir_key)


@pytest.mark.parametrize("key", ["00", "98", "99"])
def test_keys_outside_1_to_97_are_refused(key: str) -> None:
    _refused("1800175123456" + key)


def test_key_97_and_key_01_edge_cases_are_accepted() -> None:
    assert Nir("289047834221297").value[13:] == "97"
    assert Nir("289047834221101").value[13:] == "01"


# --- wire form -----------------------------------------------------------------------------


def test_wire_form_is_a_6_byte_big_endian_byte_string() -> None:
    assert WIRE_LENGTH == 6
    smallest = Nir(_with_key("1000100000000")).to_wire()
    assert type(smallest) is bytes
    assert smallest == _wire(1_000_100_000_000) == b"\x00\xe8\xda\x9a\xf1\x00"
    # The largest wire number (2B, every other digit at its maximum) still fits 6 bytes.
    largest = Nir(_with_key("899992B999999"))
    assert largest.to_wire() == _wire(2 * 10**13 + 8_999_920_999_999)
    assert Nir.from_wire(largest.to_wire()) == largest


def test_corsica_2a_and_2b_wire_forms_carry_a_flag_and_department_20() -> None:
    assert Nir("253072A07300443").to_wire() == _wire(1 * 10**13 + 2_530_720_073_004)
    assert Nir("253072B07300470").to_wire() == _wire(2 * 10**13 + 2_530_720_073_004)


def test_department_20_and_corsica_2a_have_distinct_wire_forms() -> None:
    plain = Nir(_with_key("2530720073004"))
    corsica = Nir("253072A07300443")
    assert plain.to_wire() != corsica.to_wire()
    assert Nir.from_wire(plain.to_wire()) == plain
    assert Nir.from_wire(corsica.to_wire()) == corsica


@pytest.mark.parametrize(
    "value",
    [
        1_780_475_056_123,  # the number as an integer, not the 6-byte form
        0,
        -1,
        True,
        False,
        2**64,
        1.780475056123e12,
        "1780475056123",
        "019e8c954ffb",
        None,
        [1_780_475_056_123],
        [*_wire(1_780_475_056_123)],
        bytearray(_wire(1_780_475_056_123)),
        memoryview(_wire(1_780_475_056_123)),
    ],
    ids=lambda value: type(value).__name__ + ":" + repr(value)[:24],
)
def test_from_wire_refuses_anything_but_a_byte_string(value: Any) -> None:
    _refused(value, Nir.from_wire)


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"\x01",
        _wire(1_780_475_056_123)[1:],  # 5 bytes: the leading byte dropped
        b"\x00" + _wire(1_780_475_056_123),  # 7 bytes with a leading zero
        _wire(1_780_475_056_123) + b"\x00",
        bytes(8),
        (1_780_475_056_123).to_bytes(8, "big"),
    ],
    ids=lambda value: f"{len(value)}-bytes",
)
def test_from_wire_refuses_a_byte_string_of_another_length(value: bytes) -> None:
    assert len(value) != WIRE_LENGTH
    _refused(value, Nir.from_wire)


@pytest.mark.parametrize(
    "number",
    [3 * 10**13, 3 * 10**13 + 1_780_475_056_123, 2**45, 2**48 - 1],
    ids=["3e13", "3e13+valid", "2^45", "all-ones"],
)
def test_from_wire_refuses_a_number_from_3e13(number: int) -> None:
    _refused(_wire(number), Nir.from_wire)


def test_from_wire_accepts_flag_2_the_highest_below_3e13() -> None:
    nir = Nir.from_wire(_wire(2 * 10**13 + 1_780_420_056_123))
    assert nir.value[:13] == "178042B056123"


@pytest.mark.parametrize("flag", [1, 2])
def test_from_wire_refuses_a_corsica_flag_on_a_department_other_than_20(flag: int) -> None:
    _refused(_wire(flag * 10**13 + 1_780_475_056_123), Nir.from_wire)
    _refused(_wire(flag * 10**13 + 2_530_721_073_004), Nir.from_wire)


@pytest.mark.parametrize(
    "value",
    [0, 780_475_056_123, 3_780_475_056_123, 1_781_375_056_123, 1_780_075_056_123],
    ids=["zero", "sex-0", "sex-3", "month-13", "month-00"],
)
def test_from_wire_refuses_bodies_outside_the_profile(value: int) -> None:
    _refused(_wire(value), Nir.from_wire)


def test_from_wire_recomputes_the_key() -> None:
    assert Nir.from_wire(_wire(1_780_475_056_123)).value == "178047505612327"


# --- properties -----------------------------------------------------------------------------

_MONTHS = [f"{m:02d}" for m in (*range(1, 13), *range(20, 43), *range(50, 100))]
_DIGITS = "0123456789"


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text(_DIGITS, min_size=count, max_size=count)


def _bodies(departments: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda sex, year, month, dept, commune, order: sex + year + month + dept + commune + order,
        st.sampled_from("1278"),
        _digits(2),
        st.sampled_from(_MONTHS),
        departments,
        _digits(3),
        _digits(3),
    )


BODIES = _bodies(st.one_of(_digits(2), st.sampled_from(["2A", "2B"])))
CORSICA_BODIES = _bodies(st.sampled_from(["2A", "2B"]))


@PROPERTY
@given(BODIES)
def test_the_computed_key_is_accepted_and_every_other_key_is_refused(body: str) -> None:
    key = nir_key(body)
    assert key == _key(body)
    assert 1 <= key <= 97
    assert Nir(f"{body}{key:02d}").value == f"{body}{key:02d}"
    for other in range(100):
        if other != key:
            with pytest.raises(NirInvalid):
                Nir(f"{body}{other:02d}")


@PROPERTY
@given(BODIES)
def test_wire_form_round_trips_for_every_valid_nir(body: str) -> None:
    nir = Nir(_with_key(body))
    wire = nir.to_wire()
    assert type(wire) is bytes
    assert len(wire) == WIRE_LENGTH
    assert int.from_bytes(wire, "big") < 3 * 10**13
    assert Nir.from_wire(wire) == nir


@PROPERTY
@given(CORSICA_BODIES)
def test_corsica_nirs_round_trip_through_the_wire_form(body: str) -> None:
    nir = Nir(_with_key(body))
    assert int.from_bytes(nir.to_wire(), "big") // 10**13 == {"2A": 1, "2B": 2}[body[5:7]]
    assert Nir.from_wire(nir.to_wire()) == nir


@PROPERTY
@given(BODIES)
def test_parse_accepts_the_formatted_and_lower_case_forms(body: str) -> None:
    nir = Nir(_with_key(body))
    assert Nir.parse(nir.formatted()) == nir
    assert Nir.parse(nir.formatted().lower()) == nir
    assert nir.formatted().replace(" ", "") == nir.value


@PROPERTY
@given(st.integers(min_value=0, max_value=3 * 10**13 - 1))
def test_from_wire_either_refuses_or_returns_a_nir_with_the_same_wire_form(value: int) -> None:
    try:
        nir = Nir.from_wire(_wire(value))
    except NirInvalid:
        return
    assert nir.to_wire() == _wire(value)
