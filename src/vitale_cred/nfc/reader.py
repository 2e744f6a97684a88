"""The reader side of a tap: :class:`ReaderSession`, and :func:`pair` for both in memory.

Sans-I/O: the session produces command bytes and consumes response bytes; the
caller carries them (PC/SC, a test, :func:`pair`). The rules are ``spec/nfc.md``
sections 10.4 and 10.5.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import Any, Final, Protocol

from vitale_cred.clock import read_clock
from vitale_cred.credential import MAX_CREDENTIAL_BYTES, decode_claims
from vitale_cred.device import NONCE_LENGTH, Rng
from vitale_cred.errors import (
    InvalidArgument,
    NfcApplicationNotFound,
    NfcError,
    NfcHolderRefused,
    NfcIllegalState,
    NfcLocked,
    NfcReaderNonceRepeated,
    NfcResponseInvalid,
    SessionDowngrade,
    VerificationError,
)
from vitale_cred.evidence import Evidence, RequestContext
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.apdu import (
    MAX_COMMAND_DATA,
    MAX_RESPONSE_DATA,
    MAX_SHORT_DATA,
    MAX_SHORT_LE,
    CommandApdu,
    Ins,
    ResponseApdu,
    ResponseCollector,
    StatusWord,
    parse_response,
    split_command,
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
from vitale_cred.nfc._state import ReaderState, Trigger, reader_next
from vitale_cred.nfc._wire import (
    AID,
    APP_CLA,
    ISO_CLA,
    MAX_FCI_BYTES,
    MAX_RESPONSE_BYTES,
    PROTOCOL_VERSION,
    SELECT_BY_NAME,
    SELECT_FIRST_WITH_FCI,
    EncryptionPolicy,
    ReaderInfoLabel,
    RequestDataLabel,
    RequestLabel,
    SessionMode,
    parse_fci,
    uint_in,
)
from vitale_cred.nfc.holder import HolderSession, SeenNonces
from vitale_cred.registry import EvidenceChannel
from vitale_cred.verify import VerifiedPresentation

__all__ = ["PresentationVerifier", "ReaderSession", "credentials_by_index", "pair"]

_MAX_EXCHANGES: Final = 1000


class PresentationVerifier(Protocol):
    """What a :class:`ReaderSession` calls on its verifier.

    :class:`~vitale_cred.verify.Verifier` is one; a wrapper (metrics, logging, a
    test double) need not subclass it.
    """

    def verify_presentation(self, token: bytes, *, transcript: bytes) -> VerifiedPresentation:
        """Verify a device-signed presentation bound to the session's transcript hash."""
        ...


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
    ``verifier`` is any :class:`PresentationVerifier`, usually a
    :class:`~vitale_cred.verify.Verifier`.

    ``context`` (a :class:`~vitale_cred.evidence.RequestContext`: the professional
    and the invoice) travels in ReaderInfo, so the holder's signature covers it; then
    :meth:`evidence` proves the card's presence for that invoice.
    """

    def __init__(
        self,
        verifier: PresentationVerifier,
        *,
        beneficiary_hint: int | None = None,
        encryption: EncryptionPolicy = EncryptionPolicy.REQUIRED,
        extended_length: bool = True,
        rng: Rng = os.urandom,
        seen_nonces: SeenNonces | None = None,
        context: RequestContext | None = None,
    ) -> None:
        # Duck-typed: checked here so that a wrong object fails now, not mid-tap.
        if not callable(getattr(verifier, "verify_presentation", None)):
            raise InvalidArgument("ReaderSession needs a verifier with verify_presentation")
        if (
            beneficiary_hint is not None
            and uint_in(beneficiary_hint, 0, MAX_BENEFICIARIES - 1) is None
        ):
            raise InvalidArgument(f"beneficiary_hint must be 0..{MAX_BENEFICIARIES - 1}")
        if not isinstance(encryption, EncryptionPolicy):
            raise InvalidArgument("encryption must be an EncryptionPolicy")
        if context is not None and not isinstance(context, RequestContext):
            raise InvalidArgument("context must be a RequestContext")
        self._verifier = verifier
        self._context = context
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
        self._fci = b""
        self._reader_info = b""
        self._token: bytes | None = None
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
    def context(self) -> RequestContext | None:
        """The request context this session sends, if any."""
        return self._context

    @property
    def fci(self) -> bytes:
        """The holder's FCI as received (empty before it arrived)."""
        return self._fci

    @property
    def reader_info(self) -> bytes:
        """The ReaderInfo this session sent (empty before the FCI arrived)."""
        return self._reader_info

    @property
    def presentation(self) -> bytes | None:
        """The presentation as received (decrypted), once it arrived, verified or not."""
        return self._token

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
                ISO_CLA, Ins.SELECT, SELECT_BY_NAME, SELECT_FIRST_WITH_FCI, AID, le=MAX_SHORT_LE
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

    def evidence(
        self,
        *,
        read_at: int | None = None,
        professional: str | None = None,
        invoice: bytes | None = None,
    ) -> Evidence:
        """The evidence of this tap (``spec/evidence.md``), once a presentation arrived.

        The verdict is ``ok`` in state DONE, else the code of the verification's
        refusal. ``read_at`` defaults to the verifier's clock (``verifier.policy``).
        With a context, the evidence names its professional and invoice (others are
        refused); without one, give both: the evidence then proves the token fresh at
        ``read_at``, not that it was meant for this invoice.
        """
        token = self._token
        if token is None:
            raise NfcIllegalState(f"no presentation was received (state {self._state.value})")
        context = self._context
        if context is not None:
            if professional not in (None, context.professional) or invoice not in (
                None,
                context.invoice,
            ):
                raise InvalidArgument("the evidence names the request context's professional")
            professional, invoice = context.professional, context.invoice
        if professional is None or invoice is None:
            raise InvalidArgument("without a request context, give professional and invoice")
        if read_at is None:
            policy = getattr(self._verifier, "policy", None)
            clock = getattr(policy, "clock", None)
            if clock is None:
                raise InvalidArgument("give read_at: the verifier has no policy clock")
            read_at = read_clock(clock)
        if self._result is not None:
            verdict = "ok"
        elif self._error is not None:
            verdict = self._error.code
        else:
            raise NfcIllegalState("the presentation was not verified yet")
        return Evidence(
            EvidenceChannel.NFC,
            token,
            read_at,
            verdict,
            professional,
            invoice,
            fci=self._fci,
            reader_info=self._reader_info,
        )

    # --- internals --------------------------------------------------------------------

    def _advance(self, trigger: Trigger) -> None:
        self._state = reader_next(self._state, trigger)

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
        fci = parse_fci(raw)
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
        if self._context is not None:
            info[ReaderInfoLabel.CONTEXT] = self._context.to_wire()
        info_raw = _cbor.encode(info)
        self._fci = raw
        self._reader_info = info_raw
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
        command = CommandApdu(APP_CLA, Ins.PRESENTATION_REQUEST, 0, 0, request, le=le)
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
        self._token = token
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
