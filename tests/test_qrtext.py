"""The QR text envelope: format, size caps, and strict rejection of bad input."""

from __future__ import annotations

import contextlib
import random
import time
import zlib

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitale_cred.errors import (
    Base45BadCharacter,
    Base45BadLength,
    Base45Overflow,
    CompressionError,
    DecompressionBomb,
    InvalidArgument,
    QrBadPrefix,
    QrError,
    QrTooLarge,
    VitaleCredError,
)
from vitale_cred.hazmat import qrtext
from vitale_cred.hazmat.base45 import ALPHABET, b45decode, b45encode
from vitale_cred.hazmat.qrtext import (
    MAX_PAYLOAD_BYTES,
    MAX_QR_TEXT_CHARS,
    QR_PREFIX,
    decode_qr_text,
    encode_qr_text,
)

# A CBOR map shaped like a small credential: repetitive enough to compress.
PAYLOAD = cbor2.dumps(
    {
        1: "https://issuer.example.fr",
        4: 1_900_000_000,
        6: 1_700_000_000,
        -65537: {"nir": "185057800608436", "org": "011234567", "rights": ["AMO"] * 20},
    }
)
RANDOM_PAYLOAD = bytes(range(256))  # does not compress
NOISE = random.Random(9285).randbytes(4000)  # incompressible, and too big for a QR text


def _text(envelope: bytes) -> str:
    return QR_PREFIX + b45encode(envelope)


def test_constants_have_their_documented_values() -> None:
    assert QR_PREFIX == "VC1:"
    assert MAX_QR_TEXT_CHARS == 4296
    assert MAX_PAYLOAD_BYTES == 8192


def test_module_docstring_documents_the_envelope_format() -> None:
    doc = qrtext.__doc__ or ""
    assert "QR text  = PREFIX + Base45(envelope)" in doc
    assert 'PREFIX   = "VC1:"' in doc
    assert "flag 0x00" in doc
    assert "flag 0x01" in doc


@pytest.mark.parametrize("compress", [None, True, False])
def test_round_trip_returns_the_payload(compress: bool | None) -> None:
    assert decode_qr_text(encode_qr_text(PAYLOAD, compress=compress)) == PAYLOAD


def test_text_starts_with_the_prefix_and_uses_only_alphanumeric_mode_characters() -> None:
    text = encode_qr_text(PAYLOAD)
    assert text.startswith("VC1:")
    assert set(text[4:]) <= set(ALPHABET)


def test_compress_false_writes_flag_zero_and_the_raw_payload() -> None:
    assert encode_qr_text(PAYLOAD, compress=False) == _text(b"\x00" + PAYLOAD)


def test_compress_true_writes_flag_one_and_a_zlib_stream() -> None:
    text = encode_qr_text(RANDOM_PAYLOAD, compress=True)
    envelope = b45decode(text[4:])
    assert envelope[0] == 0x01
    assert zlib.decompress(envelope[1:]) == RANDOM_PAYLOAD
    assert decode_qr_text(text) == RANDOM_PAYLOAD


def test_compress_none_compresses_a_payload_that_shrinks() -> None:
    auto = encode_qr_text(PAYLOAD)
    assert auto == encode_qr_text(PAYLOAD, compress=True)
    assert len(auto) < len(encode_qr_text(PAYLOAD, compress=False))


def test_compress_none_keeps_raw_a_payload_that_does_not_shrink() -> None:
    assert encode_qr_text(RANDOM_PAYLOAD) == encode_qr_text(RANDOM_PAYLOAD, compress=False)


def test_decode_accepts_a_zlib_stream_at_any_compression_level() -> None:
    for level in (0, 1, 6, 9):
        assert decode_qr_text(_text(b"\x01" + zlib.compress(PAYLOAD, level))) == PAYLOAD


@pytest.mark.parametrize("payload", [b"", bytearray()])
def test_encode_of_empty_payload_raises_invalid_argument(payload: bytes) -> None:
    with pytest.raises(InvalidArgument) as info:
        encode_qr_text(payload)
    assert info.value.code == "usage.invalid_argument"


@pytest.mark.parametrize("payload", ["a1", None, 7])
def test_encode_of_non_bytes_raises_invalid_argument(payload: object) -> None:
    with pytest.raises(InvalidArgument):
        encode_qr_text(payload)  # type: ignore[arg-type]


def test_encode_of_non_bool_compress_raises_invalid_argument() -> None:
    with pytest.raises(InvalidArgument):
        encode_qr_text(PAYLOAD, compress=1)  # type: ignore[arg-type]


def test_encode_of_payload_over_the_cap_raises_invalid_argument() -> None:
    with pytest.raises(InvalidArgument):
        encode_qr_text(b"\0" * (MAX_PAYLOAD_BYTES + 1), compress=True)


def test_encode_of_payload_too_big_for_a_qr_code_raises_invalid_argument() -> None:
    with pytest.raises(InvalidArgument) as info:
        encode_qr_text(NOISE)
    assert "4296" in str(info.value)


def test_encode_accepts_the_largest_raw_payload_that_fits() -> None:
    # 4296 - 4 prefix chars = 4292 = 3 * 1430 + 2, so 2 * 1430 + 1 = 2861 envelope bytes.
    payload = NOISE[:2860]
    text = encode_qr_text(payload, compress=False)
    assert len(text) == MAX_QR_TEXT_CHARS
    assert decode_qr_text(text) == payload
    with pytest.raises(InvalidArgument):
        encode_qr_text(payload + b"\0", compress=False)


# --- decode: rejection, each with its exact class and code ---------------------------


@pytest.mark.parametrize("value", [b"VC1:BB8", None, 1, ["VC1:"]])
def test_decode_of_non_str_raises_invalid_argument(value: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        decode_qr_text(value)  # type: ignore[arg-type]
    assert info.value.code == "usage.invalid_argument"


def test_decode_of_text_longer_than_the_cap_raises_too_large() -> None:
    with pytest.raises(QrTooLarge) as info:
        decode_qr_text(_text(b"\x00" + NOISE))
    assert type(info.value) is QrTooLarge
    assert info.value.code == "qr.too_large"


def test_size_is_checked_before_prefix_and_alphabet() -> None:
    with pytest.raises(QrTooLarge):
        decode_qr_text("x" * (MAX_QR_TEXT_CHARS + 1))


def test_decode_of_huge_text_is_rejected_quickly() -> None:
    huge = "VC1:" + "0" * 5_000_000
    start = time.perf_counter()
    with pytest.raises(QrTooLarge):
        decode_qr_text(huge)
    assert time.perf_counter() - start < 0.05


@pytest.mark.parametrize(
    "text",
    [
        "",
        "VC1",
        "VC2:BB8",
        "HC1:BB8",
        "vc1:BB8",
        "Vc1:BB8",
        " VC1:BB8",
        "VC1;BB8",
        "BB8",
    ],
)
def test_missing_or_wrong_prefix_raises_bad_prefix(text: str) -> None:
    with pytest.raises(QrBadPrefix) as info:
        decode_qr_text(text)
    assert type(info.value) is QrBadPrefix
    assert info.value.code == "qr.bad_prefix"


def test_lower_case_text_is_rejected() -> None:
    text = encode_qr_text(PAYLOAD)
    with pytest.raises(QrBadPrefix):
        decode_qr_text(text.lower())
    with pytest.raises(Base45BadCharacter) as info:
        decode_qr_text(QR_PREFIX + text[4:].lower())
    assert info.value.code == "base45.bad_character"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("BB8\n", Base45BadCharacter),
        ("BB8 b", Base45BadCharacter),
        ("BB8A", Base45BadLength),
        ("GGW", Base45Overflow),
        ("000V5", Base45Overflow),
    ],
)
def test_bad_base45_after_the_prefix_raises_the_base45_error(
    body: str, error: type[VitaleCredError]
) -> None:
    with pytest.raises(error) as info:
        decode_qr_text(QR_PREFIX + body)
    assert type(info.value) is error
    assert info.value.code == error.code


def test_empty_envelope_raises_qr_error() -> None:
    with pytest.raises(QrError) as info:
        decode_qr_text(QR_PREFIX)
    assert type(info.value) is QrError
    assert info.value.code == "qr.malformed"


@pytest.mark.parametrize("flag", [0x02, 0x7F, 0x80, 0xFF])
def test_unknown_flag_raises_qr_error(flag: int) -> None:
    with pytest.raises(QrError) as info:
        decode_qr_text(_text(bytes((flag,)) + PAYLOAD))
    assert type(info.value) is QrError
    assert info.value.code == "qr.malformed"
    assert f"0x{flag:02x}" in str(info.value)


def test_flag_alone_with_empty_raw_body_raises_qr_error() -> None:
    with pytest.raises(QrError) as info:
        decode_qr_text(_text(b"\x00"))
    assert type(info.value) is QrError


def test_zlib_stream_of_an_empty_payload_raises_qr_error() -> None:
    with pytest.raises(QrError) as info:
        decode_qr_text(_text(b"\x01" + zlib.compress(b"")))
    assert type(info.value) is QrError


def test_raw_body_over_the_payload_cap_raises_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    # A text within MAX_QR_TEXT_CHARS carries at most 2861 envelope bytes, below the
    # real cap, so the cap is lowered to reach this defensive check.
    monkeypatch.setattr(qrtext, "MAX_PAYLOAD_BYTES", 16)
    assert decode_qr_text(_text(b"\x00" + b"x" * 16)) == b"x" * 16
    with pytest.raises(QrTooLarge) as info:
        decode_qr_text(_text(b"\x00" + b"x" * 17))
    assert info.value.code == "qr.too_large"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty-stream"),
        pytest.param(b"not zlib at all", id="garbage"),
        pytest.param(b"\x78\x9c", id="header-only"),
        pytest.param(b"\x78\x00" + zlib.compress(PAYLOAD)[2:], id="bad-header-check"),
        pytest.param(zlib.compress(PAYLOAD)[:-4] + b"\0\0\0\0", id="bad-adler32"),
        pytest.param(zlib.compress(PAYLOAD, wbits=-15), id="raw-deflate-no-header"),
        pytest.param(zlib.compress(PAYLOAD, wbits=31), id="gzip-not-zlib"),
        pytest.param(b"\x78\xbb\x00\x00\x00\x01", id="preset-dictionary"),
    ],
)
def test_invalid_zlib_stream_raises_compression_error(body: bytes) -> None:
    with pytest.raises(CompressionError) as info:
        decode_qr_text(_text(b"\x01" + body))
    assert type(info.value) is CompressionError
    assert info.value.code == "compression.invalid"


@pytest.mark.parametrize("cut", [1, 4, 10])
def test_truncated_zlib_stream_raises_compression_error(cut: int) -> None:
    stream = zlib.compress(PAYLOAD)
    with pytest.raises(CompressionError) as info:
        decode_qr_text(_text(b"\x01" + stream[:-cut]))
    assert type(info.value) is CompressionError
    assert info.value.code == "compression.invalid"


@pytest.mark.parametrize("trailer", [b"\0", b"garbage", zlib.compress(b"second")])
def test_bytes_after_the_end_of_the_zlib_stream_raise_compression_error(trailer: bytes) -> None:
    with pytest.raises(CompressionError) as info:
        decode_qr_text(_text(b"\x01" + zlib.compress(PAYLOAD) + trailer))
    assert type(info.value) is CompressionError
    assert "follow the end" in str(info.value)


def test_payload_decompressing_to_exactly_the_cap_is_accepted() -> None:
    payload = b"\xa0" * MAX_PAYLOAD_BYTES
    assert decode_qr_text(_text(b"\x01" + zlib.compress(payload, 9))) == payload


def test_payload_decompressing_one_byte_past_the_cap_raises_bomb() -> None:
    with pytest.raises(DecompressionBomb) as info:
        decode_qr_text(_text(b"\x01" + zlib.compress(b"\xa0" * (MAX_PAYLOAD_BYTES + 1), 9)))
    assert type(info.value) is DecompressionBomb
    assert info.value.code == "compression.too_large"


def test_zlib_bomb_that_fits_in_a_qr_text_raises_bomb_quickly() -> None:
    # ~2.5 MB of zeros compresses to ~2.4 kB: the biggest bomb a QR text can carry.
    bomb = _text(b"\x01" + zlib.compress(b"\0" * 2_500_000, 9))
    assert len(bomb) <= MAX_QR_TEXT_CHARS
    start = time.perf_counter()
    with pytest.raises(DecompressionBomb):
        decode_qr_text(bomb)
    assert time.perf_counter() - start < 0.05


def test_ten_megabyte_zlib_bomb_is_refused_by_the_text_size_cap() -> None:
    bomb = _text(b"\x01" + zlib.compress(b"\0" * 10_000_000, 9))
    start = time.perf_counter()
    with pytest.raises(QrTooLarge):
        decode_qr_text(bomb)
    assert time.perf_counter() - start < 0.05


# --- properties ------------------------------------------------------------------------


@given(st.binary(min_size=1, max_size=2000), st.sampled_from([None, True, False]))
def test_round_trip_of_arbitrary_payloads(payload: bytes, compress: bool | None) -> None:
    # 2000 bytes, even incompressible and forced through zlib, fit in a QR text.
    text = encode_qr_text(payload, compress=compress)
    assert len(text) <= MAX_QR_TEXT_CHARS
    assert decode_qr_text(text) == payload


@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_library_errors(text: str) -> None:
    with contextlib.suppress(VitaleCredError):
        decode_qr_text(text)


@given(st.text(alphabet=ALPHABET, max_size=300))
def test_arbitrary_base45_after_the_prefix_raises_only_library_errors(body: str) -> None:
    with contextlib.suppress(VitaleCredError):
        decode_qr_text(QR_PREFIX + body)


@given(st.sampled_from([0x00, 0x01, 0x02]), st.binary(max_size=300))
def test_arbitrary_envelope_decodes_or_raises_only_library_errors(flag: int, body: bytes) -> None:
    try:
        payload = decode_qr_text(_text(bytes((flag,)) + body))
    except VitaleCredError:
        return
    assert flag in (0x00, 0x01)
    assert payload


@given(st.binary(min_size=1, max_size=500), st.data())
def test_any_corruption_of_a_zlib_stream_raises_only_library_errors(
    payload: bytes, data: st.DataObject
) -> None:
    stream = bytearray(zlib.compress(payload))
    index = data.draw(st.integers(0, len(stream) - 1))
    stream[index] ^= data.draw(st.integers(1, 255))
    # Anything but a QrError (its Base45 and compression subclasses included) fails.
    with contextlib.suppress(QrError):
        decode_qr_text(_text(b"\x01" + bytes(stream)))
