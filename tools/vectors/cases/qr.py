"""QR text envelope and Base45 vectors (spec/presentation.md section 4, RFC 9285)."""

from __future__ import annotations

from tools.vectors._build import (
    CaseList,
    claims_wire,
    h,
    invalid,
    issue,
    nonce_for,
    present,
    valid,
)
from tools.vectors._material import SHOWN_AT, Material, deflate_zlib
from vitale_cred.hazmat.base45 import b45encode
from vitale_cred.hazmat.qrtext import QR_PREFIX

AREA = "qr"
DESCRIPTION = (
    "Base45 (RFC 9285) and the QR text envelope 'VC1:' + Base45(flag || body): "
    "decoding and each rejection of presentation.md section 4.3."
)

_B45 = "presentation.md#4.2"
_QR = "presentation.md#4.3"


def _text(envelope: bytes) -> str:
    return QR_PREFIX + b45encode(envelope)


def build(mat: Material) -> CaseList:
    """The QR and Base45 cases."""
    cases = CaseList(AREA)

    # --- Base45 alone ----------------------------------------------------------------
    for case_id, description, text, data in (
        ("base45-rfc9285-ab", 'RFC 9285 section 4.3: "AB"', "BB8", b"AB"),
        ("base45-rfc9285-hello", 'RFC 9285 section 4.3: "Hello!!"', "%69 VD92EX0", b"Hello!!"),
        ("base45-rfc9285-base-45", 'RFC 9285 section 4.3: "base-45"', "UJCLQE7W581", b"base-45"),
        ("base45-rfc9285-ietf", 'RFC 9285 section 4.4: "ietf!"', "QED8WEX0", b"ietf!"),
        ("base45-empty", "the empty text is the empty byte string", "", b""),
        ("base45-max-group", "FGW: 65 535, the largest 3-character group", "FGW", b"\xff\xff"),
        ("base45-max-pair", "U5: 255, the largest final 2-character group", "U5", b"\xff"),
    ):
        assert b45encode(data) == text, case_id
        cases.add(
            case_id,
            _B45,
            description,
            "base45_decode",
            valid({"bytes": h(data)}),
            input={"text": text},
        )
    for case_id, description, text, code in (
        ("base45-lower-case", "lower case is not Base45", "bb8", "base45.bad_character"),
        ("base45-newline", "a trailing line feed", "BB8\n", "base45.bad_character"),
        ("base45-non-ascii", "a non-ASCII letter", "BBÉ", "base45.bad_character"),
        (
            "base45-bad-char-before-length",
            "a bad character is reported before a bad length",
            "BB8b",
            "base45.bad_character",
        ),
        ("base45-length-1-mod-3", "4 characters: length 1 modulo 3", "BB8B", "base45.bad_length"),
        ("base45-length-1", "a single character", "B", "base45.bad_length"),
        ("base45-overflow-group", "GGW: 65 536, one over a 16-bit group", "GGW", "base45.overflow"),
        (
            "base45-overflow-max",
            '":::" is 91 124, the largest 3-character value',
            ":::",
            "base45.overflow",
        ),
        (
            "base45-overflow-pair",
            "V5: 256, one over a final 2-character group",
            "V5",
            "base45.overflow",
        ),
    ):
        cases.add(
            case_id,
            _B45,
            description,
            "base45_decode",
            invalid(code),
            input={"text": text},
        )

    # --- the QR text envelope -----------------------------------------------------------
    pki = mat.pki["es256"]
    credential = issue(pki, claims_wire(mat, 0))
    token = present(credential.data, mat.device, iat=SHOWN_AT, nonce=nonce_for("qr-envelope")).data
    raw_text = _text(b"\x00" + token)
    zlib_body = deflate_zlib(token)
    cases.add(
        "raw-envelope",
        _QR,
        "flag 00: the body is the presentation (555 characters for family5 beneficiary 0)",
        "qr_decode",
        valid({"payload": h(token)}),
        input={"qr_text": raw_text},
        intermediate={"envelope": h(b"\x00" + token)},
        cddl=[("expected.fields.payload", "presentation")],
    )
    cases.add(
        "zlib-envelope",
        _QR,
        "flag 01: the body is a zlib stream (fixed Huffman codes) of the presentation",
        "qr_decode",
        valid({"payload": h(token)}),
        input={"qr_text": _text(b"\x01" + zlib_body)},
        intermediate={"envelope": h(b"\x01" + zlib_body)},
    )
    longest_body = bytes(range(256)) * 11 + bytes(range(44))  # 2 860 bytes
    longest = _text(b"\x00" + longest_body)
    assert len(longest) == 4296
    cases.add(
        "longest-text",
        _QR,
        "4 296 characters, the longest text accepted",
        "qr_decode",
        valid({"payload": h(longest_body)}),
        input={"qr_text": longest},
    )
    cases.add(
        "text-too-long",
        _QR,
        "4 297 characters, refused before any other check (the Base45 is invalid too)",
        "qr_decode",
        invalid("qr.too_large"),
        input={"qr_text": longest + "a"},
    )
    for case_id, description, text in (
        ("prefix-missing", "Base45 without the prefix", raw_text[len(QR_PREFIX) :]),
        ("prefix-lower-case", "vc1: in lower case", "vc1:" + raw_text[len(QR_PREFIX) :]),
        ("prefix-hc1", "the EU DCC prefix HC1:", "HC1:" + raw_text[len(QR_PREFIX) :]),
        ("prefix-no-colon", "VC1 without the colon", "VC1" + raw_text[len(QR_PREFIX) :]),
        ("empty-text", "the empty text", ""),
    ):
        cases.add(
            case_id,
            _QR,
            description,
            "qr_decode",
            invalid("qr.bad_prefix"),
            input={"qr_text": text},
        )
    body = raw_text[len(QR_PREFIX) :]
    for case_id, description, text, code in (
        ("base45-lower-case-body", "a lower-case character after the prefix",
         QR_PREFIX + body[:10] + "a" + body[11:], "base45.bad_character"),
        ("base45-trailing-newline", "a line feed after the text", raw_text + "\n",
         "base45.bad_character"),
        ("base45-truncated", "characters removed to a length of 1 modulo 3",
         QR_PREFIX + body[: len(body) - ((len(body) - 1) % 3 or 3)], "base45.bad_length"),
        ("base45-overflow-body", "a group above 65 535 inside the text",
         QR_PREFIX + ":::" + body[3:], "base45.overflow"),
        ("empty-envelope", "nothing after the prefix: no flag byte", QR_PREFIX, "qr.malformed"),
        ("unknown-flag", "flag 02", _text(b"\x02" + token), "qr.malformed"),
        ("empty-raw-payload", "flag 00 and no body", _text(b"\x00"), "qr.malformed"),
        ("empty-zlib-payload", "flag 01 and a zlib stream of nothing",
         _text(b"\x01" + deflate_zlib(b"")), "qr.malformed"),
        ("zlib-garbage", "flag 01 and bytes that are not a zlib stream",
         _text(b"\x01" + b"\xff\xff\xff\xff"), "compression.invalid"),
        ("zlib-truncated", "flag 01 and a zlib stream without its Adler-32 trailer",
         _text(b"\x01" + zlib_body[:-4]), "compression.invalid"),
        ("zlib-trailing", "flag 01 and a byte after the zlib stream",
         _text(b"\x01" + zlib_body + b"\x00"), "compression.invalid"),
        ("zlib-bomb", "flag 01 and 61 bytes that inflate to 8 193 bytes",
         _text(b"\x01" + deflate_zlib(b"\x00" * 8193)), "compression.too_large"),
    ):  # fmt: skip
        cases.add(case_id, _QR, description, "qr_decode", invalid(code), input={"qr_text": text})
    cases.add(
        "zlib-at-cap",
        _QR,
        "flag 01 and a stream that inflates to exactly 8 192 bytes",
        "qr_decode",
        valid({"payload": h(b"\x00" * 8192)}),
        input={"qr_text": _text(b"\x01" + deflate_zlib(b"\x00" * 8192))},
    )
    return cases
