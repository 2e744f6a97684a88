"""zlib and Base45 bombs: every expansion is capped before the memory is spent.

The QR text is measured before Base45 decoding, zlib output is capped at the
payload bound plus one byte, and exactly one complete zlib stream is accepted.
"""

from __future__ import annotations

import time
import zlib

from vitale_cred.clock import FixedClock
from vitale_cred.errors import (
    Base45BadCharacter,
    Base45Overflow,
    CompressionError,
    DecompressionBomb,
    QrTooLarge,
)
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.base45 import b45encode
from vitale_cred.hazmat.qrtext import MAX_QR_TEXT_CHARS, QR_PREFIX
from vitale_cred.pki import generate_private_key
from vitale_cred.registry import CoseAlg
from vitale_cred.status import StatusList, issue_status_list, verify_status_list
from vitale_cred.trust import TrustStore, Usage, raw_key

from ._support import expect, token
from _world import NOW, World


def _zlib_qr(stream: bytes) -> str:
    return QR_PREFIX + b45encode(b"\x01" + stream)


def test_zlib_bomb_of_one_mebibyte_in_a_qr_code_is_refused(world: World) -> None:
    bomb = zlib.compress(bytes(1 << 20), 9)
    text = _zlib_qr(bomb)
    assert len(text) <= MAX_QR_TEXT_CHARS
    started = time.perf_counter()
    expect(DecompressionBomb, "compression.too_large", world.verifier().verify_qr, text)
    assert time.perf_counter() - started < 0.2


def test_second_zlib_stream_hidden_after_the_first_is_refused(world: World) -> None:
    genuine = zlib.compress(token(world), 9)
    hidden = zlib.compress(b"\xa0")
    expect(
        CompressionError,
        "compression.invalid",
        world.verifier().verify_qr,
        _zlib_qr(genuine + hidden),
    )


def test_truncated_zlib_stream_is_refused(world: World) -> None:
    stream = zlib.compress(token(world), 9)
    expect(
        CompressionError,
        "compression.invalid",
        world.verifier().verify_qr,
        _zlib_qr(stream[:-5]),
    )


def test_raw_deflate_without_the_zlib_header_is_refused(world: World) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = packer.compress(token(world)) + packer.flush()
    expect(CompressionError, "compression.invalid", world.verifier().verify_qr, _zlib_qr(raw))


def test_zlib_stream_asking_for_a_preset_dictionary_is_refused(world: World) -> None:
    packer = zlib.compressobj(9, zdict=b"MARTIN Pierre")
    stream = packer.compress(token(world)) + packer.flush()
    expect(CompressionError, "compression.invalid", world.verifier().verify_qr, _zlib_qr(stream))


def test_ten_megabyte_qr_text_is_refused_before_any_decoding(world: World) -> None:
    text = QR_PREFIX + "0" * 10_000_000
    started = time.perf_counter()
    expect(QrTooLarge, "qr.too_large", world.verifier().verify_qr, text)
    assert time.perf_counter() - started < 0.1


def test_base45_group_above_65535_is_an_overflow(world: World) -> None:
    expect(Base45Overflow, "base45.overflow", world.verifier().verify_qr, QR_PREFIX + ":::")


def test_unicode_digits_that_int_would_accept_are_not_base45(world: World) -> None:
    # FULLWIDTH DIGIT ZERO is a digit for str.isdigit() and int(), not for Base45.
    expect(
        Base45BadCharacter,
        "base45.bad_character",
        world.verifier().verify_qr,
        QR_PREFIX + "\uff10\uff10\uff10",
    )


def test_lower_case_base45_is_refused(world: World) -> None:
    expect(
        Base45BadCharacter, "base45.bad_character", world.verifier().verify_qr, QR_PREFIX + "abc"
    )


def test_signed_status_list_inflating_past_the_cap_is_refused() -> None:
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    trust = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(signer.public_key()),
                b"sl",
                usages=[Usage.STATUS_LIST],
            )
        ]
    )
    huge = StatusList(8, 1 << 20)  # 1 MiB of zeros, about 1 KiB compressed
    bomb = issue_status_list(
        signer, kid=b"sl", uri="https://status.example/1", list_id=1, status_list=huge, iat=NOW
    )
    assert len(bomb) < 2048
    expect(
        DecompressionBomb,
        "compression.too_large",
        verify_status_list,
        bomb,
        trust,
        clock=FixedClock(NOW),
        max_bytes=64 * 1024,
    )
