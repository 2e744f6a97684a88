"""The card side of a tap: :class:`HolderSession`, its events and its record of nonces.

Sans-I/O: :meth:`HolderSession.process` turns one command APDU into one response
APDU and never raises on the reader's input; the app drains the events. The
processing rules are ``spec/nfc.md`` sections 10.2 and 10.3.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec

from vitale_cred.clock import Clock
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
    NfcLocked,
    NfcOutOfOrder,
    NfcReaderNonceReplayed,
    NfcRequestInvalid,
    NfcVersionNotSupported,
    SessionDowngrade,
    SessionError,
    SessionKeyInvalid,
    VerificationError,
)
from vitale_cred.evidence import RequestContext
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.apdu import (
    CHAINING_BIT,
    MAX_RESPONSE_DATA,
    MAX_SHORT_DATA,
    MAX_SHORT_LE,
    ChainAssembler,
    CommandApdu,
    Ins,
    ResponseApdu,
    ResponseSplitter,
    StatusWord,
    parse_command,
)
from vitale_cred.hazmat.session import (
    Role,
    SecureChannel,
    derive_session_keys,
    ecdh_shared_secret,
    generate_ephemeral_key,
    public_point,
    session_transcript,
)
from vitale_cred.model import MAX_BENEFICIARIES
from vitale_cred.nfc._state import HolderState, Trigger, holder_allows, holder_next
from vitale_cred.nfc._wire import (
    AID,
    APP_CLA,
    ISO_CLA,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    MODE_VALUES,
    PROTOCOL_VERSION,
    SELECT_BY_NAME,
    SELECT_FIRST_WITH_FCI,
    EncryptionPolicy,
    FciLabel,
    ReaderInfoLabel,
    RequestDataLabel,
    RequestLabel,
    SessionMode,
    decode_map,
    uint_in,
)
from vitale_cred.presentation import DEFAULT_TTL, MAX_TTL, present
from vitale_cred.registry import CoseAlg

__all__ = [
    "BeneficiaryChooser",
    "Done",
    "HolderEvent",
    "HolderSession",
    "PresentationRequested",
    "SeenNonces",
    "Selected",
    "UserVerificationGate",
]

_AID_LENGTHS: Final = range(5, 17)
_SUPPORTED_INS: Final[Mapping[int, frozenset[int]]] = {
    ISO_CLA: frozenset({Ins.SELECT, Ins.GET_RESPONSE}),
    APP_CLA: frozenset({Ins.PRESENTATION_REQUEST}),
}
_DEVICE_ALGORITHMS: Final = (CoseAlg.ES256,)
_SEEN_NONCES_DEFAULT: Final = 4096


class SeenNonces:
    """A bounded, thread-safe set of reader nonces already used (oldest forgotten first).

    Share one instance between the sessions of a process: a reader refuses to
    send a nonce twice, a holder refuses to answer one twice.
    """

    # Not a vitale_cred.replay.ReplayCache, whose only operation is check-and-add
    # against an expiry: the holder asks whether a nonce was answered without
    # recording it (R12, before the user is prompted) and records it only when it
    # answers (R20); a reader nonce has no expiry, a reader session no clock, and
    # spec/nfc.md section 9 forgets by count, oldest first.

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


@dataclass(frozen=True, slots=True)
class Selected:
    """A reader selected the application: a tap began."""


@dataclass(frozen=True, slots=True)
class PresentationRequested:
    """A reader asks for a presentation (once per session); prompt the user now.

    ``context``, when the reader sent one, names the professional and the invoice the
    signature will be for (``spec/nfc.md`` section 5): the app may show them.
    """

    beneficiary_hint: int | None
    context: RequestContext | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """The presentation of ``beneficiary_index`` was fully delivered."""

    beneficiary_index: int


HolderEvent = Selected | PresentationRequested | Done

UserVerificationGate = Callable[[], bool]
"""True once the user passed PIN/biometric verification in the app."""
BeneficiaryChooser = Callable[[int | None, tuple[int, ...]], int | None]
"""(reader's hint, available indices) -> the index the user picked, or None if not yet."""


def _is_extended(raw: bytes) -> bool:
    # parse_command already validated the forms: a body of 3+ bytes starting with 00
    # is the extended form.
    return len(raw) >= 7 and raw[4] == 0x00


def _status_word_of(exc: VerificationError) -> int:
    if isinstance(exc, ApduError | NfcError | SessionError):
        return exc.status_word
    return int(StatusWord.NO_PRECISE_DIAGNOSIS)


@dataclass(slots=True)
class _AcceptedRequest:
    raw: bytes
    nonce: bytes
    hint: int | None
    transcript_hash: bytes
    channel: SecureChannel | None
    context: RequestContext | None


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
            uint_in(i, 0, MAX_BENEFICIARIES - 1) is not None and isinstance(c, bytes)
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
        if uint_in(self._max_command, 1, command_cap) is None:
            raise InvalidArgument(f"max_command_data must be 1..{command_cap}")
        if uint_in(self._max_response, 1, response_cap) is None:
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
        self._state = holder_next(self._state, trigger)

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
        if cmd.p1 != SELECT_BY_NAME or cmd.p2 != SELECT_FIRST_WITH_FCI:
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
        if not holder_allows(self._state, Trigger.REQUEST):
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
        request = decode_map(data, RequestLabel, "request", NfcRequestInvalid, MAX_REQUEST_BYTES)
        info_raw = request.get(RequestLabel.READER_INFO)
        body = request.get(RequestLabel.DATA)
        if not isinstance(info_raw, bytes) or not isinstance(body, bytes):
            raise NfcRequestInvalid("request must be {1: readerInfo bstr, 2: data bstr}")
        info = decode_map(info_raw, ReaderInfoLabel, "readerInfo", NfcRequestInvalid, 256)
        version = info.get(ReaderInfoLabel.VERSION)
        if version != PROTOCOL_VERSION or type(version) is not int:
            raise NfcVersionNotSupported(f"protocol version {version!r}, expected 1")
        nonce = info.get(ReaderInfoLabel.NONCE)
        if not isinstance(nonce, bytes) or len(nonce) != NONCE_LENGTH:
            raise NfcRequestInvalid(f"reader nonce must be {NONCE_LENGTH} bytes")
        context = None
        if ReaderInfoLabel.CONTEXT in info:
            # In ReaderInfo, hence in the transcript the device signature covers.
            context = RequestContext.from_wire(info[ReaderInfoLabel.CONTEXT], NfcRequestInvalid)
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
        inner = decode_map(body, RequestDataLabel, "request data", NfcRequestInvalid, 64)
        hint = inner.get(RequestDataLabel.BENEFICIARY_HINT)
        if hint is not None and uint_in(hint, 0, MAX_BENEFICIARIES - 1) is None:
            raise NfcRequestInvalid(f"beneficiary hint must be 0..{MAX_BENEFICIARIES - 1}")
        accepted = _AcceptedRequest(
            data, nonce, hint, hashlib.sha256(transcript).digest(), channel, context
        )
        self._accepted = accepted
        self._events.append(PresentationRequested(hint, context))
        return accepted

    def _mode_of(self, value: object) -> SessionMode:
        if type(value) is not int or value not in MODE_VALUES:
            raise NfcRequestInvalid(f"unknown session mode {value!r}")
        mode = SessionMode(value)
        if mode not in self._modes:
            if mode is SessionMode.PLAINTEXT:
                raise SessionDowngrade("plaintext requested while encryption is required")
            raise NfcRequestInvalid(f"session mode {mode.name} is not offered")
        return mode
