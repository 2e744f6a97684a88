"""Bytes on the wire: sizes, label enums, session modes, strict map decoding, the FCI.

Shared by both ends; nothing here keeps state. The formats are ``spec/nfc.md``
sections 4 and 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, Final

from vitale_cred.errors import NfcResponseInvalid, NfcVersionNotSupported, VerificationError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.apdu import MAX_COMMAND_DATA, MAX_RESPONSE_DATA
from vitale_cred.hazmat.session import AID, GCM_TAG_LENGTH, PROTOCOL_VERSION, load_public_point
from vitale_cred.presentation import MAX_PRESENTATION_BYTES
from vitale_cred.registry import (
    CoseAlg,
    FciLabel,
    ReaderInfoLabel,
    RequestDataLabel,
    RequestLabel,
    SessionMode,
)

__all__ = [
    "AID",
    "APP_CLA",
    "ISO_CLA",
    "MAX_FCI_BYTES",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "MODE_VALUES",
    "PROTOCOL_VERSION",
    "SELECT_BY_NAME",
    "SELECT_FIRST_WITH_FCI",
    "EncryptionPolicy",
    "Fci",
    "FciLabel",
    "ReaderInfoLabel",
    "RequestDataLabel",
    "RequestLabel",
    "SessionMode",
    "decode_map",
    "parse_fci",
    "uint_in",
]

MAX_FCI_BYTES: Final = 512
"""Largest FCI a reader accepts."""
MAX_REQUEST_BYTES: Final = 1024
"""Largest request (all chained links together) a holder reassembles."""
MAX_RESPONSE_BYTES: Final = MAX_PRESENTATION_BYTES + GCM_TAG_LENGTH
"""Largest response a reader collects (a presentation plus the GCM tag)."""

ISO_CLA: Final = 0x00
APP_CLA: Final = 0x80
SELECT_BY_NAME: Final = 0x04
SELECT_FIRST_WITH_FCI: Final = 0x00


MODE_VALUES: Final = frozenset(int(m) for m in SessionMode)


class EncryptionPolicy(Enum):
    """Whether a session may run without encryption. Encryption is the default.

    A downgrade -- the peer offering or asking only for plaintext while the
    policy is :attr:`REQUIRED` -- raises :class:`~vitale_cred.errors.SessionDowngrade`.
    The transcript still binds the FCI in plaintext mode, so tampering is
    detected, but the presentation travels readable by any eavesdropper.
    """

    REQUIRED = "required"
    UNSAFE_PLAINTEXT_ALLOWED = "unsafe_plaintext_allowed"
    """Encrypt when the peer can; fall back to plaintext otherwise."""
    UNSAFE_PLAINTEXT_ONLY = "unsafe_plaintext_only"
    """Never encrypt (protocol analysers, peers without the cipher suite)."""

    def offered_modes(self) -> tuple[SessionMode, ...]:
        """Modes a holder announces under this policy, preferred first."""
        if self is EncryptionPolicy.REQUIRED:
            return (SessionMode.ECDH_P256_A256GCM,)
        if self is EncryptionPolicy.UNSAFE_PLAINTEXT_ALLOWED:
            return (SessionMode.ECDH_P256_A256GCM, SessionMode.PLAINTEXT)
        return (SessionMode.PLAINTEXT,)


def decode_map(
    data: bytes, labels: type[IntEnum], what: str, error: type[VerificationError], max_size: int
) -> dict[int, Any]:
    """A strict CBOR map of nesting at most 2 whose keys are all among ``labels``.

    Any defect raises ``error``: each structure has the code its end answers with.
    """
    try:
        value = _cbor.decode(data, max_size=max_size, max_depth=2)
    except VerificationError as exc:
        raise error(f"{what} is not strict CBOR ({exc.code})") from exc
    if not isinstance(value, dict):
        raise error(f"{what} must be a map")
    known = {int(label) for label in labels}
    for label in value:
        if type(label) is not int or label not in known:
            raise error(f"{what} carries unknown label {label!r}")
    return value


def uint_in(value: object, low: int, high: int) -> int | None:
    """``value`` if it is an int (not a bool) in ``low..high``, else None."""
    if type(value) is not int or not low <= value <= high:
        return None
    return value


@dataclass(frozen=True, slots=True)
class Fci:
    """What a reader needs of the holder's FCI."""

    max_command: int
    max_response: int
    extended: bool
    modes: tuple[SessionMode, ...]
    holder_key: bytes | None


def parse_fci(raw: bytes) -> Fci:
    """Check the FCI of ``spec/nfc.md`` section 4 as a reader does."""
    fci = decode_map(raw, FciLabel, "FCI", NfcResponseInvalid, MAX_FCI_BYTES)
    version = fci.get(FciLabel.VERSION)
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise NfcVersionNotSupported(f"holder speaks protocol version {version!r}")
    max_command = uint_in(fci.get(FciLabel.MAX_COMMAND), 1, MAX_COMMAND_DATA)
    max_response = uint_in(fci.get(FciLabel.MAX_RESPONSE), 1, MAX_RESPONSE_DATA)
    extended = fci.get(FciLabel.EXTENDED_LENGTH)
    algorithms = fci.get(FciLabel.ALGORITHMS)
    modes = fci.get(FciLabel.SESSION_MODES)
    if max_command is None or max_response is None or type(extended) is not bool:
        raise NfcResponseInvalid("FCI sizes or extended-length flag missing or out of range")
    if not isinstance(algorithms, list) or not all(type(a) is int for a in algorithms):
        raise NfcResponseInvalid("FCI algorithms must be an array of integers")
    if CoseAlg.ES256 not in algorithms:
        raise NfcResponseInvalid("the holder does not sign with ES256")
    known = MODE_VALUES
    if (
        not isinstance(modes, list)
        or not modes
        or not all(type(m) is int and m in known for m in modes)
        or len(set(modes)) != len(modes)
    ):
        raise NfcResponseInvalid("FCI session modes must be a non-empty list of known modes")
    offered = tuple(SessionMode(m) for m in modes)
    key = fci.get(FciLabel.HOLDER_KEY)
    if (SessionMode.ECDH_P256_A256GCM in offered) != (key is not None):
        raise NfcResponseInvalid("FCI carries a holder key if and only if ECDH is offered")
    if key is not None:
        load_public_point(key)
    return Fci(max_command, max_response, extended, offered, key)
