"""ISO/IEC 7816-4 APDU codec vectors: the command length forms and response parsing
(spec/nfc.md sections 10.1 and 10.4)."""

from __future__ import annotations

from typing import Any

from tools.vectors._build import CaseList, invalid, valid

AREA = "apdu"
DESCRIPTION = (
    "Command APDUs in every length form (cases 1, 2S, 3S, 4S, 2E, 3E, 4E, ISO/IEC 7816-4 "
    "section 5.1), each malformed form with its code, and response APDUs."
)

_FORMS = "nfc.md#10.1"
_SW = "nfc.md#10.4"

REQUEST = "a10102"  # {1: 2}: request-data with a beneficiary hint
AID = "f0564954414c4501"


def _command(
    cla: int, ins: int, p1: int, p2: int, data: str, ne: int | None, case: str
) -> dict[str, Any]:
    return {"cla": cla, "ins": ins, "p1": p1, "p2": p2, "data": data, "ne": ne, "case": case}


def build(mat: object) -> CaseList:
    """The APDU cases."""
    del mat
    cases = CaseList(AREA)
    long_data = "ab" * 300
    for case_id, description, apdu, fields in (
        ("case-1", "case 1: header only", "00a40400", _command(0, 0xA4, 4, 0, "", None, "1")),
        ("case-2s", "case 2S: Le 10", "00c0000010", _command(0, 0xC0, 0, 0, "", 16, "2S")),
        ("case-2s-le-00", "case 2S: Le 00 means 256", "00c0000000",
         _command(0, 0xC0, 0, 0, "", 256, "2S")),
        ("case-3s", "case 3S: PRESENTATION REQUEST with 3 data bytes", "803a000003" + REQUEST,
         _command(0x80, 0x3A, 0, 0, REQUEST, None, "3S")),
        ("case-4s-select", "case 4S: the SELECT of nfc.md section 3",
         "00a4040008" + AID + "00", _command(0, 0xA4, 4, 0, AID, 256, "4S")),
        ("case-2e", "case 2E: Le 0100", "00c0000000" + "0100",
         _command(0, 0xC0, 0, 0, "", 256, "2E")),
        ("case-2e-le-0000", "case 2E: Le 0000 means 65 536", "00c0000000" + "0000",
         _command(0, 0xC0, 0, 0, "", 65536, "2E")),
        ("case-3e", "case 3E: Lc 000003", "803a0000000003" + REQUEST,
         _command(0x80, 0x3A, 0, 0, REQUEST, None, "3E")),
        ("case-4e", "case 4E: Lc 000003, Le 0000", "803a0000000003" + REQUEST + "0000",
         _command(0x80, 0x3A, 0, 0, REQUEST, 65536, "4E")),
        ("case-4e-le-2110", "case 4E: Le 2110 (8 464, the FCI's max response)",
         "803a0000000003" + REQUEST + "2110", _command(0x80, 0x3A, 0, 0, REQUEST, 8464, "4E")),
        ("case-3e-300-bytes", "case 3E with 300 data bytes (needs the extended form)",
         "803a000000012c" + long_data, _command(0x80, 0x3A, 0, 0, long_data, None, "3E")),
        ("case-3s-255-bytes", "case 3S with 255 data bytes, the short maximum",
         "803a0000ff" + "cd" * 255, _command(0x80, 0x3A, 0, 0, "cd" * 255, None, "3S")),
        ("chained-link", "a chained link: CLA 90 (b5 set), no Le", "903a000003" + REQUEST,
         _command(0x90, 0x3A, 0, 0, REQUEST, None, "3S")),
        ("short-lc-00-read-as-extended", "B1 = 00 and two more bytes: always case 2E "
         "(Le 0001), never a short Lc 00", "803a0000000001",
         _command(0x80, 0x3A, 0, 0, "", 1, "2E")),
        ("case-4s-le-00", "case 4S: Le 00 means 256", "803a000003" + REQUEST + "00",
         _command(0x80, 0x3A, 0, 0, REQUEST, 256, "4S")),
    ):  # fmt: skip
        cases.add(
            case_id, _FORMS, description, "apdu_parse_command", valid(fields), input={"apdu": apdu}
        )
    for case_id, description, apdu, code in (
        ("empty", "no byte", "", "apdu.too_short"),
        ("three-bytes", "3 bytes: no complete header", "00a404", "apdu.too_short"),
        ("cla-ff", "CLA FF", "ffa40400", "apdu.cla_invalid"),
        ("ins-6x", "INS 60", "00600000", "apdu.ins_invalid"),
        ("ins-9x", "INS 9F", "009f0000", "apdu.ins_invalid"),
        ("cla-ff-before-length", "CLA FF and a truncated body: CLA is reported first",
         "ffa4040005a1", "apdu.cla_invalid"),
        ("extended-length-truncated", "B1 = 00 followed by one byte", "803a00000001",
         "apdu.extended_length_truncated"),
        ("extended-lc-zero", "extended Lc 0000 followed by a byte", "803a000000000001",
         "apdu.extended_lc_zero"),
        ("short-body-truncated", "Lc 05 with 2 data bytes", "803a000005a101",
         "apdu.body_truncated"),
        ("extended-body-truncated", "Lc 000005 with 2 data bytes", "803a0000000005a101",
         "apdu.body_truncated"),
        ("short-le-two-bytes", "2 bytes after the data of a short command", "803a000001a10000",
         "apdu.le_wrong_length"),
        ("extended-le-one-byte", "1 byte after the data of an extended command",
         "803a0000000001a100", "apdu.le_wrong_length"),
        ("extended-le-three-bytes", "3 bytes after the data of an extended command",
         "803a0000000001a1000000", "apdu.le_wrong_length"),
    ):  # fmt: skip
        cases.add(
            case_id, _FORMS, description, "apdu_parse_command", invalid(code), input={"apdu": apdu}
        )
    for case_id, description, apdu, fields in (
        ("response-9000", "9000 alone", "9000", {"data": "", "sw": "9000"}),
        ("response-data", "data then 9000", "a101029000", {"data": "a10102", "sw": "9000"}),
        ("response-61xx", "61 00: 256 bytes or more remain", "6100", {"data": "", "sw": "6100"}),
        ("response-6a82", "an error status word", "6a82", {"data": "", "sw": "6A82"}),
        ("response-9fxx", "SW1 9F, the top of the valid range", "9f01", {"data": "", "sw": "9F01"}),
    ):  # fmt: skip
        cases.add(
            case_id, _SW, description, "apdu_parse_response", valid(fields), input={"apdu": apdu}
        )
    for case_id, description, apdu, code in (
        ("response-empty", "no byte", "", "apdu.response_malformed"),
        ("response-one-byte", "one byte", "90", "apdu.response_malformed"),
        ("response-sw-6000", "SW1 60 (a T=0 procedure byte)", "6000", "apdu.status_word_invalid"),
        ("response-sw-0000", "SW1 00", "a1010000", "apdu.status_word_invalid"),
        ("response-sw-a000", "SW1 A0", "a000", "apdu.status_word_invalid"),
    ):  # fmt: skip
        cases.add(
            case_id, _SW, description, "apdu_parse_response", invalid(code), input={"apdu": apdu}
        )
    return cases
