"""INS (identité nationale de santé): JSON, wire and record forms, every rule with its code."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitale_cred.errors import (
    InsInvalid,
    InsMismatch,
    NirInvalid,
    SchemaError,
    SchemaMissingLabel,
    SchemaUnknownLabel,
    VitaleCredError,
)
from vitale_cred.hazmat.cbor import decode, encode
from vitale_cred.ins import OID_NIA, OID_NIR, Ins
from vitale_cred.model import BirthDate
from vitale_cred.nir import Nir, nir_key
from vitale_cred.registry import InsLabel

LEA_NIR = Nir("213047505612457")
LEA_BORN = BirthDate(2013, 4, 21)
LEA_JSON: dict[str, Any] = {
    "matricule": "2 13 04 75 056 124 57",
    "oid": OID_NIR,
    "birth_name": "MARTIN",
    "birth_given_names": ["Léa", "Marie"],
    "sex": "F",
    "birth_place": "75056",
}


def _nir(body: str) -> Nir:
    return Nir(f"{body}{nir_key(body):02d}")


def _expect(cls: type[VitaleCredError], call: Callable[[], object]) -> None:
    """``call`` raises exactly ``cls`` (not a parent, not a subclass)."""
    with pytest.raises(VitaleCredError) as info:
        call()
    assert type(info.value) is cls, f"{info.value!r} is not {cls.code}"


def _lea(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(LEA_JSON)
    out.update(changes)
    return out


def _ins(obj: dict[str, Any], born: BirthDate = LEA_BORN) -> Ins:
    return Ins.from_json(obj, birth_date=born)


def _from_wire(value: Any, **kwargs: Any) -> Ins:
    args: dict[str, Any] = {
        "own_nir": LEA_NIR,
        "family_name": "MARTIN",
        "given_names": ("Léa", "Marie"),
        "birth_date": LEA_BORN,
    }
    args.update(kwargs)
    return Ins.from_wire(value, **args)


# --- JSON -----------------------------------------------------------------------------


def test_json_example_round_trips_with_a_compact_matricule() -> None:
    ins = _ins(LEA_JSON)
    assert ins.matricule == LEA_NIR
    assert ins.birth_given_names == ("Léa", "Marie")
    assert ins.oid == OID_NIR
    assert ins.to_json() == _lea(matricule="213047505612457")
    assert _ins(ins.to_json()) == ins


@pytest.mark.parametrize(
    ("body", "oid", "sex"),
    [
        ("1780475056123", OID_NIR, "M"),
        ("2130475056124", OID_NIR, "F"),
        ("7780499123456", OID_NIA, "M"),
        ("8780499123456", OID_NIA, "F"),
    ],
)
def test_oid_and_sex_follow_the_first_digit(body: str, oid: str, sex: str) -> None:
    matricule = _nir(body)
    ins = _ins(
        _lea(matricule=matricule.value, oid=oid, sex=sex, birth_place=matricule.value[5:10]),
        BirthDate(1978, 4, 12) if body[1:3] == "78" else LEA_BORN,
    )
    assert (ins.oid, ins.sex) == (oid, sex)
    wrong_oid = OID_NIA if oid == OID_NIR else OID_NIR
    _expect(
        InsMismatch,
        lambda: _ins(
            _lea(matricule=matricule.value, oid=wrong_oid, sex=sex, birth_place="75056"),
            BirthDate(1978, 4, 12) if body[1:3] == "78" else LEA_BORN,
        ),
    )


@pytest.mark.parametrize("member", sorted(LEA_JSON))
def test_every_member_is_required(member: str) -> None:
    obj = _lea()
    del obj[member]
    _expect(InsInvalid, lambda: _ins(obj))


@pytest.mark.parametrize("obj", [_lea(birth_date="2013-04-21"), _lea(nir=None), _lea(extra=1)])
def test_unknown_members_are_refused(obj: dict[str, Any]) -> None:
    _expect(InsInvalid, lambda: _ins(obj))


@pytest.mark.parametrize("obj", [None, [], "213047505612457", 213047505612457])
def test_not_an_object(obj: Any) -> None:
    _expect(InsInvalid, lambda: Ins.from_json(obj, birth_date=LEA_BORN))


@pytest.mark.parametrize(
    ("matricule", "error"),
    [
        (213047505612457, InsInvalid),
        (None, InsInvalid),
        ("213047505612458", NirInvalid),  # wrong key
        ("3130475056124", NirInvalid),  # 13 characters
        ("313047505612430", NirInvalid),  # sex digit 3 is outside the profile
        ("2 13 00 75 056 124 ..", NirInvalid),
    ],
)
def test_matricule_must_be_a_valid_nir(matricule: Any, error: type[VitaleCredError]) -> None:
    _expect(error, lambda: _ins(_lea(matricule=matricule)))


def test_matricule_accepts_separators() -> None:
    assert _ins(_lea(matricule="2.13.04.75.056.124.57")).matricule == LEA_NIR


@pytest.mark.parametrize(
    ("oid", "error"),
    [
        (OID_NIA, InsMismatch),
        ("1.2.250.1.213.1.4.2", InsInvalid),
        (OID_NIR + " ", InsInvalid),
        (None, InsInvalid),
        (8, InsInvalid),
    ],
)
def test_oid_must_be_the_one_the_matricule_implies(oid: Any, error: type[VitaleCredError]) -> None:
    _expect(error, lambda: _ins(_lea(oid=oid)))


@pytest.mark.parametrize(
    ("sex", "error"),
    [("M", InsMismatch), ("f", InsInvalid), ("X", InsInvalid), ("", InsInvalid), (2, InsInvalid)],
)
def test_sex_must_match_the_matricule(sex: Any, error: type[VitaleCredError]) -> None:
    _expect(error, lambda: _ins(_lea(sex=sex)))


@pytest.mark.parametrize(
    "born",
    [
        BirthDate(2013, 4, 21),
        BirthDate(2013, 4, 0),  # day unknown
        BirthDate(2013, 0, 0),  # day and month unknown
    ],
)
def test_birth_date_consistent_with_the_matricule(born: BirthDate) -> None:
    assert _ins(LEA_JSON, born).birth_date == born


@pytest.mark.parametrize(
    "born",
    [
        BirthDate(1913, 4, 21),  # same two digits, other century: accepted
        BirthDate(2113, 4, 21),
    ],
)
def test_only_two_year_digits_are_compared(born: BirthDate) -> None:
    assert _ins(LEA_JSON, born).birth_date == born


@pytest.mark.parametrize(
    "born",
    [
        BirthDate(2014, 4, 21),  # year
        BirthDate(2003, 4, 21),  # year
        BirthDate(2013, 5, 21),  # month
        BirthDate(2013, 12, 0),  # month, day unknown
    ],
)
def test_birth_date_contradicting_the_matricule(born: BirthDate) -> None:
    _expect(InsMismatch, lambda: _ins(LEA_JSON, born))


@pytest.mark.parametrize("month", [0, 1, 7, 12])
def test_fictitious_matricule_month_says_nothing(month: int) -> None:
    matricule = Nir("280352001234548")  # month 35: incomplete civil record
    born = BirthDate(1980, month, 0 if month == 0 else 3)
    obj = _lea(matricule=matricule.value, birth_place="2A012")
    assert _ins(obj, born).matricule == matricule
    _expect(InsMismatch, lambda: _ins(obj, BirthDate(1981, month, 0)))


@pytest.mark.parametrize(
    "code",
    [
        "75056",
        "01001",
        "95690",
        "13055",
        "2A004",  # Corsica
        "2B033",
        "97101",  # Guadeloupe
        "97209",
        "97302",
        "97411",  # Réunion
        "97502",  # Saint-Pierre-et-Miquelon
        "97611",  # Mayotte
        "97701",  # Saint-Barthélemy
        "97801",  # Saint-Martin
        "98415",
        "98611",
        "98735",  # Polynésie française
        "98818",  # Nouvelle-Calédonie
        "98501",  # Mayotte before 2011
        "99100",  # abroad: first code of the range
        "99352",  # Algeria
        "99999",
    ],
)
def test_cog_codes_accepted(code: str) -> None:
    assert _ins(_lea(birth_place=code)).birth_place == code


@pytest.mark.parametrize(
    "code",
    [
        "20004",  # Corsica is 2A/2B in the COG
        "00001",
        "96001",
        "99000",
        "99099",
        "2a004",
        "2C004",
        "2A00B",
        "7505",
        "750560",
        "7505A",
        " 7505",
        "７５０５６",  # fullwidth digits
        "",
        75056,
        None,
    ],
)
def test_cog_codes_refused(code: Any) -> None:
    _expect(InsInvalid, lambda: _ins(_lea(birth_place=code)))


def test_birth_place_may_differ_from_the_matricule() -> None:
    # Corsica before 1976 (department 20), a commune merged since, born in Algeria
    # before 1962 (department 91-94 in the NIR): the COG code is the referential's.
    assert _ins(_lea(birth_place="13055")).birth_place == "13055"
    corsica = _nir("1700320004012")
    obj = _lea(matricule=corsica.value, sex="M", birth_place="2A004")
    assert _ins(obj, BirthDate(1970, 3, 1)).birth_place == "2A004"
    algeria = _nir("1550391352004")
    obj = _lea(matricule=algeria.value, sex="M", birth_place="99352")
    assert _ins(obj, BirthDate(1955, 3, 1)).birth_place == "99352"


@pytest.mark.parametrize(
    "name",
    ["", " MARTIN", "MARTIN ", "MAR\tTIN", "MAR\u200bTIN", "M" * 65, None, 7, ["MARTIN"]],
)
def test_birth_name_text_rules(name: Any) -> None:
    _expect(InsInvalid, lambda: _ins(_lea(birth_name=name)))


@pytest.mark.parametrize("name", ["M" * 64, "DE LA FONTAINE", "N'DIAYE", "Ø"])
def test_birth_name_accepted(name: str) -> None:
    assert _ins(_lea(birth_name=name)).birth_name == name


@pytest.mark.parametrize(
    "names",
    [
        [],
        ["A", "B", "C", "D", "E"],
        [""],
        [" Léa"],
        ["Léa\n"],
        ["L" * 65],
        ["Léa", None],
        ["Léa", 1],
        "Léa",
        None,
        ("Léa",),  # a JSON array, not a tuple
    ],
)
def test_birth_given_names_rules(names: Any) -> None:
    _expect(InsInvalid, lambda: _ins(_lea(birth_given_names=names)))


def test_four_given_names_accepted() -> None:
    names = ["Léa", "Marie", "Anne-Sophie", "L" * 64]
    assert _ins(_lea(birth_given_names=names)).birth_given_names == tuple(names)


# --- constructor ----------------------------------------------------------------------


def test_constructor_checks_the_same_rules() -> None:
    ins = _ins(LEA_JSON)
    fields = {f: getattr(ins, f) for f in Ins.__dataclass_fields__}
    assert Ins(**fields) == ins
    _expect(InsInvalid, lambda: Ins(**{**fields, "matricule": LEA_NIR.value}))
    _expect(InsInvalid, lambda: Ins(**{**fields, "birth_given_names": ["Léa"]}))
    _expect(InsMismatch, lambda: Ins(**{**fields, "sex": "M"}))
    _expect(InsInvalid, lambda: Ins(**{**fields, "birth_place": "20004"}))


# --- wire -----------------------------------------------------------------------------


def test_wire_carries_nothing_derivable() -> None:
    ins = _ins(LEA_JSON)
    assert ins.to_wire(LEA_NIR, "MARTIN", ("Léa", "Marie")) == {}
    assert _from_wire({}) == ins


def test_wire_carries_what_differs() -> None:
    ins = _ins(_lea(birth_name="DURAND", birth_place="13055"))
    wire = ins.to_wire(None, "MARTIN-DURAND", ["Marie"])
    assert wire == {
        InsLabel.MATRICULE: LEA_NIR.to_wire(),
        InsLabel.BIRTH_NAME: "DURAND",
        InsLabel.BIRTH_GIVEN_NAMES: ["Léa", "Marie"],
        InsLabel.BIRTH_PLACE: "13055",
    }
    back = decode(encode(wire))
    assert back == {
        1: bytes.fromhex("01f00a357bfc"),
        2: "DURAND",
        3: ["Léa", "Marie"],
        4: "13055",
    }
    rebuilt = _from_wire(back, own_nir=None, family_name="MARTIN-DURAND", given_names=["Marie"])
    assert rebuilt == ins


def test_wire_matricule_is_the_6_byte_form() -> None:
    wire = _ins(LEA_JSON).to_wire(Nir("178047505612327"), "MARTIN", ("Léa", "Marie"))
    assert wire == {InsLabel.MATRICULE: (2_130_475_056_124).to_bytes(6, "big")}
    assert encode(wire) == bytes.fromhex("a1014601f00a357bfc")


# --- wire: birth given names, full (3) or continued (5) ---------------------------------------


def test_birth_given_names_started_by_the_given_names_carry_only_the_rest() -> None:
    ins = _ins(LEA_JSON)
    wire = ins.to_wire(LEA_NIR, "MARTIN", ["Léa"])
    assert wire == {InsLabel.MORE_GIVEN_NAMES: ["Marie"]}
    assert encode(wire) == bytes.fromhex("a10581654d61726965")
    assert _from_wire(decode(encode(wire)), given_names=["Léa"]) == ins


@pytest.mark.parametrize(
    ("given", "birth", "expected"),
    [
        (["Léa"], ["Léa", "Marie"], {5: ["Marie"]}),
        (["Léa"], ["Léa", "Marie", "Anne", "Sophie"], {5: ["Marie", "Anne", "Sophie"]}),
        (["Léa", "Marie", "Anne"], ["Léa", "Marie", "Anne", "Sophie"], {5: ["Sophie"]}),
        (["Léa", "Marie"], ["Léa", "Marie"], {}),
        (["Marie"], ["Léa", "Marie"], {3: ["Léa", "Marie"]}),  # not started by the given names
        (["Léa", "Marie"], ["Léa"], {3: ["Léa"]}),  # fewer birth given names
        (["Léa", "Anne"], ["Léa", "Marie"], {3: ["Léa", "Marie"]}),
        (["Marie", "Léa"], ["Léa", "Marie"], {3: ["Léa", "Marie"]}),  # order counts
    ],
)
def test_birth_given_names_have_one_wire_form(
    given: list[str], birth: list[str], expected: dict[int, Any]
) -> None:
    ins = _ins(_lea(birth_given_names=birth))
    wire = decode(encode(ins.to_wire(LEA_NIR, "MARTIN", given)))
    assert wire == expected
    assert _from_wire(wire, given_names=given) == ins


def test_birth_given_names_and_more_given_names_together_are_refused() -> None:
    _expect(
        SchemaError,
        lambda: _from_wire(
            {InsLabel.BIRTH_GIVEN_NAMES: ["Anne"], InsLabel.MORE_GIVEN_NAMES: ["Marie"]},
            given_names=["Léa"],
        ),
    )
    # Even where each alone would be valid.
    assert _from_wire({InsLabel.BIRTH_GIVEN_NAMES: ["Anne"]}, given_names=["Léa"])
    assert _from_wire({InsLabel.MORE_GIVEN_NAMES: ["Marie"]}, given_names=["Léa"])


def test_empty_more_given_names_is_refused() -> None:
    _expect(SchemaError, lambda: _from_wire({InsLabel.MORE_GIVEN_NAMES: []}))
    _expect(SchemaError, lambda: _from_wire({InsLabel.MORE_GIVEN_NAMES: []}, given_names=["Léa"]))


@pytest.mark.parametrize(
    ("given", "names"),
    [
        (["Léa"], ["Léa", "Marie"]),  # more_given_names(5) ["Marie"] is the form
        (["Léa"], ["Léa"]),  # equal: omitted
        (["Léa", "Marie"], ["Léa", "Marie"]),
        (["Léa", "Marie"], ["Léa", "Marie", "Anne"]),
        (["Léa", "Marie", "Anne", "Sophie"], ["Léa", "Marie", "Anne", "Sophie"]),
    ],
)
def test_birth_given_names_started_by_the_given_names_are_refused(
    given: list[str], names: list[str]
) -> None:
    _expect(
        SchemaError,
        lambda: _from_wire({InsLabel.BIRTH_GIVEN_NAMES: names}, given_names=given),
    )


@pytest.mark.parametrize(
    ("given", "more"),
    [
        (["Léa"], ["A", "B", "C", "D"]),
        (["Léa", "Marie"], ["A", "B", "C"]),
        (["Léa", "Marie", "Anne"], ["A", "B"]),
        (["Léa", "Marie", "Anne", "Sophie"], ["A"]),
    ],
)
def test_given_names_and_more_given_names_beyond_four_names_are_refused(
    given: list[str], more: list[str]
) -> None:
    _expect(InsInvalid, lambda: _from_wire({InsLabel.MORE_GIVEN_NAMES: more}, given_names=given))


@pytest.mark.parametrize("count", [1, 2, 3])
def test_given_names_and_more_given_names_up_to_four_names_are_accepted(count: int) -> None:
    given = ["Léa", "Marie", "Anne"][:count]
    more = ["A", "B", "C"][: 4 - count]
    ins = _from_wire({InsLabel.MORE_GIVEN_NAMES: more}, given_names=given)
    assert ins.birth_given_names == (*given, *more)
    assert ins.to_wire(LEA_NIR, "MARTIN", given) == {InsLabel.MORE_GIVEN_NAMES: more}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("Marie", SchemaError),
        (["Marie", 1], SchemaError),
        (["Marie", None], SchemaError),
        ({1: "Marie"}, SchemaError),
        (None, SchemaError),
        (b"Marie", SchemaError),
        ([], SchemaError),
        ([""], InsInvalid),
        (["Marie "], InsInvalid),
        (["M" * 65], InsInvalid),
        (["\u0085Marie"], InsInvalid),
    ],
)
def test_more_given_names_types_and_values(value: Any, error: type[VitaleCredError]) -> None:
    _expect(error, lambda: _from_wire({InsLabel.MORE_GIVEN_NAMES: value}, given_names=["Léa"]))


def test_child_matricule_differs_from_the_insured() -> None:
    ins = _ins(LEA_JSON)
    insured = Nir("178047505612327")
    wire = ins.to_wire(insured, "MARTIN", ("Léa", "Marie"))
    assert wire == {InsLabel.MATRICULE: LEA_NIR.to_wire()}
    assert _from_wire(wire, own_nir=insured) == ins


@pytest.mark.parametrize(
    ("body", "born", "place", "sex"),
    [
        ("285052A012345", BirthDate(1985, 5, 2), "2A012", "F"),  # Corsica
        ("285052B012345", BirthDate(1985, 5, 2), "2B012", "F"),
        ("1900797411033", BirthDate(1990, 7, 14), "97411", "M"),  # Réunion
        ("2900797611033", BirthDate(1990, 7, 14), "97611", "F"),  # Mayotte
        ("7950199123456", BirthDate(1995, 1, 0), "99123", "M"),  # NIA, abroad
        ("8020199350077", BirthDate(2002, 0, 0), "99350", "F"),  # NIA, lunar date
    ],
)
def test_birth_place_from_the_matricule_is_omitted(
    body: str, born: BirthDate, place: str, sex: str
) -> None:
    matricule = _nir(body)
    ins = Ins(matricule, "MARTIN", ("Léa",), born, sex, place)
    assert ins.oid == (OID_NIA if body[0] in "78" else OID_NIR)
    assert ins.to_wire(matricule, "MARTIN", ["Léa"]) == {}
    rebuilt = Ins.from_wire(
        {}, own_nir=matricule, family_name="MARTIN", given_names=["Léa"], birth_date=born
    )
    assert rebuilt == ins


def test_corsica_before_1976_carries_its_birth_place() -> None:
    matricule = _nir("1700320004012")
    born = BirthDate(1970, 3, 1)
    ins = Ins(matricule, "CASANOVA", ("Ange",), born, "M", "2A004")
    assert ins.to_wire(matricule, "CASANOVA", ["Ange"]) == {InsLabel.BIRTH_PLACE: "2A004"}
    # Omitted, the birth place would be the matricule's "20004", not a COG code.
    _expect(
        InsInvalid,
        lambda: Ins.from_wire(
            {}, own_nir=matricule, family_name="CASANOVA", given_names=["Ange"], birth_date=born
        ),
    )


@pytest.mark.parametrize(
    "wire",
    [
        {InsLabel.MATRICULE: LEA_NIR.to_wire()},
        {InsLabel.BIRTH_NAME: "MARTIN"},
        {InsLabel.BIRTH_GIVEN_NAMES: ["Léa", "Marie"]},
        {InsLabel.MORE_GIVEN_NAMES: []},
        {InsLabel.BIRTH_PLACE: "75056"},
    ],
    ids=["matricule", "birth_name", "birth_given_names", "more_given_names", "birth_place"],
)
def test_a_label_equal_to_its_default_is_refused(wire: dict[int, Any]) -> None:
    _expect(SchemaError, lambda: _from_wire(decode(encode(wire))))


def test_missing_matricule_without_own_nir() -> None:
    _expect(SchemaMissingLabel, lambda: _from_wire({}, own_nir=None))
    _expect(SchemaMissingLabel, lambda: _from_wire({InsLabel.BIRTH_PLACE: "13055"}, own_nir=None))


@pytest.mark.parametrize("label", [0, 6, 11, -1, "1", b"\x01", True])
def test_unknown_labels_are_refused(label: Any) -> None:
    _expect(SchemaUnknownLabel, lambda: _from_wire({label: 1}))
    _expect(SchemaUnknownLabel, lambda: _from_wire({InsLabel.BIRTH_NAME: "DURAND", label: 1}))


@pytest.mark.parametrize("value", [[], None, "", 0, b"\xa0", [[1, 2]]])
def test_wire_value_must_be_a_map(value: Any) -> None:
    _expect(SchemaError, lambda: _from_wire(value))


@pytest.mark.parametrize(
    ("label", "value", "error"),
    [
        (InsLabel.MATRICULE, True, SchemaError),
        (InsLabel.MATRICULE, "213047505612457", SchemaError),
        (InsLabel.MATRICULE, None, SchemaError),
        (InsLabel.MATRICULE, -1, SchemaError),
        (InsLabel.MATRICULE, 2130475056124, SchemaError),  # the number, not the 6-byte form
        (InsLabel.MATRICULE, 3 * 10**13, SchemaError),
        (InsLabel.MATRICULE, bytearray(LEA_NIR.to_wire()), SchemaError),
        (InsLabel.MATRICULE, (3 * 10**13).to_bytes(6, "big"), NirInvalid),
        (InsLabel.MATRICULE, (3130475056124).to_bytes(6, "big"), NirInvalid),  # sex digit 3
        (InsLabel.MATRICULE, b"", NirInvalid),
        (InsLabel.MATRICULE, LEA_NIR.to_wire()[1:], NirInvalid),  # 5 bytes
        (InsLabel.MATRICULE, b"\x00" + LEA_NIR.to_wire(), NirInvalid),  # 7 bytes
        (InsLabel.BIRTH_NAME, 1, SchemaError),
        (InsLabel.BIRTH_NAME, b"DURAND", SchemaError),
        (InsLabel.BIRTH_NAME, None, SchemaError),
        (InsLabel.BIRTH_NAME, ["DURAND"], SchemaError),
        (InsLabel.BIRTH_NAME, "", InsInvalid),
        (InsLabel.BIRTH_NAME, "DURAND ", InsInvalid),
        (InsLabel.BIRTH_NAME, "D" * 65, InsInvalid),
        (InsLabel.BIRTH_GIVEN_NAMES, "Léa", SchemaError),
        (InsLabel.BIRTH_GIVEN_NAMES, ["Léa", 1], SchemaError),
        (InsLabel.BIRTH_GIVEN_NAMES, ["Léa", None], SchemaError),
        (InsLabel.BIRTH_GIVEN_NAMES, {1: "Léa"}, SchemaError),
        (InsLabel.BIRTH_GIVEN_NAMES, [], InsInvalid),
        (InsLabel.BIRTH_GIVEN_NAMES, ["A", "B", "C", "D", "E"], InsInvalid),
        (InsLabel.BIRTH_GIVEN_NAMES, ["Léa", "\u0085Marie"], InsInvalid),
        (InsLabel.BIRTH_PLACE, 75056, SchemaError),
        (InsLabel.BIRTH_PLACE, None, SchemaError),
        (InsLabel.BIRTH_PLACE, "20004", InsInvalid),
        (InsLabel.BIRTH_PLACE, "99099", InsInvalid),
        (InsLabel.BIRTH_PLACE, "2a004", InsInvalid),
    ],
)
def test_wire_field_types_and_values(
    label: InsLabel, value: Any, error: type[VitaleCredError]
) -> None:
    _expect(error, lambda: _from_wire({label: value}, own_nir=Nir("178047505612327")))


def test_wire_matricule_contradicting_the_birth_date() -> None:
    _expect(InsMismatch, lambda: _from_wire({}, birth_date=BirthDate(2014, 4, 21)))
    _expect(InsMismatch, lambda: _from_wire({}, birth_date=BirthDate(2013, 5, 0)))
    assert _from_wire({}, birth_date=BirthDate(2013, 0, 0)).birth_date == BirthDate(2013, 0, 0)


def test_wire_sex_is_derived_from_the_matricule() -> None:
    nia = _nir("7130475056124")
    ins = _from_wire({InsLabel.MATRICULE: nia.to_wire()})
    assert (ins.sex, ins.oid) == ("M", OID_NIA)


# --- record ---------------------------------------------------------------------------


def test_record() -> None:
    assert _ins(LEA_JSON).to_record() == {
        "matricule": "213047505612457",
        "oid": OID_NIR,
        "birth_name": "MARTIN",
        "birth_given_names": "Léa Marie",
        "birth_date": "2013-04-21",
        "sex": "F",
        "birth_place": "75056",
    }


def test_record_of_a_lunar_birth_date_and_a_nia() -> None:
    nia = _nir("8160199350077")
    ins = Ins(nia, "HADDAD", ("Inès",), BirthDate(2016, 0, 0), "F", "99350")
    record = ins.to_record()
    assert (record["birth_date"], record["oid"], record["matricule"]) == (
        "2016-00-00",
        OID_NIA,
        nia.value,
    )


# --- round trip -----------------------------------------------------------------------

_DEPARTMENTS = st.one_of(
    st.integers(1, 95).filter(lambda d: d != 20).map(lambda d: f"{d:02d}"),
    st.sampled_from(["2A", "2B", "20"]),
)
_NAME_CHARS = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghéèëçïôœÆØ'- ")
_NAMES = st.text(_NAME_CHARS, min_size=1, max_size=64).filter(lambda s: s == s.strip())
_COG = st.one_of(
    st.builds(
        lambda d, c: f"{d}{c:03d}", _DEPARTMENTS.filter(lambda d: d != "20"), st.integers(0, 999)
    ),
    st.builds(lambda d, c: f"{d}{c:02d}", st.integers(970, 989), st.integers(0, 99)),
    st.integers(99100, 99999).map(str),
)


@st.composite
def _matricules(draw: st.DrawFn) -> Nir:
    sex = draw(st.sampled_from("1278"))
    year = draw(st.integers(0, 99))
    month = draw(st.one_of(st.integers(1, 12), st.integers(20, 42), st.integers(50, 99)))
    place = draw(
        st.one_of(
            st.builds(lambda d, c: f"{d}{c:03d}", _DEPARTMENTS, st.integers(0, 999)),
            st.builds(lambda d, c: f"{d}{c:02d}", st.integers(970, 989), st.integers(0, 99)),
            st.integers(99000, 99999).map(str),
        )
    )
    order = draw(st.integers(0, 999))
    return _nir(f"{sex}{year:02d}{month:02d}{place}{order:03d}")


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Ins, Nir | None, str, tuple[str, ...]]:
    matricule = draw(_matricules())
    v = matricule.value
    year = int(v[1:3]) + draw(st.sampled_from([1900, 2000]))
    month = int(v[3:5])
    # A real matricule month is the birth month, or the birth month is unknown.
    month = draw(st.sampled_from([month, 0]) if 1 <= month <= 12 else st.integers(0, 12))
    day = 0 if month == 0 else draw(st.integers(0, 28))
    born = BirthDate(year, month, day)
    places = [draw(_COG)] + ([v[5:10]] if draw(st.booleans()) else [])
    place = places[-1]
    if place.startswith("20") or (place.startswith("99") and place < "99100"):
        place = places[0]  # the matricule's place is not a COG code
    ins = Ins(
        matricule=matricule,
        birth_name=draw(_NAMES),
        birth_given_names=tuple(draw(st.lists(_NAMES, min_size=1, max_size=4))),
        birth_date=born,
        sex="M" if v[0] in "17" else "F",
        birth_place=place,
    )
    own = draw(st.sampled_from([None, matricule, draw(_matricules())]))
    family = ins.birth_name if draw(st.booleans()) else draw(_NAMES)
    given = (
        ins.birth_given_names
        if draw(st.booleans())
        else tuple(draw(st.lists(_NAMES, min_size=1, max_size=4)))
    )
    return ins, own, family, given


@given(_cases())
def test_round_trip_json_wire_json(case: tuple[Ins, Nir | None, str, tuple[str, ...]]) -> None:
    ins, own, family, given_names = case
    obj = ins.to_json()
    parsed = Ins.from_json(obj, birth_date=ins.birth_date)
    assert parsed == ins
    wire = decode(encode(parsed.to_wire(own, family, given_names)))
    assert (InsLabel.MATRICULE in wire) == (own != ins.matricule)
    assert (InsLabel.BIRTH_NAME in wire) == (family != ins.birth_name)
    names = ins.birth_given_names
    continued = names != given_names and names[: len(given_names)] == given_names
    assert (InsLabel.MORE_GIVEN_NAMES in wire) == continued
    if continued:
        assert wire[InsLabel.MORE_GIVEN_NAMES] == list(names[len(given_names) :])
    assert (InsLabel.BIRTH_GIVEN_NAMES in wire) == (given_names != names and not continued)
    assert (InsLabel.BIRTH_PLACE in wire) == (ins.birth_place != ins.matricule.value[5:10])
    back = Ins.from_wire(
        wire,
        own_nir=own,
        family_name=family,
        given_names=list(given_names),
        birth_date=ins.birth_date,
    )
    assert back == ins
    assert back.to_json() == obj
    assert back.to_record()["birth_given_names"] == " ".join(ins.birth_given_names)
