"""NFC session attacks: man in the middle, downgrade, key reuse, ciphertext tampering.

Session keys come from ephemeral ECDH over a transcript that binds the FCI
(holder key, offered modes) and ReaderInfo (reader key, nonce, chosen mode); the
device-signed token carries that transcript's hash. AES-GCM counters are implicit
and one failure closes the channel.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from vitale_cred.device import Rng
from vitale_cred.errors import (
    NfcReaderNonceReplayed,
    SessionDecryptFailed,
    SessionDowngrade,
    SessionKeyInvalid,
    TranscriptMismatch,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.apdu import CommandApdu, Ins, ResponseApdu, parse_command, parse_response
from vitale_cred.hazmat.session import (
    Role,
    SecureChannel,
    derive_session_keys,
    ecdh_shared_secret,
    generate_ephemeral_key,
    public_point,
    session_transcript,
)
from vitale_cred.nfc import (
    AID,
    EncryptionPolicy,
    FciLabel,
    HolderSession,
    ReaderInfoLabel,
    ReaderSession,
    RequestLabel,
    SeenNonces,
    SessionMode,
    pair,
)

from ._support import expect, holder_for, reader_for, run_select
from _world import World

SELECT = CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, AID, le=256).encode()


def _fixed_rng(label: bytes) -> Rng:
    def rng(n: int) -> bytes:
        return hashlib.sha256(label + n.to_bytes(2, "big")).digest()[:n]

    return rng


def _request_parts(command: bytes) -> tuple[bytes, dict[int, Any], bytes]:
    """(ReaderInfo bytes, ReaderInfo map, encrypted data) of a request APDU."""
    request = _cbor.decode(parse_command(command).data)
    info_raw = request[RequestLabel.READER_INFO]
    return info_raw, _cbor.decode(info_raw), request[RequestLabel.DATA]


def _crafted_request(
    fci: bytes, *, nonce: bytes = b"\x42" * 16, reader_key: bytes | None = None
) -> tuple[bytes, SecureChannel | None]:
    """A request from a hand-made reader (the attacker's); returns it and its channel."""
    ephemeral = generate_ephemeral_key()
    info = {
        ReaderInfoLabel.VERSION: 1,
        ReaderInfoLabel.NONCE: nonce,
        ReaderInfoLabel.MODE: int(SessionMode.ECDH_P256_A256GCM),
        ReaderInfoLabel.READER_KEY: reader_key or public_point(ephemeral),
    }
    info_raw = _cbor.encode(info)
    channel = None
    data = b"\xa0"
    if reader_key is None:
        holder_key = _cbor.decode(fci)[FciLabel.HOLDER_KEY]
        secret = ecdh_shared_secret(ephemeral, holder_key)
        channel = SecureChannel(
            derive_session_keys(secret, session_transcript(fci, info_raw)), Role.READER
        )
        data = channel.encrypt(data)
    body = _cbor.encode({RequestLabel.READER_INFO: info_raw, RequestLabel.DATA: data})
    command = CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, body, le=65536)
    return command.encode(), channel


def _holder_refused(
    holder: HolderSession, command: bytes, error: type[VitaleCredError], code: str, sw: int
) -> None:
    assert parse_response(holder.process(command)).sw == sw
    assert type(holder.last_error) is error
    assert holder.last_error is not None
    assert holder.last_error.code == code


def _response_to_first_request(world: World, **reader_options: Any) -> tuple[ReaderSession, bytes]:
    """A reader that sent its request, and the holder's genuine (encrypted) answer."""
    holder = holder_for(world)
    reader = reader_for(world, **reader_options)
    run_select(holder, reader)
    request = reader.next_command()
    assert request is not None
    return reader, holder.process(request)


# --- man in the middle ---------------------------------------------------------------


def test_mitm_swapping_the_holder_key_in_the_fci_leaves_the_holder_unable_to_decrypt(
    world: World,
) -> None:
    holder = holder_for(world)
    reader = reader_for(world)
    select = reader.next_command()
    assert select is not None
    genuine = parse_response(holder.process(select))
    fci = _cbor.decode(genuine.data)
    fci[FciLabel.HOLDER_KEY] = public_point(generate_ephemeral_key())  # the attacker's key
    reader.feed(ResponseApdu(_cbor.encode(fci), genuine.sw).encode())
    request = reader.next_command()
    assert request is not None
    _holder_refused(holder, request, SessionDecryptFailed, "session.decrypt_failed", 0x6988)


def test_mitm_running_one_session_with_each_side_is_caught_by_the_transcript(
    world: World,
) -> None:
    # Leg 1: the attacker, posing as a reader, gets a genuine token from the phone.
    holder = holder_for(world)
    fci_holder = parse_response(holder.process(SELECT)).data
    request, channel = _crafted_request(fci_holder)
    answer = parse_response(holder.process(request))
    assert answer.sw == 0x9000 and channel is not None
    stolen_token = channel.decrypt(answer.data)
    # Leg 2: the attacker, posing as the phone, serves that token to the real reader.
    reader = reader_for(world)
    assert reader.next_command() is not None
    mitm_key = generate_ephemeral_key()
    fci_mitm = _cbor.decode(fci_holder)
    fci_mitm[FciLabel.HOLDER_KEY] = public_point(mitm_key)
    fci_mitm_raw = _cbor.encode(fci_mitm)
    reader.feed(ResponseApdu(fci_mitm_raw, 0x9000).encode())
    real_request = reader.next_command()
    assert real_request is not None
    info_raw, info, _ = _request_parts(real_request)
    secret = ecdh_shared_secret(mitm_key, info[ReaderInfoLabel.READER_KEY])
    keys = derive_session_keys(secret, session_transcript(fci_mitm_raw, info_raw))
    reencrypted = SecureChannel(keys, Role.HOLDER).encrypt(stolen_token)
    expect(
        TranscriptMismatch,
        "presentation.transcript_mismatch",
        reader.feed,
        ResponseApdu(reencrypted, 0x9000).encode(),
    )


# --- downgrade to plaintext ----------------------------------------------------------


def test_fci_stripped_of_encryption_is_refused_by_a_reader_that_requires_it(
    world: World,
) -> None:
    holder = holder_for(world)
    reader = reader_for(world)
    select = reader.next_command()
    assert select is not None
    fci = _cbor.decode(parse_response(holder.process(select)).data)
    fci[FciLabel.SESSION_MODES] = [int(SessionMode.PLAINTEXT)]
    del fci[FciLabel.HOLDER_KEY]
    expect(
        SessionDowngrade,
        "session.downgrade",
        reader.feed,
        ResponseApdu(_cbor.encode(fci), 0x9000).encode(),
    )


def test_plaintext_request_is_refused_by_a_holder_that_requires_encryption(
    world: World,
) -> None:
    holder = holder_for(world)
    reader = reader_for(world, encryption=EncryptionPolicy.UNSAFE_PLAINTEXT_ONLY)
    select = reader.next_command()
    assert select is not None
    fci = _cbor.decode(parse_response(holder.process(select)).data)
    fci[FciLabel.SESSION_MODES] = [int(SessionMode.PLAINTEXT)]  # lure the reader
    del fci[FciLabel.HOLDER_KEY]
    reader.feed(ResponseApdu(_cbor.encode(fci), 0x9000).encode())
    request = reader.next_command()
    assert request is not None
    _holder_refused(holder, request, SessionDowngrade, "session.downgrade", 0x6A80)


def test_downgrade_between_two_permissive_peers_is_caught_by_the_transcript(
    world: World,
) -> None:
    permissive = EncryptionPolicy.UNSAFE_PLAINTEXT_ALLOWED
    holder = holder_for(world, encryption=permissive)
    reader = reader_for(world, encryption=permissive)
    select = reader.next_command()
    assert select is not None
    fci = _cbor.decode(parse_response(holder.process(select)).data)
    fci[FciLabel.SESSION_MODES] = [int(SessionMode.PLAINTEXT)]
    del fci[FciLabel.HOLDER_KEY]
    reader.feed(ResponseApdu(_cbor.encode(fci), 0x9000).encode())
    request = reader.next_command()
    assert request is not None
    answer = holder.process(request)
    expect(TranscriptMismatch, "presentation.transcript_mismatch", reader.feed, answer)


# --- key reuse and replay across sessions --------------------------------------------


def test_reader_reusing_its_ephemeral_key_and_nonce_still_gets_fresh_session_keys(
    world: World,
) -> None:
    rng = _fixed_rng(b"broken reader rng")
    first_reader, first_answer = _response_to_first_request(world, rng=rng)
    second_reader, _ = _response_to_first_request(world, rng=rng)
    assert first_reader.nonce == second_reader.nonce
    expect(SessionDecryptFailed, "session.decrypt_failed", second_reader.feed, first_answer)


def test_reader_nonce_already_answered_is_refused_by_the_holder(world: World) -> None:
    seen = SeenNonces()
    first = holder_for(world, seen_nonces=seen)
    fci = parse_response(first.process(SELECT)).data
    request, _ = _crafted_request(fci, nonce=b"\x11" * 16)
    assert parse_response(first.process(request)).sw == 0x9000
    second = holder_for(world, seen_nonces=seen)
    fci = parse_response(second.process(SELECT)).data
    replayed, _ = _crafted_request(fci, nonce=b"\x11" * 16)
    _holder_refused(second, replayed, NfcReaderNonceReplayed, "nfc.reader_nonce_replayed", 0x6A80)


def test_reader_key_off_the_curve_is_refused(world: World) -> None:
    holder = holder_for(world)
    fci = parse_response(holder.process(SELECT)).data
    off_curve = b"\x04" + b"\x01" * 64
    request, _ = _crafted_request(fci, reader_key=off_curve)
    _holder_refused(holder, request, SessionKeyInvalid, "session.key_invalid", 0x6A80)


def test_compressed_reader_key_is_refused(world: World) -> None:
    holder = holder_for(world)
    fci = parse_response(holder.process(SELECT)).data
    compressed = b"\x02" + public_point(generate_ephemeral_key())[1:33]
    request, _ = _crafted_request(fci, reader_key=compressed)
    _holder_refused(holder, request, SessionKeyInvalid, "session.key_invalid", 0x6A80)


def test_holder_key_reflected_as_the_reader_key_gives_the_attacker_nothing(
    world: World,
) -> None:
    holder = holder_for(world)
    fci = parse_response(holder.process(SELECT)).data
    reflected = _cbor.decode(fci)[FciLabel.HOLDER_KEY]
    request, _ = _crafted_request(fci, reader_key=reflected)
    _holder_refused(holder, request, SessionDecryptFailed, "session.decrypt_failed", 0x6988)


# --- truncated and bit-flipped ciphertext --------------------------------------------


def test_response_ciphertext_cut_below_the_gcm_tag_is_refused(world: World) -> None:
    reader, answer = _response_to_first_request(world)
    cut = ResponseApdu(parse_response(answer).data[:15], 0x9000).encode()
    expect(SessionDecryptFailed, "session.decrypt_failed", reader.feed, cut)


def test_response_ciphertext_short_by_one_byte_is_refused(world: World) -> None:
    reader, answer = _response_to_first_request(world)
    cut = ResponseApdu(parse_response(answer).data[:-1], 0x9000).encode()
    expect(SessionDecryptFailed, "session.decrypt_failed", reader.feed, cut)


@pytest.mark.parametrize("where", ["first", "middle", "tag"])
def test_bit_flipped_response_ciphertext_is_refused(world: World, where: str) -> None:
    reader, answer = _response_to_first_request(world)
    data = bytearray(parse_response(answer).data)
    data[{"first": 0, "middle": len(data) // 2, "tag": -1}[where]] ^= 0x01
    flipped = ResponseApdu(bytes(data), 0x9000).encode()
    expect(SessionDecryptFailed, "session.decrypt_failed", reader.feed, flipped)


def test_bit_flipped_request_ciphertext_is_refused_by_the_holder(world: World) -> None:
    holder = holder_for(world)
    reader = reader_for(world)
    run_select(holder, reader)
    request = reader.next_command()
    assert request is not None
    info_raw, _, data = _request_parts(request)
    flipped = bytes([data[0] ^ 0x80]) + data[1:]
    body = _cbor.encode({RequestLabel.READER_INFO: info_raw, RequestLabel.DATA: flipped})
    forged = CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, body, le=65536).encode()
    _holder_refused(holder, forged, SessionDecryptFailed, "session.decrypt_failed", 0x6988)


def test_reader_request_reflected_back_as_the_response_is_refused(world: World) -> None:
    holder = holder_for(world)
    reader = reader_for(world)
    run_select(holder, reader)
    request = reader.next_command()
    assert request is not None
    _, _, encrypted_request = _request_parts(request)
    reflected = ResponseApdu(encrypted_request, 0x9000).encode()
    expect(SessionDecryptFailed, "session.decrypt_failed", reader.feed, reflected)


def test_genuine_exchange_still_verifies_after_the_attacks_above(world: World) -> None:
    assert pair(holder_for(world), reader_for(world)).beneficiary_index == 0
