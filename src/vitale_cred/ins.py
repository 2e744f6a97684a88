"""The INS (identité nationale de santé) of a beneficiary, and its three forms.

An INS is the matricule INS (the person's own NIR, or a NIA while a NIR is
pending), the OID naming which of the two it is, and five strict traits: birth
name, birth given names, birth date, sex and the COG (INSEE) code of the birth
place. Rules and forms: ``spec/data-model.md`` section 3.4.

* JSON (issuer input): a closed object of six members; the birth date is the
  beneficiary's and is passed in.
* Wire: a map that carries only what the beneficiary and the matricule do not
  already say (``InsLabel``); the decoder takes the beneficiary's data to
  rebuild the rest and refuses a label whose value it would have derived.
* Record: the flat text fields a practice system stores.

This module sits below the card model, which holds an ``Ins`` per beneficiary;
the birth date is therefore typed by :class:`BirthDateLike`, which the model's
``BirthDate`` satisfies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vitale_cred._schema import labelled_map
from vitale_cred.errors import (
    InsInvalid,
    InsMismatch,
    SchemaError,
    SchemaMissingLabel,
)
from vitale_cred.nir import Nir
from vitale_cred.registry import InsLabel, label_name, numbers

__all__ = ["MAX_GIVEN_NAMES", "MAX_NAME_CHARS", "OID_NIA", "OID_NIR", "BirthDateLike", "Ins"]

#: OID of an INS whose matricule is a NIR.
OID_NIR = "1.2.250.1.213.1.4.8"
#: OID of an INS whose matricule is a NIA (temporary number).
OID_NIA = "1.2.250.1.213.1.4.9"
#: Longest name, in characters (the card model's limit).
MAX_NAME_CHARS = 64
#: Most birth given names (the card model's limit).
MAX_GIVEN_NAMES = 4

_JSON_MEMBERS = frozenset(
    {"matricule", "oid", "birth_name", "birth_given_names", "sex", "birth_place"}
)
_WIRE_LABELS = frozenset(InsLabel)
# The labels as the decoder reads them (registry.Numbers says why).
_I = numbers(InsLabel)
_OIDS = frozenset({OID_NIR, OID_NIA})
_SEX_OF_DIGIT = {"1": "M", "2": "F", "7": "M", "8": "F"}


class BirthDateLike(Protocol):
    """A birth date as the card model holds it: month and day may be 0 (lunar dates)."""

    @property
    def year(self) -> int: ...

    @property
    def month(self) -> int: ...

    @property
    def day(self) -> int: ...


def _check_text(value: object, what: str) -> str:
    # The card model's name rule, restated here: the model imports this module.
    if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS:
        raise InsInvalid(f"{what} must be text of 1..{MAX_NAME_CHARS} characters")
    if not value.isprintable() or value != value.strip():
        raise InsInvalid(f"{what} has control characters or surrounding spaces")
    return value


def _check_given_names(names: object) -> tuple[str, ...]:
    if not isinstance(names, tuple) or not 1 <= len(names) <= MAX_GIVEN_NAMES:
        raise InsInvalid(f"INS birth given names must be 1..{MAX_GIVEN_NAMES} names")
    for name in names:
        _check_text(name, "INS birth given name")
    return names


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_cog(code: str) -> bool:
    """True when ``code`` has the syntax of a COG birth-place code."""
    if len(code) != 5:
        return False
    dept = code[:2]
    if dept in ("2A", "2B"):
        return _is_digits(code[2:])
    if not _is_digits(code):
        return False
    if dept == "99":
        return code[2:] >= "100"  # 99100..99999: a country or territory abroad
    # 97x and 98x are three-digit departments and collectivities (971 Guadeloupe ..
    # 976 Mayotte, 975, 977, 978, 984, 986-989; Mayotte was 985 before 2011):
    # the syntax accepts every x so that a code valid at the birth date stays valid.
    return dept in ("97", "98") or ("01" <= dept <= "95" and dept != "20")


def _check_cog(value: object) -> str:
    if not isinstance(value, str) or not _is_cog(value):
        raise InsInvalid(
            f"INS birth place {value!r} is not a COG code: department 01-95 (not 20) or "
            "2A/2B + 3 digits, 97x/98x + 2 digits, or 99100-99999 abroad"
        )
    return value


def _expected_oid(matricule: Nir) -> str:
    return OID_NIA if matricule.is_temporary else OID_NIR


@dataclass(frozen=True, slots=True)
class Ins:
    """A validated INS: the matricule and the five strict traits, mutually consistent."""

    matricule: Nir
    birth_name: str
    birth_given_names: tuple[str, ...]
    birth_date: BirthDateLike
    sex: str
    birth_place: str

    def __post_init__(self) -> None:
        if not isinstance(self.matricule, Nir):
            raise InsInvalid("INS matricule must be a Nir")
        _check_text(self.birth_name, "INS birth name")
        _check_given_names(self.birth_given_names)
        year, month = self.birth_date.year, self.birth_date.month
        if type(year) is not int or type(month) is not int or not 0 <= month <= 12:
            raise InsInvalid("INS birth date must have an integer year and a month 0..12")
        if self.sex not in ("M", "F"):
            raise InsInvalid(f"INS sex must be 'M' or 'F', not {self.sex!r}")
        _check_cog(self.birth_place)
        self._check_consistency()

    def _check_consistency(self) -> None:
        v = self.matricule.value
        if self.sex != _SEX_OF_DIGIT[v[0]]:
            raise InsMismatch(f"INS sex {self.sex} contradicts the matricule's first digit {v[0]}")
        year = self.birth_date.year
        if v[1:3] != f"{year % 100:02d}":
            raise InsMismatch(f"INS matricule year {v[1:3]} contradicts the birth year {year}")
        # A fictitious matricule month (20-42, 50-99) or an unknown birth month (00)
        # says nothing, so only two real months are compared.
        month = self.birth_date.month
        if 1 <= int(v[3:5]) <= 12 and month != 0 and int(v[3:5]) != month:
            raise InsMismatch(
                f"INS matricule month {v[3:5]} contradicts the birth month {month:02d}"
            )

    @property
    def oid(self) -> str:
        """The OID of the matricule's kind: ``OID_NIR`` (sex digit 1/2) or ``OID_NIA`` (7/8)."""
        return _expected_oid(self.matricule)

    # --- JSON ---------------------------------------------------------------------

    @classmethod
    def from_json(cls, obj: Any, *, birth_date: BirthDateLike) -> Ins:
        """Parse the closed JSON object; ``birth_date`` is the beneficiary's."""
        if not isinstance(obj, Mapping):
            raise InsInvalid("ins must be a JSON object")
        keys = set(obj)
        if missing := _JSON_MEMBERS - keys:
            raise InsInvalid(f"ins lacks {sorted(missing)}")
        if unknown := keys - _JSON_MEMBERS:
            raise InsInvalid(f"ins has unknown fields {sorted(map(str, unknown))}")
        text = obj["matricule"]
        if not isinstance(text, str):
            raise InsInvalid("INS matricule must be a string")
        matricule = Nir.parse(text)
        oid = obj["oid"]
        if not isinstance(oid, str) or oid not in _OIDS:
            raise InsInvalid(f"INS oid {oid!r} is neither {OID_NIR} nor {OID_NIA}")
        if oid != _expected_oid(matricule):
            raise InsMismatch(f"INS oid {oid} contradicts the matricule's first digit")
        given = obj["birth_given_names"]
        if not isinstance(given, list):
            raise InsInvalid("INS birth_given_names must be a list")
        return cls(
            matricule=matricule,
            birth_name=obj["birth_name"],
            birth_given_names=tuple(given),
            birth_date=birth_date,
            sex=obj["sex"],
            birth_place=obj["birth_place"],
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object; the matricule is written compact (15 characters, no separator)."""
        return {
            "matricule": self.matricule.value,
            "oid": self.oid,
            "birth_name": self.birth_name,
            "birth_given_names": list(self.birth_given_names),
            "sex": self.sex,
            "birth_place": self.birth_place,
        }

    # --- wire ---------------------------------------------------------------------

    def to_wire(
        self, own_nir: Nir | None, family_name: str, given_names: Sequence[str]
    ) -> dict[int, Any]:
        """The wire map: only the fields the beneficiary and the matricule do not imply."""
        out: dict[int, Any] = {}
        if self.matricule != own_nir:
            out[InsLabel.MATRICULE] = self.matricule.to_wire()
        if self.birth_name != family_name:
            out[InsLabel.BIRTH_NAME] = self.birth_name
        if self.birth_given_names != tuple(given_names):
            names, given = self.birth_given_names, tuple(given_names)
            if names[: len(given)] == given:
                # The card shows the first birth given names: carry only the rest.
                out[InsLabel.MORE_GIVEN_NAMES] = list(names[len(given) :])
            else:
                out[InsLabel.BIRTH_GIVEN_NAMES] = list(names)
        if self.birth_place != self.matricule.value[5:10]:
            out[InsLabel.BIRTH_PLACE] = self.birth_place
        return out

    @classmethod
    def from_wire(
        cls,
        value: Any,
        *,
        own_nir: Nir | None,
        family_name: str,
        given_names: Sequence[str],
        birth_date: BirthDateLike,
    ) -> Ins:
        """Rebuild an INS from its wire map and the beneficiary's own fields."""
        given = given_names if type(given_names) is tuple else tuple(given_names)
        if type(value) is dict and not value and own_nir is not None:
            # The usual map: empty, every field implied by the beneficiary and its NIR
            # (what the general path below concludes for it, without its lookups).
            matricule, birth_name, birth_given_names = own_nir, family_name, given
            birth_place = own_nir.value[5:10]
        else:
            labelled_map(value, "ins", known=_WIRE_LABELS, labels=InsLabel)
            if _I.MATRICULE in value:
                wire = value[_I.MATRICULE]
                if type(wire) is not bytes:
                    raise SchemaError("ins matricule(1) must be a byte string")
                matricule = Nir.from_wire(wire)
                if matricule == own_nir:
                    # The default is never written: two encodings of one card would exist.
                    raise SchemaError(
                        "ins matricule(1) equal to the beneficiary's NIR must be omitted"
                    )
            elif own_nir is None:
                raise SchemaMissingLabel("ins lacks matricule(1): the beneficiary has no NIR")
            else:
                matricule = own_nir
            birth_name = _wire_text(value, _I.BIRTH_NAME, family_name)
            birth_given_names = _wire_given_names(value, given)
            birth_place = _wire_text(value, _I.BIRTH_PLACE, matricule.value[5:10])
            if _I.BIRTH_NAME in value:
                _check_text(birth_name, "INS birth name")
        _check_cog(birth_place)
        # Everything else was checked above or derives from checked fields (the
        # beneficiary's names follow the same text rules): only the consistency with
        # the matricule remains, so the constructor's checks are not run twice on
        # this verification hot path.
        ins = object.__new__(cls)
        _set = object.__setattr__
        _set(ins, "matricule", matricule)
        _set(ins, "birth_name", birth_name)
        _set(ins, "birth_given_names", birth_given_names)
        _set(ins, "birth_date", birth_date)
        _set(ins, "sex", _SEX_OF_DIGIT[matricule.value[0]])
        _set(ins, "birth_place", birth_place)
        ins._check_consistency()
        return ins

    # --- record -------------------------------------------------------------------

    def to_record(self) -> dict[str, str]:
        """What a practice system records: flat text, given names joined by one space."""
        d = self.birth_date
        return {
            "matricule": self.matricule.value,
            "oid": self.oid,
            "birth_name": self.birth_name,
            "birth_given_names": " ".join(self.birth_given_names),
            "birth_date": f"{d.year:04d}-{d.month:02d}-{d.day:02d}",
            "sex": self.sex,
            "birth_place": self.birth_place,
        }


def _wire_names(data: dict[Any, Any], label: int) -> tuple[str, ...]:
    names = data[label]
    if not isinstance(names, list) or any(type(n) is not str for n in names):
        raise SchemaError(f"ins {label_name(InsLabel, label)} must be an array of text")
    return tuple(names)


def _wire_given_names(data: dict[Any, Any], given: tuple[str, ...]) -> tuple[str, ...]:
    """The birth given names: ``given`` (absent), ``given`` and more (5), or others (3).

    Each INS has one encoding: the full list (3) is refused where the given names
    start it, and an empty continuation (5) is refused.
    """
    full, more = _I.BIRTH_GIVEN_NAMES, _I.MORE_GIVEN_NAMES
    if full in data and more in data:
        raise SchemaError("ins holds both birth_given_names(3) and more_given_names(5)")
    if more in data:
        extra = _wire_names(data, more)
        if not extra:
            raise SchemaError("ins more_given_names(5) must not be empty")
        names = given + extra
    elif full in data:
        names = _wire_names(data, full)
        if names[: len(given)] == given:
            raise SchemaError(
                "ins birth_given_names(3) that the given names start must be "
                "more_given_names(5), or omitted when equal"
            )
    else:
        return given
    _check_given_names(names)
    return names


def _wire_text(data: dict[Any, Any], label: int, default: str) -> str:
    """A text field of the wire map, or ``default`` when the label is absent."""
    if label not in data:
        return default
    value = data[label]
    if type(value) is not str:
        raise SchemaError(f"ins {label_name(InsLabel, label)} must be text")
    if value == default:
        raise SchemaError(f"ins {label_name(InsLabel, label)} equal to its default must be omitted")
    if label == _I.BIRTH_PLACE:
        return _check_cog(value)
    return _check_text(value, "INS birth name")
