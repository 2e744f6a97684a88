"""PC/SC transport for the NFC protocol: a reader adapter and a virtual card.

Optional extra ``pcsc`` (pyscard, which needs a running ``pcscd``).

* :func:`read_presentation` drives a :class:`~vitale_cred.nfc.ReaderSession`
  over a PC/SC reader (the professional's side).
* :func:`serve_virtual_card` serves :class:`~vitale_cred.nfc.HolderSession`
  objects as a card of the vsmartcard ``vpcd`` reader driver, so the whole
  stack (pcscd, pyscard, reader session) can be exercised without a phone.

The vpcd wire format: the card connects to TCP port 35963 (reader "Virtual PCD
00 00"); each frame is a 2-byte big-endian length and a payload. A 1-byte
payload is a control code (0 power off, 1 power on, 2 reset, 4 ask for the
ATR), anything longer a command APDU, answered with one response frame.

This module and the CLI are the only places that sleep or read a clock.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, Final

from vitale_cred.device import Rng
from vitale_cred.errors import InvalidArgument, NfcLocked, PcscError, PcscNoCard, PcscUnavailable
from vitale_cred.nfc import EncryptionPolicy, HolderSession, ReaderSession, SeenNonces
from vitale_cred.verify import VerifiedPresentation, Verifier

__all__ = [
    "DEFAULT_ATR",
    "VPCD_PORT",
    "load_scard",
    "read_presentation",
    "serve_virtual_card",
]

VPCD_PORT: Final = 35963
"""Port of vpcd's first slot, "Virtual PCD 00 00"."""
DEFAULT_ATR: Final = bytes.fromhex("3B80800101")
"""A minimal ATR offering T=0 and T=1, no historical bytes."""

_CTRL_POWER_OFF: Final = 0
_CTRL_POWER_ON: Final = 1
_CTRL_RESET: Final = 2
_CTRL_ATR: Final = 4
_LENGTH_BYTES: Final = 2
_MAX_FRAME: Final = 0xFFFF
_RECV_CHUNK: Final = 4096

# PC/SC return codes after which the card is gone or not there yet: reconnect.
_CARD_ABSENT_CODES: Final = frozenset(
    {
        0x8010000C,  # SCARD_E_NO_SMARTCARD
        0x80100069,  # SCARD_W_REMOVED_CARD
        0x80100068,  # SCARD_W_RESET_CARD
        0x80100067,  # SCARD_W_UNPOWERED_CARD
        0x80100066,  # SCARD_W_UNRESPONSIVE_CARD
        0x8010002E,  # SCARD_E_NO_READERS_AVAILABLE
        0x80100009,  # SCARD_E_UNKNOWN_READER
        0x80100017,  # SCARD_E_READER_UNAVAILABLE
        0x8010000B,  # SCARD_E_SHARING_VIOLATION (another application holds it)
        # SCARD_E_NOT_TRANSACTED: the exchange broke off, as when a phone leaves the
        # field mid-APDU (or vpcd's card reconnects); a new session starts on return.
        0x80100016,
    }
)


class _CardGone(Exception):
    """Internal: the card left (or is not there yet); the caller reconnects."""


def load_scard() -> ModuleType:
    """pyscard's ``smartcard.scard`` module, or ``nfc.pcsc_unavailable`` naming the extra."""
    try:
        from smartcard import scard  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise PcscUnavailable("pyscard is not installed (pip install 'vitale-cred[pcsc]')") from exc
    module: ModuleType = scard
    return module


class _Pcsc:
    """A thin owner of one PC/SC context and at most one card handle."""

    def __init__(self, scard: ModuleType) -> None:
        self._scard = scard
        code, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if code != scard.SCARD_S_SUCCESS:
            raise PcscUnavailable(f"pcscd does not answer: {self._message(code)}")
        self._context = context
        self._card: Any = None
        self._protocol: Any = None
        self.reader = ""

    def _message(self, code: int) -> str:
        return f"{self._scard.SCardGetErrorMessage(code)} ({code & 0xFFFFFFFF:08X})"

    def readers(self) -> list[str]:
        code, readers = self._scard.SCardListReaders(self._context, [])
        if code & 0xFFFFFFFF in _CARD_ABSENT_CODES:
            return []
        if code != self._scard.SCARD_S_SUCCESS:
            raise PcscError(f"cannot list readers: {self._message(code)}")
        return list(readers)

    def try_connect(self, reader_name: str | None) -> bool:
        """Connect to ``reader_name`` or to the first reader with a card."""
        scard = self._scard
        names = [reader_name] if reader_name is not None else self.readers()
        for name in names:
            code, card, protocol = scard.SCardConnect(
                self._context,
                name,
                scard.SCARD_SHARE_SHARED,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )
            if code == scard.SCARD_S_SUCCESS:
                self._card, self._protocol, self.reader = card, protocol, name
                return True
            if code & 0xFFFFFFFF not in _CARD_ABSENT_CODES:
                raise PcscError(f"cannot connect to {name!r}: {self._message(code)}")
        return False

    def transmit(self, command: bytes) -> bytes:
        scard = self._scard
        code, response = scard.SCardTransmit(self._card, self._protocol, list(command))
        if code != scard.SCARD_S_SUCCESS:
            if code & 0xFFFFFFFF in _CARD_ABSENT_CODES:
                raise _CardGone(self._message(code))
            raise PcscError(f"transmit failed: {self._message(code)}")
        return bytes(response)

    def disconnect(self) -> None:
        if self._card is not None:
            # LEAVE_CARD: a reset would power-cycle the holder and end its session.
            self._scard.SCardDisconnect(self._card, self._scard.SCARD_LEAVE_CARD)
            self._card = None

    def close(self) -> None:
        self.disconnect()
        self._scard.SCardReleaseContext(self._context)


def read_presentation(
    verifier: Verifier,
    reader_name: str | None = None,
    *,
    wait_seconds: float = 10.0,
    beneficiary_hint: int | None = None,
    encryption: EncryptionPolicy = EncryptionPolicy.REQUIRED,
    extended_length: bool = False,
    poll_interval: float = 0.02,
    rng: Rng = os.urandom,
    seen_nonces: SeenNonces | None = None,
) -> VerifiedPresentation:
    """Wait for a card on a PC/SC reader and read one verified presentation.

    ``reader_name=None`` takes the first reader holding a card. Connecting is
    retried every ``poll_interval`` seconds until ``wait_seconds`` have passed,
    because pcscd notices a new card only after a few hundred milliseconds;
    while the holder answers 6982 (user verification pending) the same request
    is resent at the same pace. If the card leaves mid-exchange, a new session
    starts when it comes back.

    ``extended_length`` is off by default: PC/SC cannot tell whether a
    contactless reader forwards extended APDUs, and many do not. The holder's
    FCI still decides; short-only costs one GET RESPONSE per presentation.

    Raises :class:`~vitale_cred.errors.PcscNoCard` at the deadline, a
    :class:`~vitale_cred.errors.PcscError` for transport failures, or the
    session's :class:`~vitale_cred.errors.VerificationError`.
    """
    if wait_seconds < 0 or poll_interval <= 0:
        raise InvalidArgument("wait_seconds must be >= 0 and poll_interval > 0")
    pcsc = _Pcsc(load_scard())
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            if pcsc.try_connect(reader_name):
                session = ReaderSession(
                    verifier,
                    beneficiary_hint=beneficiary_hint,
                    encryption=encryption,
                    extended_length=extended_length,
                    rng=rng,
                    seen_nonces=seen_nonces,
                )
                try:
                    return _drive(pcsc, session, deadline, poll_interval)
                except _CardGone:
                    pass
                finally:
                    pcsc.disconnect()
            if time.monotonic() >= deadline:
                where = reader_name or "any reader"
                raise PcscNoCard(f"no card on {where} within {wait_seconds:g} s")
            time.sleep(poll_interval)
    finally:
        pcsc.close()


def _drive(
    pcsc: _Pcsc, session: ReaderSession, deadline: float, poll_interval: float
) -> VerifiedPresentation:
    while True:
        command = session.next_command()
        if command is None:
            return session.result
        response = pcsc.transmit(command)
        try:
            session.feed(response)
        except NfcLocked:
            if time.monotonic() + poll_interval > deadline:
                raise
            time.sleep(poll_interval)
            session.retry()


# --- virtual card (vpcd) ---------------------------------------------------------


def _quickack(sock: socket.socket) -> None:
    # vpcd writes the length and the payload of a frame separately; with delayed
    # ACKs (Nagle on vpcd's side waits for our ACK of the length) every APDU would
    # stall ~40 ms. Linux clears TCP_QUICKACK after use, so it is set before each recv.
    option = getattr(socket, "TCP_QUICKACK", None)
    if option is not None:
        sock.setsockopt(socket.IPPROTO_TCP, option, 1)


def _connect_vpcd(
    host: str, port: int, stop_event: threading.Event | None, timeout: float, poll: float
) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=poll)
        except OSError as exc:
            if (stop_event is not None and stop_event.is_set()) or time.monotonic() >= deadline:
                raise PcscUnavailable(f"vpcd does not listen on {host}:{port}: {exc}") from exc
            time.sleep(poll)
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def serve_virtual_card(
    holder_session_factory: Callable[[], HolderSession],
    host: str = "127.0.0.1",
    port: int = VPCD_PORT,
    *,
    stop_event: threading.Event | None = None,
    atr: bytes = DEFAULT_ATR,
    connect_timeout: float = 10.0,
    poll_interval: float = 0.05,
    on_answer: Callable[[int], None] | None = None,
) -> int:
    """Act as the card in vpcd's slot until ``stop_event`` is set or vpcd hangs up.

    A fresh holder session comes from ``holder_session_factory`` at every
    power-up or reset (one per "tap"). Closing the connection removes the card.
    Returns the number of command APDUs answered; ``on_answer`` is called with that
    number after each answer, so that a caller stopped by an exception (Ctrl-C)
    still knows it.
    """
    if not isinstance(atr, bytes) or not 2 <= len(atr) <= 33:
        raise InvalidArgument("an ATR is 2..33 bytes")
    sock = _connect_vpcd(host, port, stop_event, connect_timeout, poll_interval)
    session: HolderSession | None = None
    buffer = bytearray()
    answered = 0
    with sock:
        sock.settimeout(poll_interval)  # wake up to look at stop_event
        while stop_event is None or not stop_event.is_set():
            frame = _next_frame(buffer)
            if frame is None:
                _quickack(sock)
                try:
                    chunk = sock.recv(_RECV_CHUNK)
                except TimeoutError:
                    continue
                except OSError as exc:
                    raise PcscError(f"vpcd connection failed: {exc}") from exc
                if not chunk:
                    break  # vpcd (pcscd) went away
                buffer += chunk
                continue
            if len(frame) == 1:
                code = frame[0]
                if code in (_CTRL_POWER_ON, _CTRL_RESET):
                    session = holder_session_factory()
                elif code == _CTRL_POWER_OFF:
                    session = None
                elif code == _CTRL_ATR:
                    _send_frame(sock, atr)
                continue
            if not frame:
                continue
            if session is None:
                session = holder_session_factory()
            _send_frame(sock, session.process(frame))
            answered += 1
            if on_answer is not None:
                on_answer(answered)
    return answered


def _next_frame(buffer: bytearray) -> bytes | None:
    if len(buffer) < _LENGTH_BYTES:
        return None
    length = int.from_bytes(buffer[:_LENGTH_BYTES], "big")
    end = _LENGTH_BYTES + length
    if len(buffer) < end:
        return None
    frame = bytes(buffer[_LENGTH_BYTES:end])
    del buffer[:end]
    return frame


def _send_frame(sock: socket.socket, payload: bytes) -> None:
    if len(payload) > _MAX_FRAME:
        raise PcscError("a vpcd frame carries at most 65535 bytes")
    try:
        # One write per frame: with TCP_NODELAY it leaves as one segment.
        sock.sendall(len(payload).to_bytes(_LENGTH_BYTES, "big") + payload)
    except OSError as exc:
        raise PcscError(f"vpcd connection failed: {exc}") from exc
