"""Resource bounds: every documented cap holds at its exact value and fails one past it.

Figures are in spec/security.md section 6. The replay-cache flood and the shared
verifier run the measuring scripts of ``fuzz/`` in a subprocess, at a small scale
with proportional bounds; ``fuzz/flood.py`` and ``fuzz/threads.py`` run them at a
million tokens and 2 x 100 000 verifications.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from vitale_cred.clock import FixedClock
from vitale_cred.credential import MAX_CREDENTIAL_BYTES
from vitale_cred.errors import (
    ApduChainTooLong,
    ApduResponseTooLong,
    CborTooDeep,
    CborTooLarge,
    CoseError,
    DecompressionBomb,
    QrTooLarge,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.apdu import (
    CHAINING_BIT,
    MAX_CHAIN_LINKS,
    ChainAssembler,
    CommandApdu,
    Ins,
    ResponseApdu,
    ResponseCollector,
    parse_response,
)
from vitale_cred.hazmat.base45 import b45encode
from vitale_cred.hazmat.qrtext import (
    MAX_PAYLOAD_BYTES,
    MAX_QR_TEXT_CHARS,
    QR_PREFIX,
    decode_qr_text,
)
from vitale_cred.nfc import (
    AID,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    HolderSession,
    credentials_by_index,
)
from vitale_cred.presentation import MAX_PRESENTATION_BYTES
from vitale_cred.status import (
    MAX_STATUS_LIST_BYTES,
    MAX_STATUS_TOKEN_BYTES,
    StatusList,
    verify_status_list,
)
from vitale_cred.trust import TrustStore
from vitale_cred.trustlist import MAX_TRUST_LIST_BYTES, verify_trust_list

from _world import NOW, World

ROOT = Path(__file__).resolve().parent.parent


def _raises(error: type[VitaleCredError], call: Any, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    assert type(info.value) is error


def _bstr_of_total_length(total: int) -> bytes:
    """One CBOR byte string whose encoding is exactly ``total`` bytes long."""
    header = 3 if total - 3 < 0x10000 else 5
    size = total - header
    return (
        b"\x59" + size.to_bytes(2, "big") if header == 3 else b"\x5a" + size.to_bytes(4, "big")
    ) + bytes(size)


def _script(name: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / name), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- sizes of inputs -----------------------------------------------------------------


def test_documented_caps_have_the_documented_values() -> None:
    assert MAX_CREDENTIAL_BYTES == 8_192
    assert MAX_PRESENTATION_BYTES == 8_448
    assert MAX_QR_TEXT_CHARS == 4_296
    assert MAX_PAYLOAD_BYTES == 8_192
    assert (_cbor.MAX_INPUT_BYTES, _cbor.MAX_DEPTH, _cbor.MAX_ITEMS) == (65_536, 16, 4_096)
    assert MAX_REQUEST_BYTES == 1_024
    assert MAX_STATUS_LIST_BYTES == 16 * 1024 * 1024
    assert MAX_TRUST_LIST_BYTES == 262_144


def test_token_at_the_size_cap_is_parsed_and_one_byte_more_is_refused(world: World) -> None:
    verifier = world.verifier()
    _raises(CoseError, verifier.verify_presentation, _bstr_of_total_length(MAX_PRESENTATION_BYTES))
    _raises(
        CborTooLarge,
        verifier.verify_presentation,
        _bstr_of_total_length(MAX_PRESENTATION_BYTES + 1),
    )


def test_credential_at_the_size_cap_is_parsed_and_one_byte_more_is_refused(world: World) -> None:
    verifier = world.verifier()
    _raises(CoseError, verifier.verify_credential, _bstr_of_total_length(MAX_CREDENTIAL_BYTES))
    _raises(
        CborTooLarge, verifier.verify_credential, _bstr_of_total_length(MAX_CREDENTIAL_BYTES + 1)
    )


def test_qr_text_at_the_cap_is_decoded_and_one_character_more_is_refused_at_once() -> None:
    text = QR_PREFIX + b45encode(b"\x00" + bytes(2_860))  # 2 861 bytes: 4 292 characters
    assert len(text) == MAX_QR_TEXT_CHARS
    assert len(decode_qr_text(text)) == 2_860
    one_more, five_megabytes = text + "0", text + "0" * 5_000_000
    started = time.perf_counter()
    _raises(QrTooLarge, decode_qr_text, one_more)
    _raises(QrTooLarge, decode_qr_text, five_megabytes)
    assert time.perf_counter() - started < 0.1


def test_zlib_payload_inflating_to_the_cap_passes_and_one_byte_more_is_a_bomb() -> None:
    def qr(size: int) -> str:
        return QR_PREFIX + b45encode(b"\x01" + zlib.compress(b"\xa0" * size, 9))

    assert len(decode_qr_text(qr(MAX_PAYLOAD_BYTES))) == MAX_PAYLOAD_BYTES
    _raises(DecompressionBomb, decode_qr_text, qr(MAX_PAYLOAD_BYTES + 1))


# --- CBOR structure ----------------------------------------------------------------------


def test_cbor_nesting_at_the_depth_cap_decodes_and_one_level_more_is_refused() -> None:
    def nested(depth: int) -> bytes:
        return b"\x81" * depth + b"\x00"

    assert _cbor.decode(nested(_cbor.MAX_DEPTH)) is not None
    _raises(CborTooDeep, _cbor.decode, nested(_cbor.MAX_DEPTH + 1))


def test_cbor_item_count_at_the_cap_decodes_and_one_item_more_is_refused() -> None:
    def array(count: int) -> bytes:
        return b"\x99" + count.to_bytes(2, "big") + b"\x00" * count

    assert len(_cbor.decode(array(_cbor.MAX_ITEMS))) == _cbor.MAX_ITEMS
    _raises(CborTooLarge, _cbor.decode, array(_cbor.MAX_ITEMS + 1))


def test_cbor_input_at_the_size_cap_decodes_and_one_byte_more_is_refused() -> None:
    assert len(_cbor.decode(_bstr_of_total_length(_cbor.MAX_INPUT_BYTES))) > 0
    _raises(CborTooLarge, _cbor.decode, _bstr_of_total_length(_cbor.MAX_INPUT_BYTES + 1))


# --- APDU chains and responses -----------------------------------------------------------


def _selected_holder(world: World) -> HolderSession:
    holder = HolderSession(
        credentials_by_index(world.bundle.credentials),
        world.device,
        clock=world.clock,
        gate=lambda: True,
        chooser=lambda hint, available: available[0],
    )
    select = CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, AID, le=256).encode()
    assert parse_response(holder.process(select)).sw == 0x9000
    return holder


@pytest.mark.parametrize(
    ("total", "sw"), [(MAX_REQUEST_BYTES, 0x6A80), (MAX_REQUEST_BYTES + 1, 0x6A84)]
)
def test_holder_reassembles_a_chain_up_to_the_request_cap_and_no_further(
    world: World, total: int, sw: int
) -> None:
    holder = _selected_holder(world)
    data = b"\x00" * total
    links = [data[i : i + 200] for i in range(0, total, 200)]
    answer = 0x9000
    for position, link in enumerate(links):
        cla = 0x80 if position == len(links) - 1 else 0x80 | CHAINING_BIT
        answer = parse_response(
            holder.process(CommandApdu(cla, Ins.PRESENTATION_REQUEST, 0, 0, link).encode())
        ).sw
        if answer != 0x9000:
            break
    # At the cap the request is assembled and then refused as a request (not CBOR).
    assert answer == sw


def test_chain_of_empty_links_is_cut_at_the_link_cap() -> None:
    assembler = ChainAssembler(MAX_REQUEST_BYTES, chainable_ins=(Ins.PRESENTATION_REQUEST,))
    link = CommandApdu(0x80 | CHAINING_BIT, Ins.PRESENTATION_REQUEST, 0, 0)
    for _ in range(MAX_CHAIN_LINKS):
        assert assembler.feed(link) is None
    _raises(ApduChainTooLong, assembler.feed, link)


def test_reader_collects_a_response_up_to_its_cap_and_no_further() -> None:
    command = CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, b"\xa0", le=65536)
    at_cap = ResponseCollector(command, MAX_RESPONSE_BYTES)
    result = at_cap.feed(ResponseApdu(b"\x00" * MAX_RESPONSE_BYTES, 0x9000))
    assert isinstance(result, ResponseApdu)
    past_cap = ResponseCollector(command, MAX_RESPONSE_BYTES)
    _raises(
        ApduResponseTooLong, past_cap.feed, ResponseApdu(b"\x00" * (MAX_RESPONSE_BYTES + 1), 0x9000)
    )


# --- lists -----------------------------------------------------------------------------


def test_status_list_inflating_to_the_cap_passes_and_one_byte_more_is_a_bomb() -> None:
    at_cap = zlib.compress(bytes(MAX_STATUS_LIST_BYTES), 9)
    assert StatusList.from_compressed(at_cap, 8).size == MAX_STATUS_LIST_BYTES
    past_cap = zlib.compress(bytes(MAX_STATUS_LIST_BYTES + 1), 9)
    _raises(DecompressionBomb, StatusList.from_compressed, past_cap, 8)


def test_status_list_token_over_its_cap_is_refused_before_parsing(world: World) -> None:
    oversized = _bstr_of_total_length(MAX_STATUS_TOKEN_BYTES + 1)
    started = time.perf_counter()
    _raises(CborTooLarge, verify_status_list, oversized, world.trust, clock=FixedClock(NOW))
    assert time.perf_counter() - started < 0.1


def test_trust_list_over_its_cap_is_refused_before_parsing() -> None:
    _raises(
        CborTooLarge,
        verify_trust_list,
        _bstr_of_total_length(MAX_TRUST_LIST_BYTES + 1),
        TrustStore(),
        clock=FixedClock(NOW),
    )


# --- the replay cache under a flood, and a verifier shared by threads -------------------


def test_replay_cache_memory_stays_bounded_by_its_capacity_under_a_flood() -> None:
    capacity = 20_000
    small = _script("flood.py", "--tokens", "40000", "--capacity", str(capacity))
    large = _script("flood.py", "--tokens", "200000", "--capacity", str(capacity))
    assert small["entries"] == large["entries"] == capacity
    # About 300 bytes per entry (48-byte key, dict slot, heap tuple): 1 KiB is the bound,
    # so 100 000 entries (the default capacity) stay under 100 MiB whatever the flood.
    assert large["growth_kib"] <= capacity
    # Five times the tokens, the same memory (within allocator noise).
    assert large["growth_kib"] <= small["growth_kib"] + 2_048


def test_two_threads_sharing_a_verifier_get_the_results_of_one_thread() -> None:
    report = _script("threads.py", "--per-thread", "2000")
    assert report["verifications"] == 4_000
    assert report["identical_outcomes"] is True
    assert report["unexpected_exceptions"] == []
    assert 0 < report["accepted"] < 4_000


def test_size_caps_are_checked_before_signature_work(world: World) -> None:
    # A maximal token costs a size check, never a curve operation.
    message = cose.decode_sign1(world.bundle.credentials[0])
    padded = cose.encode_sign1(
        message.protected_bytes, {99: bytes(MAX_PRESENTATION_BYTES)}, message.payload, b""
    )
    started = time.perf_counter()
    _raises(CborTooLarge, world.verifier().verify_presentation, padded)
    assert time.perf_counter() - started < 0.1
