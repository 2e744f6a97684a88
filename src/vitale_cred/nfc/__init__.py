"""NFC presentation protocol: sans-I/O holder (card) and reader sessions.

The phone emulates a card (Android HCE); the professional's reader speaks
ISO/IEC 7816-4 through PC/SC. Nothing here performs I/O or reads the clock:
:class:`HolderSession` turns command APDU bytes into response APDU bytes and
events, :class:`ReaderSession` produces command bytes and consumes response
bytes, and :func:`pair` wires the two together in memory. The wire format is
``spec/nfc.md``; in short::

    SELECT   00 A4 04 00 08 F0564954414C4501 00  -> FCI (CBOR map, holder key)
    REQUEST  80 3A 00 00 Lc {readerInfo, data} Le -> AES-256-GCM(presentation)

Session encryption follows ISO/IEC 18013-5 section 9.1.1; its pieces are in
:mod:`vitale_cred.hazmat.session`.

Every state change goes through the table of its role, :data:`HOLDER_TRANSITIONS`
or :data:`READER_TRANSITIONS`. Errors are split as in h11: the peer's faults are
:class:`~vitale_cred.errors.VerificationError` subclasses carrying the status word
the card answers; the caller's faults (calling a method in the wrong state) are
:class:`~vitale_cred.errors.UsageError`.
"""

from vitale_cred.nfc._state import (
    HOLDER_TRANSITIONS,
    READER_TRANSITIONS,
    HolderState,
    ReaderState,
    Trigger,
)
from vitale_cred.nfc._wire import (
    AID,
    MAX_FCI_BYTES,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    PROTOCOL_VERSION,
    EncryptionPolicy,
    FciLabel,
    ReaderInfoLabel,
    RequestDataLabel,
    RequestLabel,
    SessionMode,
)
from vitale_cred.nfc.holder import (
    BeneficiaryChooser,
    Done,
    HolderEvent,
    HolderSession,
    PresentationRequested,
    SeenNonces,
    Selected,
    UserVerificationGate,
)
from vitale_cred.nfc.reader import PresentationVerifier, ReaderSession, credentials_by_index, pair

__all__ = [
    "AID",
    "HOLDER_TRANSITIONS",
    "MAX_FCI_BYTES",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "PROTOCOL_VERSION",
    "READER_TRANSITIONS",
    "BeneficiaryChooser",
    "Done",
    "EncryptionPolicy",
    "FciLabel",
    "HolderEvent",
    "HolderSession",
    "HolderState",
    "PresentationRequested",
    "PresentationVerifier",
    "ReaderInfoLabel",
    "ReaderSession",
    "ReaderState",
    "RequestDataLabel",
    "RequestLabel",
    "SeenNonces",
    "Selected",
    "SessionMode",
    "Trigger",
    "UserVerificationGate",
    "credentials_by_index",
    "pair",
]
