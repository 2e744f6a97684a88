"""The NIR (numéro d'inscription au répertoire) and its compact wire form.

Accepted profile (``spec/data-model.md`` section 3.1):

* 15 characters: sex(1) year(2) month(2) department(2) commune(3) order(3) key(2);
  spaces and dots are separators on input and are removed;
* sex ``1``/``2`` for a NIR, ``7``/``8`` for a NIA (temporary number given while a
  person's registration is pending); ``3``/``4`` (foreign-born, provisional) are
  refused in this profile;
* month ``01``-``12``, or ``20``-``42`` / ``50``-``99`` (fictitious months of
  incomplete civil records); ``00`` and ``13``-``19`` and ``43``-``49`` are refused;
* department: two digits, or ``2A``/``2B`` (Corsica);
* key = 97 - (the 13 first characters as a number, 2A -> 19, 2B -> 18) mod 97.

Wire form: the number ``corsica * 10**13 + digits``, where ``digits`` is the
13-character body with ``2A``/``2B`` written ``20`` and ``corsica`` is 0 (none),
1 (2A) or 2 (2B), as a 6-byte big-endian byte string (the number is below 2^45;
CBOR would spend 8 bytes on it as an integer). The key is not carried: the decoder
recomputes it, so a wire NIR always has a valid key.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitale_cred.errors import NirInvalid

__all__ = ["WIRE_LENGTH", "Nir", "nir_key"]

_TEN13 = 10**13
#: Bytes of the compact wire form.
WIRE_LENGTH = 6
_SEPARATORS = str.maketrans("", "", " .")
_SEXES = frozenset("1278")
_SEX_DIGITS = frozenset((1, 2, 7, 8))


def _numeric_body(body: str) -> int:
    """The 13-character body as the integer the key is computed on."""
    dept = body[5:7]
    if dept == "2A":
        return int(body[:5] + "19" + body[7:])
    if dept == "2B":
        return int(body[:5] + "18" + body[7:])
    return int(body)


def nir_key(body: str) -> int:
    """The control key (1..97) of a 13-character NIR body; raises ``NirInvalid``."""
    if not isinstance(body, str):
        raise NirInvalid("NIR body must be text")
    _check_body(body)
    return 97 - _numeric_body(body) % 97


def _profile_month(month: int) -> bool:
    """A real month, or a fictitious one of an incomplete civil record (20-42, 50-99)."""
    return 1 <= month <= 12 or 20 <= month <= 42 or month >= 50


def _check_body(body: str) -> None:
    if len(body) != 13:
        raise NirInvalid(f"NIR body must be 13 characters, not {len(body)}")
    if body[0] not in _SEXES:
        raise NirInvalid(f"NIR sex digit {body[0]!r} is outside the accepted profile")
    head = body[:5] + body[7:]
    if not (head.isascii() and head.isdigit()):
        raise NirInvalid("NIR must be digits, except a 2A/2B department")
    dept = body[5:7]
    if dept not in ("2A", "2B") and not (dept.isascii() and dept.isdigit()):
        raise NirInvalid(f"NIR department {dept!r} is invalid")
    if not _profile_month(int(body[3:5])):
        raise NirInvalid(f"NIR month {body[3:5]!r} is outside the accepted profile")


@dataclass(frozen=True, slots=True)
class Nir:
    """A validated 15-character NIR or NIA."""

    value: str

    def __post_init__(self) -> None:
        value = self.value
        if not isinstance(value, str) or len(value) != 15:
            raise NirInvalid("NIR must be 15 characters")
        body, key = value[:13], value[13:]
        _check_body(body)
        if not (key.isascii() and key.isdigit()):
            raise NirInvalid("NIR key must be 2 digits")
        expected = 97 - _numeric_body(body) % 97
        if int(key) != expected:
            raise NirInvalid(f"NIR key {key} is wrong (expected {expected:02d})")

    @classmethod
    def parse(cls, text: str) -> Nir:
        """Parse a NIR written with optional spaces or dots; case-insensitive for 2A/2B."""
        if not isinstance(text, str):
            raise NirInvalid("NIR must be text")
        return cls(text.translate(_SEPARATORS).upper())

    @property
    def is_temporary(self) -> bool:
        """True for a NIA (temporary number)."""
        return self.value[0] in "78"

    def to_wire(self) -> bytes:
        """The compact form: 6 bytes, big-endian (key omitted)."""
        body = self.value[:13]
        dept = body[5:7]
        corsica = {"2A": 1, "2B": 2}.get(dept, 0)
        if corsica:
            body = body[:5] + "20" + body[7:]
        return (corsica * _TEN13 + int(body)).to_bytes(WIRE_LENGTH, "big")

    @classmethod
    def from_wire(cls, value: object) -> Nir:
        """Rebuild a NIR from its compact form; the key is recomputed."""
        if type(value) is not bytes or len(value) != WIRE_LENGTH:
            raise NirInvalid(f"wire NIR must be a byte string of {WIRE_LENGTH} bytes")
        packed = int.from_bytes(value, "big")
        if packed >= 3 * _TEN13:
            raise NirInvalid("wire NIR must be a number below 3 * 10**13")
        corsica, number = divmod(packed, _TEN13)
        # Checked on the number itself: its digits are digits by construction, so only
        # the sex digit, the month and a Corsican department remain (as _check_body).
        if number // 10**12 not in _SEX_DIGITS:
            raise NirInvalid(f"NIR sex digit {number // 10**12} is outside the accepted profile")
        month = number // 10**8 % 100
        if not _profile_month(month):
            raise NirInvalid(f"NIR month {month:02d} is outside the accepted profile")
        body = f"{number:013d}"
        numeric = number
        if corsica:
            if number // 10**6 % 100 != 20:
                raise NirInvalid("wire NIR flags Corsica but its department is not 20")
            body = body[:5] + ("2A" if corsica == 1 else "2B") + body[7:]
            # The key of 2A / 2B is computed with 19 / 18 in place of the department.
            numeric = number - corsica * 10**6
        # The key is computed from a checked body, so the value is valid by
        # construction: skip the constructor's second check (verification hot path).
        nir = object.__new__(cls)
        object.__setattr__(nir, "value", f"{body}{97 - numeric % 97:02d}")
        return nir

    def __str__(self) -> str:
        return self.value

    def formatted(self) -> str:
        """Grouped as printed on a card: ``1 80 01 75 123 456 78``."""
        v = self.value
        return f"{v[0]} {v[1:3]} {v[3:5]} {v[5:7]} {v[7:10]} {v[10:13]} {v[13:]}"
