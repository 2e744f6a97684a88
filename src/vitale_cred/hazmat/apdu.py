"""A pure ISO/IEC 7816-4 APDU codec (no I/O, no clock).

Command APDUs in the four cases, short and extended length; strict parsing of
every length form; command chaining (CLA bit b5); response splitting with
61xx / GET RESPONSE and the 6Cxx wrong-Le retry.

Length conventions, used throughout:

* ``CommandApdu.le`` is Ne, the maximum number of response data bytes the
  reader expects: ``None`` (no Le field, cases 1 and 3) or 1..65536.
* Le=00/0000 means maximum: a short Le byte ``00`` encodes Ne = 256 and an
  extended Le ``0000`` encodes Ne = 65536.

Card-side errors are :class:`~vitale_cred.errors.ApduError` subclasses that
carry the status word to answer with; caller misuse raises
:class:`~vitale_cred.errors.InvalidArgument`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from vitale_cred.errors import (
    ApduBodyTruncated,
    ApduChainInconsistent,
    ApduChainingNotSupported,
    ApduChainTooLong,
    ApduClaInvalid,
    ApduExtendedLcZero,
    ApduExtendedLengthTruncated,
    ApduGetResponseUnexpected,
    ApduInsInvalid,
    ApduLeWrongLength,
    ApduResponseMalformed,
    ApduResponseTooLong,
    ApduResponseUnexpected,
    ApduStatusWordInvalid,
    ApduTooShort,
    ApduWrongLength,
    ApduWrongP1P2,
    InvalidArgument,
)
from vitale_cred.registry import Ins, StatusWord

__all__ = [
    "CHAINING_BIT",
    "HEADER_LENGTH",
    "MAX_CHAIN_LINKS",
    "MAX_COMMAND_DATA",
    "MAX_RESPONSE_DATA",
    "MAX_SHORT_DATA",
    "MAX_SHORT_LE",
    "ChainAssembler",
    "CommandApdu",
    "Ins",
    "ResponseApdu",
    "ResponseCollector",
    "ResponseSplitter",
    "StatusWord",
    "bytes_remaining_of",
    "parse_command",
    "parse_response",
    "split_command",
    "sw_bytes_remaining",
    "sw_wrong_le",
    "wrong_le_of",
]

HEADER_LENGTH = 4
"""CLA INS P1 P2."""
MAX_SHORT_DATA = 255
"""Largest Nc a short Lc byte can carry."""
MAX_SHORT_LE = 256
"""Largest Ne a short Le byte can carry (written 00)."""
MAX_COMMAND_DATA = 65535
"""Largest Nc: an extended Lc is two bytes and 0000 is not a valid Lc."""
MAX_RESPONSE_DATA = 65536
"""Largest Ne, hence the largest response data field (extended Le 0000)."""
CHAINING_BIT = 0x10
"""CLA b5: "not the last command of a chain" (ISO/IEC 7816-4 section 5.4.1)."""

_BYTE = 0xFF
_MAX_SW = 0xFFFF
_INVALID_CLA = 0xFF
_EXTENDED_MARKER = 0x00
_EXTENDED_LENGTH_FIELD = 2
_SW_LENGTH = 2
_SW1_PARAMETER_MASK = 0xFF00
_HIGH_NIBBLE = 0xF0
_BITS_PER_BYTE = 8
_INS_INVALID_NIBBLES = (0x60, 0x90)
_SW1_VALID_RANGES = ((0x61, 0x6F), (0x90, 0x9F))
_CLA_TYPE_MASK = 0xC0
_CLA_FIRST_INTERINDUSTRY = 0x00
_CLA_FURTHER_INTERINDUSTRY = 0x40
_CLA_FIRST_CHANNEL_MASK = 0x03
_CLA_FURTHER_CHANNEL_MASK = 0x4F  # keeps type bit b7 and channel bits b4-b1


def _family_sw(family: StatusWord, count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidArgument(f"{family.name} count must be an integer >= 1, got {count!r}")
    # SW2 = 00 stands for 256 "or more" (61xx) / exactly 256 (6Cxx).
    return int(family) | (min(count, MAX_SHORT_LE) & _BYTE)


def _family_count(family: StatusWord, sw: int) -> int | None:
    if sw & _SW1_PARAMETER_MASK != family:
        return None
    return (sw & _BYTE) or MAX_SHORT_LE


def sw_bytes_remaining(remaining: int) -> int:
    """61xx for ``remaining`` >= 1 bytes still available; 6100 means 256 or more."""
    if isinstance(remaining, int) and remaining > MAX_RESPONSE_DATA:
        raise InvalidArgument(f"remaining must be at most {MAX_RESPONSE_DATA}, got {remaining}")
    return _family_sw(StatusWord.BYTES_REMAINING, remaining)


def bytes_remaining_of(sw: int) -> int | None:
    """The byte count a 61xx status word announces (6100 -> 256), or None for another SW."""
    return _family_count(StatusWord.BYTES_REMAINING, sw)


def sw_wrong_le(exact: int) -> int:
    """6Cxx telling the reader to resend with Le = ``exact`` (1..256; 256 -> 6C00)."""
    if isinstance(exact, int) and exact > MAX_SHORT_LE:
        raise InvalidArgument(f"a 6Cxx Le must be at most {MAX_SHORT_LE}, got {exact}")
    return _family_sw(StatusWord.WRONG_LE, exact)


def wrong_le_of(sw: int) -> int | None:
    """The Le a 6Cxx status word asks for (6C00 -> 256), or None for another SW."""
    return _family_count(StatusWord.WRONG_LE, sw)


def _is_byte(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _BYTE


def _ins_is_invalid(ins: int) -> bool:
    # 6X and 9X are T=0 procedure bytes; ISO/IEC 7816-4 declares them invalid as INS.
    return (ins & _HIGH_NIBBLE) in _INS_INVALID_NIBBLES


def _sw_is_valid(sw: int) -> bool:
    sw1 = sw >> _BITS_PER_BYTE
    return any(low <= sw1 <= high for low, high in _SW1_VALID_RANGES)


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """A command APDU: header, command data (Nc = ``len(data)``) and Ne (``le``).

    ``le=None`` means no Le field (cases 1 and 3); otherwise 1..65536 bytes are
    expected (Le=00/0000 means maximum: 256 short, 65536 extended).
    CLA FF and INS 6X/9X are refused because ISO/IEC 7816-4 declares them
    invalid, so every constructed command encodes and parses back.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            if not _is_byte(getattr(self, name)):
                raise InvalidArgument(f"{name} must be an integer 0..255")
        if self.cla == _INVALID_CLA:
            raise InvalidArgument("CLA FF is invalid (ISO/IEC 7816-4)")
        if _ins_is_invalid(self.ins):
            raise InvalidArgument(f"INS {self.ins:02X} is invalid (6X and 9X are reserved)")
        if not isinstance(self.data, bytes):
            raise InvalidArgument("data must be bytes")
        if len(self.data) > MAX_COMMAND_DATA:
            raise InvalidArgument(f"data must be at most {MAX_COMMAND_DATA} bytes")
        if self.le is not None and (
            isinstance(self.le, bool)
            or not isinstance(self.le, int)
            or not 1 <= self.le <= MAX_RESPONSE_DATA
        ):
            raise InvalidArgument(f"le must be None or 1..{MAX_RESPONSE_DATA}")

    @property
    def is_chained(self) -> bool:
        """True if CLA b5 says more links of a chain follow."""
        return bool(self.cla & CHAINING_BIT)

    @property
    def needs_extended(self) -> bool:
        """True if the fields do not fit the short length form."""
        return len(self.data) > MAX_SHORT_DATA or (self.le is not None and self.le > MAX_SHORT_LE)

    def encode(self, extended: bool | None = None) -> bytes:
        """Encode as case 1-4, short or extended.

        ``extended=None`` picks the short form unless the fields need the
        extended one; ``extended=False`` with fields that do not fit raises
        InvalidArgument. Case 1 has a single form.
        """
        if extended is None:
            extended = self.needs_extended
        elif not extended and self.needs_extended:
            raise InvalidArgument("data > 255 bytes or le > 256 needs the extended form")
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        nc = len(self.data)
        if extended:
            if nc:
                out.append(_EXTENDED_MARKER)
                out += nc.to_bytes(_EXTENDED_LENGTH_FIELD, "big")
                out += self.data
            if self.le is not None:
                if not nc:
                    out.append(_EXTENDED_MARKER)  # case 2E: Le is 00 + 2 bytes
                # Ne = 65536 wraps to 0000 ("maximum").
                out += (self.le % MAX_RESPONSE_DATA).to_bytes(_EXTENDED_LENGTH_FIELD, "big")
        else:
            if nc:
                out.append(nc)
                out += self.data
            if self.le is not None:
                out.append(self.le % MAX_SHORT_LE)  # Ne = 256 wraps to 00 ("maximum")
        return bytes(out)


def parse_command(raw: bytes) -> CommandApdu:
    """Parse a command APDU strictly (ISO/IEC 7816-4 section 5.1).

    With L the number of bytes after the header and B1, B2, B3 its first bytes,
    the accepted forms are exactly:

    * L = 0: case 1;
    * L = 1: case 2S, Le = B1 (00 -> 256);
    * B1 != 00, L = 1 + B1: case 3S, Lc = B1;
    * B1 != 00, L = 2 + B1: case 4S, Lc = B1, Le = last byte (00 -> 256);
    * B1 = 00, L = 3: case 2E, Le = B2B3 (0000 -> 65536);
    * B1 = 00, B2B3 != 0000, L = 3 + B2B3: case 3E, Lc = B2B3;
    * B1 = 00, B2B3 != 0000, L = 5 + B2B3: case 4E, Le = last two bytes (0000 -> 65536).

    Everything else is rejected, in this order (all but CLA/INS answer 6700):

    * fewer than 4 bytes: :class:`ApduTooShort`;
    * CLA FF: :class:`ApduClaInvalid` (6E00);
    * INS 6X or 9X: :class:`ApduInsInvalid` (6D00);
    * B1 = 00 and L = 2 (an extended length cut short; also how a short
      Lc = 00 followed by one data byte reads): :class:`ApduExtendedLengthTruncated`;
    * B1 = 00, L > 3 and B2B3 = 0000: :class:`ApduExtendedLcZero`;
    * fewer data bytes than Lc announces: :class:`ApduBodyTruncated`;
    * after the data, bytes that are not the Le of the form in use (short: more
      than one; extended: one, or more than two): :class:`ApduLeWrongLength`.

    A short Lc of 00 followed by two or more bytes cannot be told apart from an
    extended length; it is read as one, as the standard prescribes.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InvalidArgument("raw must be bytes")
    raw = bytes(raw)
    if len(raw) < HEADER_LENGTH:
        raise ApduTooShort(f"{len(raw)} bytes, the header alone is {HEADER_LENGTH}")
    cla, ins, p1, p2 = raw[:HEADER_LENGTH]
    if cla == _INVALID_CLA:
        raise ApduClaInvalid("CLA FF is invalid")
    if _ins_is_invalid(ins):
        raise ApduInsInvalid(f"INS {ins:02X} is invalid (6X and 9X are reserved)")
    body = raw[HEADER_LENGTH:]
    if not body:
        return CommandApdu(cla, ins, p1, p2)
    if len(body) == 1:
        return CommandApdu(cla, ins, p1, p2, le=body[0] or MAX_SHORT_LE)
    if body[0] != _EXTENDED_MARKER:
        data, le_field = _split_body(body, offset=1, lc=body[0], le_length=1)
        return CommandApdu(cla, ins, p1, p2, data, _decode_le(le_field, MAX_SHORT_LE))
    if len(body) < 1 + _EXTENDED_LENGTH_FIELD:
        raise ApduExtendedLengthTruncated("B1 = 00 followed by a single byte")
    length = int.from_bytes(body[1:3], "big")
    if len(body) == 1 + _EXTENDED_LENGTH_FIELD:
        return CommandApdu(cla, ins, p1, p2, le=length or MAX_RESPONSE_DATA)
    if length == 0:
        raise ApduExtendedLcZero("extended Lc 0000 followed by more bytes")
    data, le_field = _split_body(body, offset=3, lc=length, le_length=_EXTENDED_LENGTH_FIELD)
    return CommandApdu(cla, ins, p1, p2, data, _decode_le(le_field, MAX_RESPONSE_DATA))


def _split_body(body: bytes, *, offset: int, lc: int, le_length: int) -> tuple[bytes, bytes]:
    end = offset + lc
    if len(body) < end:
        raise ApduBodyTruncated(f"Lc = {lc} but {len(body) - offset} data bytes follow")
    le_field = body[end:]
    if len(le_field) not in (0, le_length):
        raise ApduLeWrongLength(
            f"{len(le_field)} bytes after the data, the Le field of this form is {le_length}"
        )
    return body[offset:end], le_field


def _decode_le(field: bytes, maximum: int) -> int | None:
    if not field:
        return None
    return int.from_bytes(field, "big") or maximum


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    """A response APDU: data (at most 65536 bytes) and the status word SW1-SW2.

    SW1 must be 61-6F or 90-9F: ISO/IEC 7816-4 declares every other value
    (60xx included) invalid.
    """

    data: bytes
    sw: int

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            raise InvalidArgument("data must be bytes")
        if len(self.data) > MAX_RESPONSE_DATA:
            raise InvalidArgument(f"data must be at most {MAX_RESPONSE_DATA} bytes")
        if (
            isinstance(self.sw, bool)
            or not isinstance(self.sw, int)
            or not 0 <= self.sw <= _MAX_SW
            or not _sw_is_valid(self.sw)
        ):
            raise InvalidArgument(f"sw must be 61xx-6Fxx or 90xx-9Fxx, got {self.sw!r}")

    @property
    def sw1(self) -> int:
        """The first status byte."""
        return self.sw >> _BITS_PER_BYTE

    @property
    def sw2(self) -> int:
        """The second status byte."""
        return self.sw & _BYTE

    def encode(self) -> bytes:
        """Data followed by SW1 SW2."""
        return self.data + self.sw.to_bytes(_SW_LENGTH, "big")


def parse_response(raw: bytes) -> ResponseApdu:
    """Parse a response APDU.

    Rejects fewer than 2 bytes (:class:`ApduResponseMalformed`), more than
    65536 data bytes (:class:`ApduResponseTooLong`) and an SW1 outside 61-6F,
    90-9F (:class:`ApduStatusWordInvalid`).
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InvalidArgument("raw must be bytes")
    raw = bytes(raw)
    if len(raw) < _SW_LENGTH:
        raise ApduResponseMalformed(f"{len(raw)} bytes, SW1-SW2 alone is {_SW_LENGTH}")
    if len(raw) - _SW_LENGTH > MAX_RESPONSE_DATA:
        raise ApduResponseTooLong(f"{len(raw) - _SW_LENGTH} data bytes > {MAX_RESPONSE_DATA}")
    sw = int.from_bytes(raw[-_SW_LENGTH:], "big")
    if not _sw_is_valid(sw):
        raise ApduStatusWordInvalid(f"status word {sw:04X}")
    return ResponseApdu(raw[:-_SW_LENGTH], sw)


# --- command chaining --------------------------------------------------------------
# b5 of CLA is the chaining bit for the interindustry classes (ISO/IEC 7816-4
# section 5.4.1). These helpers apply the same bit to every class; a protocol that
# gives b5 another meaning in a proprietary class must not use them.


def split_command(cmd: CommandApdu, max_data: int) -> list[CommandApdu]:
    """Split ``cmd`` into a chain whose links carry at most ``max_data`` data bytes.

    Every link but the last has CLA | 0x10 and no Le; the last has the original
    CLA and Le. A command that fits is returned alone, unchanged.
    """
    if isinstance(max_data, bool) or not isinstance(max_data, int) or max_data < 1:
        raise InvalidArgument("max_data must be an integer >= 1")
    if cmd.is_chained:
        raise InvalidArgument("the command to split already has the chaining bit")
    if len(cmd.data) <= max_data:
        return [cmd]
    chunks = [cmd.data[i : i + max_data] for i in range(0, len(cmd.data), max_data)]
    links = [replace(cmd, cla=cmd.cla | CHAINING_BIT, data=chunk, le=None) for chunk in chunks]
    links[-1] = replace(cmd, data=chunks[-1])
    return links


#: Most links in one chained command (a 64 KiB command in 255-byte links is 257).
MAX_CHAIN_LINKS = 272


class ChainAssembler:
    """Card-side, sans-I/O reassembly of chained commands.

    ``feed`` returns the complete command, or None while a chain is open (the
    card then answers 9000). A chain is reassembled from the CLA (without b5),
    INS, P1, P2 of its first link, the concatenated data and the Le of its last
    link; the Le of the other links has no meaning and is ignored.

    Rejections (each closes the open chain, so the next command starts afresh):

    * more than ``max_total`` data bytes: :class:`ApduChainTooLong` (6A84);
    * while a chain is open, any command -- chained or not -- whose CLA
      (without b5), INS, P1 or P2 differs from the first link:
      :class:`ApduChainInconsistent` (6883). The command is refused rather than
      executed, so a reader never has an abandoned chain silently discarded;
      it resends the command after the error;
    * a chained link whose INS is outside ``chainable_ins`` (when given):
      :class:`ApduChainingNotSupported` (6884).

    A command outside any chain is returned unchanged; its size is already
    bounded by :data:`MAX_COMMAND_DATA`.
    """

    def __init__(self, max_total: int, *, chainable_ins: Iterable[int] | None = None) -> None:
        if (
            isinstance(max_total, bool)
            or not isinstance(max_total, int)
            or not 1 <= max_total <= MAX_COMMAND_DATA
        ):
            raise InvalidArgument(f"max_total must be 1..{MAX_COMMAND_DATA}")
        self._max_total = max_total
        self._chainable = None if chainable_ins is None else frozenset(chainable_ins)
        self._first: CommandApdu | None = None
        self._parts: list[bytes] = []
        self._total = 0

    @property
    def in_progress(self) -> bool:
        """True while a chain is open."""
        return self._first is not None

    def reset(self) -> None:
        """Drop any open chain."""
        self._first = None
        self._parts = []
        self._total = 0

    def feed(self, cmd: CommandApdu) -> CommandApdu | None:
        """Take one command; return the complete command or None while chaining."""
        first = self._first
        if first is None:
            if not cmd.is_chained:
                return cmd
            if self._chainable is not None and cmd.ins not in self._chainable:
                raise ApduChainingNotSupported(f"INS {cmd.ins:02X} may not be chained")
            first = self._first = cmd
        elif (cmd.cla & ~CHAINING_BIT, cmd.ins, cmd.p1, cmd.p2) != (
            first.cla & ~CHAINING_BIT,
            first.ins,
            first.p1,
            first.p2,
        ):
            self.reset()
            raise ApduChainInconsistent(
                f"chain of INS {first.ins:02X} P1P2 {first.p1:02X}{first.p2:02X} is open; "
                f"got CLA {cmd.cla:02X} INS {cmd.ins:02X} P1P2 {cmd.p1:02X}{cmd.p2:02X}"
            )
        self._total += len(cmd.data)
        if self._total > self._max_total:
            self.reset()
            raise ApduChainTooLong(f"chained data exceeds {self._max_total} bytes")
        if len(self._parts) >= MAX_CHAIN_LINKS:
            # Empty links add no bytes: the number of links needs its own bound.
            self.reset()
            raise ApduChainTooLong(f"a chain has at most {MAX_CHAIN_LINKS} links")
        self._parts.append(cmd.data)
        if cmd.is_chained:
            return None
        data = b"".join(self._parts)
        self.reset()
        return CommandApdu(first.cla & ~CHAINING_BIT, first.ins, first.p1, first.p2, data, cmd.le)


# --- response splitting (61xx / GET RESPONSE / 6Cxx) ------------------------------


class ResponseSplitter:
    """Card-side, sans-I/O delivery of a response in chunks of at most ``max_chunk``.

    ``start`` returns the first response APDU: the whole response if it fits
    the command's Ne and ``max_chunk``, else the first Ne bytes (none when the
    command had no Le) with 61xx, xx the bytes remaining (00: 256 or more).
    Each GET RESPONSE (``00 C0 00 00 xx``) then returns the next chunk; the
    last chunk carries the real status word.

    GET RESPONSE handling:

    * nothing pending: :class:`ApduGetResponseUnexpected` (6985);
    * P1-P2 not 0000: :class:`ApduWrongP1P2` (6A86), data still pending;
    * command data present: :class:`ApduWrongLength` (6700), data still pending;
    * chaining bit set: :class:`ApduChainingNotSupported` (6884), data still pending;
    * no Le: answered 6Cxx with the size of the next chunk, data still pending.

    Per ISO/IEC 7816-4, any other command discards the pending data: the card
    session calls ``reset`` (or ``start``) before handling it.
    """

    def __init__(self, max_chunk: int = MAX_SHORT_LE) -> None:
        if (
            isinstance(max_chunk, bool)
            or not isinstance(max_chunk, int)
            or not 1 <= max_chunk <= MAX_RESPONSE_DATA
        ):
            raise InvalidArgument(f"max_chunk must be 1..{MAX_RESPONSE_DATA}")
        self._max_chunk = max_chunk
        self._data = b""
        self._sw = int(StatusWord.OK)
        self._offset = 0
        self._pending = False

    @property
    def pending(self) -> int:
        """Response bytes not yet delivered (0 when nothing is pending)."""
        return len(self._data) - self._offset if self._pending else 0

    def reset(self) -> None:
        """Discard any pending response."""
        self._data = b""
        self._offset = 0
        self._pending = False

    def start(self, response: ResponseApdu, *, le: int | None) -> ResponseApdu:
        """Begin delivering ``response`` to a command whose Ne is ``le``."""
        if le is not None and (
            isinstance(le, bool) or not isinstance(le, int) or not 1 <= le <= MAX_RESPONSE_DATA
        ):
            raise InvalidArgument(f"le must be None or 1..{MAX_RESPONSE_DATA}")
        self.reset()
        self._data = response.data
        self._sw = response.sw
        self._pending = True
        return self._next_chunk(0 if le is None else le)

    def get_response(self, cmd: CommandApdu) -> ResponseApdu:
        """Answer a GET RESPONSE command with the next chunk."""
        if cmd.ins != Ins.GET_RESPONSE:
            raise InvalidArgument(f"INS {cmd.ins:02X} is not GET RESPONSE")
        if not self._pending:
            raise ApduGetResponseUnexpected("GET RESPONSE with no response data pending")
        if cmd.p1 or cmd.p2:
            raise ApduWrongP1P2(f"GET RESPONSE P1P2 {cmd.p1:02X}{cmd.p2:02X}, expected 0000")
        if cmd.data:
            raise ApduWrongLength("GET RESPONSE carries no command data")
        if cmd.is_chained:
            raise ApduChainingNotSupported("GET RESPONSE may not be chained")
        if cmd.le is None:
            return ResponseApdu(b"", sw_wrong_le(min(self.pending, self._chunk_limit)))
        return self._next_chunk(cmd.le)

    @property
    def _chunk_limit(self) -> int:
        # A 6Cxx can only ask for a short Le.
        return min(self._max_chunk, MAX_SHORT_LE)

    def _next_chunk(self, ne: int) -> ResponseApdu:
        size = min(ne, self._max_chunk)
        chunk = self._data[self._offset : self._offset + size]
        self._offset += len(chunk)
        remaining = len(self._data) - self._offset
        if remaining:
            return ResponseApdu(chunk, sw_bytes_remaining(remaining))
        sw = self._sw
        self.reset()
        return ResponseApdu(chunk, sw)


def _get_response_cla(cla: int) -> int:
    # GET RESPONSE is interindustry; keep the logical channel of the command and
    # drop secure messaging and chaining. A proprietary class maps to channel 0.
    kind = cla & _CLA_TYPE_MASK
    if kind == _CLA_FIRST_INTERINDUSTRY:
        return cla & _CLA_FIRST_CHANNEL_MASK
    if kind == _CLA_FURTHER_INTERINDUSTRY:
        return cla & _CLA_FURTHER_CHANNEL_MASK
    return _CLA_FIRST_INTERINDUSTRY


class ResponseCollector:
    """Reader-side, sans-I/O collection of a response sent in chunks.

    Built with the command the reader sent; ``feed`` each response APDU and get
    back either the next :class:`CommandApdu` to send (a GET RESPONSE after
    61xx, or the same command with Le = xx after 6Cxx) or the assembled
    :class:`ResponseApdu`.

    Rejections (the card's fault):

    * more than ``max_total`` data bytes in all: :class:`ApduResponseTooLong`;
    * 6Cxx in answer to a command already corrected after 6Cxx, 6Cxx with data,
      61xx without data in answer to GET RESPONSE (no progress), or more data
      than a GET RESPONSE asked for: :class:`ApduResponseUnexpected`.

    These bound the exchange to about ``max_total`` round trips. The answer to
    the original command is bounded by ``max_total`` only, not by its Le,
    because cards commonly ignore Ne.
    """

    def __init__(self, command: CommandApdu, max_total: int = MAX_RESPONSE_DATA) -> None:
        if (
            isinstance(max_total, bool)
            or not isinstance(max_total, int)
            or not 0 <= max_total <= MAX_RESPONSE_DATA
        ):
            raise InvalidArgument(f"max_total must be 0..{MAX_RESPONSE_DATA}")
        self._max_total = max_total
        self._sent = command
        self._corrected = False
        self._getting = False  # the last command sent is our own GET RESPONSE
        self._parts: list[bytes] = []
        self._total = 0
        self._done = False

    @property
    def done(self) -> bool:
        """True once the assembled response has been returned."""
        return self._done

    def feed(self, response: ResponseApdu) -> CommandApdu | ResponseApdu:
        """Take the card's answer to the last command; return what comes next."""
        if self._done:
            raise InvalidArgument("the response is already complete")
        is_get_response = self._getting
        exact = wrong_le_of(response.sw)
        if exact is not None:
            if response.data:
                raise ApduResponseUnexpected(f"{response.sw:04X} carries data")
            if self._corrected:
                raise ApduResponseUnexpected(f"{response.sw:04X} after a corrected Le")
            self._corrected = True
            self._sent = replace(self._sent, le=exact)
            return self._sent
        if is_get_response and self._sent.le is not None and len(response.data) > self._sent.le:
            raise ApduResponseUnexpected(
                f"{len(response.data)} bytes in answer to GET RESPONSE Le {self._sent.le}"
            )
        self._total += len(response.data)
        if self._total > self._max_total:
            raise ApduResponseTooLong(f"response data exceeds {self._max_total} bytes")
        self._parts.append(response.data)
        remaining = bytes_remaining_of(response.sw)
        if remaining is None:
            self._done = True
            return ResponseApdu(b"".join(self._parts), response.sw)
        if is_get_response and not response.data:
            raise ApduResponseUnexpected("61xx without data in answer to GET RESPONSE")
        self._corrected = False
        self._getting = True
        self._sent = CommandApdu(
            _get_response_cla(self._sent.cla), Ins.GET_RESPONSE, 0, 0, le=remaining
        )
        return self._sent
