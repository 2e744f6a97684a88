"""The card data model, its JSON form (what issuers feed in) and its CBOR wire form.

A card covers the insured (ouvrant droit, index 0) and up to
:data:`MAX_BENEFICIARIES` - 1 dependants (ayants droit). Each beneficiary is
issued as its own credential (``spec/credential.md`` section 2 explains why), so
the wire form here is a :class:`CardView`: the card-level data plus exactly one
beneficiary. No medical data is modelled, and none can be carried: unknown
labels are refused.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from vitale_cred._schema import labelled_map, uint32
from vitale_cred.errors import (
    CardDataError,
    DateInvalid,
    InvalidArgument,
    OrganismeInvalid,
    SchemaError,
    SchemaMissingLabel,
    StatusReferenceInvalid,
)
from vitale_cred.ins import Ins
from vitale_cred.nir import Nir
from vitale_cred.registry import BeneficiaryLabel, CardLabel, label_name, numbers

__all__ = [
    "MAX_BENEFICIARIES",
    "Amc",
    "Beneficiary",
    "BirthDate",
    "Card",
    "CardView",
    "Exoneration",
    "ExonerationCode",
    "Organisme",
    "Period",
    "Qualite",
    "StatusReference",
]

#: Most beneficiaries on one card (the insured included).
MAX_BENEFICIARIES = 16
#: Most rights periods of one kind per beneficiary.
MAX_PERIODS = 8
#: Longest name component, in characters.
MAX_NAME_CHARS = 64
#: Most given names.
MAX_GIVEN_NAMES = 4

_EPOCH = _dt.date(1970, 1, 1)
_MAX_DAY = (_dt.date(2199, 12, 31) - _EPOCH).days
_EPOCH_ORDINAL = _EPOCH.toordinal()
_fromordinal = _dt.date.fromordinal


class Qualite(IntEnum):
    """Qualité of a beneficiary, with the codes used on the Vitale card."""

    ASSURE = 0
    ASCENDANT = 1
    CONJOINT = 2
    CONJOINT_DIVORCE = 3
    CONCUBIN = 4
    CONJOINT_SEPARE = 5
    ENFANT = 6
    CONJOINT_VEUF = 8
    AUTRE = 9


class ExonerationCode(IntEnum):
    """Exoneration of the patient's share (ticket modérateur)."""

    ALD = 1  # affection de longue durée
    MATERNITE = 2
    AT_MP = 3  # accident du travail / maladie professionnelle
    INVALIDITE = 4
    SOINS_PARTICULIERS = 5


_MEMBERS: dict[type[IntEnum], dict[int, IntEnum]] = {
    enum: {int(member): member for member in enum} for enum in (Qualite, ExonerationCode)
}


def _enum_from_json(enum: type[IntEnum], value: Any, what: str) -> Any:
    # ASCII only: str.upper() would map the long s "ſ" to "S".
    if isinstance(value, str) and value.isascii():
        try:
            return enum[value.upper()]
        except KeyError:
            pass
    raise CardDataError(f"{what} {value!r} is not one of {[m.name.lower() for m in enum]}")


def _enum_from_wire(enum: type[IntEnum], value: Any, what: str) -> Any:
    # A dict lookup: calling the enum class costs a microsecond on every verification.
    member = _MEMBERS[enum].get(value) if type(value) is int else None
    if member is None:
        raise CardDataError(f"{what} code {value!r} is not registered")
    return member


# --- dates ----------------------------------------------------------------------------


def _day_to_wire(day: _dt.date) -> int:
    return (day - _EPOCH).days


def _day_from_wire(value: Any, what: str, end: str = "") -> _dt.date:
    # ``what`` and ``end`` are joined only for the message: a verification builds no text.
    if type(value) is not int or not 0 <= value <= _MAX_DAY:
        raise DateInvalid(f"{what}{end} must be a day number 0..{_MAX_DAY}")
    return _fromordinal(_EPOCH_ORDINAL + value)


def _day_from_json(value: Any, what: str) -> _dt.date:
    if (
        not isinstance(value, str)
        or len(value) != 10
        or value[4] != "-"
        or value[7] != "-"
        or not (value[:4] + value[5:7] + value[8:]).isdigit()
        or not value.isascii()
    ):
        raise DateInvalid(f"{what} must be an ISO date YYYY-MM-DD")
    try:
        day = _dt.date.fromisoformat(value)
    except ValueError as exc:
        raise DateInvalid(f"{what} {value!r} is not an ISO date YYYY-MM-DD") from exc
    if len(value) != 10 or not _EPOCH <= day <= _EPOCH + _dt.timedelta(days=_MAX_DAY):
        raise DateInvalid(f"{what} {value!r} is outside 1970-01-01..2199-12-31")
    return day


@dataclass(frozen=True, slots=True)
class BirthDate:
    """A birth date as registered: day, or day and month, may be 00 ("lunar" dates)."""

    year: int
    month: int
    day: int

    def __post_init__(self) -> None:
        if not 1850 <= self.year <= 2199:
            raise DateInvalid(f"birth year {self.year} is out of range")
        if self.month == 0:
            if self.day != 0:
                raise DateInvalid("a lunar birth date with month 00 must have day 00")
            return
        if not 1 <= self.month <= 12:
            raise DateInvalid(f"birth month {self.month} is out of range")
        if self.day == 0:
            return
        try:
            _dt.date(self.year, self.month, self.day)
        except ValueError as exc:
            raise DateInvalid(f"birth date {self} does not exist") from exc

    @property
    def is_lunar(self) -> bool:
        """True when the day (and maybe the month) is unknown (00)."""
        return self.day == 0

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    @classmethod
    def from_json(cls, value: Any) -> BirthDate:
        """Parse ``YYYY-MM-DD`` where MM and DD may be ``00``."""
        if (
            not isinstance(value, str)
            or len(value) != 10
            or value[4] != "-"
            or value[7] != "-"
            or not (value[:4] + value[5:7] + value[8:]).isdigit()
            or not value.isascii()
        ):
            raise DateInvalid(f"birth date {value!r} must be YYYY-MM-DD (MM, DD may be 00)")
        return cls(int(value[:4]), int(value[5:7]), int(value[8:]))

    def to_wire(self) -> int:
        """Compact form: ``(year - 2000) * 416 + month * 32 + day``, a signed integer.

        Lunar dates keep their 00 month or day; births 1850..2156 take 3 CBOR bytes
        where the decimal YYYYMMDD took 5.
        """
        return (self.year - _BIRTH_EPOCH_YEAR) * 416 + self.month * 32 + self.day

    @classmethod
    def from_wire(cls, value: Any) -> BirthDate:
        """Parse the compact integer (``card.date_invalid`` when it names no date)."""
        if type(value) is not int or not _MIN_BIRTH_WIRE <= value <= _MAX_BIRTH_WIRE:
            raise DateInvalid("birth date must be an integer of the compact form")
        years, rest = divmod(value, 416)
        month, day = divmod(rest, 32)  # rest < 416, so month <= 12
        if day > 28 or (day and not month):
            # A day some months lack, or a day without its month: the constructor says.
            return cls(_BIRTH_EPOCH_YEAR + years, month, day)
        # The wire range bounds the year; a day every month has, or a lunar date,
        # passes the constructor's checks: fill the instance without them (hot path).
        born = _new_object(cls)
        _set_field(born, "year", _BIRTH_EPOCH_YEAR + years)
        _set_field(born, "month", month)
        _set_field(born, "day", day)
        return born


#: Year 0 of the compact birth date, whose values then stay within 16 bits.
_BIRTH_EPOCH_YEAR = 2000
_MIN_BIRTH_WIRE = (1850 - _BIRTH_EPOCH_YEAR) * 416
_MAX_BIRTH_WIRE = (2199 - _BIRTH_EPOCH_YEAR) * 416 + 12 * 32 + 31


@dataclass(frozen=True, slots=True)
class Period:
    """A rights period; ``end`` None means open-ended. Both ends are inclusive."""

    start: _dt.date
    end: _dt.date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise DateInvalid(f"period ends ({self.end}) before it starts ({self.start})")

    def covers(self, day: _dt.date) -> bool:
        """True when ``day`` falls inside the period."""
        return self.start <= day and (self.end is None or day <= self.end)

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat() if self.end else None}

    @classmethod
    def from_json(cls, value: Any, what: str = "period") -> Period:
        data = _json_object(value, what, {"start"}, {"end"})
        end = data.get("end")
        return cls(
            _day_from_json(data["start"], f"{what}.start"),
            None if end is None else _day_from_json(end, f"{what}.end"),
        )

    def to_wire(self) -> list[int]:
        """``[start]`` or ``[start, end]``: day numbers, the end only when the period has one."""
        if self.end is None:
            return [_day_to_wire(self.start)]
        return [_day_to_wire(self.start), _day_to_wire(self.end)]

    @classmethod
    def from_wire(cls, value: Any, what: str = "period") -> Period:
        days = _wire_array(value, 1, 2, what)
        return cls._from_days(days, 0, what)

    @classmethod
    def _from_days(cls, days: list[Any], at: int, what: str) -> Period:
        """The period whose start is ``days[at]`` and whose end, if any, follows it."""
        start = _day_from_wire(days[at], what, ".start")
        end = None if len(days) == at + 1 else _day_from_wire(days[at + 1], what, ".end")
        if end is not None and end < start:
            return cls(start, end)  # refused by the constructor, with its message
        period = _new_object(cls)
        _set_field(period, "start", start)
        _set_field(period, "end", end)
        return period


@dataclass(frozen=True, slots=True)
class Exoneration:
    """An exoneration (e.g. ALD) over a period."""

    code: ExonerationCode
    period: Period

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code.name.lower(), **self.period.to_json()}

    @classmethod
    def from_json(cls, value: Any) -> Exoneration:
        data = _json_object(value, "exoneration", {"code", "start"}, {"end"})
        code = _enum_from_json(ExonerationCode, data["code"], "exoneration code")
        period = Period.from_json({k: v for k, v in data.items() if k != "code"}, "exoneration")
        return cls(code, period)

    def to_wire(self) -> list[int]:
        """``[code, start]`` or ``[code, start, end]``."""
        return [int(self.code), *self.period.to_wire()]

    @classmethod
    def from_wire(cls, value: Any) -> Exoneration:
        items = _wire_array(value, 2, 3, "exoneration")
        code = _enum_from_wire(ExonerationCode, items[0], "exoneration")
        return cls(code, Period._from_days(items, 1, "exoneration"))


@dataclass(frozen=True, slots=True)
class Amc:
    """Complementary insurance (assurance maladie complémentaire) attachment."""

    organisation: str
    contract: str
    period: Period

    def __post_init__(self) -> None:
        _check_amc(self.organisation, self.contract)

    def to_json(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "contract": self.contract,
            **self.period.to_json(),
        }

    @classmethod
    def from_json(cls, value: Any) -> Amc:
        data = _json_object(value, "amc", {"organisation", "contract", "start"}, {"end"})
        if not isinstance(data["organisation"], str):
            raise CardDataError("AMC organisation must be a string of digits")
        period = Period.from_json({"start": data["start"], "end": data.get("end")}, "amc")
        return cls(data["organisation"], data["contract"], period)

    def to_wire(self) -> list[Any]:
        """``[organisation, contract, start]`` or ``[organisation, contract, start, end]``."""
        return [self.organisation, self.contract, *self.period.to_wire()]

    @classmethod
    def from_wire(cls, value: Any) -> Amc:
        items = _wire_array(value, 3, 4, "amc")
        org, contract = items[0], items[1]
        if type(org) is not str or type(contract) is not str:
            raise CardDataError("AMC organisation and contract must be text")
        period = Period._from_days(items, 2, "amc")
        _check_amc(org, contract)
        amc = _new_object(cls)
        _set_field(amc, "organisation", org)
        _set_field(amc, "contract", contract)
        _set_field(amc, "period", period)
        return amc


def _check_amc(organisation: object, contract: object) -> None:
    """The rules of an AMC attachment's text fields (constructor and wire decoder)."""
    if not isinstance(organisation, str) or not (organisation.isascii() and organisation.isdigit()):
        raise CardDataError("AMC organisation must be digits")
    if not 1 <= len(organisation) <= 10:
        raise CardDataError("AMC organisation must be 1..10 digits")
    _check_text(contract, "AMC contract", 32)


@dataclass(frozen=True, slots=True)
class Organisme:
    """Organisme de rattachement: régime(2) + caisse(3) + centre(4) digits."""

    regime: str
    caisse: str
    centre: str

    def __post_init__(self) -> None:
        for part, width, name in (
            (self.regime, 2, "régime"),
            (self.caisse, 3, "caisse"),
            (self.centre, 4, "centre"),
        ):
            if (
                not isinstance(part, str)
                or len(part) != width
                or not (part.isascii() and part.isdigit())
            ):
                raise OrganismeInvalid(f"{name} must be {width} digits, not {part!r}")

    def __str__(self) -> str:
        return f"{self.regime} {self.caisse} {self.centre}"

    @classmethod
    def parse(cls, text: str) -> Organisme:
        """Parse ``"01 751 0001"`` or ``"017510001"``."""
        if not isinstance(text, str):
            raise OrganismeInvalid("organisme must be text")
        compact = text.replace(" ", "")
        if len(compact) != 9:
            raise OrganismeInvalid(f"organisme {text!r} must be 9 digits")
        return cls(compact[:2], compact[2:5], compact[5:])

    def to_wire(self) -> int:
        """Compact form: the 9 digits as an unsigned integer."""
        return int(self.regime + self.caisse + self.centre)

    @classmethod
    def from_wire(cls, value: Any) -> Organisme:
        if type(value) is not int or not 0 <= value < 10**9:
            raise OrganismeInvalid("wire organisme must be an integer below 10**9")
        digits = f"{value:09d}"
        # Digits of the right widths by construction: the constructor's checks would
        # only repeat themselves on this verification hot path.
        organisme = _new_object(cls)
        _set_field(organisme, "regime", digits[:2])
        _set_field(organisme, "caisse", digits[2:5])
        _set_field(organisme, "centre", digits[5:])
        return organisme


def _check_text(value: Any, what: str, limit: int = MAX_NAME_CHARS) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise CardDataError(f"{what} must be text of 1..{limit} characters")
    if not value.isprintable() or value != value.strip():
        raise CardDataError(f"{what} has control characters or surrounding spaces")
    return value


_set_field = object.__setattr__
_new_object = object.__new__


def _check_names(family_name: Any, given_names: tuple[Any, ...], birth_rank: Any) -> None:
    _check_text(family_name, "family name")
    if not 1 <= len(given_names) <= MAX_GIVEN_NAMES:
        raise CardDataError(f"given names must be 1..{MAX_GIVEN_NAMES} names")
    for name in given_names:
        _check_text(name, "given name")
    if type(birth_rank) is not int or not 1 <= birth_rank <= 9:
        raise CardDataError("birth rank must be 1..9")


_BENEFICIARY_REQUIRED = frozenset(
    {
        BeneficiaryLabel.FAMILY_NAME,
        BeneficiaryLabel.GIVEN_NAMES,
        BeneficiaryLabel.BIRTH_DATE,
    }
)
_BENEFICIARY_OPTIONAL = frozenset(BeneficiaryLabel) - _BENEFICIARY_REQUIRED
_CARD_REQUIRED = frozenset(
    {
        CardLabel.NIR,
        CardLabel.ORGANISME,
        CardLabel.SERIAL,
        CardLabel.ISSUED,
        CardLabel.BENEFICIARY,
    }
)
# STATUS belongs to the credential (credential.decode_claims takes it out first).
_CARD_OPTIONAL = frozenset({CardLabel.INDEX})
_BENEFICIARY_KNOWN = _BENEFICIARY_REQUIRED | _BENEFICIARY_OPTIONAL
_CARD_KNOWN = _CARD_REQUIRED | _CARD_OPTIONAL
# Labels and the insured's qualité as the decoders read them (registry.Numbers says why).
_B = numbers(BeneficiaryLabel)
_C = numbers(CardLabel)
_ASSURE = Qualite.ASSURE


@dataclass(frozen=True, slots=True)
class Beneficiary:
    """One person covered by the card: the insured or a dependant."""

    family_name: str
    given_names: tuple[str, ...]
    birth_date: BirthDate
    qualite: Qualite
    birth_rank: int = 1
    amo: tuple[Period, ...] = ()
    exonerations: tuple[Exoneration, ...] = ()
    css: Period | None = None
    amc: Amc | None = None
    nir: Nir | None = None
    ins: Ins | None = None

    def __post_init__(self) -> None:
        _check_names(self.family_name, self.given_names, self.birth_rank)
        if not isinstance(self.qualite, Qualite):
            raise CardDataError("qualité must be a Qualite")
        if len(self.amo) > MAX_PERIODS or len(self.exonerations) > MAX_PERIODS:
            raise CardDataError(f"at most {MAX_PERIODS} periods of each kind")
        if self.ins is not None and self.ins.birth_date != self.birth_date:
            raise CardDataError("the INS birth date is the beneficiary's birth date")

    def covered_on(self, day: _dt.date) -> bool:
        """True when an AMO period covers ``day``."""
        return any(p.covers(day) for p in self.amo)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "family_name": self.family_name,
            "given_names": list(self.given_names),
            "birth_date": str(self.birth_date),
            "birth_rank": self.birth_rank,
            "qualite": self.qualite.name.lower(),
            "amo": [p.to_json() for p in self.amo],
            "exonerations": [e.to_json() for e in self.exonerations],
            "css": self.css.to_json() if self.css else None,
            "amc": self.amc.to_json() if self.amc else None,
        }
        if self.nir is not None:
            out["nir"] = self.nir.value
        if self.ins is not None:
            out["ins"] = self.ins.to_json()
        return out

    @classmethod
    def from_json(cls, value: Any) -> Beneficiary:
        data = _json_object(
            value,
            "beneficiary",
            {"family_name", "given_names", "birth_date", "qualite"},
            {"birth_rank", "amo", "exonerations", "css", "amc", "nir", "ins"},
        )
        given = data["given_names"]
        if not isinstance(given, list):
            raise CardDataError("given_names must be a list")
        birth_date = BirthDate.from_json(data["birth_date"])
        return cls(
            family_name=data["family_name"],
            given_names=tuple(given),
            birth_date=birth_date,
            qualite=_enum_from_json(Qualite, data["qualite"], "qualité"),
            birth_rank=data.get("birth_rank", 1),
            amo=tuple(Period.from_json(p, "amo") for p in _json_list(data.get("amo"), "amo")),
            exonerations=tuple(
                Exoneration.from_json(e) for e in _json_list(data.get("exonerations"), "exon")
            ),
            css=None if data.get("css") is None else Period.from_json(data["css"], "css"),
            amc=None if data.get("amc") is None else Amc.from_json(data["amc"]),
            nir=None if data.get("nir") is None else Nir.parse(data["nir"]),
            ins=None
            if data.get("ins") is None
            else Ins.from_json(data["ins"], birth_date=birth_date),
        )

    def to_wire(self, *, own_nir: Nir | None = None) -> dict[int, Any]:
        """The beneficiary map; ``qualite`` is omitted for the insured (index 0 implies it).

        ``own_nir`` is the beneficiary's own NIR (``nir``, or the card's NIR for the
        insured): an INS matricule equal to it is not written.
        """
        out: dict[int, Any] = {
            BeneficiaryLabel.FAMILY_NAME: self.family_name,
            # One name is written as text, several as an array (one encoding each).
            BeneficiaryLabel.GIVEN_NAMES: self.given_names[0]
            if len(self.given_names) == 1
            else list(self.given_names),
            BeneficiaryLabel.BIRTH_DATE: self.birth_date.to_wire(),
        }
        if self.birth_rank != 1:
            out[BeneficiaryLabel.BIRTH_RANK] = self.birth_rank
        if self.qualite is not Qualite.ASSURE:
            out[BeneficiaryLabel.QUALITE] = int(self.qualite)
        if self.amo:
            out[BeneficiaryLabel.AMO] = [p.to_wire() for p in self.amo]
        if self.exonerations:
            out[BeneficiaryLabel.EXONERATIONS] = [e.to_wire() for e in self.exonerations]
        if self.css is not None:
            out[BeneficiaryLabel.CSS] = self.css.to_wire()
        if self.amc is not None:
            out[BeneficiaryLabel.AMC] = self.amc.to_wire()
        if self.nir is not None:
            out[BeneficiaryLabel.NIR] = self.nir.to_wire()
        if self.ins is not None:
            out[BeneficiaryLabel.INS] = self.ins.to_wire(
                self.nir or own_nir, self.family_name, self.given_names
            )
        return out

    @classmethod
    def from_wire(
        cls, value: Any, *, insured: bool = False, card_nir: Nir | None = None
    ) -> Beneficiary:
        """Parse a beneficiary map.

        ``insured`` says whether the card index is 0; ``card_nir`` is the card's NIR,
        the insured's own NIR that an INS matricule may leave implicit.
        """
        data = _wire_map(
            value, BeneficiaryLabel, _BENEFICIARY_REQUIRED, _BENEFICIARY_KNOWN, "beneficiary"
        )
        given = data[_B.GIVEN_NAMES]
        if type(given) is str:
            given = [given]
        elif not isinstance(given, list) or len(given) == 1:
            raise SchemaError("given_names(2) must be one text, or an array of several")
        rank = data.get(_B.BIRTH_RANK, 1)
        if type(rank) is not int:
            raise CardDataError("birth rank must be an integer 1..9")
        if rank == 1 and _B.BIRTH_RANK in data:
            # The default is never written: two encodings of one card would exist.
            raise SchemaError("birth_rank(4) equal to its default 1 must be omitted")
        # The order of the checks below is the one spec/credential.md section 3.5 fixes.
        if insured and _B.QUALITE in data:
            raise SchemaError("qualite(5) of the insured (index 0) must be omitted")
        if not insured and _B.QUALITE not in data:
            raise SchemaMissingLabel("beneficiary of a dependant lacks qualite(5)")
        for label in (_B.AMO, _B.EXONERATIONS):
            if label in data and (not isinstance(data[label], list) or not data[label]):
                raise SchemaError(
                    f"{label_name(BeneficiaryLabel, label)} must be a non-empty array"
                )
        birth_date = BirthDate.from_wire(data[_B.BIRTH_DATE])
        qualite = _ASSURE if insured else _enum_from_wire(Qualite, data[_B.QUALITE], "qualité")
        amo = tuple([Period.from_wire(p, "amo") for p in data.get(_B.AMO, ())])
        exonerations = tuple([Exoneration.from_wire(e) for e in data.get(_B.EXONERATIONS, ())])
        css = None if _B.CSS not in data else Period.from_wire(data[_B.CSS], "css")
        amc = None if _B.AMC not in data else Amc.from_wire(data[_B.AMC])
        nir = None if _B.NIR not in data else Nir.from_wire(data[_B.NIR])
        # The text rules of the names come before the INS, which derives from them.
        family, names = data[_B.FAMILY_NAME], tuple(given)
        _check_names(family, names, rank)
        ins = None
        if _B.INS in data:
            ins = Ins.from_wire(
                data[_B.INS],
                own_nir=nir or (card_nir if insured else None),
                family_name=family,
                given_names=names,
                birth_date=birth_date,
            )
        if len(amo) > MAX_PERIODS or len(exonerations) > MAX_PERIODS:
            raise CardDataError(f"at most {MAX_PERIODS} periods of each kind")
        # Every field is checked above: fill the frozen instance without running
        # __post_init__'s checks a second time (verification hot path).
        beneficiary = _new_object(cls)
        _set_field(beneficiary, "family_name", family)
        _set_field(beneficiary, "given_names", names)
        _set_field(beneficiary, "birth_date", birth_date)
        _set_field(beneficiary, "qualite", qualite)
        _set_field(beneficiary, "birth_rank", rank)
        _set_field(beneficiary, "amo", amo)
        _set_field(beneficiary, "exonerations", exonerations)
        _set_field(beneficiary, "css", css)
        _set_field(beneficiary, "amc", amc)
        _set_field(beneficiary, "nir", nir)
        _set_field(beneficiary, "ins", ins)
        return beneficiary


@dataclass(frozen=True, slots=True)
class Card:
    """A whole card: card-level data and every beneficiary (index 0 is the insured)."""

    nir: Nir
    organisme: Organisme
    serial: int
    issued: _dt.date
    beneficiaries: tuple[Beneficiary, ...]

    def __post_init__(self) -> None:
        if type(self.serial) is not int or not 0 <= self.serial < 2**63:
            raise CardDataError("serial must be an integer 0..2**63-1")
        if not 1 <= len(self.beneficiaries) <= MAX_BENEFICIARIES:
            raise CardDataError(f"a card has 1..{MAX_BENEFICIARIES} beneficiaries")
        if self.beneficiaries[0].qualite is not Qualite.ASSURE:
            raise CardDataError("beneficiary 0 must be the insured (qualité assure)")
        if any(b.qualite is Qualite.ASSURE for b in self.beneficiaries[1:]):
            raise CardDataError("only beneficiary 0 may have qualité assure")
        issued = (self.issued.year, self.issued.month, self.issued.day)
        for index, beneficiary in enumerate(self.beneficiaries):
            born = beneficiary.birth_date
            # Unknown month or day (00) read as the earliest they could be.
            if (born.year, born.month or 1, born.day or 1) > issued:
                raise CardDataError(
                    f"beneficiary {index} is born {born}, after the card was issued "
                    f"({self.issued.isoformat()})"
                )

    def view(self, index: int) -> CardView:
        """The card as one beneficiary's credential carries it."""
        if not 0 <= index < len(self.beneficiaries):
            raise CardDataError(f"no beneficiary {index} on this card")
        return CardView(
            nir=self.nir,
            organisme=self.organisme,
            serial=self.serial,
            issued=self.issued,
            index=index,
            beneficiary=self.beneficiaries[index],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "nir": self.nir.value,
            "organisme": str(self.organisme),
            "serial": self.serial,
            "issued": self.issued.isoformat(),
            "beneficiaries": [b.to_json() for b in self.beneficiaries],
        }

    @classmethod
    def from_json(cls, value: Any) -> Card:
        """Parse the issuer's JSON card format (``spec/data-model.md`` section 5)."""
        data = _json_object(
            value, "card", {"nir", "organisme", "serial", "issued", "beneficiaries"}, set()
        )
        return cls(
            nir=Nir.parse(data["nir"]),
            organisme=Organisme.parse(data["organisme"]),
            serial=data["serial"],
            issued=_day_from_json(data["issued"], "issued"),
            beneficiaries=tuple(
                Beneficiary.from_json(b) for b in _json_list(data["beneficiaries"], "beneficiaries")
            ),
        )


@dataclass(frozen=True, slots=True)
class CardView:
    """The card-level data plus exactly one beneficiary: what one credential carries."""

    nir: Nir
    organisme: Organisme
    serial: int
    issued: _dt.date
    index: int
    beneficiary: Beneficiary

    def __post_init__(self) -> None:
        if not 0 <= self.index < MAX_BENEFICIARIES:
            raise CardDataError(f"beneficiary index must be 0..{MAX_BENEFICIARIES - 1}")
        if (self.index == 0) != (self.beneficiary.qualite is _ASSURE):
            raise CardDataError("index 0, and only index 0, is the insured")

    @property
    def is_insured(self) -> bool:
        """True when the disclosed beneficiary is the insured."""
        return self.index == 0

    def to_wire(self) -> dict[int, Any]:
        """The card map; ``index`` is omitted for the insured (0)."""
        out: dict[int, Any] = {
            CardLabel.NIR: self.nir.to_wire(),
            CardLabel.ORGANISME: self.organisme.to_wire(),
            CardLabel.SERIAL: self.serial,
            CardLabel.ISSUED: _day_to_wire(self.issued),
            CardLabel.BENEFICIARY: self.beneficiary.to_wire(
                own_nir=self.nir if self.index == 0 else None
            ),
        }
        if self.index:
            out[CardLabel.INDEX] = self.index
        return out

    @classmethod
    def from_wire(cls, value: Any) -> CardView:
        data = _wire_map(value, CardLabel, _CARD_REQUIRED, _CARD_KNOWN, "card")
        serial = data[_C.SERIAL]
        index = data.get(_C.INDEX, 0)
        for name, number in (("serial", serial), ("index", index)):
            if type(number) is not int or number < 0:
                raise SchemaError(f"card {name} must be an unsigned integer")
        if serial >= 2**63:
            raise SchemaError("card serial must be below 2**63")
        if index == 0 and _C.INDEX in data:
            raise SchemaError("index(6) of the insured (0) must be omitted")
        nir = Nir.from_wire(data[_C.NIR])
        return cls(
            nir=nir,
            organisme=Organisme.from_wire(data[_C.ORGANISME]),
            serial=serial,
            issued=_day_from_wire(data[_C.ISSUED], "issued"),
            index=index,
            beneficiary=Beneficiary.from_wire(
                data[_C.BENEFICIARY], insured=index == 0, card_nir=nir
            ),
        )


@dataclass(frozen=True, slots=True)
class StatusReference:
    """Where a credential's status lives: entry ``idx`` of list number ``list_id``.

    ``list_id`` is scoped to the issuer key: it names the list that key signs with
    that number in its ``list(-65539)`` claim (``spec/status.md`` section 3). The
    reference travels in the card map (``status(7)``) but belongs to the credential.
    """

    list_id: int
    idx: int

    def __post_init__(self) -> None:
        uint32(self.list_id, InvalidArgument, "list")
        uint32(self.idx, InvalidArgument, "idx")

    def to_wire(self) -> list[int]:
        """The value of the card map's ``status(7)``: ``[list, idx]``."""
        return [self.list_id, self.idx]

    @classmethod
    def from_wire(cls, value: object) -> StatusReference:
        """Parse a decoded ``status(7)`` strictly (``status.reference_invalid``)."""
        if not isinstance(value, list) or len(value) != 2:
            raise StatusReferenceInvalid("status(7) must be an array [list, idx]")
        list_id = uint32(value[0], StatusReferenceInvalid, "status(7) list")
        idx = uint32(value[1], StatusReferenceInvalid, "status(7) idx")
        return cls(list_id, idx)

    def __str__(self) -> str:
        return f"list {self.list_id} entry {self.idx}"


# --- strict map helpers --------------------------------------------------------------


def _json_object(value: Any, what: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise CardDataError(f"{what} must be a JSON object")
    keys = set(value)
    missing = required - keys
    if missing:
        raise CardDataError(f"{what} lacks {sorted(missing)}")
    unknown = keys - required - optional
    if unknown:
        raise CardDataError(f"{what} has unknown fields {sorted(unknown)}")
    return dict(value)


def _json_list(value: Any, what: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise CardDataError(f"{what} must be a list")
    return value


def _wire_map(
    value: Any,
    enum: type[IntEnum],
    required: frozenset[Any],
    known: frozenset[Any],
    what: str,
) -> dict[int, Any]:
    """``value`` itself, once it is a map of ``known`` labels with every required one."""
    return labelled_map(value, what, known=known, required=required, labels=enum)


def _wire_array(value: Any, shortest: int, longest: int, what: str) -> list[Any]:
    """``value`` itself, once it is an array of ``shortest``..``longest`` items."""
    if not isinstance(value, list) or not shortest <= len(value) <= longest:
        raise SchemaError(f"{what} must be an array of {shortest} to {longest} items")
    return value
