"""Card data model: the family5 example, JSON and wire strictness, and round trips."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitale_cred.errors import (
    CardDataError,
    CborTypeNotAllowed,
    DateInvalid,
    NirInvalid,
    OrganismeInvalid,
    SchemaError,
    SchemaMissingLabel,
    SchemaUnknownLabel,
    VitaleCredError,
)
from vitale_cred.hazmat.cbor import decode, encode
from vitale_cred.model import (
    MAX_BENEFICIARIES,
    Amc,
    Beneficiary,
    BirthDate,
    Card,
    CardView,
    Exoneration,
    ExonerationCode,
    Organisme,
    Period,
    Qualite,
)
from vitale_cred.nir import Nir, nir_key
from vitale_cred.registry import BeneficiaryLabel, CardLabel

ROOT = Path(__file__).resolve().parent.parent
SPEC_FAMILY5 = ROOT / "spec" / "examples" / "family5.json"
DATA_FAMILY5 = ROOT / "src" / "vitale_cred" / "data" / "family5.json"

EPOCH = dt.date(1970, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)
MAX_DAY = (LAST_DAY - EPOCH).days
# Compact birth dates: (year - 2000) * 416 + month * 32 + day, 1850-00-00 .. 2199-12-31.
MIN_BIRTH_WIRE = -62_400
MAX_BIRTH_WIRE = 83_199


def _birth_wire(year: int, month: int, day: int) -> int:
    """The compact birth date, computed here independently of the module."""
    return (year - 2000) * 416 + month * 32 + day


def _nir_wire(number: int) -> bytes:
    """The 6-byte compact NIR form of a wire number."""
    return number.to_bytes(6, "big")


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUND_TRIP = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_DELETE = object()


def _family5_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_FAMILY5.read_text(encoding="utf-8"))
    return data


def _family5() -> Card:
    return Card.from_json(_family5_json())


def _mutated(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``document`` with the node at ``path`` replaced (or deleted).

    In an array, a ``path`` ending one past the last item appends ``value``.
    """
    out = copy.deepcopy(document)
    node = out
    for step in path[:-1]:
        node = node[step]
    if value is _DELETE:
        del node[path[-1]]
    elif isinstance(node, list) and path[-1] == len(node):
        node.append(value)
    else:
        node[path[-1]] = value
    return out


def _refused(cls: type[VitaleCredError], code: str, call: Any, *args: Any) -> None:
    """``call(*args)`` raises exactly ``cls`` (not a subclass) carrying ``code``."""
    with pytest.raises(cls) as info:
        call(*args)
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert info.value.code == code


def _wire(index: int) -> dict[int, Any]:
    """The wire map of family5's view ``index``, as the decoder returns it."""
    value: dict[int, Any] = decode(encode(_family5().view(index).to_wire()))
    return value


def _bare_wire(index: int) -> dict[int, Any]:
    """``_wire(index)`` without the INS, whose own rules tests/test_ins.py covers.

    The INS repeats what it does not say from the beneficiary's names and birth date,
    so a bad name would otherwise be reported by the INS first.
    """
    value = _wire(index)
    value[CardLabel.BENEFICIARY].pop(BeneficiaryLabel.INS, None)
    return value


def _beneficiary(**overrides: Any) -> Beneficiary:
    fields: dict[str, Any] = {
        "family_name": "MARTIN",
        "given_names": ("Pierre",),
        "birth_date": BirthDate(1978, 4, 12),
        "qualite": Qualite.ASSURE,
    }
    fields.update(overrides)
    return Beneficiary(**fields)


def _card(beneficiaries: tuple[Beneficiary, ...], **overrides: Any) -> Card:
    fields: dict[str, Any] = {
        "nir": Nir("178047505612327"),
        "organisme": Organisme("01", "751", "0001"),
        "serial": 1,
        "issued": dt.date(2026, 11, 1),
        "beneficiaries": beneficiaries,
    }
    fields.update(overrides)
    return Card(**fields)


# --- the family5 example -------------------------------------------------------------------


def test_spec_and_packaged_family5_files_are_identical() -> None:
    assert SPEC_FAMILY5.read_bytes() == DATA_FAMILY5.read_bytes()


def test_family5_parses_with_five_beneficiaries_and_the_insured_first() -> None:
    card = _family5()
    assert len(card.beneficiaries) == 5
    assert card.nir == Nir("178047505612327")
    assert card.organisme == Organisme("01", "751", "0001")
    assert card.serial == 7_511_000_042
    assert card.issued == dt.date(2026, 11, 1)
    assert [b.qualite for b in card.beneficiaries] == [
        Qualite.ASSURE,
        Qualite.CONJOINT,
        Qualite.ENFANT,
        Qualite.ENFANT,
        Qualite.ENFANT,
    ]


def test_family5_twins_share_a_birth_date_with_birth_ranks_1_and_2() -> None:
    card = _family5()
    lea, hugo = card.beneficiaries[2], card.beneficiaries[3]
    assert lea.birth_date == hugo.birth_date == BirthDate(2013, 4, 21)
    assert (lea.birth_rank, hugo.birth_rank) == (1, 2)
    assert sorted(b.birth_rank for b in card.beneficiaries) == [1, 1, 1, 1, 2]


def test_family5_has_exactly_one_lunar_birth_date() -> None:
    card = _family5()
    lunar = [b for b in card.beneficiaries if b.birth_date.is_lunar]
    assert len(lunar) == 1
    assert lunar[0].given_names == ("Inès",)
    assert lunar[0].birth_date == BirthDate(2016, 0, 0)
    assert str(lunar[0].birth_date) == "2016-00-00"


def test_family5_has_exactly_one_ald_exoneration() -> None:
    card = _family5()
    exonerations = [e for b in card.beneficiaries for e in b.exonerations]
    assert exonerations == [
        Exoneration(ExonerationCode.ALD, Period(dt.date(2024, 3, 1), dt.date(2029, 2, 28)))
    ]
    assert card.beneficiaries[1].exonerations == tuple(exonerations)


def test_family5_insured_has_an_amc_and_the_last_child_a_css_period() -> None:
    card = _family5()
    assert card.beneficiaries[0].amc == Amc(
        "75500017", "MUT-2026-0042", Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    )
    assert card.beneficiaries[4].css == Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert all(b.amo and b.amo[0].end is None for b in card.beneficiaries)


def test_family5_json_round_trips_through_the_model() -> None:
    card = _family5()
    assert Card.from_json(card.to_json()) == card
    assert Card.from_json(json.loads(json.dumps(card.to_json()))) == card


@pytest.mark.parametrize("index", range(5))
def test_family5_view_round_trips_exactly_through_the_wire_form(index: int) -> None:
    view = _family5().view(index)
    data = encode(view.to_wire())
    back = CardView.from_wire(decode(data))
    assert back == view
    assert back.beneficiary == _family5().beneficiaries[index]
    assert back.is_insured is (index == 0)
    assert encode(back.to_wire()) == data


def test_birth_rank_is_on_the_wire_only_when_it_is_not_the_default() -> None:
    assert BeneficiaryLabel.BIRTH_RANK not in _wire(2)[CardLabel.BENEFICIARY]
    assert _wire(3)[CardLabel.BENEFICIARY][BeneficiaryLabel.BIRTH_RANK] == 2


def test_family5_insured_wire_form_uses_compact_integers() -> None:
    wire = _wire(0)
    assert 0 not in wire  # the card map has no version label
    assert wire[CardLabel.NIR] == bytes.fromhex("019e8c954ffb") == _nir_wire(1_780_475_056_123)
    assert wire[CardLabel.ORGANISME] == 17_510_001
    assert wire[CardLabel.ISSUED] == (dt.date(2026, 11, 1) - EPOCH).days
    assert wire[CardLabel.BENEFICIARY][BeneficiaryLabel.BIRTH_DATE] == -9_012
    assert wire[CardLabel.BENEFICIARY][BeneficiaryLabel.GIVEN_NAMES] == ["Pierre", "Louis"]
    assert list(wire) == sorted(wire)


@pytest.mark.parametrize("index", [-1, 5, 16])
def test_view_of_a_missing_beneficiary_is_refused(index: int) -> None:
    _refused(CardDataError, "card.invalid", _family5().view, index)


# --- JSON strictness ------------------------------------------------------------------------


B0 = ("beneficiaries", 0)
B1 = ("beneficiaries", 1)

JSON_UNKNOWN_FIELDS = [
    ("medical",),
    (*B0, "diagnosis"),
    (*B0, "amo", 0, "code"),
    (*B1, "exonerations", 0, "rate"),
    (*B0, "amc", "level"),
    ("beneficiaries", 4, "css", "code"),
]


@pytest.mark.parametrize("path", JSON_UNKNOWN_FIELDS, ids=str)
def test_json_unknown_fields_are_refused(path: tuple[Any, ...]) -> None:
    document = _mutated(_family5_json(), path, "x")
    _refused(CardDataError, "card.invalid", Card.from_json, document)


JSON_REQUIRED_FIELDS = [
    ("nir",),
    ("organisme",),
    ("serial",),
    ("issued",),
    ("beneficiaries",),
    (*B0, "family_name"),
    (*B0, "given_names"),
    (*B0, "birth_date"),
    (*B0, "qualite"),
    (*B0, "amo", 0, "start"),
    (*B1, "exonerations", 0, "code"),
    (*B1, "exonerations", 0, "start"),
    (*B0, "amc", "organisation"),
    (*B0, "amc", "contract"),
    (*B0, "amc", "start"),
    ("beneficiaries", 4, "css", "start"),
]


@pytest.mark.parametrize("path", JSON_REQUIRED_FIELDS, ids=str)
def test_json_missing_required_fields_are_refused(path: tuple[Any, ...]) -> None:
    document = _mutated(_family5_json(), path, _DELETE)
    _refused(CardDataError, "card.invalid", Card.from_json, document)


@pytest.mark.parametrize(
    "path",
    [
        ("beneficiaries", 2, "birth_rank"),
        (*B0, "amo"),
        (*B1, "exonerations"),
        (*B0, "amc"),
        ("beneficiaries", 4, "css"),
        (*B0, "amo", 0, "end"),
        (*B0, "amc", "end"),
    ],
    ids=str,
)
def test_json_optional_fields_may_be_omitted(path: tuple[Any, ...]) -> None:
    Card.from_json(_mutated(_family5_json(), path, _DELETE))


CARD_INVALID = (CardDataError, "card.invalid")
DATE_INVALID = (DateInvalid, "card.date_invalid")
NIR_INVALID = (NirInvalid, "card.nir_invalid")
ORGANISME_INVALID = (OrganismeInvalid, "card.organisme_invalid")

JSON_WRONG_VALUES = [
    (("serial",), "7511000042", CARD_INVALID),
    (("serial",), True, CARD_INVALID),
    (("serial",), 1.5, CARD_INVALID),
    (("serial",), -1, CARD_INVALID),
    (("serial",), 2**63, CARD_INVALID),
    (("nir",), 178047505612327, NIR_INVALID),
    (("nir",), "178047505612328", NIR_INVALID),
    (("organisme",), 17510001, ORGANISME_INVALID),
    (("organisme",), "01 751 001", ORGANISME_INVALID),
    (("issued",), 20758, DATE_INVALID),
    (("issued",), "2026-11-1", DATE_INVALID),
    (("issued",), "20261101", DATE_INVALID),
    (("issued",), "2026/11/01", DATE_INVALID),
    (("issued",), "2026-02-30", DATE_INVALID),
    (("issued",), "1969-12-31", DATE_INVALID),
    (("issued",), "2200-01-01", DATE_INVALID),
    (("issued",), "2026-11-01T00:00", DATE_INVALID),
    (("beneficiaries",), {}, CARD_INVALID),
    (("beneficiaries",), "MARTIN", CARD_INVALID),
    (("beneficiaries",), [], CARD_INVALID),
    (("beneficiaries",), None, CARD_INVALID),
    (B0, [], CARD_INVALID),
    ((*B0, "family_name"), 1, CARD_INVALID),
    ((*B0, "family_name"), None, CARD_INVALID),
    ((*B0, "given_names"), "Pierre", CARD_INVALID),
    ((*B0, "given_names"), [], CARD_INVALID),
    ((*B0, "given_names"), [1], CARD_INVALID),
    ((*B0, "given_names"), None, CARD_INVALID),
    ((*B0, "birth_date"), 19780412, DATE_INVALID),
    ((*B0, "birth_date"), "1978-04-31", DATE_INVALID),
    ((*B0, "qualite"), 0, CARD_INVALID),
    ((*B0, "qualite"), "cousin", CARD_INVALID),
    ((*B0, "qualite"), None, CARD_INVALID),
    ((*B0, "birth_rank"), "2", CARD_INVALID),
    ((*B0, "birth_rank"), True, CARD_INVALID),
    ((*B0, "birth_rank"), None, CARD_INVALID),
    ((*B0, "birth_rank"), 2.0, CARD_INVALID),
    ((*B0, "amo"), {"start": "2020-01-01"}, CARD_INVALID),
    ((*B0, "amo"), "2020-01-01", CARD_INVALID),
    ((*B0, "amo", 0), "2020-01-01", CARD_INVALID),
    ((*B0, "amo", 0, "start"), 18262, DATE_INVALID),
    ((*B0, "amo", 0, "start"), None, DATE_INVALID),
    ((*B0, "amo", 0, "end"), "2019-12-31", DATE_INVALID),
    ((*B1, "exonerations", 0, "code"), 1, CARD_INVALID),
    ((*B1, "exonerations", 0, "code"), "cancer", CARD_INVALID),
    ((*B1, "exonerations", 0, "end"), "2024-02-29", DATE_INVALID),
    ((*B0, "amc"), "75500017", CARD_INVALID),
    ((*B0, "amc", "organisation"), 75500017, CARD_INVALID),
    ((*B0, "amc", "organisation"), "7550A017", CARD_INVALID),
    ((*B0, "amc", "organisation"), "", CARD_INVALID),
    ((*B0, "amc", "organisation"), "12345678901", CARD_INVALID),
    ((*B0, "amc", "contract"), "", CARD_INVALID),
    ((*B0, "amc", "contract"), 42, CARD_INVALID),
    ((*B0, "amc", "contract"), "C" * 33, CARD_INVALID),
    ((*B0, "nir"), "123", NIR_INVALID),
    ((*B0, "nir"), 178047505612327, NIR_INVALID),
    (("beneficiaries", 4, "css"), [], CARD_INVALID),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    JSON_WRONG_VALUES,
    ids=[f"{p}={v!r}" for p, v, _ in JSON_WRONG_VALUES],
)
def test_json_wrong_values_are_refused_with_their_exact_error(
    path: tuple[Any, ...], value: Any, expected: tuple[type[VitaleCredError], str]
) -> None:
    document = _mutated(_family5_json(), path, value)
    _refused(*expected, Card.from_json, document)


@pytest.mark.parametrize("document", [[], "card", None, 1])
def test_json_card_that_is_not_an_object_is_refused(document: Any) -> None:
    _refused(CardDataError, "card.invalid", Card.from_json, document)


@pytest.mark.parametrize("text", ["2026-W44-7", "2024-W01-1"])
def test_json_iso_week_dates_are_refused_as_not_yyyy_mm_dd(text: str) -> None:
    document = _mutated(_family5_json(), ("issued",), text)
    _refused(DateInvalid, "card.date_invalid", Card.from_json, document)


def test_json_boundary_dates_1970_01_01_and_2199_12_31_are_accepted() -> None:
    # The card is issued after every birth (data-model.md 2.2): the issue day takes the
    # upper bound, a rights period the lower one.
    document = _mutated(_family5_json(), ("issued",), "2199-12-31")
    document = _mutated(document, (*B0, "amo", 0, "start"), "1970-01-01")
    document = _mutated(document, (*B0, "amo", 0, "end"), "2199-12-31")
    card = Card.from_json(document)
    assert card.issued == LAST_DAY
    assert card.beneficiaries[0].amo[0].start == EPOCH
    assert card.beneficiaries[0].amo[0].end == LAST_DAY


def test_a_beneficiary_born_after_the_card_was_issued_is_refused() -> None:
    document = _mutated(_family5_json(), ("issued",), "1978-04-11")
    with pytest.raises(CardDataError, match="born 1978-04-12, after the card was issued"):
        Card.from_json(document)
    assert Card.from_json(_mutated(_family5_json(), ("issued",), "2016-01-01")).issued


def test_json_qualite_and_exoneration_names_are_case_insensitive() -> None:
    document = _mutated(_family5_json(), (*B0, "qualite"), "ASSURE")
    document = _mutated(document, (*B1, "exonerations", 0, "code"), "Ald")
    assert Card.from_json(document) == _family5()


def test_json_explicit_birth_rank_1_and_null_options_equal_their_omission() -> None:
    document = _mutated(_family5_json(), (*B0, "birth_rank"), 1)
    document = _mutated(document, (*B0, "css"), None)
    document = _mutated(document, (*B1, "exonerations"), None)
    document = _mutated(document, ("beneficiaries", 2, "amo"), [])
    document = _mutated(document, ("beneficiaries", 3, "nir"), None)
    card = Card.from_json(document)
    without_nir = _mutated(_family5_json(), ("beneficiaries", 3, "nir"), _DELETE)
    assert card.beneficiaries[2].amo == ()
    assert card.beneficiaries[3].nir is None
    assert card.beneficiaries[3] == Card.from_json(without_nir).beneficiaries[3]
    assert card.beneficiaries[0] == _family5().beneficiaries[0]
    assert card.beneficiaries[1].exonerations == ()


def test_json_beneficiary_nir_is_parsed() -> None:
    body = "282062A073004"
    document = _mutated(_family5_json(), (*B1, "nir"), f"{body}{nir_key(body):02d}".lower())
    card = Card.from_json(document)
    assert card.beneficiaries[1].nir == Nir(f"{body}{nir_key(body):02d}")
    assert Card.from_json(card.to_json()) == card


# --- birth dates (lunar) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "lunar", "wire"),
    [
        ("2016-00-00", BirthDate(2016, 0, 0), True, 6_656),
        ("2016-05-00", BirthDate(2016, 5, 0), True, 6_816),
        ("2024-02-29", BirthDate(2024, 2, 29), False, 10_077),
        ("2000-02-29", BirthDate(2000, 2, 29), False, 93),
        ("2000-00-00", BirthDate(2000, 0, 0), True, 0),
        ("1999-12-31", BirthDate(1999, 12, 31), False, -1),
        ("1850-00-00", BirthDate(1850, 0, 0), True, MIN_BIRTH_WIRE),
        ("1850-01-01", BirthDate(1850, 1, 1), False, -62_367),
        ("2199-12-31", BirthDate(2199, 12, 31), False, MAX_BIRTH_WIRE),
        ("1978-04-12", BirthDate(1978, 4, 12), False, -9_012),
    ],
)
def test_birth_dates_full_and_lunar_are_accepted(
    text: str, expected: BirthDate, lunar: bool, wire: int
) -> None:
    date = BirthDate.from_json(text)
    assert date == expected
    assert date.is_lunar is lunar
    assert str(date) == text
    assert date.to_wire() == wire == _birth_wire(date.year, date.month, date.day)
    assert type(date.to_wire()) is int
    assert BirthDate.from_wire(wire) == date


def test_birth_date_wire_examples_and_bounds() -> None:
    assert BirthDate(1978, 4, 12).to_wire() == -9_012
    assert BirthDate(2016, 0, 0).to_wire() == 6_656
    assert BirthDate.from_wire(-9_012) == BirthDate(1978, 4, 12)
    assert BirthDate.from_wire(6_656) == BirthDate(2016, 0, 0)
    assert BirthDate.from_wire(MIN_BIRTH_WIRE) == BirthDate(1850, 0, 0)
    assert BirthDate.from_wire(MAX_BIRTH_WIRE) == BirthDate(2199, 12, 31)
    assert _birth_wire(1850, 0, 0) == MIN_BIRTH_WIRE
    assert _birth_wire(2199, 12, 31) == MAX_BIRTH_WIRE
    # Births 1850..2156 take a 16-bit CBOR argument (3 bytes).
    assert _birth_wire(1850, 0, 0) >= -(2**16) and _birth_wire(2156, 12, 31) < 2**16
    assert len(encode(-9_012)) == len(encode(6_656)) == 3
    for just_outside in (MIN_BIRTH_WIRE - 1, MAX_BIRTH_WIRE + 1):
        _refused(DateInvalid, "card.date_invalid", BirthDate.from_wire, just_outside)


@pytest.mark.parametrize(
    "text",
    [
        "2016-00-05",  # day without a month
        "2023-02-29",  # not a leap year
        "1900-02-29",  # not a leap year (century)
        "2016-13-00",
        "2016-04-31",
        "1849-12-31",  # before 1850
        "2200-01-01",  # after 2199
        "2016-5-01",
        "2016-05-1",
        "2016/05/01",
        "20160501",
        "2016-05-01 ",
        "２０１６-05-01",  # full-width digits
        "2016-0a-01",
        "",
    ],
)
def test_birth_dates_outside_the_lunar_profile_are_refused(text: str) -> None:
    _refused(DateInvalid, "card.date_invalid", BirthDate.from_json, text)


@pytest.mark.parametrize("value", [None, 20160501, ["2016-05-01"]])
def test_birth_date_json_that_is_not_text_is_refused(value: Any) -> None:
    _refused(DateInvalid, "card.date_invalid", BirthDate.from_json, value)


@pytest.mark.parametrize(
    "value",
    [
        MIN_BIRTH_WIRE - 1,  # 1849-12-31
        MAX_BIRTH_WIRE + 1,  # 2200-00-00
        -(2**63),
        2**64 - 1,
        _birth_wire(2016, 0, 5),  # a day without a month
        _birth_wire(1978, 0, 12),
        _birth_wire(2023, 2, 29),  # not a leap year
        _birth_wire(1900, 2, 29),  # not a leap year (century)
        _birth_wire(1978, 2, 30),
        _birth_wire(1978, 4, 31),
        19_780_412,  # the decimal YYYYMMDD form of the earlier wire: year 49526
        20_160_000,
        True,
        False,
        6_656.0,
        "6656",
        "1978-04-12",
        b"\x1a\x00",
        None,
        [6_656],
    ],
    ids=repr,
)
def test_birth_date_wire_values_outside_the_profile_are_refused(value: Any) -> None:
    _refused(DateInvalid, "card.date_invalid", BirthDate.from_wire, value)


@FUZZ
@given(st.integers(MIN_BIRTH_WIRE, MAX_BIRTH_WIRE))
def test_birth_date_wire_values_in_range_either_refuse_or_round_trip(value: int) -> None:
    try:
        date = BirthDate.from_wire(value)
    except DateInvalid:
        return
    assert date.to_wire() == value
    assert 1850 <= date.year <= 2199


def test_every_birth_date_wire_value_decodes_as_the_constructor_decides() -> None:
    # The decoder fills most dates without the constructor: over the whole wire range it
    # must accept exactly the dates the constructor accepts, with equal fields.
    for value in range(MIN_BIRTH_WIRE, MAX_BIRTH_WIRE + 1):
        years, rest = divmod(value, 416)
        month, day = divmod(rest, 32)
        try:
            expected = BirthDate(2000 + years, month, day)
        except DateInvalid:
            _refused(DateInvalid, "card.date_invalid", BirthDate.from_wire, value)
            continue
        assert BirthDate.from_wire(value) == expected, value


def test_spec_day_numbers_match_the_calendar() -> None:
    assert MAX_DAY == 84_005
    wire = _wire(0)
    assert wire[CardLabel.ISSUED] == 20_758
    assert wire[BEN][BeneficiaryLabel.AMO][0] == [18_262]
    assert BirthDate.from_json("2016-00-00").to_wire() == 6_656


# --- periods --------------------------------------------------------------------------------------


def test_period_ending_before_it_starts_is_refused() -> None:
    _refused(DateInvalid, "card.date_invalid", Period, dt.date(2024, 1, 2), dt.date(2024, 1, 1))


def test_period_of_one_day_and_open_period_are_accepted_and_cover_their_days() -> None:
    day = dt.date(2024, 1, 1)
    assert Period(day, day).covers(day)
    assert not Period(day, day).covers(day + dt.timedelta(days=1))
    assert Period(day).covers(LAST_DAY)
    assert not Period(day).covers(day - dt.timedelta(days=1))


# --- organisme ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["01 751 0001", "017510001"])
def test_organisme_parses_the_spaced_and_compact_forms(text: str) -> None:
    organisme = Organisme.parse(text)
    assert organisme == Organisme("01", "751", "0001")
    assert str(organisme) == "01 751 0001"
    assert organisme.to_wire() == 17_510_001
    assert Organisme.from_wire(17_510_001) == organisme


def test_organisme_wire_form_keeps_leading_zeros() -> None:
    assert Organisme.from_wire(0) == Organisme("00", "000", "0000")
    assert Organisme.from_wire(999_999_999) == Organisme("99", "999", "9999")


@pytest.mark.parametrize(
    "parts",
    [
        ("1", "751", "0001"),
        ("001", "751", "0001"),
        ("01", "75", "0001"),
        ("01", "7510", "0001"),
        ("01", "751", "001"),
        ("01", "751", "00001"),
        ("0A", "751", "0001"),
        ("01", "7 1", "0001"),
        ("01", "751", "０００1"),
        (1, "751", "0001"),
    ],
)
def test_organisme_parts_of_wrong_width_or_not_digits_are_refused(parts: tuple[Any, ...]) -> None:
    _refused(OrganismeInvalid, "card.organisme_invalid", Organisme, *parts)


@pytest.mark.parametrize(
    "text",
    ["01 751 001", "01 751 00001", "01-751-0001", "0A 751 0001", "", "01.751.0001", None, 17510001],
)
def test_organisme_text_that_is_not_nine_digits_is_refused(text: Any) -> None:
    _refused(OrganismeInvalid, "card.organisme_invalid", Organisme.parse, text)


@pytest.mark.parametrize("text", ["0175 10001", " 01 751 0001 ", "0 1 7 5 1 0 0 0 1"])
def test_organisme_text_may_hold_spaces_anywhere(text: str) -> None:
    assert Organisme.parse(text) == Organisme("01", "751", "0001")


@pytest.mark.parametrize("text", ["01\t751\t0001", "01\u00a0751\u00a00001", "01_751_0001"])
def test_organisme_text_separators_other_than_u0020_are_refused(text: str) -> None:
    _refused(OrganismeInvalid, "card.organisme_invalid", Organisme.parse, text)


def test_organisme_spec_examples_have_their_wire_form() -> None:
    assert Organisme.parse("01 751 0001").to_wire() == 17_510_001
    assert Organisme.parse("02 751 0001").to_wire() == 27_510_001
    assert Organisme.from_wire(27_510_001) == Organisme("02", "751", "0001")


@pytest.mark.parametrize("value", [-1, 10**9, True, "017510001", None, 1.0])
def test_organisme_wire_values_outside_nine_digits_are_refused(value: Any) -> None:
    _refused(OrganismeInvalid, "card.organisme_invalid", Organisme.from_wire, value)


# --- names, birth rank, qualité ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "A" * 65,
        "MAR\x00TIN",
        "MAR\nTIN",
        "MAR\tTIN",
        "MAR\u200bTIN",
        "MAR\u00a0TIN",
        " MARTIN",
        "MARTIN ",
        "\u3000MARTIN",
        "MAR\u2028TIN",  # Zl
        "MAR\u2029TIN",  # Zp
        "MAR\ue000TIN",  # Co
        "MAR\u0378TIN",  # Cn
        "MAR\ud800TIN",  # Cs
        "MAR\u00adTIN",  # Cf (soft hyphen)
        None,
        42,
    ],
    ids=repr,
)
def test_family_and_given_names_that_are_empty_long_or_unprintable_are_refused(name: Any) -> None:
    with pytest.raises(CardDataError) as info:
        _beneficiary(family_name=name)
    assert type(info.value) is CardDataError
    assert info.value.code == "card.invalid"
    with pytest.raises(CardDataError) as info:
        _beneficiary(given_names=("Pierre", name))
    assert type(info.value) is CardDataError
    assert info.value.code == "card.invalid"


@pytest.mark.parametrize("name", ["A" * 64, "DE LA TOUR", "Lœtitia", "O'NEIL-ÉMILE", "X"])
def test_names_up_to_64_printable_characters_with_inner_spaces_are_accepted(name: str) -> None:
    assert _beneficiary(family_name=name, given_names=(name,)).family_name == name


@pytest.mark.parametrize("given", [(), ("A", "B", "C", "D", "E")])
def test_given_names_must_number_one_to_four(given: tuple[str, ...]) -> None:
    with pytest.raises(CardDataError) as info:
        _beneficiary(given_names=given)
    assert type(info.value) is CardDataError


@pytest.mark.parametrize("rank", [0, 10, -1, True, "2", 2.0, None])
def test_birth_ranks_outside_1_to_9_are_refused(rank: Any) -> None:
    with pytest.raises(CardDataError) as info:
        _beneficiary(birth_rank=rank)
    assert type(info.value) is CardDataError
    assert info.value.code == "card.invalid"


@pytest.mark.parametrize("rank", range(1, 10))
def test_birth_ranks_1_to_9_are_accepted(rank: int) -> None:
    assert _beneficiary(birth_rank=rank).birth_rank == rank


def test_more_than_eight_periods_of_one_kind_are_refused() -> None:
    period = Period(dt.date(2020, 1, 1))
    _beneficiary(amo=(period,) * 8)
    with pytest.raises(CardDataError):
        _beneficiary(amo=(period,) * 9)
    with pytest.raises(CardDataError):
        _beneficiary(exonerations=(Exoneration(ExonerationCode.ALD, period),) * 9)


def test_qualite_must_be_a_qualite_member() -> None:
    with pytest.raises(CardDataError):
        _beneficiary(qualite=0)


def test_beneficiary_0_must_be_the_insured() -> None:
    conjoint = _beneficiary(qualite=Qualite.CONJOINT)
    with pytest.raises(CardDataError) as info:
        _card((conjoint,))
    assert type(info.value) is CardDataError


def test_only_beneficiary_0_may_be_the_insured() -> None:
    with pytest.raises(CardDataError) as info:
        _card((_beneficiary(), _beneficiary()))
    assert type(info.value) is CardDataError


def test_json_card_whose_first_beneficiary_is_not_the_insured_is_refused() -> None:
    document = _family5_json()
    document["beneficiaries"].reverse()
    _refused(CardDataError, "card.invalid", Card.from_json, document)


def test_card_holds_one_to_sixteen_beneficiaries() -> None:
    child = _beneficiary(qualite=Qualite.ENFANT)
    assert len(_card((_beneficiary(),)).beneficiaries) == 1
    full = _card((_beneficiary(), *(child,) * (MAX_BENEFICIARIES - 1)))
    assert len(full.beneficiaries) == MAX_BENEFICIARIES == 16
    with pytest.raises(CardDataError):
        _card((_beneficiary(), *(child,) * MAX_BENEFICIARIES))
    with pytest.raises(CardDataError):
        _card(())


def test_json_card_with_seventeen_beneficiaries_is_refused() -> None:
    document = _family5_json()
    document["beneficiaries"] += [document["beneficiaries"][1]] * 12
    assert len(document["beneficiaries"]) == 17
    _refused(CardDataError, "card.invalid", Card.from_json, document)
    document["beneficiaries"].pop()
    assert len(Card.from_json(document).beneficiaries) == 16


@pytest.mark.parametrize("serial", [-1, 2**63, True, "1", 1.0])
def test_card_serial_outside_0_to_2_63_minus_1_is_refused(serial: Any) -> None:
    with pytest.raises(CardDataError):
        _card((_beneficiary(),), serial=serial)


def test_card_serial_2_63_minus_1_is_accepted() -> None:
    assert _card((_beneficiary(),), serial=2**63 - 1).serial == 2**63 - 1


def test_view_index_must_agree_with_the_insured_qualite() -> None:
    card = _family5()
    view = card.view(1)
    with pytest.raises(CardDataError):
        CardView(view.nir, view.organisme, view.serial, view.issued, 0, view.beneficiary)
    with pytest.raises(CardDataError):
        CardView(view.nir, view.organisme, view.serial, view.issued, 16, view.beneficiary)
    assert CardView(view.nir, view.organisme, view.serial, view.issued, 15, view.beneficiary)


# --- wire strictness ------------------------------------------------------------------------------

BEN = CardLabel.BENEFICIARY
AMO_0 = (BEN, BeneficiaryLabel.AMO, 0)
EXON_0 = (BEN, BeneficiaryLabel.EXONERATIONS, 0)
AMC = (BEN, BeneficiaryLabel.AMC)
CSS = (BEN, BeneficiaryLabel.CSS)
# Positions in the period arrays: [start, ?end], [code, start, ?end],
# [organisation, contract, start, ?end].
START, END = 0, 1
EXON_CODE, EXON_START, EXON_END = 0, 1, 2
AMC_ORG, AMC_CONTRACT, AMC_START, AMC_END = 0, 1, 2, 3

WIRE_UNKNOWN_LABELS = [
    (0, (0,)),  # the version label of the draft wire
    (0, (8,)),
    (0, (CardLabel.STATUS,)),  # the credential takes status(7) out before the card is read
    (0, (-1,)),
    (0, ("nir",)),
    (0, (b"\x01",)),
    (0, (BEN, 12)),
    (0, (BEN, 0)),
    (0, (BEN, "family_name")),
]


@pytest.mark.parametrize(("index", "path"), WIRE_UNKNOWN_LABELS, ids=str)
def test_wire_unknown_labels_are_refused(index: int, path: tuple[Any, ...]) -> None:
    wire = _mutated(_wire(index), path, 1)
    _refused(SchemaUnknownLabel, "schema.unknown_label", CardView.from_wire, wire)


WIRE_REQUIRED_LABELS = [
    *(
        (0, (label,))
        for label in (
            CardLabel.NIR,
            CardLabel.ORGANISME,
            CardLabel.SERIAL,
            CardLabel.ISSUED,
            CardLabel.BENEFICIARY,
        )
    ),
    *(
        (0, (BEN, label))
        for label in (
            BeneficiaryLabel.FAMILY_NAME,
            BeneficiaryLabel.GIVEN_NAMES,
            BeneficiaryLabel.BIRTH_DATE,
        )
    ),
    # qualite(5) is required of a dependant (index 1..15) only.
    *((index, (BEN, BeneficiaryLabel.QUALITE)) for index in range(1, 5)),
]


@pytest.mark.parametrize(("index", "path"), WIRE_REQUIRED_LABELS, ids=str)
def test_wire_missing_labels_are_refused(index: int, path: tuple[Any, ...]) -> None:
    wire = _mutated(_wire(index), path, _DELETE)
    _refused(SchemaMissingLabel, "schema.missing_label", CardView.from_wire, wire)


@pytest.mark.parametrize(
    ("index", "path"),
    [
        (4, (*CSS, END)),
        (1, (*EXON_0, EXON_END)),
        (0, (*AMC, AMC_END)),
        (0, (BEN, BeneficiaryLabel.AMO)),
        (0, (BEN, BeneficiaryLabel.AMC)),
        (1, (BEN, BeneficiaryLabel.EXONERATIONS)),
        (3, (BEN, BeneficiaryLabel.BIRTH_RANK)),
        (4, (BEN, BeneficiaryLabel.CSS)),
    ],
    ids=str,
)
def test_wire_optional_labels_may_be_omitted(index: int, path: tuple[Any, ...]) -> None:
    CardView.from_wire(_mutated(_wire(index), path, _DELETE))


SCHEMA_INVALID = (SchemaError, "schema.invalid")
MISSING_LABEL = (SchemaMissingLabel, "schema.missing_label")

WIRE_WRONG_VALUES = [
    (0, (BEN,), [], SCHEMA_INVALID),
    # given_names(2): one name as text, two to four as an array.
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), ["Pierre"], SCHEMA_INVALID),
    (1, (BEN, BeneficiaryLabel.GIVEN_NAMES), ["Claire"], SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), 1, SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), b"Pierre", SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), {1: "Pierre"}, SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), True, SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), [], CARD_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), "", CARD_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), "Pierre\n", CARD_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), ["Pierre", b"Louis"], CARD_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), ["Pierre", ""], CARD_INVALID),
    (0, (BEN, BeneficiaryLabel.GIVEN_NAMES), ["A", "B", "C", "D", "E"], CARD_INVALID),
    (0, (BEN, BeneficiaryLabel.FAMILY_NAME), 1, CARD_INVALID),
    (0, (BEN, BeneficiaryLabel.FAMILY_NAME), "", CARD_INVALID),
    (0, (BEN, BeneficiaryLabel.FAMILY_NAME), "MARTIN\n", CARD_INVALID),
    # amo(6): a non-empty array of at most 8 periods [start, ?end].
    (0, (BEN, BeneficiaryLabel.AMO), [], SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.AMO), {1: 0}, SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.AMO), [18262], SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.AMO), [[]], SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.AMO), [[18262, 18263, 18264]], SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.AMO), [{1: 18262}], SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.AMO), [{1: 18262, 2: 18263}], SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.AMO), [[0]] * 9, CARD_INVALID),
    (0, (*AMO_0, START), -1, DATE_INVALID),
    (0, (*AMO_0, START), MAX_DAY + 1, DATE_INVALID),
    (0, (*AMO_0, START), 2**64 - 1, DATE_INVALID),
    (0, (*AMO_0, START), True, DATE_INVALID),
    (0, (*AMO_0, START), "2020-01-01", DATE_INVALID),
    (0, (*AMO_0, START), [18262], DATE_INVALID),
    (0, (*AMO_0, END), 18261, DATE_INVALID),
    (0, (*AMO_0, END), False, DATE_INVALID),
    # exonerations(7): a non-empty array of at most 8 [code, start, ?end].
    (1, (BEN, BeneficiaryLabel.EXONERATIONS), [], SCHEMA_INVALID),
    (1, (BEN, BeneficiaryLabel.EXONERATIONS), [1, 19783], SCHEMA_INVALID),
    (1, (BEN, BeneficiaryLabel.EXONERATIONS), [[1]], SCHEMA_INVALID),
    (1, (BEN, BeneficiaryLabel.EXONERATIONS), [[1, 19783, 21608, 21609]], SCHEMA_INVALID),
    (1, (BEN, BeneficiaryLabel.EXONERATIONS), [{3: 1, 1: 19783}], SCHEMA_INVALID),
    (1, (BEN, BeneficiaryLabel.EXONERATIONS), [[1, 19783]] * 9, CARD_INVALID),
    (1, (*EXON_0, EXON_CODE), 9, CARD_INVALID),
    (1, (*EXON_0, EXON_CODE), 0, CARD_INVALID),
    (1, (*EXON_0, EXON_CODE), "ald", CARD_INVALID),
    (1, (*EXON_0, EXON_CODE), True, CARD_INVALID),
    (1, (*EXON_0, EXON_START), -1, DATE_INVALID),
    (1, (*EXON_0, EXON_START), True, DATE_INVALID),
    (1, (*EXON_0, EXON_END), 0, DATE_INVALID),
    (1, (*EXON_0, EXON_END), MAX_DAY + 1, DATE_INVALID),
    # css(8): one period [start, ?end].
    (4, (BEN, BeneficiaryLabel.CSS), [], SCHEMA_INVALID),
    (4, (BEN, BeneficiaryLabel.CSS), 20454, SCHEMA_INVALID),
    (4, (BEN, BeneficiaryLabel.CSS), [20454, 20818, 20819], SCHEMA_INVALID),
    (4, (BEN, BeneficiaryLabel.CSS), [[20454, 20818]], DATE_INVALID),
    (4, (BEN, BeneficiaryLabel.CSS), {1: 20454, 2: 20818}, SCHEMA_INVALID),
    (4, (*CSS, START), "2026-01-01", DATE_INVALID),
    (4, (*CSS, END), 20453, DATE_INVALID),
    # amc(9): [organisation, contract, start, ?end].
    (0, (BEN, BeneficiaryLabel.AMC), 1, SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.AMC), [], SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.AMC), ["75500017", "MUT-2026-0042"], SCHEMA_INVALID),
    (
        0,
        (BEN, BeneficiaryLabel.AMC),
        ["75500017", "MUT-2026-0042", 20454, 20818, 20819],
        SCHEMA_INVALID,
    ),
    (0, (BEN, BeneficiaryLabel.AMC), {1: "75500017", 2: "MUT", 3: 20454}, SCHEMA_INVALID),
    (0, (*AMC, AMC_ORG), 75500017, CARD_INVALID),
    (0, (*AMC, AMC_ORG), b"75500017", CARD_INVALID),
    (0, (*AMC, AMC_ORG), True, CARD_INVALID),
    (0, (*AMC, AMC_ORG), "7550 017", CARD_INVALID),
    (0, (*AMC, AMC_CONTRACT), 42, CARD_INVALID),
    (0, (*AMC, AMC_CONTRACT), "", CARD_INVALID),
    (0, (*AMC, AMC_START), MAX_DAY + 1, DATE_INVALID),
    (0, (*AMC, AMC_START), "2026-01-01", DATE_INVALID),
    (0, (*AMC, AMC_END), 0, DATE_INVALID),
    (3, (BEN, BeneficiaryLabel.BIRTH_RANK), 1, SCHEMA_INVALID),
    (3, (BEN, BeneficiaryLabel.BIRTH_RANK), 0, CARD_INVALID),
    (3, (BEN, BeneficiaryLabel.BIRTH_RANK), 10, CARD_INVALID),
    (3, (BEN, BeneficiaryLabel.BIRTH_RANK), "2", CARD_INVALID),
    # qualite(5): absent for the insured (index 0 says it), a dependant's own otherwise.
    (0, (BEN, BeneficiaryLabel.QUALITE), int(Qualite.ASSURE), SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.QUALITE), int(Qualite.CONJOINT), SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.QUALITE), 7, SCHEMA_INVALID),
    (0, (BEN, BeneficiaryLabel.QUALITE), "assure", SCHEMA_INVALID),
    (1, (BEN, BeneficiaryLabel.QUALITE), int(Qualite.ASSURE), CARD_INVALID),
    (1, (BEN, BeneficiaryLabel.QUALITE), 7, CARD_INVALID),
    (1, (BEN, BeneficiaryLabel.QUALITE), -1, CARD_INVALID),
    (1, (BEN, BeneficiaryLabel.QUALITE), "conjoint", CARD_INVALID),
    (1, (BEN, BeneficiaryLabel.QUALITE), False, CARD_INVALID),
    (1, (BEN, BeneficiaryLabel.QUALITE), True, CARD_INVALID),
    (0, (BEN, BeneficiaryLabel.BIRTH_DATE), 19780412, DATE_INVALID),  # the decimal form
    (0, (BEN, BeneficiaryLabel.BIRTH_DATE), MIN_BIRTH_WIRE - 1, DATE_INVALID),
    (0, (BEN, BeneficiaryLabel.BIRTH_DATE), MAX_BIRTH_WIRE + 1, DATE_INVALID),
    (0, (BEN, BeneficiaryLabel.BIRTH_DATE), _birth_wire(1978, 4, 31), DATE_INVALID),
    (0, (BEN, BeneficiaryLabel.BIRTH_DATE), _birth_wire(1978, 0, 12), DATE_INVALID),
    (0, (BEN, BeneficiaryLabel.BIRTH_DATE), "19780412", DATE_INVALID),
    (0, (BEN, BeneficiaryLabel.BIRTH_DATE), "1978-04-12", DATE_INVALID),
    (0, (BEN, BeneficiaryLabel.BIRTH_DATE), True, DATE_INVALID),
    (0, (BEN, BeneficiaryLabel.NIR), "178047505612327", NIR_INVALID),
    (0, (BEN, BeneficiaryLabel.NIR), -1, NIR_INVALID),
    (0, (BEN, BeneficiaryLabel.NIR), 2_820_675_056_018, NIR_INVALID),  # the integer form
    (0, (BEN, BeneficiaryLabel.NIR), _nir_wire(2_820_675_056_018)[1:], NIR_INVALID),
    (0, (BEN, BeneficiaryLabel.NIR), _nir_wire(2_820_075_056_018), NIR_INVALID),  # month 00
    (0, (CardLabel.SERIAL,), "7511000042", SCHEMA_INVALID),
    (0, (CardLabel.SERIAL,), -1, SCHEMA_INVALID),
    (0, (CardLabel.SERIAL,), True, SCHEMA_INVALID),
    (0, (CardLabel.SERIAL,), 2**63, SCHEMA_INVALID),
    (0, (CardLabel.SERIAL,), 2**64 - 1, SCHEMA_INVALID),
    # index(6): omitted for the insured, never written as 0.
    (0, (CardLabel.INDEX,), 0, SCHEMA_INVALID),
    (1, (CardLabel.INDEX,), 0, SCHEMA_INVALID),
    (1, (CardLabel.INDEX,), "1", SCHEMA_INVALID),
    (1, (CardLabel.INDEX,), -1, SCHEMA_INVALID),
    (1, (CardLabel.INDEX,), True, SCHEMA_INVALID),
    (0, (CardLabel.INDEX,), False, SCHEMA_INVALID),
    (0, (CardLabel.INDEX,), "0", SCHEMA_INVALID),
    (0, (CardLabel.INDEX,), 1, MISSING_LABEL),  # a dependant's view needs its qualite(5)
    (1, (CardLabel.INDEX,), 16, CARD_INVALID),
    (1, (CardLabel.INDEX,), 2**32, CARD_INVALID),
    (0, (CardLabel.NIR,), "178047505612327", NIR_INVALID),
    (0, (CardLabel.NIR,), 1_780_475_056_123, NIR_INVALID),  # the integer form
    (0, (CardLabel.NIR,), 3 * 10**13, NIR_INVALID),
    (0, (CardLabel.NIR,), 0, NIR_INVALID),
    (0, (CardLabel.NIR,), True, NIR_INVALID),
    (0, (CardLabel.NIR,), [*_nir_wire(1_780_475_056_123)], NIR_INVALID),
    (0, (CardLabel.NIR,), b"", NIR_INVALID),
    (0, (CardLabel.NIR,), _nir_wire(1_780_475_056_123)[1:], NIR_INVALID),  # 5 bytes
    (0, (CardLabel.NIR,), b"\x00" + _nir_wire(1_780_475_056_123), NIR_INVALID),  # 7 bytes
    (0, (CardLabel.NIR,), _nir_wire(3 * 10**13), NIR_INVALID),
    (0, (CardLabel.NIR,), _nir_wire(2**48 - 1), NIR_INVALID),
    (0, (CardLabel.NIR,), bytes(6), NIR_INVALID),
    (0, (CardLabel.NIR,), _nir_wire(3_780_475_056_123), NIR_INVALID),  # sex 3
    (0, (CardLabel.NIR,), _nir_wire(1 * 10**13 + 1_780_475_056_123), NIR_INVALID),  # 2A, dept 75
    (0, (CardLabel.ORGANISME,), "017510001", ORGANISME_INVALID),
    (0, (CardLabel.ORGANISME,), 10**9, ORGANISME_INVALID),
    (0, (CardLabel.ORGANISME,), -1, ORGANISME_INVALID),
    (0, (CardLabel.ISSUED,), -1, DATE_INVALID),
    (0, (CardLabel.ISSUED,), MAX_DAY + 1, DATE_INVALID),
    (0, (CardLabel.ISSUED,), "2026-11-01", DATE_INVALID),
    (0, (CardLabel.ISSUED,), True, DATE_INVALID),
]


@pytest.mark.parametrize(
    ("index", "path", "value", "expected"),
    WIRE_WRONG_VALUES,
    ids=[f"view{i}-{p}={v!r}"[:80] for i, p, v, _ in WIRE_WRONG_VALUES],
)
def test_wire_wrong_values_are_refused_with_their_exact_error(
    index: int,
    path: tuple[Any, ...],
    value: Any,
    expected: tuple[type[VitaleCredError], str],
) -> None:
    wire = _mutated(_bare_wire(index), path, value)
    _refused(*expected, CardView.from_wire, decode(encode(wire)))


@pytest.mark.parametrize("value", [[], None, 1, "card", b"\xa0"])
def test_wire_card_that_is_not_a_map_is_refused(value: Any) -> None:
    _refused(SchemaError, "schema.invalid", CardView.from_wire, value)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ((CardLabel.ISSUED,), 0),
        ((CardLabel.ISSUED,), MAX_DAY),
        ((CardLabel.SERIAL,), 2**63 - 1),
        ((CardLabel.SERIAL,), 0),
        ((*AMO_0, START), 0),
        ((*AMO_0, END), MAX_DAY),
        ((*AMO_0, END), 18_262),  # a period of one day
        ((*AMC, AMC_END), MAX_DAY),
        ((BEN, BeneficiaryLabel.AMO), [[0]] * 8),
        ((BEN, BeneficiaryLabel.BIRTH_DATE), MIN_BIRTH_WIRE),
        ((BEN, BeneficiaryLabel.BIRTH_DATE), MAX_BIRTH_WIRE),
        ((BEN, BeneficiaryLabel.BIRTH_DATE), _birth_wire(1850, 1, 1)),
        ((BEN, BeneficiaryLabel.BIRTH_DATE), _birth_wire(2000, 0, 0)),
        ((BEN, BeneficiaryLabel.GIVEN_NAMES), "Pierre"),
        ((BEN, BeneficiaryLabel.GIVEN_NAMES), ["A", "B", "C", "D"]),
        ((CardLabel.NIR,), _nir_wire(2 * 10**13 + 2_850_520_012_345)),
        ((BEN, BeneficiaryLabel.BIRTH_RANK), 9),
    ],
    ids=str,
)
def test_wire_boundary_values_are_accepted_and_reencode_identically(
    path: tuple[Any, ...], value: int
) -> None:
    data = encode(_mutated(_bare_wire(0), path, value))
    view = CardView.from_wire(decode(data))
    assert encode(view.to_wire()) == data


def test_wire_index_15_is_accepted_for_a_dependant() -> None:
    view = CardView.from_wire(_mutated(_wire(1), (CardLabel.INDEX,), 15))
    assert view.index == 15
    assert not view.is_insured


# --- the compact wire rules (arrays, defaults never written) ------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_wire_given_names_are_text_for_one_name_and_an_array_for_several(count: int) -> None:
    names = ("Pierre", "Louis", "Marie", "Jean-Baptiste")[:count]
    beneficiary = _beneficiary(given_names=names)
    wire = beneficiary.to_wire()[BeneficiaryLabel.GIVEN_NAMES]
    assert wire == (names[0] if count == 1 else list(names))
    data = encode(_mutated(_bare_wire(0), (BEN, BeneficiaryLabel.GIVEN_NAMES), wire))
    view = CardView.from_wire(decode(data))
    assert view.beneficiary.given_names == names
    assert encode(view.to_wire()) == data


def test_family5_given_names_on_the_wire() -> None:
    assert _wire(0)[BEN][BeneficiaryLabel.GIVEN_NAMES] == ["Pierre", "Louis"]
    assert _wire(1)[BEN][BeneficiaryLabel.GIVEN_NAMES] == "Claire"
    assert encode("Claire") == bytes.fromhex("66436c61697265")  # text: no array head


def test_wire_periods_exonerations_and_amc_are_arrays_in_their_order() -> None:
    insured, conjoint, last = _wire(0)[BEN], _wire(1)[BEN], _wire(4)[BEN]
    assert insured[BeneficiaryLabel.AMO] == [[18_262]]
    assert insured[BeneficiaryLabel.AMC] == ["75500017", "MUT-2026-0042", 20_454, 20_818]
    assert conjoint[BeneficiaryLabel.EXONERATIONS] == [[int(ExonerationCode.ALD), 19_783, 21_608]]
    assert last[BeneficiaryLabel.CSS] == [20_454, 20_818]


def test_period_wire_form_holds_the_end_only_when_there_is_one() -> None:
    start, end = dt.date(2020, 1, 1), dt.date(2020, 12, 31)
    assert Period(start).to_wire() == [18_262]
    assert Period(start, end).to_wire() == [18_262, 18_627]
    assert Period.from_wire([18_262]) == Period(start)
    assert Period.from_wire([18_262, 18_627]) == Period(start, end)
    exoneration = Exoneration(ExonerationCode.MATERNITE, Period(start))
    assert exoneration.to_wire() == [2, 18_262]
    assert Exoneration.from_wire([2, 18_262]) == exoneration
    amc = Amc("75500017", "C-1", Period(start, end))
    assert amc.to_wire() == ["75500017", "C-1", 18_262, 18_627]
    assert Amc.from_wire(["75500017", "C-1", 18_262]) == Amc("75500017", "C-1", Period(start))


@pytest.mark.parametrize(
    ("parse", "value"),
    [
        (Period.from_wire, []),
        (Period.from_wire, [1, 2, 3]),
        (Period.from_wire, {1: 1}),
        (Period.from_wire, (1,)),
        (Period.from_wire, 18_262),
        (Exoneration.from_wire, [1]),
        (Exoneration.from_wire, [1, 2, 3, 4]),
        (Exoneration.from_wire, {3: 1, 1: 2}),
        (Amc.from_wire, ["75500017", "C-1"]),
        (Amc.from_wire, ["75500017", "C-1", 1, 2, 3]),
        (Amc.from_wire, {1: "75500017", 2: "C-1", 3: 1}),
    ],
    ids=repr,
)
def test_period_arrays_of_the_wrong_length_or_type_are_schema_invalid(
    parse: Any, value: Any
) -> None:
    _refused(SchemaError, "schema.invalid", parse, value)


def test_qualite_is_on_the_wire_iff_the_view_is_a_dependants() -> None:
    assert BeneficiaryLabel.QUALITE not in _wire(0)[BEN]
    for index, qualite in ((1, Qualite.CONJOINT), (2, Qualite.ENFANT), (4, Qualite.ENFANT)):
        assert _wire(index)[BEN][BeneficiaryLabel.QUALITE] == int(qualite)


def test_beneficiary_from_wire_takes_the_qualite_of_the_insured_from_the_index() -> None:
    insured = _bare_wire(0)[BEN]
    assert Beneficiary.from_wire(insured, insured=True).qualite is Qualite.ASSURE
    _refused(SchemaMissingLabel, "schema.missing_label", Beneficiary.from_wire, insured)
    conjoint = _bare_wire(1)[BEN]
    assert Beneficiary.from_wire(conjoint).qualite is Qualite.CONJOINT
    with pytest.raises(SchemaError) as info:
        Beneficiary.from_wire(conjoint, insured=True)
    assert type(info.value) is SchemaError
    assert info.value.code == "schema.invalid"
    dependant_as_insured = _mutated(conjoint, (BeneficiaryLabel.QUALITE,), 0)
    _refused(
        CardDataError,
        "card.invalid",
        CardView.from_wire,
        {**_bare_wire(1), BEN: dependant_as_insured},
    )


def test_dependant_view_without_its_index_is_refused_as_carrying_a_qualite() -> None:
    # Dropping index(6) makes the view the insured's, whose qualite(5) must be absent.
    wire = _mutated(_wire(1), (CardLabel.INDEX,), _DELETE)
    _refused(SchemaError, "schema.invalid", CardView.from_wire, wire)


def test_index_0_is_never_written_and_a_dependants_index_always_is() -> None:
    card = _family5()
    assert CardLabel.INDEX not in card.view(0).to_wire()
    for index in range(1, 5):
        assert card.view(index).to_wire()[CardLabel.INDEX] == index


def test_card_map_is_exactly_the_v1_labels() -> None:
    assert set(_wire(0)) == {
        CardLabel.NIR,
        CardLabel.ORGANISME,
        CardLabel.SERIAL,
        CardLabel.ISSUED,
        CardLabel.BENEFICIARY,
    }
    assert set(_wire(1)) == set(_wire(0)) | {CardLabel.INDEX}


@pytest.mark.parametrize(
    ("index", "path", "expected"),
    [
        (0, (BEN,), SCHEMA_INVALID),
        (0, (BEN, BeneficiaryLabel.NIR), NIR_INVALID),
        (0, (BEN, BeneficiaryLabel.AMC), SCHEMA_INVALID),
        (1, (BEN, BeneficiaryLabel.EXONERATIONS), SCHEMA_INVALID),
        (4, (BEN, BeneficiaryLabel.CSS), SCHEMA_INVALID),
        (0, (*AMO_0, END), DATE_INVALID),
        (0, (*AMC, AMC_END), DATE_INVALID),
        (1, (*EXON_0, EXON_END), DATE_INVALID),
        (4, (*CSS, END), DATE_INVALID),
        (1, (CardLabel.INDEX,), SCHEMA_INVALID),
    ],
    ids=str,
)
def test_wire_null_for_an_optional_value_is_refused(
    index: int, path: tuple[Any, ...], expected: tuple[type[VitaleCredError], str]
) -> None:
    # spec/encoding.md 2.2 and 3.7: an absent optional field is omitted, never null;
    # accepting null would give one card two encodings. The strict decoder refuses
    # null on sight, and the model refuses it too when handed a value directly.
    wire = _mutated(_wire(index), path, None)
    _refused(CborTypeNotAllowed, "cbor.type_not_allowed", decode, encode(wire))
    _refused(*expected, CardView.from_wire, wire)


# --- property tests -------------------------------------------------------------------------------

_LETTERS = string.ascii_letters + "ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸàâäçéèêëîïôöùûüÿŒœÆæ"
WORDS = st.text(_LETTERS + "'-", min_size=1, max_size=20)
NAMES = st.one_of(
    st.lists(WORDS, min_size=1, max_size=3).map(" ".join),
    st.text(_LETTERS, min_size=64, max_size=64),
)
DAYS = st.dates(min_value=EPOCH, max_value=LAST_DAY)
DIGITS = "0123456789"


def _digits(low: int, high: int | None = None) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=low, max_size=low if high is None else high)


@st.composite
def periods(draw: st.DrawFn) -> Period:
    start = draw(DAYS)
    end = draw(st.none() | DAYS)
    if end is not None and end < start:
        start, end = end, start
    return Period(start, end)


@st.composite
def birth_dates(draw: st.DrawFn) -> BirthDate:
    day = draw(st.dates(min_value=dt.date(1850, 1, 1), max_value=LAST_DAY))
    kind = draw(st.sampled_from(["full", "day-00", "month-00"]))
    if kind == "full":
        return BirthDate(day.year, day.month, day.day)
    if kind == "day-00":
        return BirthDate(day.year, day.month, 0)
    return BirthDate(day.year, 0, 0)


@st.composite
def nirs(draw: st.DrawFn) -> Nir:
    month = draw(st.sampled_from([*range(1, 13), *range(20, 43), *range(50, 100)]))
    body = (
        draw(st.sampled_from("1278"))
        + draw(_digits(2))
        + f"{month:02d}"
        + draw(_digits(2) | st.sampled_from(["2A", "2B"]))
        + draw(_digits(6))
    )
    return Nir(f"{body}{nir_key(body):02d}")


AMCS = st.builds(
    Amc,
    _digits(1, 10),
    st.text(string.ascii_letters + DIGITS + "-/", min_size=1, max_size=32),
    periods(),
)
EXONERATIONS = st.builds(Exoneration, st.sampled_from(ExonerationCode), periods())
DEPENDANT_QUALITES = st.sampled_from([q for q in Qualite if q is not Qualite.ASSURE])


def beneficiaries(qualite: st.SearchStrategy[Qualite]) -> st.SearchStrategy[Beneficiary]:
    return st.builds(
        Beneficiary,
        family_name=NAMES,
        given_names=st.lists(NAMES, min_size=1, max_size=4).map(tuple),
        birth_date=birth_dates(),
        qualite=qualite,
        birth_rank=st.integers(1, 9),
        amo=st.lists(periods(), max_size=8).map(tuple),
        exonerations=st.lists(EXONERATIONS, max_size=8).map(tuple),
        css=st.none() | periods(),
        amc=st.none() | AMCS,
        nir=st.none() | nirs(),
    )


def _latest_birth(people: tuple[Beneficiary, ...]) -> dt.date:
    """The earliest day a card of ``people`` may be issued: after every birth."""
    born = max((b.birth_date.year, b.birth_date.month or 1, b.birth_date.day or 1) for b in people)
    return dt.date(*born)


@st.composite
def cards(draw: st.DrawFn) -> Card:
    people = draw(
        st.tuples(
            beneficiaries(st.just(Qualite.ASSURE)),
            st.lists(beneficiaries(DEPENDANT_QUALITES), max_size=MAX_BENEFICIARIES - 1),
        ).map(lambda pair: (pair[0], *pair[1]))
    )
    return Card(
        nir=draw(nirs()),
        organisme=draw(st.builds(Organisme, _digits(2), _digits(3), _digits(4))),
        serial=draw(st.integers(0, 2**63 - 1)),
        issued=draw(st.dates(min_value=max(EPOCH, _latest_birth(people)), max_value=LAST_DAY)),
        beneficiaries=people,
    )


CARDS = cards()


@ROUND_TRIP
@given(CARDS)
def test_json_to_model_to_cbor_to_model_round_trips_are_exact(card: Card) -> None:
    text = json.dumps(card.to_json(), ensure_ascii=False)
    parsed = Card.from_json(json.loads(text))
    assert parsed == card
    views = []
    for index in range(len(parsed.beneficiaries)):
        view = parsed.view(index)
        data = encode(view.to_wire())
        back = CardView.from_wire(decode(data))
        assert back == view
        assert encode(back.to_wire()) == data
        views.append(back)
    rebuilt = Card(
        views[0].nir,
        views[0].organisme,
        views[0].serial,
        views[0].issued,
        tuple(v.beneficiary for v in views),
    )
    assert rebuilt == card
    assert json.dumps(rebuilt.to_json(), ensure_ascii=False) == text


KEYS = st.one_of(st.integers(-2, 12), st.text(max_size=3), st.binary(max_size=3))
SCALARS = st.one_of(
    st.integers(-(2**64), 2**64 - 1),
    st.integers(-2, 30_000_000),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.booleans(),
    st.none(),
)
CBOR_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=8),
    max_leaves=30,
)
FAMILY5_WIRES = [_wire(index) for index in range(5)]


@st.composite
def mutated_wires(draw: st.DrawFn) -> Any:
    """A family5 view wire map with one to three random edits deep inside it."""
    wire = copy.deepcopy(draw(st.sampled_from(FAMILY5_WIRES)))
    for _ in range(draw(st.integers(1, 3))):
        containers: list[Any] = []
        stack: list[Any] = [wire]
        while stack:
            node = stack.pop()
            if isinstance(node, dict | list):
                containers.append(node)
                stack.extend(node.values() if isinstance(node, dict) else node)
        node = draw(st.sampled_from(containers))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if isinstance(node, dict):
            if action == "add" or not node:
                node[draw(KEYS)] = draw(CBOR_VALUES)
            else:
                key = draw(st.sampled_from(list(node)))
                if action == "delete":
                    del node[key]
                else:
                    node[key] = draw(CBOR_VALUES)
        elif action == "add" or not node:
            node.append(draw(CBOR_VALUES))
        else:
            position = draw(st.integers(0, len(node) - 1))
            if action == "delete":
                del node[position]
            else:
                node[position] = draw(CBOR_VALUES)
    return wire


@FUZZ
@given(CBOR_VALUES | st.dictionaries(st.integers(0, 6), CBOR_VALUES, max_size=8))
def test_arbitrary_decoded_values_into_from_wire_raise_only_library_errors(value: Any) -> None:
    with contextlib.suppress(VitaleCredError):
        CardView.from_wire(decode(encode(value)))


@FUZZ
@given(mutated_wires())
def test_mutated_card_wires_decode_or_raise_only_library_errors(wire: Any) -> None:
    try:
        data = encode(wire)
        view = CardView.from_wire(decode(data))
    except VitaleCredError:
        return
    assert CardView.from_wire(decode(encode(view.to_wire()))) == view
