"""APDU length lies, chaining floods and out-of-state commands, both directions.

The holder answers every malformed or illegal command with its status word and
keeps running (``HolderSession.process`` never raises on peer input); the reader
raises the holder's fault. Lengths are checked against the bytes present,
chains against a byte cap, and every command against the session state.
"""

from __future__ import annotations

from vitale_cred.errors import (
    ApduBodyTruncated,
    ApduChainInconsistent,
    ApduChainTooLong,
    ApduClaNotSupported,
    ApduExtendedLcZero,
    ApduExtendedLengthTruncated,
    ApduGetResponseUnexpected,
    ApduInsInvalid,
    ApduLeWrongLength,
    ApduResponseMalformed,
    ApduResponseTooLong,
    ApduResponseUnexpected,
    ApduStatusWordInvalid,
    NfcApplicationNotFound,
    NfcOutOfOrder,
    VitaleCredError,
)
from vitale_cred.hazmat.apdu import CHAINING_BIT, CommandApdu, Ins, ResponseApdu, parse_response
from vitale_cred.nfc import AID, MAX_REQUEST_BYTES, HolderSession, ReaderSession

from ._support import expect, holder_for, reader_for
from _world import World

SELECT = CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, AID, le=256).encode()


def _refused(
    holder: HolderSession, command: bytes, error: type[VitaleCredError], code: str, sw: int
) -> None:
    response = holder.process(command)
    assert parse_response(response).sw == sw
    assert type(holder.last_error) is error
    assert holder.last_error is not None
    assert holder.last_error.code == code


def _selected(world: World) -> HolderSession:
    holder = holder_for(world)
    assert parse_response(holder.process(SELECT)).sw == 0x9000
    return holder


def _select_sent(world: World) -> ReaderSession:
    reader = reader_for(world)
    assert reader.next_command() is not None
    return reader


# --- command length lies (holder side) ---------------------------------------------------


def test_lc_announcing_more_bytes_than_sent_is_refused_with_6700(world: World) -> None:
    _refused(
        _selected(world),
        b"\x80\x3a\x00\x00\x40" + b"\xa0" * 10,
        ApduBodyTruncated,
        "apdu.body_truncated",
        0x6700,
    )


def test_bytes_after_the_data_that_are_not_an_le_are_refused_with_6700(world: World) -> None:
    _refused(
        _selected(world),
        b"\x80\x3a\x00\x00\x01\xa0\x00\x00",
        ApduLeWrongLength,
        "apdu.le_wrong_length",
        0x6700,
    )


def test_extended_lc_of_zero_followed_by_data_is_refused_with_6700(world: World) -> None:
    _refused(
        _selected(world),
        b"\x80\x3a\x00\x00\x00\x00\x00\xa0",
        ApduExtendedLcZero,
        "apdu.extended_lc_zero",
        0x6700,
    )


def test_extended_length_cut_after_one_byte_is_refused_with_6700(world: World) -> None:
    _refused(
        _selected(world),
        b"\x80\x3a\x00\x00\x00\x05",
        ApduExtendedLengthTruncated,
        "apdu.extended_length_truncated",
        0x6700,
    )


# --- chaining floods ---------------------------------------------------------------------


def test_chain_past_the_request_cap_is_refused_with_6a84(world: World) -> None:
    holder = _selected(world)
    link = CommandApdu(0x80 | CHAINING_BIT, Ins.PRESENTATION_REQUEST, 0, 0, b"\x00" * 255)
    for _ in range(MAX_REQUEST_BYTES // 255):
        assert parse_response(holder.process(link.encode())).sw == 0x9000
    _refused(holder, link.encode(), ApduChainTooLong, "apdu.chain_too_long", 0x6A84)


def test_flood_of_empty_chained_links_is_eventually_refused(world: World) -> None:
    holder = _selected(world)
    empty_link = CommandApdu(0x80 | CHAINING_BIT, Ins.PRESENTATION_REQUEST, 0, 0).encode()
    for _ in range(MAX_REQUEST_BYTES + 1):
        if parse_response(holder.process(empty_link)).sw != 0x9000:
            break
    assert type(holder.last_error) is ApduChainTooLong


def test_other_command_inside_an_open_chain_is_refused_with_6883(world: World) -> None:
    holder = _selected(world)
    link = CommandApdu(0x80 | CHAINING_BIT, Ins.PRESENTATION_REQUEST, 0, 0, b"\xa2")
    assert parse_response(holder.process(link.encode())).sw == 0x9000
    _refused(holder, SELECT, ApduChainInconsistent, "apdu.chain_inconsistent", 0x6883)


# --- out-of-state and unsupported commands ------------------------------------------------


def test_presentation_request_before_any_select_is_refused_with_6985(world: World) -> None:
    request = CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, b"\xa0", le=256).encode()
    _refused(holder_for(world), request, NfcOutOfOrder, "nfc.out_of_order", 0x6985)


def test_get_response_with_nothing_pending_is_refused_with_6985(world: World) -> None:
    get_response = CommandApdu(0x00, Ins.GET_RESPONSE, 0, 0, le=256).encode()
    _refused(
        holder_for(world),
        get_response,
        ApduGetResponseUnexpected,
        "apdu.get_response_unexpected",
        0x6985,
    )


def test_select_of_another_application_is_refused_with_6a82(world: World) -> None:
    other = CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, bytes.fromhex("A0000000031010"), le=256)
    _refused(
        holder_for(world),
        other.encode(),
        NfcApplicationNotFound,
        "nfc.application_not_found",
        0x6A82,
    )


def test_command_on_logical_channel_1_is_refused_with_6e00(world: World) -> None:
    on_channel_1 = CommandApdu(0x01, Ins.SELECT, 0x04, 0x00, AID, le=256).encode()
    _refused(holder_for(world), on_channel_1, ApduClaNotSupported, "apdu.cla_not_supported", 0x6E00)


def test_t0_procedure_byte_as_ins_is_refused_with_6d00(world: World) -> None:
    _refused(holder_for(world), b"\x00\x61\x00\x00", ApduInsInvalid, "apdu.ins_invalid", 0x6D00)


# --- response lies (reader side) --------------------------------------------------------


def test_holder_announcing_61xx_forever_without_data_is_refused(world: World) -> None:
    reader = _select_sent(world)
    reader.feed(b"\x61\x10")
    assert reader.next_command() is not None  # the GET RESPONSE
    expect(ApduResponseUnexpected, "apdu.response_unexpected", reader.feed, b"\x61\x10")


def test_holder_repeating_6cxx_is_refused(world: World) -> None:
    reader = _select_sent(world)
    reader.feed(b"\x6c\x10")
    assert reader.next_command() is not None  # the same command with Le = 16
    expect(ApduResponseUnexpected, "apdu.response_unexpected", reader.feed, b"\x6c\x10")


def test_holder_answering_more_than_the_le_of_get_response_is_refused(world: World) -> None:
    reader = _select_sent(world)
    reader.feed(b"\xa0\x61\x10")
    assert reader.next_command() is not None  # GET RESPONSE, Le = 16
    expect(
        ApduResponseUnexpected,
        "apdu.response_unexpected",
        reader.feed,
        ResponseApdu(b"\x00" * 17, 0x9000).encode(),
    )


def test_fci_longer_than_its_cap_is_refused(world: World) -> None:
    reader = _select_sent(world)
    expect(
        ApduResponseTooLong,
        "apdu.response_too_long",
        reader.feed,
        ResponseApdu(b"\x00" * 600, 0x9000).encode(),
    )


def test_response_with_an_invalid_sw1_is_refused(world: World) -> None:
    expect(ApduStatusWordInvalid, "apdu.status_word_invalid", _select_sent(world).feed, b"\x60\x00")


def test_response_of_a_single_byte_is_refused(world: World) -> None:
    expect(ApduResponseMalformed, "apdu.response_malformed", _select_sent(world).feed, b"\x90")
