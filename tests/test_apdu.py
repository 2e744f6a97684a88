"""Tests for the ISO/IEC 7816-4 APDU codec."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitale_cred import errors
from vitale_cred.hazmat.apdu import (
    CHAINING_BIT,
    MAX_COMMAND_DATA,
    MAX_RESPONSE_DATA,
    ChainAssembler,
    CommandApdu,
    Ins,
    ResponseApdu,
    ResponseCollector,
    ResponseSplitter,
    StatusWord,
    bytes_remaining_of,
    parse_command,
    parse_response,
    split_command,
    sw_bytes_remaining,
    sw_wrong_le,
    wrong_le_of,
)

AID = bytes.fromhex("A0000002471001")

# --- strategies ---------------------------------------------------------------------

valid_cla = st.integers(0, 0xFE)
valid_ins = st.integers(0, 0xFF).filter(lambda i: i & 0xF0 not in (0x60, 0x90))
byte = st.integers(0, 0xFF)
le_values = st.none() | st.integers(1, 256) | st.integers(1, MAX_RESPONSE_DATA)
data_values = st.binary(max_size=300) | st.binary(min_size=250, max_size=1200)


@st.composite
def commands(draw: st.DrawFn) -> CommandApdu:
    return CommandApdu(
        draw(valid_cla), draw(valid_ins), draw(byte), draw(byte), draw(data_values), draw(le_values)
    )


@st.composite
def plausible_command_bytes(draw: st.DrawFn) -> bytes:
    """Bytes near the valid length forms, to reach deep into the parser."""
    header = draw(st.binary(min_size=4, max_size=4))
    b1 = draw(st.sampled_from([b"", b"\x00", bytes([draw(st.integers(1, 255))])]))
    b2b3 = draw(st.sampled_from([b"", draw(st.binary(min_size=1, max_size=2))]))
    rest = draw(st.binary(max_size=300))
    return header + b1 + b2b3 + rest


# --- status words and registries ----------------------------------------------------


def test_status_word_registry_holds_the_iso_values() -> None:
    assert int(StatusWord.OK) == 0x9000
    assert int(StatusWord.END_OF_FILE) == 0x6282
    assert int(StatusWord.CONDITIONS_OF_USE_NOT_SATISFIED) == 0x6985
    assert int(StatusWord.CLA_NOT_SUPPORTED) == 0x6E00
    assert int(Ins.SELECT) == 0xA4
    assert int(Ins.GET_RESPONSE) == 0xC0


@pytest.mark.parametrize(
    ("remaining", "sw"),
    [(1, 0x6101), (0x2C, 0x612C), (255, 0x61FF), (256, 0x6100), (1000, 0x6100)],
)
def test_61xx_announces_remaining_bytes_with_00_for_256_or_more(remaining: int, sw: int) -> None:
    assert sw_bytes_remaining(remaining) == sw
    assert bytes_remaining_of(sw) == min(remaining, 256)


@pytest.mark.parametrize(("exact", "sw"), [(1, 0x6C01), (0x10, 0x6C10), (256, 0x6C00)])
def test_6cxx_carries_the_exact_le_with_00_for_256(exact: int, sw: int) -> None:
    assert sw_wrong_le(exact) == sw
    assert wrong_le_of(sw) == exact


def test_family_readers_ignore_other_status_words() -> None:
    assert bytes_remaining_of(0x9000) is None
    assert wrong_le_of(0x6100) is None


@pytest.mark.parametrize("bad", [0, -1, True, 257])
def test_6cxx_builder_rejects_out_of_range_le(bad: int) -> None:
    with pytest.raises(errors.InvalidArgument):
        sw_wrong_le(bad)


@pytest.mark.parametrize("bad", [0, -5, False, MAX_RESPONSE_DATA + 1])
def test_61xx_builder_rejects_out_of_range_counts(bad: int) -> None:
    with pytest.raises(errors.InvalidArgument):
        sw_bytes_remaining(bad)


def test_every_apdu_error_has_a_unique_code_and_a_registered_status_word() -> None:
    apdu_errors = [c for c in errors.all_error_classes() if issubclass(c, errors.ApduError)]
    codes = [c.code for c in apdu_errors]
    assert len(codes) == len(set(codes))
    for cls in apdu_errors:
        assert cls.code.startswith("apdu.")
        assert cls.status_word in set(StatusWord), cls
        assert issubclass(cls, errors.VerificationError)


# --- command encoding: known bytes ----------------------------------------------------


@pytest.mark.parametrize(
    ("cmd", "extended", "hex_bytes"),
    [
        # case 1
        (CommandApdu(0x00, 0x70, 0x00, 0x00), None, "00700000"),
        (CommandApdu(0x00, 0x70, 0x00, 0x00), True, "00700000"),
        # case 2S; Le 256 is written 00
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=0x10), None, "00B0000010"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256), None, "00B0000000"),
        # case 3S
        (CommandApdu(0x00, 0xA4, 0x04, 0x0C, AID), None, "00A4040C07A0000002471001"),
        # case 4S: SELECT by AID
        (CommandApdu(0x00, 0xA4, 0x04, 0x00, AID, 256), None, "00A4040007A000000247100100"),
        # case 2E; Le 65536 is written 0000
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=257), None, "00B00000000101"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=65536), None, "00B00000000000"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256), True, "00B00000000100"),
        # case 3E
        (CommandApdu(0x00, 0xDA, 0x00, 0x00, b"\xaa" * 2), True, "00DA0000 000002 AAAA"),
        # case 4E
        (
            CommandApdu(0x00, 0xA4, 0x04, 0x00, AID, 256),
            True,
            "00A40400 000007 A0000002471001 0100",
        ),
        (CommandApdu(0x00, 0x2A, 0x9E, 0x9A, b"\x01", 65536), None, "002A9E9A 000001 01 0000"),
    ],
)
def test_encode_produces_the_iso_byte_layout(
    cmd: CommandApdu, extended: bool | None, hex_bytes: str
) -> None:
    raw = bytes.fromhex(hex_bytes)
    assert cmd.encode(extended) == raw
    assert parse_command(raw) == cmd


def test_auto_encoding_switches_to_extended_only_when_needed() -> None:
    assert len(CommandApdu(0, 0xDA, 0, 0, b"x" * 255, 256).encode()) == 4 + 1 + 255 + 1
    assert len(CommandApdu(0, 0xDA, 0, 0, b"x" * 256).encode()) == 4 + 3 + 256
    assert len(CommandApdu(0, 0xB0, 0, 0, le=257).encode()) == 4 + 3


@pytest.mark.parametrize(
    "cmd",
    [CommandApdu(0, 0xDA, 0, 0, b"x" * 256), CommandApdu(0, 0xB0, 0, 0, le=257)],
)
def test_forcing_short_form_on_fields_that_do_not_fit_is_misuse(cmd: CommandApdu) -> None:
    with pytest.raises(errors.InvalidArgument):
        cmd.encode(extended=False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cla": 0xFF},
        {"cla": 256},
        {"cla": -1},
        {"ins": 0x61},
        {"ins": 0x9F},
        {"p1": 256},
        {"p2": True},
        {"data": bytearray(b"x")},
        {"data": b"x" * (MAX_COMMAND_DATA + 1)},
        {"le": 0},
        {"le": MAX_RESPONSE_DATA + 1},
        {"le": False},
    ],
)
def test_command_constructor_rejects_out_of_range_fields(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"cla": 0, "ins": 0xA4, "p1": 4, "p2": 0}
    fields.update(kwargs)
    with pytest.raises(errors.InvalidArgument):
        CommandApdu(**fields)  # type: ignore[arg-type]


def test_command_accepts_registry_members_and_compares_equal_to_plain_ints() -> None:
    assert CommandApdu(0, Ins.SELECT, 4, 0, AID) == CommandApdu(0, 0xA4, 4, 0, AID)


# --- command parsing: every malformed form ----------------------------------------------

MALFORMED_COMMANDS = [
    ("", errors.ApduTooShort, "apdu.too_short", 0x6700),
    ("00", errors.ApduTooShort, "apdu.too_short", 0x6700),
    ("00A404", errors.ApduTooShort, "apdu.too_short", 0x6700),
    ("FFA40400", errors.ApduClaInvalid, "apdu.cla_invalid", 0x6E00),
    ("00600000", errors.ApduInsInvalid, "apdu.ins_invalid", 0x6D00),
    ("009F000000", errors.ApduInsInvalid, "apdu.ins_invalid", 0x6D00),
    # short Lc = 00 followed by one byte / an extended length cut short
    ("00A4040000AA", errors.ApduExtendedLengthTruncated, "apdu.extended_length_truncated", 0x6700),
    # extended Lc = 0000 followed by more bytes
    ("00A40400000000AA", errors.ApduExtendedLcZero, "apdu.extended_lc_zero", 0x6700),
    ("00A4040000000000", errors.ApduExtendedLcZero, "apdu.extended_lc_zero", 0x6700),
    # short Lc larger than the body
    ("00A4040005AABB", errors.ApduBodyTruncated, "apdu.body_truncated", 0x6700),
    ("00A40400FF" + "AA" * 200, errors.ApduBodyTruncated, "apdu.body_truncated", 0x6700),
    # extended Lc larger than the body
    ("00A4040000000300AA", errors.ApduBodyTruncated, "apdu.body_truncated", 0x6700),
    ("00A404000001F4" + "AA" * 10, errors.ApduBodyTruncated, "apdu.body_truncated", 0x6700),
    # short form: two bytes of Le, or trailing bytes
    ("00A4040001AA0000", errors.ApduLeWrongLength, "apdu.le_wrong_length", 0x6700),
    ("00A4040002AABB000000", errors.ApduLeWrongLength, "apdu.le_wrong_length", 0x6700),
    # extended form: one byte of Le, or three
    ("00A40400 000001 AA 00", errors.ApduLeWrongLength, "apdu.le_wrong_length", 0x6700),
    ("00A40400 000001 AA 000000", errors.ApduLeWrongLength, "apdu.le_wrong_length", 0x6700),
]


@pytest.mark.parametrize(("hex_bytes", "cls", "code", "sw"), MALFORMED_COMMANDS)
def test_malformed_command_is_rejected_with_its_own_error_code_and_status_word(
    hex_bytes: str, cls: type[errors.ApduError], code: str, sw: int
) -> None:
    with pytest.raises(cls) as info:
        parse_command(bytes.fromhex(hex_bytes))
    assert type(info.value) is cls
    assert info.value.code == code
    assert info.value.status_word == sw


def test_every_length_form_error_is_a_wrong_length() -> None:
    for _, cls, _, sw in MALFORMED_COMMANDS:
        assert issubclass(cls, errors.ApduWrongLength) == (sw == StatusWord.WRONG_LENGTH)


@pytest.mark.parametrize(
    ("hex_bytes", "expected"),
    [
        ("00A4040000", CommandApdu(0, 0xA4, 4, 0, le=256)),  # 2S: Le 00 is 256
        ("00B00000000000", CommandApdu(0, 0xB0, 0, 0, le=65536)),  # 2E: Le 0000 is 65536
        ("00B00000000001", CommandApdu(0, 0xB0, 0, 0, le=1)),
        ("00DA0000000001AA", CommandApdu(0, 0xDA, 0, 0, b"\xaa")),  # 3E
        ("00DA0000000001AA0000", CommandApdu(0, 0xDA, 0, 0, b"\xaa", 65536)),  # 4E
        ("00DA000001AA00", CommandApdu(0, 0xDA, 0, 0, b"\xaa", 256)),  # 4S
    ],
)
def test_boundary_forms_parse_to_the_documented_ne(hex_bytes: str, expected: CommandApdu) -> None:
    assert parse_command(bytes.fromhex(hex_bytes)) == expected


def test_parse_accepts_the_largest_extended_command() -> None:
    raw = bytes.fromhex("00DA0000 00FFFF") + b"\x01" * MAX_COMMAND_DATA + b"\x00\x00"
    cmd = parse_command(raw)
    assert len(cmd.data) == MAX_COMMAND_DATA
    assert cmd.le == MAX_RESPONSE_DATA
    assert cmd.encode() == raw


def test_parse_rejects_non_bytes_as_misuse() -> None:
    with pytest.raises(errors.InvalidArgument):
        parse_command("00A40400")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument):
        parse_response("9000")  # type: ignore[arg-type]


@given(cmd=commands(), extended=st.sampled_from([None, True, False]))
def test_encode_then_parse_round_trips_every_case_and_length_form(
    cmd: CommandApdu, extended: bool | None
) -> None:
    if extended is False and cmd.needs_extended:
        extended = None
    raw = cmd.encode(extended)
    assert parse_command(raw) == cmd
    assert parse_command(raw).encode(extended) == raw


@settings(max_examples=500)
@given(raw=st.binary(max_size=300) | plausible_command_bytes())
def test_parse_command_raises_only_library_errors_and_accepts_only_canonical_forms(
    raw: bytes,
) -> None:
    try:
        cmd = parse_command(raw)
    except errors.VitaleCredError:
        return
    # whatever is accepted is exactly the short or the extended encoding of the result
    forms = {cmd.encode(extended=True)}
    if not cmd.needs_extended:
        forms.add(cmd.encode(extended=False))
    assert raw in forms


# --- responses --------------------------------------------------------------------------


def test_response_encodes_data_then_status_word() -> None:
    resp = ResponseApdu(b"\x01\x02", StatusWord.OK)
    assert resp.encode() == bytes.fromhex("01029000")
    assert parse_response(bytes.fromhex("01029000")) == resp
    assert (resp.sw1, resp.sw2) == (0x90, 0x00)


@pytest.mark.parametrize(
    ("hex_bytes", "cls", "code"),
    [
        ("", errors.ApduResponseMalformed, "apdu.response_malformed"),
        ("90", errors.ApduResponseMalformed, "apdu.response_malformed"),
        ("6000", errors.ApduStatusWordInvalid, "apdu.status_word_invalid"),
        ("0000", errors.ApduStatusWordInvalid, "apdu.status_word_invalid"),
        ("AA1234", errors.ApduStatusWordInvalid, "apdu.status_word_invalid"),
        (
            "00" * (MAX_RESPONSE_DATA + 1) + "9000",
            errors.ApduResponseTooLong,
            "apdu.response_too_long",
        ),
    ],
)
def test_malformed_response_is_rejected_with_its_own_error_code(
    hex_bytes: str, cls: type[errors.ApduError], code: str
) -> None:
    with pytest.raises(cls) as info:
        parse_response(bytes.fromhex(hex_bytes))
    assert type(info.value) is cls
    assert info.value.code == code


@pytest.mark.parametrize(
    ("data", "sw"),
    [(b"", 0x6000), (b"", 0x9000 + 0x10000), (b"", -1), (b"x" * (MAX_RESPONSE_DATA + 1), 0x9000)],
)
def test_response_constructor_rejects_invalid_fields(data: bytes, sw: int) -> None:
    with pytest.raises(errors.InvalidArgument):
        ResponseApdu(data, sw)


@given(raw=st.binary(max_size=300))
def test_parse_response_raises_only_library_errors_and_round_trips(raw: bytes) -> None:
    try:
        resp = parse_response(raw)
    except errors.VitaleCredError:
        return
    assert resp.encode() == raw


# --- command chaining -------------------------------------------------------------------


@given(
    data=st.binary(max_size=1000),
    max_data=st.integers(1, 300),
    le=st.none() | st.integers(1, 256),
    cla=st.sampled_from([0x00, 0x01, 0x0C, 0x40, 0x80]),
)
def test_split_then_assemble_round_trips_the_command(
    data: bytes, max_data: int, le: int | None, cla: int
) -> None:
    cmd = CommandApdu(cla, 0xDA, 0x01, 0x02, data, le)
    links = split_command(cmd, max_data)
    assert all(len(link.data) <= max_data for link in links)
    assert all(link.is_chained and link.le is None for link in links[:-1])
    assert links[-1].cla == cla
    assert links[-1].le == le
    assembler = ChainAssembler(MAX_COMMAND_DATA)
    results = [assembler.feed(link) for link in links]
    assert results[:-1] == [None] * (len(links) - 1)
    assert results[-1] == cmd
    assert not assembler.in_progress


def test_split_leaves_a_command_that_fits_alone_and_unchanged() -> None:
    cmd = CommandApdu(0, 0xDA, 0, 0, b"x" * 10, 5)
    assert split_command(cmd, 10) == [cmd]


def test_split_produces_the_documented_links() -> None:
    links = split_command(CommandApdu(0x00, 0xDA, 0, 0, b"abcde", 256), 2)
    assert [link.encode().hex() for link in links] == [
        "10da0000026162",
        "10da0000026364",
        "00da0000016500",
    ]


@pytest.mark.parametrize("max_data", [0, -1, True])
def test_split_rejects_a_non_positive_chunk_size(max_data: int) -> None:
    with pytest.raises(errors.InvalidArgument):
        split_command(CommandApdu(0, 0xDA, 0, 0, b"abc"), max_data)


def test_split_rejects_a_command_that_already_has_the_chaining_bit() -> None:
    with pytest.raises(errors.InvalidArgument):
        split_command(CommandApdu(CHAINING_BIT, 0xDA, 0, 0, b"abc"), 1)


def test_assembler_passes_a_command_outside_a_chain_through() -> None:
    cmd = CommandApdu(0, Ins.SELECT, 4, 0, AID, 256)
    assert ChainAssembler(16).feed(cmd) == cmd


def test_chain_of_exactly_max_total_bytes_is_accepted() -> None:
    assembler = ChainAssembler(10)
    links = split_command(CommandApdu(0, 0xDA, 0, 0, b"x" * 10), 4)
    assert [assembler.feed(link) for link in links][-1] == CommandApdu(0, 0xDA, 0, 0, b"x" * 10)


def test_chain_over_max_total_is_rejected_with_6a84_and_closed() -> None:
    assembler = ChainAssembler(10)
    links = split_command(CommandApdu(0, 0xDA, 0, 0, b"x" * 11), 4)
    assert assembler.feed(links[0]) is None
    assert assembler.feed(links[1]) is None
    with pytest.raises(errors.ApduChainTooLong) as info:
        assembler.feed(links[2])
    assert info.value.code == "apdu.chain_too_long"
    assert info.value.status_word == StatusWord.NOT_ENOUGH_MEMORY
    assert not assembler.in_progress


def test_first_link_over_max_total_is_rejected() -> None:
    with pytest.raises(errors.ApduChainTooLong):
        ChainAssembler(3).feed(CommandApdu(CHAINING_BIT, 0xDA, 0, 0, b"abcd"))


@pytest.mark.parametrize(
    "next_link",
    [
        CommandApdu(0x00, 0xDB, 0, 0, b"cd"),  # other INS
        CommandApdu(0x00, 0xDA, 1, 0, b"cd"),  # other P1
        CommandApdu(0x00, 0xDA, 0, 9, b"cd"),  # other P2
        CommandApdu(0x01, 0xDA, 0, 0, b"cd"),  # other logical channel
        CommandApdu(0x80, 0xDA, 0, 0, b"cd"),  # other class
        CommandApdu(0x10 | 0x01, 0xDA, 0, 0, b"cd"),  # chained, other channel
    ],
)
def test_link_that_does_not_continue_the_chain_is_rejected_with_6883(
    next_link: CommandApdu,
) -> None:
    assembler = ChainAssembler(100)
    assert assembler.feed(CommandApdu(CHAINING_BIT, 0xDA, 0, 0, b"ab")) is None
    with pytest.raises(errors.ApduChainInconsistent) as info:
        assembler.feed(next_link)
    assert info.value.code == "apdu.chain_inconsistent"
    assert info.value.status_word == StatusWord.LAST_COMMAND_OF_CHAIN_EXPECTED
    assert not assembler.in_progress


def test_unrelated_command_mid_chain_is_refused_then_the_next_one_starts_afresh() -> None:
    assembler = ChainAssembler(100)
    assembler.feed(CommandApdu(CHAINING_BIT, 0xDA, 0, 0, b"ab"))
    select = CommandApdu(0, Ins.SELECT, 4, 0, AID, 256)
    with pytest.raises(errors.ApduChainInconsistent):
        assembler.feed(select)
    assert assembler.feed(select) == select


def test_assembler_reset_drops_the_open_chain() -> None:
    assembler = ChainAssembler(100)
    assembler.feed(CommandApdu(CHAINING_BIT, 0xDA, 0, 0, b"ab"))
    assembler.reset()
    assert not assembler.in_progress
    assert assembler.feed(CommandApdu(0, 0xDA, 0, 0, b"cd")) == CommandApdu(0, 0xDA, 0, 0, b"cd")


def test_chaining_an_instruction_outside_chainable_ins_is_rejected_with_6884() -> None:
    assembler = ChainAssembler(100, chainable_ins={0xDA})
    with pytest.raises(errors.ApduChainingNotSupported) as info:
        assembler.feed(CommandApdu(CHAINING_BIT, Ins.SELECT, 4, 0, b"ab"))
    assert info.value.status_word == StatusWord.COMMAND_CHAINING_NOT_SUPPORTED
    assert assembler.feed(CommandApdu(CHAINING_BIT, 0xDA, 0, 0, b"ab")) is None


def test_le_of_a_non_last_link_is_ignored() -> None:
    assembler = ChainAssembler(100)
    assembler.feed(CommandApdu(CHAINING_BIT, 0xDA, 0, 0, b"ab", le=256))
    assert assembler.feed(CommandApdu(0, 0xDA, 0, 0, b"cd")) == CommandApdu(0, 0xDA, 0, 0, b"abcd")


@pytest.mark.parametrize("max_total", [0, MAX_COMMAND_DATA + 1, True])
def test_assembler_bound_must_fit_a_command(max_total: int) -> None:
    with pytest.raises(errors.InvalidArgument):
        ChainAssembler(max_total)


# --- response splitting and collection ----------------------------------------------------


def _exchange(
    command: CommandApdu,
    response: ResponseApdu,
    *,
    max_chunk: int = 256,
    max_total: int = MAX_RESPONSE_DATA,
) -> tuple[ResponseApdu, int]:
    """Run a card-side splitter against a reader-side collector over the wire bytes."""
    splitter = ResponseSplitter(max_chunk)
    collector = ResponseCollector(command, max_total)
    answer = splitter.start(response, le=command.le)
    round_trips = 1
    while True:
        step = collector.feed(parse_response(answer.encode()))
        if isinstance(step, ResponseApdu):
            assert splitter.pending == 0
            return step, round_trips
        round_trips += 1
        assert round_trips < 1000
        answer = splitter.get_response(parse_command(step.encode()))


@given(
    data=st.binary(max_size=2000),
    sw=st.sampled_from([0x9000, 0x6282, 0x9100]),
    le=st.none() | st.integers(1, 256),
)
def test_split_response_reassembles_through_get_response(
    data: bytes, sw: int, le: int | None
) -> None:
    command = CommandApdu(0, 0xB0, 0, 0, le=le)
    result, _ = _exchange(command, ResponseApdu(data, sw))
    assert result == ResponseApdu(data, sw)


@given(data=st.binary(max_size=2000), max_chunk=st.integers(1, 300))
def test_split_response_reassembles_with_any_card_chunk_size(data: bytes, max_chunk: int) -> None:
    result, _ = _exchange(
        CommandApdu(0, 0xB0, 0, 0, le=256), ResponseApdu(data, 0x9000), max_chunk=max_chunk
    )
    assert result.data == data


def test_first_chunk_is_ne_bytes_with_61xx_for_the_rest() -> None:
    splitter = ResponseSplitter()
    first = splitter.start(ResponseApdu(bytes(300), 0x9000), le=256)
    assert first == ResponseApdu(bytes(256), 0x612C)
    assert splitter.pending == 44


def test_a_command_without_le_gets_61xx_and_no_data() -> None:
    splitter = ResponseSplitter()
    assert splitter.start(ResponseApdu(bytes(10), 0x9000), le=None) == ResponseApdu(b"", 0x610A)


def test_a_response_that_fits_is_sent_whole() -> None:
    splitter = ResponseSplitter()
    assert splitter.start(ResponseApdu(b"abc", 0x9000), le=3) == ResponseApdu(b"abc", 0x9000)
    assert splitter.pending == 0


def test_collector_sends_the_iso_get_response_command() -> None:
    collector = ResponseCollector(CommandApdu(0, 0xB0, 0, 0, le=256))
    step = collector.feed(ResponseApdu(bytes(256), 0x6100))
    assert isinstance(step, CommandApdu)
    assert step.encode() == bytes.fromhex("00C0000000")
    step = collector.feed(ResponseApdu(bytes(256), 0x612C))
    assert isinstance(step, CommandApdu)
    assert step.encode() == bytes.fromhex("00C000002C")
    assert collector.feed(ResponseApdu(bytes(44), 0x9000)) == ResponseApdu(bytes(556), 0x9000)


@pytest.mark.parametrize(
    ("cla", "get_cla"), [(0x00, 0x00), (0x0F, 0x03), (0x7D, 0x4D), (0x80, 0x00)]
)
def test_get_response_keeps_the_logical_channel_of_the_command(cla: int, get_cla: int) -> None:
    step = ResponseCollector(CommandApdu(cla, 0xB0, 0, 0, le=256)).feed(ResponseApdu(b"", 0x6110))
    assert isinstance(step, CommandApdu)
    assert step.cla == get_cla


def test_6cxx_makes_the_collector_resend_the_command_with_the_exact_le() -> None:
    command = CommandApdu(0, 0xB0, 0, 0, le=256)
    collector = ResponseCollector(command)
    assert collector.feed(ResponseApdu(b"", 0x6C10)) == replace(command, le=0x10)
    assert collector.feed(ResponseApdu(b"x" * 16, 0x9000)) == ResponseApdu(b"x" * 16, 0x9000)
    assert collector.done


def test_6c00_means_le_256() -> None:
    command = CommandApdu(0, 0xCA, 0, 0)
    assert ResponseCollector(command).feed(ResponseApdu(b"", 0x6C00)) == replace(command, le=256)


def test_6cxx_during_get_response_corrects_the_get_response() -> None:
    collector = ResponseCollector(CommandApdu(0, 0xB0, 0, 0, le=256))
    collector.feed(ResponseApdu(bytes(256), 0x6120))
    assert collector.feed(ResponseApdu(b"", 0x6C08)) == CommandApdu(0, Ins.GET_RESPONSE, 0, 0, le=8)
    result = collector.feed(ResponseApdu(b"y" * 8, 0x9000))
    assert result == ResponseApdu(bytes(256) + b"y" * 8, 0x9000)


def test_get_response_without_le_is_answered_6cxx_and_the_data_stays_pending() -> None:
    splitter = ResponseSplitter()
    splitter.start(ResponseApdu(bytes(300), 0x9000), le=256)
    answer = splitter.get_response(CommandApdu(0, Ins.GET_RESPONSE, 0, 0))
    assert answer == ResponseApdu(b"", 0x6C2C)
    assert splitter.pending == 44
    collector = ResponseCollector(CommandApdu(0, Ins.GET_RESPONSE, 0, 0))
    retry = collector.feed(answer)
    assert isinstance(retry, CommandApdu)
    assert splitter.get_response(retry) == ResponseApdu(bytes(44), 0x9000)


def test_get_response_with_a_smaller_le_gets_that_many_bytes_and_61xx() -> None:
    splitter = ResponseSplitter()
    splitter.start(ResponseApdu(bytes(300), 0x9000), le=256)
    answer = splitter.get_response(CommandApdu(0, Ins.GET_RESPONSE, 0, 0, le=4))
    assert answer == ResponseApdu(bytes(4), 0x6128)


def test_get_response_before_any_response_is_rejected_with_6985() -> None:
    with pytest.raises(errors.ApduGetResponseUnexpected) as info:
        ResponseSplitter().get_response(CommandApdu(0, Ins.GET_RESPONSE, 0, 0, le=256))
    assert info.value.code == "apdu.get_response_unexpected"
    assert info.value.status_word == StatusWord.CONDITIONS_OF_USE_NOT_SATISFIED


def test_get_response_after_the_last_chunk_is_rejected_with_6985() -> None:
    splitter = ResponseSplitter()
    splitter.start(ResponseApdu(bytes(300), 0x9000), le=256)
    splitter.get_response(CommandApdu(0, Ins.GET_RESPONSE, 0, 0, le=0x2C))
    with pytest.raises(errors.ApduGetResponseUnexpected):
        splitter.get_response(CommandApdu(0, Ins.GET_RESPONSE, 0, 0, le=256))


def test_get_response_after_reset_is_rejected_with_6985() -> None:
    splitter = ResponseSplitter()
    splitter.start(ResponseApdu(bytes(300), 0x9000), le=256)
    splitter.reset()
    with pytest.raises(errors.ApduGetResponseUnexpected):
        splitter.get_response(CommandApdu(0, Ins.GET_RESPONSE, 0, 0, le=256))


@pytest.mark.parametrize(
    ("get_response", "cls"),
    [
        (CommandApdu(0, Ins.GET_RESPONSE, 1, 0, le=256), errors.ApduWrongP1P2),
        (CommandApdu(0, Ins.GET_RESPONSE, 0, 0, b"x", 256), errors.ApduWrongLength),
        (
            CommandApdu(CHAINING_BIT, Ins.GET_RESPONSE, 0, 0, le=256),
            errors.ApduChainingNotSupported,
        ),
    ],
)
def test_malformed_get_response_is_rejected_and_the_data_stays_pending(
    get_response: CommandApdu, cls: type[errors.ApduError]
) -> None:
    splitter = ResponseSplitter()
    splitter.start(ResponseApdu(bytes(300), 0x9000), le=256)
    with pytest.raises(cls):
        splitter.get_response(get_response)
    assert splitter.pending == 44


def test_splitter_refuses_a_command_that_is_not_get_response() -> None:
    splitter = ResponseSplitter()
    splitter.start(ResponseApdu(bytes(300), 0x9000), le=256)
    with pytest.raises(errors.InvalidArgument):
        splitter.get_response(CommandApdu(0, Ins.SELECT, 4, 0, AID))


def test_collector_rejects_a_response_over_max_total() -> None:
    command = CommandApdu(0, 0xB0, 0, 0, le=256)
    with pytest.raises(errors.ApduResponseTooLong) as info:
        _exchange(command, ResponseApdu(bytes(300), 0x9000), max_total=299)
    assert info.value.code == "apdu.response_too_long"
    result, _ = _exchange(command, ResponseApdu(bytes(300), 0x9000), max_total=300)
    assert len(result.data) == 300


def test_collector_rejects_a_second_6cxx_in_a_row() -> None:
    collector = ResponseCollector(CommandApdu(0, 0xB0, 0, 0, le=256))
    collector.feed(ResponseApdu(b"", 0x6C10))
    with pytest.raises(errors.ApduResponseUnexpected):
        collector.feed(ResponseApdu(b"", 0x6C20))


def test_collector_rejects_6cxx_with_data() -> None:
    with pytest.raises(errors.ApduResponseUnexpected):
        ResponseCollector(CommandApdu(0, 0xB0, 0, 0, le=256)).feed(ResponseApdu(b"x", 0x6C10))


def test_collector_rejects_a_get_response_answer_that_makes_no_progress() -> None:
    collector = ResponseCollector(CommandApdu(0, 0xB0, 0, 0, le=256))
    collector.feed(ResponseApdu(b"", 0x6110))
    with pytest.raises(errors.ApduResponseUnexpected):
        collector.feed(ResponseApdu(b"", 0x6110))


def test_collector_rejects_more_data_than_the_get_response_asked_for() -> None:
    collector = ResponseCollector(CommandApdu(0, 0xB0, 0, 0, le=256))
    collector.feed(ResponseApdu(b"", 0x6102))
    with pytest.raises(errors.ApduResponseUnexpected):
        collector.feed(ResponseApdu(b"abc", 0x9000))


def test_collector_refuses_to_be_fed_after_completion() -> None:
    collector = ResponseCollector(CommandApdu(0, 0xB0, 0, 0, le=256))
    collector.feed(ResponseApdu(b"", 0x9000))
    with pytest.raises(errors.InvalidArgument):
        collector.feed(ResponseApdu(b"", 0x9000))


def test_error_status_ends_collection_with_the_data_received_so_far() -> None:
    collector = ResponseCollector(CommandApdu(0, 0xB0, 0, 0, le=256))
    collector.feed(ResponseApdu(b"ab", 0x6110))
    assert collector.feed(ResponseApdu(b"", 0x6A82)) == ResponseApdu(b"ab", 0x6A82)


@given(
    data=st.binary(max_size=1200),
    le=st.none() | st.integers(1, 256),
)
def test_get_response_round_trips_stay_bounded(data: bytes, le: int | None) -> None:
    result, round_trips = _exchange(CommandApdu(0, 0xB0, 0, 0, le=le), ResponseApdu(data, 0x9000))
    assert result.data == data
    # one command, then one GET RESPONSE per 256-byte chunk
    assert round_trips <= 1 + -(-len(data) // 256) + 1
