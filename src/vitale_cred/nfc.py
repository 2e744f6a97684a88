"""NFC presentation protocol: sans-I/O holder (card) and reader sessions.

The phone emulates a card (Android HCE); the professional's reader speaks
ISO/IEC 7816-4 through PC/SC. Nothing here performs I/O or reads the clock:
:class:`HolderSession` turns command APDU bytes into response APDU bytes and
events, :class:`ReaderSession` produces command bytes and consumes response
bytes, and :func:`pair` wires the two together in memory. The wire format is
``spec/nfc.md``; in short::

    SELECT   00 A4 04 00 08 F0564954414C4501 00  -> FCI (CBOR map, holder key)
    REQUEST  80 3A 00 00 Lc {readerInfo, data} Le -> AES-256-GCM(presentation)

Session encryption follows ISO/IEC 18013-5 section 9.1.1: ephemeral ECDH on
P-256, HKDF-SHA256 with salt SHA-256(SessionTranscript) and info
``SKReader``/``SKDevice``, AES-256-GCM whose IV is an 8-byte sender identifier
and a 4-byte message counter starting at 1.

Every state change goes through the one table :data:`TRANSITIONS`. Errors are
split as in h11: the peer's faults are :class:`~vitale_cred.errors.VerificationError`
subclasses carrying the status word the card answers; the caller's faults
(calling a method in the wrong state) are :class:`~vitale_cred.errors.UsageError`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any, Final, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vitale_cred.clock import Clock
from vitale_cred.credential import MAX_CREDENTIAL_BYTES, decode_claims
from vitale_cred.device import NONCE_LENGTH, DeviceSigner, Rng
from vitale_cred.errors import (
    ApduClaNotSupported,
    ApduError,
    ApduInsNotSupported,
    ApduWrongLength,
    ApduWrongP1P2,
    InvalidArgument,
    NfcApplicationNotFound,
    NfcError,
    NfcHolderRefused,
    NfcIllegalState,
    NfcLocked,
    NfcOutOfOrder,
    NfcReaderNonceRepeated,
    NfcReaderNonceReplayed,
    NfcRequestInvalid,
    NfcResponseInvalid,
    NfcVersionNotSupported,
    SessionCounterExhausted,
    SessionDecryptFailed,
    SessionDowngrade,
    SessionError,
    SessionKeyInvalid,
    VerificationError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.apdu import (
    CHAINING_BIT,
    MAX_COMMAND_DATA,
    MAX_RESPONSE_DATA,
    MAX_SHORT_DATA,
    MAX_SHORT_LE,
    ChainAssembler,
    CommandApdu,
    Ins,
    ResponseApdu,
    ResponseCollector,
    ResponseSplitter,
    StatusWord,
    parse_command,
    parse_response,
    split_command,
)
from vitale_cred.model import MAX_BENEFICIARIES
from vitale_cred.presentation import DEFAULT_TTL, MAX_PRESENTATION_BYTES, MAX_TTL, present
from vitale_cred.registry import CoseAlg
from vitale_cred.verify import VerifiedPresentation, Verifier

__all__ = [
    "AID",
    "GCM_TAG_LENGTH",
    "HOLDER_IDENTIFIER",
    "MAX_COUNTER",
    "MAX_FCI_BYTES",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "P256_POINT_LENGTH",
    "PROTOCOL_VERSION",
    "READER_IDENTIFIER",
    "SESSION_KEY_LENGTH",
    "TRANSITIONS",
    "AnyState",
    "BeneficiaryChooser",
    "Done",
    "EncryptionPolicy",
    "FciLabel",
    "HolderEvent",
    "HolderSession",
    "HolderState",
    "PresentationRequested",
    "ReaderInfoLabel",
    "ReaderSession",
    "ReaderState",
    "RequestDataLabel",
    "RequestLabel",
    "Role",
    "SecureChannel",
    "SeenNonces",
    "Selected",
    "SessionKeys",
    "SessionMode",
    "Trigger",
    "UserVerificationGate",
    "credentials_by_index",
    "derive_session_keys",
    "ecdh_shared_secret",
    "gcm_decrypt",
    "gcm_encrypt",
    "gcm_iv",
    "generate_ephemeral_key",
    "hkdf_sha256",
    "load_public_point",
    "pair",
    "public_point",
    "session_transcript",
]

# --- constants -----------------------------------------------------------------------

AID: Final = bytes.fromhex("F0564954414C4501")
"""Proprietary, unregistered AID (ISO/IEC 7816-5 category F): F0 "VITALE" 01."""
PROTOCOL_VERSION: Final = 1
MAX_FCI_BYTES: Final = 512
"""Largest FCI a reader accepts."""
MAX_REQUEST_BYTES: Final = 1024
"""Largest request (all chained links together) a holder reassembles."""
GCM_TAG_LENGTH: Final = 16
SESSION_KEY_LENGTH: Final = 32
MAX_RESPONSE_BYTES: Final = MAX_PRESENTATION_BYTES + GCM_TAG_LENGTH
"""Largest response a reader collects (a presentation plus the GCM tag)."""
READER_IDENTIFIER: Final = bytes(8)
"""IV prefix of messages the reader encrypts (ISO/IEC 18013-5 9.1.1.5)."""
HOLDER_IDENTIFIER: Final = bytes(7) + b"\x01"
"""IV prefix of messages the holder encrypts."""
P256_POINT_LENGTH: Final = 65
MAX_COUNTER: Final = 0xFFFF_FFFF
"""Last message counter of a direction; it never wraps."""

_ISO_CLA: Final = 0x00
_APP_CLA: Final = 0x80
_SELECT_BY_NAME: Final = 0x04
_SELECT_FIRST_WITH_FCI: Final = 0x00
_AID_LENGTHS: Final = range(5, 17)
_SUPPORTED_INS: Final[Mapping[int, frozenset[int]]] = {
    _ISO_CLA: frozenset({Ins.SELECT, Ins.GET_RESPONSE}),
    _APP_CLA: frozenset({Ins.PRESENTATION_REQUEST}),
}
_DEVICE_ALGORITHMS: Final = (CoseAlg.ES256,)
_P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_SCALAR_ATTEMPTS: Final = 64
_HKDF_MAX_LENGTH: Final = 255 * 32
_MAX_EXCHANGES: Final = 1000
_SEEN_NONCES_DEFAULT: Final = 4096


class FciLabel(IntEnum):
    """Labels of the FCI map returned to SELECT."""

    VERSION = 1
    MAX_COMMAND = 2  # largest command data field per APDU the holder accepts
    MAX_RESPONSE = 3  # largest response data field per APDU the holder sends
    EXTENDED_LENGTH = 4  # bool: extended Lc/Le accepted
    ALGORITHMS = 5  # COSE algorithms of the device signature
    SESSION_MODES = 6  # SessionMode values offered, preferred first
    HOLDER_KEY = 7  # EDeviceKey, SEC1 uncompressed point (iff ECDH is offered)


class ReaderInfoLabel(IntEnum):
    """Labels of ReaderInfo, the plaintext half of the request (it enters the transcript)."""

    VERSION = 1
    NONCE = 2
    MODE = 3
    READER_KEY = 4  # EReaderKey, SEC1 uncompressed point (iff mode is ECDH)


class RequestLabel(IntEnum):
    """Labels of the request map (command data of PRESENTATION REQUEST)."""

    READER_INFO = 1  # bstr .cbor ReaderInfo
    DATA = 2  # bstr: RequestData, encrypted under SKReader in ECDH mode


class RequestDataLabel(IntEnum):
    """Labels of RequestData."""

    BENEFICIARY_HINT = 1  # the beneficiary index the professional picked


class SessionMode(IntEnum):
    """How the request data and the response are protected."""

    PLAINTEXT = 0
    ECDH_P256_A256GCM = 1


_MODE_VALUES: Final = frozenset(int(m) for m in SessionMode)


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


# --- session cryptography (ISO/IEC 18013-5 section 9.1.1 pattern) -------------------


def generate_ephemeral_key(rng: Rng = os.urandom) -> ec.EllipticCurvePrivateKey:
    """A P-256 key whose scalar is drawn from ``rng`` (rejection sampling).

    Drawing from the injected ``rng`` makes whole exchanges reproducible.
    """
    for _ in range(_SCALAR_ATTEMPTS):
        raw = rng(32)
        if not isinstance(raw, bytes) or len(raw) != 32:
            raise InvalidArgument("rng must return the number of bytes asked for")
        scalar = int.from_bytes(raw, "big")
        if 1 <= scalar < _P256_ORDER:
            return ec.derive_private_key(scalar, ec.SECP256R1())
    raise InvalidArgument("rng yields no valid P-256 scalar")


def public_point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The SEC1 uncompressed point ``04 || x || y`` (65 bytes) of a P-256 key."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    if not isinstance(public.curve, ec.SECP256R1):
        raise InvalidArgument("session keys are P-256 keys")
    return public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def load_public_point(data: object) -> ec.EllipticCurvePublicKey:
    """Load a peer's ephemeral key: exactly 65 bytes, uncompressed, on P-256.

    Compressed points are refused: one encoding, one parser.
    """
    if not isinstance(data, bytes) or len(data) != P256_POINT_LENGTH or data[0] != 0x04:
        raise SessionKeyInvalid("ephemeral key must be a 65-byte uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    except ValueError as exc:
        raise SessionKeyInvalid("ephemeral key is not a point on P-256") from exc


def ecdh_shared_secret(private_key: ec.EllipticCurvePrivateKey, peer_point: bytes) -> bytes:
    """ZAB: the x-coordinate of ``private_key`` times the peer's point (32 bytes)."""
    peer = load_public_point(peer_point)
    try:
        return private_key.exchange(ec.ECDH(), peer)
    except ValueError as exc:
        raise SessionKeyInvalid("ECDH failed on the peer's key") from exc


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869); ``length`` is 1..8160 bytes."""
    if isinstance(length, bool) or not isinstance(length, int):
        raise InvalidArgument("length must be an integer")
    if not 1 <= length <= _HKDF_MAX_LENGTH:
        raise InvalidArgument(f"HKDF-SHA256 output length must be 1..{_HKDF_MAX_LENGTH}")
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """SKReader and SKDevice (32 bytes each)."""

    sk_reader: bytes = field(repr=False)
    sk_device: bytes = field(repr=False)


def derive_session_keys(shared_secret: bytes, transcript: bytes) -> SessionKeys:
    """SKReader/SKDevice = HKDF-SHA256(ZAB, SHA-256(transcript), "SKReader"/"SKDevice", 32).

    ``transcript`` is the encoded SessionTranscript exactly as hashed (for
    ISO/IEC 18013-5 that is the tag-24 wrapped SessionTranscriptBytes).
    """
    salt = hashlib.sha256(transcript).digest()
    return SessionKeys(
        sk_reader=hkdf_sha256(shared_secret, salt=salt, info=b"SKReader", length=32),
        sk_device=hkdf_sha256(shared_secret, salt=salt, info=b"SKDevice", length=32),
    )


def gcm_iv(identifier: bytes, counter: int) -> bytes:
    """IV = 8-byte sender identifier || 4-byte big-endian counter (1..2^32-1)."""
    if not isinstance(identifier, bytes) or len(identifier) != 8:
        raise InvalidArgument("the IV identifier is 8 bytes")
    if isinstance(counter, bool) or not isinstance(counter, int) or not 1 <= counter <= MAX_COUNTER:
        raise SessionCounterExhausted(f"message counter must be 1..{MAX_COUNTER}")
    return identifier + counter.to_bytes(4, "big")


def _check_gcm_inputs(key: bytes, iv: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != SESSION_KEY_LENGTH:
        raise InvalidArgument("AES-256-GCM takes a 32-byte key")
    if not isinstance(iv, bytes) or len(iv) != 12:
        raise InvalidArgument("the profile uses 12-byte IVs")


def gcm_encrypt(key: bytes, iv: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """AES-256-GCM: ciphertext || 16-byte tag."""
    _check_gcm_inputs(key, iv)
    return AESGCM(key).encrypt(iv, plaintext, aad)


def gcm_decrypt(key: bytes, iv: bytes, data: bytes, aad: bytes = b"") -> bytes:
    """AES-256-GCM decryption; the tag is checked in constant time by OpenSSL."""
    _check_gcm_inputs(key, iv)
    if not isinstance(data, bytes) or len(data) < GCM_TAG_LENGTH:
        raise SessionDecryptFailed("ciphertext shorter than the GCM tag")
    try:
        return AESGCM(key).decrypt(iv, data, aad)
    except InvalidTag as exc:
        raise SessionDecryptFailed("ciphertext does not authenticate") from exc


class Role(Enum):
    """Which end of the session a :class:`SecureChannel` serves."""

    READER = "reader"
    HOLDER = "holder"


class SecureChannel:
    """One end's encryption state: its own key and counter out, the peer's in.

    Counters are implicit, as in ISO/IEC 18013-5: the receiver decrypts under
    the counter it expects, so a replayed, reordered or foreign ciphertext fails
    authentication. After one failure the channel refuses everything: a peer
    gets no decryption oracle.
    """

    __slots__ = (
        "_failed",
        "_recv",
        "_recv_counter",
        "_recv_id",
        "_send",
        "_send_counter",
        "_send_id",
    )

    def __init__(self, keys: SessionKeys, role: Role) -> None:
        if role is Role.HOLDER:
            send_key, self._send_id = keys.sk_device, HOLDER_IDENTIFIER
            recv_key, self._recv_id = keys.sk_reader, READER_IDENTIFIER
        else:
            send_key, self._send_id = keys.sk_reader, READER_IDENTIFIER
            recv_key, self._recv_id = keys.sk_device, HOLDER_IDENTIFIER
        self._send = AESGCM(send_key)
        self._recv = AESGCM(recv_key)
        self._send_counter = 1
        self._recv_counter = 1
        self._failed = False

    @property
    def next_send_counter(self) -> int:
        """The counter the next :meth:`encrypt` uses."""
        return self._send_counter

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt the next outgoing message (ciphertext || tag)."""
        iv = gcm_iv(self._send_id, self._send_counter)
        self._send_counter += 1  # before encrypting: a counter is never used twice
        return self._send.encrypt(iv, plaintext, b"")

    def decrypt(self, data: bytes) -> bytes:
        """Decrypt the next incoming message; any failure closes the channel."""
        if self._failed:
            raise SessionDecryptFailed("the session was closed by an earlier failure")
        if self._recv_counter > MAX_COUNTER:
            self._failed = True
            raise SessionDecryptFailed("the peer exhausted its message counter")
        if not isinstance(data, bytes) or len(data) < GCM_TAG_LENGTH:
            self._failed = True
            raise SessionDecryptFailed("ciphertext shorter than the GCM tag")
        iv = self._recv_id + self._recv_counter.to_bytes(4, "big")
        try:
            plaintext = self._recv.decrypt(iv, data, b"")
        except InvalidTag as exc:
            self._failed = True
            raise SessionDecryptFailed("ciphertext does not authenticate") from exc
        self._recv_counter += 1
        return plaintext


def session_transcript(fci: bytes, reader_info: bytes) -> bytes:
    """SessionTranscript = [version, AID, FCI bytes, ReaderInfo bytes] (deterministic CBOR).

    The FCI carries the holder's ephemeral key and ReaderInfo the reader's key
    and nonce, so the transcript is unique to one session; its SHA-256 is both
    the HKDF salt and the ``transcript`` the device signature covers.
    """
    return _cbor.encode([PROTOCOL_VERSION, AID, fci, reader_info])


# --- replay guard --------------------------------------------------------------------


class SeenNonces:
    """A bounded, thread-safe set of reader nonces already used (oldest forgotten first).

    Share one instance between the sessions of a process: a reader refuses to
    send a nonce twice, a holder refuses to answer one twice.
    """

    def __init__(self, capacity: int = _SEEN_NONCES_DEFAULT) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise InvalidArgument("capacity must be an integer >= 1")
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, nonce: object) -> bool:
        with self._lock:
            return nonce in self._seen

    def add(self, nonce: bytes) -> bool:
        """Record ``nonce``; False if it was already recorded."""
        with self._lock:
            if nonce in self._seen:
                return False
            self._seen[nonce] = None
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True


# --- states, triggers and the transition table --------------------------------------


class HolderState(Enum):
    """States of the card side."""

    IDLE = "idle"  # not selected (power-up, failed request, abandoned response)
    SELECTED = "selected"  # FCI sent, ephemeral key ready, waiting for the request
    SENDING = "sending"  # presentation pending, delivered by GET RESPONSE
    DONE = "done"  # presentation fully delivered


class ReaderState(Enum):
    """States of the reader side."""

    START = "start"
    SELECTING = "selecting"  # SELECT sent, collecting the FCI
    REQUESTING = "requesting"  # request sent, collecting the presentation
    LOCKED = "locked"  # the holder answered 6982; retry() resends the same request
    DONE = "done"  # result available
    FAILED = "failed"  # error available


class Trigger(Enum):
    """What moves a session from one state to another."""

    SELECT = "select"
    REQUEST = "request"
    DELIVERED = "delivered"
    LOCKED = "locked"
    ABORT = "abort"
    SEND_SELECT = "send_select"
    FCI = "fci"
    RESPONSE = "response"
    RETRY = "retry"
    FAIL = "fail"


AnyState = HolderState | ReaderState

TRANSITIONS: Final[Mapping[tuple[AnyState, Trigger], AnyState]] = {
    # holder: any SELECT of the AID starts a new session
    (HolderState.IDLE, Trigger.SELECT): HolderState.SELECTED,
    (HolderState.SELECTED, Trigger.SELECT): HolderState.SELECTED,
    (HolderState.SENDING, Trigger.SELECT): HolderState.SELECTED,
    (HolderState.DONE, Trigger.SELECT): HolderState.SELECTED,
    (HolderState.SELECTED, Trigger.REQUEST): HolderState.SENDING,
    (HolderState.SELECTED, Trigger.LOCKED): HolderState.SELECTED,
    (HolderState.SELECTED, Trigger.ABORT): HolderState.IDLE,
    (HolderState.SENDING, Trigger.DELIVERED): HolderState.DONE,
    (HolderState.SENDING, Trigger.ABORT): HolderState.IDLE,
    # reader
    (ReaderState.START, Trigger.SEND_SELECT): ReaderState.SELECTING,
    (ReaderState.SELECTING, Trigger.FCI): ReaderState.REQUESTING,
    (ReaderState.SELECTING, Trigger.FAIL): ReaderState.FAILED,
    (ReaderState.REQUESTING, Trigger.RESPONSE): ReaderState.DONE,
    (ReaderState.REQUESTING, Trigger.LOCKED): ReaderState.LOCKED,
    (ReaderState.REQUESTING, Trigger.FAIL): ReaderState.FAILED,
    (ReaderState.LOCKED, Trigger.RETRY): ReaderState.REQUESTING,
}
"""Every legal transition; anything else is refused at once."""


# --- holder events -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selected:
    """A reader selected the application: a tap began."""


@dataclass(frozen=True, slots=True)
class PresentationRequested:
    """A reader asks for a presentation (once per session); prompt the user now."""

    beneficiary_hint: int | None


@dataclass(frozen=True, slots=True)
class Done:
    """The presentation of ``beneficiary_index`` was fully delivered."""

    beneficiary_index: int


HolderEvent = Selected | PresentationRequested | Done

UserVerificationGate = Callable[[], bool]
"""True once the user passed PIN/biometric verification in the app."""
BeneficiaryChooser = Callable[[int | None, tuple[int, ...]], int | None]
"""(reader's hint, available indices) -> the index the user picked, or None if not yet."""


# --- wire helpers --------------------------------------------------------------------


def _decode_map(
    data: bytes, labels: type[IntEnum], what: str, error: type[VerificationError], max_size: int
) -> dict[int, Any]:
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


def _uint(value: object, low: int, high: int) -> int | None:
    if type(value) is not int or not low <= value <= high:
        return None
    return value


def _is_extended(raw: bytes) -> bool:
    # parse_command already validated the forms: a body of 3+ bytes starting with 00
    # is the extended form.
    return len(raw) >= 7 and raw[4] == 0x00


def _advance(state: AnyState, trigger: Trigger, error: type[Exception]) -> AnyState:
    new = TRANSITIONS.get((state, trigger))
    if new is None:
        raise error(f"{trigger.value} is not allowed in state {state.value}")
    return new


def _status_word_of(exc: VerificationError) -> int:
    if isinstance(exc, ApduError | NfcError | SessionError):
        return exc.status_word
    return int(StatusWord.NO_PRECISE_DIAGNOSIS)


# --- holder (card) -------------------------------------------------------------------


@dataclass(slots=True)
class _AcceptedRequest:
    raw: bytes
    nonce: bytes
    hint: int | None
    transcript_hash: bytes
    channel: SecureChannel | None


class HolderSession:
    """The card side of one tap (one power-up of the emulated card).

    ``process`` never raises on peer input: every malformed or illegal command
    is answered with its status word (the cause is kept in :attr:`last_error`).
    The app drains :meth:`events`. Exceptions of ``gate`` and ``chooser``, and
    a chooser answer outside the available indices, are the app's own bugs:
    they propagate.

    The presentation is produced only once ``gate()`` is True (user verified)
    and ``chooser(hint, available)`` returned an index; until then the request
    is answered 6982 and the reader may resend it unchanged.
    """

    def __init__(
        self,
        credentials: Mapping[int, bytes],
        device: DeviceSigner,
        *,
        clock: Clock,
        gate: UserVerificationGate,
        chooser: BeneficiaryChooser,
        encryption: EncryptionPolicy = EncryptionPolicy.REQUIRED,
        extended_length: bool = True,
        max_command_data: int | None = None,
        max_response_data: int | None = None,
        ttl: int = DEFAULT_TTL,
        rng: Rng = os.urandom,
        seen_nonces: SeenNonces | None = None,
    ) -> None:
        if not credentials or not all(
            _uint(i, 0, MAX_BENEFICIARIES - 1) is not None and isinstance(c, bytes)
            for i, c in credentials.items()
        ):
            raise InvalidArgument(
                f"credentials maps beneficiary indices 0..{MAX_BENEFICIARIES - 1} to bytes"
            )
        if not isinstance(encryption, EncryptionPolicy):
            raise InvalidArgument("encryption must be an EncryptionPolicy")
        if not callable(gate) or not callable(chooser):
            raise InvalidArgument("gate and chooser must be callables")
        if type(ttl) is not int or not 1 <= ttl <= MAX_TTL:
            raise InvalidArgument(f"ttl must be 1..{MAX_TTL} seconds")
        short_command, short_response = MAX_SHORT_DATA, MAX_SHORT_LE
        default_command = MAX_REQUEST_BYTES if extended_length else short_command
        default_response = MAX_RESPONSE_BYTES if extended_length else short_response
        self._max_command = default_command if max_command_data is None else max_command_data
        self._max_response = default_response if max_response_data is None else max_response_data
        command_cap = MAX_REQUEST_BYTES if extended_length else short_command
        response_cap = MAX_RESPONSE_DATA if extended_length else short_response
        if _uint(self._max_command, 1, command_cap) is None:
            raise InvalidArgument(f"max_command_data must be 1..{command_cap}")
        if _uint(self._max_response, 1, response_cap) is None:
            raise InvalidArgument(f"max_response_data must be 1..{response_cap}")
        self._credentials = dict(credentials)
        self._available = tuple(sorted(self._credentials))
        self._device = device
        self._clock = clock
        self._gate = gate
        self._chooser = chooser
        self._modes = encryption.offered_modes()
        self._extended = bool(extended_length)
        self._ttl = ttl
        self._rng = rng
        self._seen = seen_nonces if seen_nonces is not None else SeenNonces()
        self._state = HolderState.IDLE
        self._events: list[HolderEvent] = []
        self._chain = ChainAssembler(MAX_REQUEST_BYTES, chainable_ins=(Ins.PRESENTATION_REQUEST,))
        self._splitter = ResponseSplitter(self._max_response)
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._fci = b""
        self._accepted: _AcceptedRequest | None = None
        self._chosen: int | None = None
        self._last_error: VerificationError | None = None

    @property
    def state(self) -> HolderState:
        """The current state."""
        return self._state

    @property
    def fci(self) -> bytes:
        """The FCI of the current session (empty before SELECT)."""
        return self._fci

    @property
    def last_error(self) -> VerificationError | None:
        """Why the last command was refused (None if it succeeded): for the app's logs."""
        return self._last_error

    def events(self) -> list[HolderEvent]:
        """Events since the last call, oldest first."""
        out, self._events = self._events, []
        return out

    def process(self, command: bytes) -> bytes:
        """Answer one command APDU with one response APDU (data || SW1 SW2)."""
        if not isinstance(command, bytes | bytearray | memoryview):
            raise InvalidArgument("command must be bytes")
        raw = bytes(command)
        try:
            response = self._process(raw)
        except VerificationError as exc:
            # A refused command is never a link of the open chain: the chain is dropped.
            self._chain.reset()
            self._last_error = exc
            response = ResponseApdu(b"", _status_word_of(exc))
        else:
            self._last_error = None
        return response.encode()

    # --- dispatch ----------------------------------------------------------------------

    def _advance(self, trigger: Trigger) -> None:
        # The table maps holder states to holder states only.
        self._state = cast(HolderState, _advance(self._state, trigger, NfcOutOfOrder))

    def _process(self, raw: bytes) -> ResponseApdu:
        cmd = parse_command(raw)
        if _is_extended(raw) and not self._extended:
            raise ApduWrongLength("extended length is not supported by this holder")
        if len(cmd.data) > self._max_command:
            raise ApduWrongLength(f"{len(cmd.data)} data bytes > {self._max_command} per APDU")
        base_cla = cmd.cla & ~CHAINING_BIT
        supported = _SUPPORTED_INS.get(base_cla)
        if supported is None:
            raise ApduClaNotSupported(f"CLA {cmd.cla:02X} is not supported")
        if cmd.ins not in supported:
            raise ApduInsNotSupported(f"INS {cmd.ins:02X} is not supported in class {base_cla:02X}")
        if cmd.ins == Ins.GET_RESPONSE and not self._chain.in_progress:
            return self._get_response(cmd)
        # ISO/IEC 7816-4: any command but GET RESPONSE discards pending response data.
        if self._splitter.pending:
            self._splitter.reset()
            if self._state is HolderState.SENDING:
                self._advance(Trigger.ABORT)
        if (
            cmd.is_chained
            and not self._chain.in_progress
            and cmd.ins == Ins.PRESENTATION_REQUEST
            and (cmd.p1 or cmd.p2)
        ):
            # Refused before it is acknowledged: the later links repeat this header.
            raise ApduWrongP1P2(f"PRESENTATION REQUEST P1P2 {cmd.p1:02X}{cmd.p2:02X}")
        complete = self._chain.feed(cmd)
        if complete is None:
            return ResponseApdu(b"", StatusWord.OK)
        if complete.ins == Ins.SELECT:
            return self._select(complete)
        return self._request(complete)

    def _get_response(self, cmd: CommandApdu) -> ResponseApdu:
        response = self._splitter.get_response(cmd)
        if self._state is HolderState.SENDING and not self._splitter.pending:
            self._delivered()
        return response

    def _delivered(self) -> None:
        self._advance(Trigger.DELIVERED)
        if self._chosen is not None:
            self._events.append(Done(self._chosen))

    # --- SELECT ------------------------------------------------------------------------

    def _select(self, cmd: CommandApdu) -> ResponseApdu:
        if cmd.p1 != _SELECT_BY_NAME or cmd.p2 != _SELECT_FIRST_WITH_FCI:
            raise ApduWrongP1P2(f"SELECT P1P2 {cmd.p1:02X}{cmd.p2:02X}, expected 0400")
        if len(cmd.data) not in _AID_LENGTHS:
            raise ApduWrongLength(f"an AID is 5..16 bytes, got {len(cmd.data)}")
        if cmd.data != AID:
            raise NfcApplicationNotFound(f"AID {cmd.data.hex().upper()} is not this application")
        self._advance(Trigger.SELECT)
        self._key = None
        self._accepted = None
        self._chosen = None
        fci: dict[int, Any] = {
            FciLabel.VERSION: PROTOCOL_VERSION,
            FciLabel.MAX_COMMAND: self._max_command,
            FciLabel.MAX_RESPONSE: self._max_response,
            FciLabel.EXTENDED_LENGTH: self._extended,
            FciLabel.ALGORITHMS: [int(a) for a in _DEVICE_ALGORITHMS],
            FciLabel.SESSION_MODES: [int(m) for m in self._modes],
        }
        if SessionMode.ECDH_P256_A256GCM in self._modes:
            self._key = generate_ephemeral_key(self._rng)
            fci[FciLabel.HOLDER_KEY] = public_point(self._key)
        self._fci = _cbor.encode(fci)
        self._events.append(Selected())
        return self._splitter.start(ResponseApdu(self._fci, StatusWord.OK), le=cmd.le)

    # --- PRESENTATION REQUEST ------------------------------------------------------------

    def _request(self, cmd: CommandApdu) -> ResponseApdu:
        if TRANSITIONS.get((self._state, Trigger.REQUEST)) is None:
            raise NfcOutOfOrder(f"a request is not allowed in state {self._state.value}")
        if cmd.p1 or cmd.p2:
            raise ApduWrongP1P2(f"PRESENTATION REQUEST P1P2 {cmd.p1:02X}{cmd.p2:02X}")
        if not cmd.data:
            raise ApduWrongLength("PRESENTATION REQUEST carries the request")
        try:
            accepted = self._accept(cmd.data)
        except NfcLocked:
            raise
        except VerificationError:
            # The session is burnt: keys and FCI are dropped, the reader starts over.
            self._advance(Trigger.ABORT)
            self._key = None
            self._accepted = None
            raise
        if not self._gate():
            self._advance(Trigger.LOCKED)
            raise NfcLocked("user verification pending")
        choice = self._chooser(accepted.hint, self._available)
        if choice is None:
            self._advance(Trigger.LOCKED)
            raise NfcLocked("the user has not chosen a beneficiary yet")
        if choice not in self._credentials:
            raise InvalidArgument(f"chooser returned {choice!r}, not one of {self._available}")
        if not self._seen.add(accepted.nonce):
            self._advance(Trigger.ABORT)
            raise NfcReaderNonceReplayed("this reader nonce was already answered")
        token = present(
            self._credentials[choice],
            self._device,
            clock=self._clock,
            ttl=self._ttl,
            transcript=accepted.transcript_hash,
            rng=self._rng,
        )
        payload = token if accepted.channel is None else accepted.channel.encrypt(token)
        self._chosen = choice
        self._advance(Trigger.REQUEST)
        response = self._splitter.start(ResponseApdu(payload, StatusWord.OK), le=cmd.le)
        if not self._splitter.pending:
            self._delivered()
        return response

    def _accept(self, data: bytes) -> _AcceptedRequest:
        previous = self._accepted
        if previous is not None:
            # A resend after 6982 must be the very same request of the same session.
            if hmac.compare_digest(previous.raw, data):
                return previous
            raise NfcOutOfOrder("a different request in a session already asked")
        request = _decode_map(data, RequestLabel, "request", NfcRequestInvalid, MAX_REQUEST_BYTES)
        info_raw = request.get(RequestLabel.READER_INFO)
        body = request.get(RequestLabel.DATA)
        if not isinstance(info_raw, bytes) or not isinstance(body, bytes):
            raise NfcRequestInvalid("request must be {1: readerInfo bstr, 2: data bstr}")
        info = _decode_map(info_raw, ReaderInfoLabel, "readerInfo", NfcRequestInvalid, 256)
        version = info.get(ReaderInfoLabel.VERSION)
        if version != PROTOCOL_VERSION or type(version) is not int:
            raise NfcVersionNotSupported(f"protocol version {version!r}, expected 1")
        nonce = info.get(ReaderInfoLabel.NONCE)
        if not isinstance(nonce, bytes) or len(nonce) != NONCE_LENGTH:
            raise NfcRequestInvalid(f"reader nonce must be {NONCE_LENGTH} bytes")
        mode = self._mode_of(info.get(ReaderInfoLabel.MODE))
        reader_key = info.get(ReaderInfoLabel.READER_KEY)
        if nonce in self._seen:
            raise NfcReaderNonceReplayed("this reader nonce was already answered")
        transcript = session_transcript(self._fci, info_raw)
        channel: SecureChannel | None = None
        if mode is SessionMode.ECDH_P256_A256GCM:
            if self._key is None:
                raise NfcOutOfOrder("no ephemeral key in this session")
            if not isinstance(reader_key, bytes):
                raise SessionKeyInvalid("an encrypted request carries the reader key")
            secret = ecdh_shared_secret(self._key, reader_key)
            channel = SecureChannel(derive_session_keys(secret, transcript), Role.HOLDER)
            body = channel.decrypt(body)
        elif reader_key is not None:
            raise NfcRequestInvalid("a plaintext request carries no reader key")
        inner = _decode_map(body, RequestDataLabel, "request data", NfcRequestInvalid, 64)
        hint = inner.get(RequestDataLabel.BENEFICIARY_HINT)
        if hint is not None and _uint(hint, 0, MAX_BENEFICIARIES - 1) is None:
            raise NfcRequestInvalid(f"beneficiary hint must be 0..{MAX_BENEFICIARIES - 1}")
        accepted = _AcceptedRequest(data, nonce, hint, hashlib.sha256(transcript).digest(), channel)
        self._accepted = accepted
        self._events.append(PresentationRequested(hint))
        return accepted

    def _mode_of(self, value: object) -> SessionMode:
        if type(value) is not int or value not in _MODE_VALUES:
            raise NfcRequestInvalid(f"unknown session mode {value!r}")
        mode = SessionMode(value)
        if mode not in self._modes:
            if mode is SessionMode.PLAINTEXT:
                raise SessionDowngrade("plaintext requested while encryption is required")
            raise NfcRequestInvalid(f"session mode {mode.name} is not offered")
        return mode


# --- reader --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fci:
    max_command: int
    max_response: int
    extended: bool
    modes: tuple[SessionMode, ...]
    holder_key: bytes | None


def _parse_fci(raw: bytes) -> _Fci:
    fci = _decode_map(raw, FciLabel, "FCI", NfcResponseInvalid, MAX_FCI_BYTES)
    version = fci.get(FciLabel.VERSION)
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise NfcVersionNotSupported(f"holder speaks protocol version {version!r}")
    max_command = _uint(fci.get(FciLabel.MAX_COMMAND), 1, MAX_COMMAND_DATA)
    max_response = _uint(fci.get(FciLabel.MAX_RESPONSE), 1, MAX_RESPONSE_DATA)
    extended = fci.get(FciLabel.EXTENDED_LENGTH)
    algorithms = fci.get(FciLabel.ALGORITHMS)
    modes = fci.get(FciLabel.SESSION_MODES)
    if max_command is None or max_response is None or type(extended) is not bool:
        raise NfcResponseInvalid("FCI sizes or extended-length flag missing or out of range")
    if not isinstance(algorithms, list) or not all(type(a) is int for a in algorithms):
        raise NfcResponseInvalid("FCI algorithms must be an array of integers")
    if CoseAlg.ES256 not in algorithms:
        raise NfcResponseInvalid("the holder does not sign with ES256")
    known = _MODE_VALUES
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
    return _Fci(max_command, max_response, extended, offered, key)


class ReaderSession:
    """The reader side of one tap.

    Loop: ``cmd = next_command()``; send it; ``feed(answer)``; until
    ``next_command()`` returns None. Then :attr:`result` holds the
    :class:`~vitale_cred.verify.VerifiedPresentation`, or the session is
    FAILED (the error was raised by ``feed`` and is kept in :attr:`error`) or
    LOCKED (the holder answered 6982: call :meth:`retry` after a pause).

    ``extended_length`` says whether the transport carries extended APDUs;
    they are used only if the holder announces them too. Otherwise long
    commands are chained (CLA b5) and long responses fetched by GET RESPONSE.
    """

    def __init__(
        self,
        verifier: Verifier,
        *,
        beneficiary_hint: int | None = None,
        encryption: EncryptionPolicy = EncryptionPolicy.REQUIRED,
        extended_length: bool = True,
        rng: Rng = os.urandom,
        seen_nonces: SeenNonces | None = None,
    ) -> None:
        if not isinstance(verifier, Verifier):
            raise InvalidArgument("ReaderSession needs a Verifier")
        if (
            beneficiary_hint is not None
            and _uint(beneficiary_hint, 0, MAX_BENEFICIARIES - 1) is None
        ):
            raise InvalidArgument(f"beneficiary_hint must be 0..{MAX_BENEFICIARIES - 1}")
        if not isinstance(encryption, EncryptionPolicy):
            raise InvalidArgument("encryption must be an EncryptionPolicy")
        self._verifier = verifier
        self._hint = beneficiary_hint
        self._encryption = encryption
        self._extended = bool(extended_length)
        self._nonce = rng(NONCE_LENGTH)
        if not isinstance(self._nonce, bytes) or len(self._nonce) != NONCE_LENGTH:
            raise InvalidArgument(f"rng must return {NONCE_LENGTH} bytes")
        if seen_nonces is not None and not seen_nonces.add(self._nonce):
            raise NfcReaderNonceRepeated("the random source repeated a reader nonce")
        self._key = (
            None
            if encryption is EncryptionPolicy.UNSAFE_PLAINTEXT_ONLY
            else generate_ephemeral_key(rng)
        )
        self._state = ReaderState.START
        self._next: CommandApdu | None = None
        self._awaiting: CommandApdu | None = None
        self._links: list[CommandApdu] = []
        self._request_links: tuple[CommandApdu, ...] = ()
        self._collector: ResponseCollector | None = None
        self._transcript_hash = b""
        self._mode: SessionMode | None = None
        self._channel: SecureChannel | None = None
        self._result: VerifiedPresentation | None = None
        self._error: VerificationError | None = None
        self.commands_sent = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    # --- public surface ---------------------------------------------------------------

    @property
    def state(self) -> ReaderState:
        """The current state."""
        return self._state

    @property
    def nonce(self) -> bytes:
        """This session's reader nonce."""
        return self._nonce

    @property
    def mode(self) -> SessionMode | None:
        """The session mode chosen from the FCI (None before)."""
        return self._mode

    @property
    def transcript_hash(self) -> bytes:
        """SHA-256 of the SessionTranscript (empty before the FCI arrived)."""
        return self._transcript_hash

    @property
    def result(self) -> VerifiedPresentation:
        """The verified presentation; only in state DONE."""
        if self._result is None:
            raise NfcIllegalState(f"no result in state {self._state.value}")
        return self._result

    @property
    def error(self) -> VerificationError | None:
        """Why the session failed (or was locked), if it did."""
        return self._error

    def next_command(self) -> bytes | None:
        """The next command APDU to send, or None when there is nothing to send."""
        if self._awaiting is not None:
            raise NfcIllegalState("the previous command is still awaiting its response")
        if self._state is ReaderState.START:
            self._advance(Trigger.SEND_SELECT)
            select = CommandApdu(
                _ISO_CLA, Ins.SELECT, _SELECT_BY_NAME, _SELECT_FIRST_WITH_FCI, AID, le=MAX_SHORT_LE
            )
            self._collector = ResponseCollector(select, MAX_FCI_BYTES)
            self._next = select
        command = self._next
        if command is None:
            return None
        self._next = None
        self._awaiting = command
        raw = command.encode()
        self.commands_sent += 1
        self.bytes_sent += len(raw)
        return raw

    def feed(self, response: bytes) -> None:
        """Take the answer to the last command; raises the peer's fault, if any."""
        if self._awaiting is None:
            raise NfcIllegalState("no command is awaiting a response")
        if not isinstance(response, bytes | bytearray | memoryview):
            raise InvalidArgument("response must be bytes")
        self._awaiting = None
        self.bytes_received += len(response)
        try:
            self._on_response(parse_response(response))
        except VerificationError as exc:
            self._error = exc
            locked = isinstance(exc, NfcLocked) and self._state is ReaderState.REQUESTING
            self._advance(Trigger.LOCKED if locked else Trigger.FAIL)
            raise

    def retry(self) -> None:
        """After 6982, resend the very same request (the holder kept its session)."""
        self._advance(Trigger.RETRY)
        self._error = None
        self._queue_request()

    # --- internals --------------------------------------------------------------------

    def _advance(self, trigger: Trigger) -> None:
        # The table maps reader states to reader states only.
        self._state = cast(ReaderState, _advance(self._state, trigger, NfcIllegalState))

    def _on_response(self, response: ResponseApdu) -> None:
        if self._links:
            # An intermediate link of a chain: the holder acknowledges it with a bare 9000.
            if response.sw != StatusWord.OK:
                raise _refusal(response.sw)
            if response.data:
                raise NfcResponseInvalid("data in answer to an intermediate chain link")
            self._next = self._links.pop(0)
            if not self._links:
                self._collector = ResponseCollector(self._next, MAX_RESPONSE_BYTES)
            return
        collector = self._collector
        if collector is None:
            raise NfcIllegalState("no response collector")
        outcome = collector.feed(response)
        if isinstance(outcome, CommandApdu):
            self._next = outcome
            return
        if outcome.sw != StatusWord.OK:
            raise _refusal(outcome.sw)
        if self._state is ReaderState.SELECTING:
            self._on_fci(outcome.data)
        else:
            self._on_presentation(outcome.data)

    def _on_fci(self, raw: bytes) -> None:
        fci = _parse_fci(raw)
        mode = self._choose_mode(fci.modes)
        info: dict[int, Any] = {
            ReaderInfoLabel.VERSION: PROTOCOL_VERSION,
            ReaderInfoLabel.NONCE: self._nonce,
            ReaderInfoLabel.MODE: int(mode),
        }
        key = self._key
        if mode is SessionMode.ECDH_P256_A256GCM:
            if key is None or fci.holder_key is None:
                raise NfcIllegalState("ECDH mode without ephemeral keys")
            info[ReaderInfoLabel.READER_KEY] = public_point(key)
        info_raw = _cbor.encode(info)
        transcript = session_transcript(raw, info_raw)
        self._transcript_hash = hashlib.sha256(transcript).digest()
        inner: dict[int, Any] = {}
        if self._hint is not None:
            inner[RequestDataLabel.BENEFICIARY_HINT] = self._hint
        body = _cbor.encode(inner)
        if key is not None and fci.holder_key is not None and mode is SessionMode.ECDH_P256_A256GCM:
            secret = ecdh_shared_secret(key, fci.holder_key)
            self._channel = SecureChannel(derive_session_keys(secret, transcript), Role.READER)
            body = self._channel.encrypt(body)
        request = _cbor.encode({RequestLabel.READER_INFO: info_raw, RequestLabel.DATA: body})
        extended = self._extended and fci.extended
        link_size = min(fci.max_command, MAX_COMMAND_DATA if extended else MAX_SHORT_DATA)
        le = min(fci.max_response, MAX_RESPONSE_DATA) if extended else MAX_SHORT_LE
        command = CommandApdu(_APP_CLA, Ins.PRESENTATION_REQUEST, 0, 0, request, le=le)
        self._request_links = tuple(split_command(command, link_size))
        self._mode = mode
        self._advance(Trigger.FCI)
        self._queue_request()

    def _queue_request(self) -> None:
        links = list(self._request_links)
        self._next = links.pop(0)
        self._links = links
        if not links:
            self._collector = ResponseCollector(self._next, MAX_RESPONSE_BYTES)

    def _choose_mode(self, offered: tuple[SessionMode, ...]) -> SessionMode:
        encrypted = SessionMode.ECDH_P256_A256GCM
        if self._encryption is EncryptionPolicy.UNSAFE_PLAINTEXT_ONLY:
            if SessionMode.PLAINTEXT not in offered:
                raise NfcResponseInvalid("the holder offers no plaintext mode")
            return SessionMode.PLAINTEXT
        if encrypted in offered:
            return encrypted
        if self._encryption is EncryptionPolicy.REQUIRED:
            raise SessionDowngrade("the holder offers no encryption and the policy requires it")
        return SessionMode.PLAINTEXT

    def _on_presentation(self, data: bytes) -> None:
        token = data if self._channel is None else self._channel.decrypt(data)
        result = self._verifier.verify_presentation(token, transcript=self._transcript_hash)
        self._result = result
        self._advance(Trigger.RESPONSE)


def _refusal(sw: int) -> NfcError:
    if sw == NfcLocked.status_word:
        return NfcLocked("the holder is locked: user verification or choice pending")
    if sw == NfcApplicationNotFound.status_word:
        return NfcApplicationNotFound("the card has no vitale_cred application")
    error = NfcHolderRefused(f"the holder answered {sw:04X}")
    error.received_status_word = sw
    return error


def pair(
    holder: HolderSession,
    reader: ReaderSession,
    *,
    trace: list[tuple[bytes, bytes]] | None = None,
) -> VerifiedPresentation:
    """Run one exchange in memory; returns the reader's result or raises its error.

    ``trace`` (if given) receives every (command, response) pair, in order.
    """
    for _ in range(_MAX_EXCHANGES):
        command = reader.next_command()
        if command is None:
            return reader.result
        response = holder.process(command)
        if trace is not None:
            trace.append((command, response))
        reader.feed(response)
    raise NfcIllegalState(f"no result after {_MAX_EXCHANGES} exchanges")


def credentials_by_index(credentials: Iterable[bytes]) -> dict[int, bytes]:
    """Map each credential (of a bundle) to the beneficiary index it carries.

    The credentials are decoded, not verified: they are the holder's own.
    """
    out: dict[int, bytes] = {}
    for credential in credentials:
        message = cose.decode_sign1(credential, max_size=MAX_CREDENTIAL_BYTES)
        index = decode_claims(message.payload).card.index
        if index in out:
            raise InvalidArgument(f"two credentials for beneficiary {index}")
        out[index] = credential
    return out
