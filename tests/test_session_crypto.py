"""Session encryption primitives: ISO/IEC 18013-5 Annex D, Wycheproof ECDH/HKDF/AES-GCM."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vitale_cred import errors
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.session import (
    GCM_TAG_LENGTH,
    HOLDER_IDENTIFIER,
    MAX_COUNTER,
    READER_IDENTIFIER,
    Role,
    SecureChannel,
    SessionKeys,
    derive_session_keys,
    ecdh_shared_secret,
    gcm_decrypt,
    gcm_encrypt,
    gcm_iv,
    generate_ephemeral_key,
    hkdf_sha256,
    load_public_point,
    public_point,
)

VECTORS = Path(__file__).parent / "vectors"
ANNEX_D = json.loads((VECTORS / "iso18013-5-annex-d" / "annex_d_vectors.json").read_text())
TAG_24 = 24


def _hex(name: str) -> bytes:
    return bytes.fromhex(ANNEX_D["vectors"][name]["hex"])


def _derived(name: str) -> bytes:
    return bytes.fromhex(ANNEX_D["derived_values"][name]["hex"])


def _private(name: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(_hex(name), "big"), ec.SECP256R1())


def _point(prefix: str) -> bytes:
    return b"\x04" + _hex(f"{prefix}_x") + _hex(f"{prefix}_y")


def _wycheproof(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "wycheproof" / name).read_text())
    return data


def _cases(name: str) -> list[Any]:
    data = _wycheproof(name)
    return [
        pytest.param(group, test, id=f"tc{test['tcId']}-{test['result']}")
        for group in data["testGroups"]
        for test in group["tests"]
    ]


# --- ISO/IEC 18013-5 Annex D ----------------------------------------------------------


@pytest.fixture(scope="module")
def annex_d_keys() -> SessionKeys:
    zab = ecdh_shared_secret(_private("ephemeral_reader_key_d"), _point("ephemeral_device_key"))
    return derive_session_keys(zab, _hex("session_transcript_bytes"))


def test_annex_d_ecdh_agrees_both_ways() -> None:
    reader_side = ecdh_shared_secret(
        _private("ephemeral_reader_key_d"), _point("ephemeral_device_key")
    )
    device_side = ecdh_shared_secret(
        _private("ephemeral_device_key_d"), _point("ephemeral_reader_key")
    )
    assert reader_side == device_side == _derived("zab_ephemeral")


def test_annex_d_private_scalars_match_public_points() -> None:
    assert public_point(_private("ephemeral_reader_key_d")) == _point("ephemeral_reader_key")
    assert public_point(_private("ephemeral_device_key_d")) == _point("ephemeral_device_key")


def test_annex_d_salt_is_sha256_of_the_transcript_bytes() -> None:
    digest = hashlib.sha256(_hex("session_transcript_bytes")).digest()
    assert digest == _derived("hkdf_salt")


def test_annex_d_session_keys(annex_d_keys: SessionKeys) -> None:
    assert annex_d_keys.sk_reader == _derived("sk_reader")
    assert annex_d_keys.sk_device == _derived("sk_device")
    assert _derived("sk_reader").hex() not in repr(annex_d_keys)


def _session_message(name: str) -> dict[str, Any]:
    # 18013-5 maps are not in deterministic key order; the profile check is off here.
    value = _cbor.decode(_hex(name), tags=frozenset({TAG_24}), deterministic=False)
    assert isinstance(value, dict)
    return value


def test_annex_d_session_establishment_carries_the_reader_key() -> None:
    message = _session_message("session_establishment")
    key = message["eReaderKey"]
    assert isinstance(key, _cbor.Tagged)
    assert key.tag == TAG_24
    cose_key = _cbor.decode(key.value)
    assert cose_key[-2] == _hex("ephemeral_reader_key_x")
    assert cose_key[-3] == _hex("ephemeral_reader_key_y")


def test_annex_d_holder_decrypts_session_establishment(annex_d_keys: SessionKeys) -> None:
    data = _session_message("session_establishment")["data"]
    holder = SecureChannel(annex_d_keys, Role.HOLDER)
    assert holder.decrypt(data) == _hex("device_request")


def test_annex_d_reader_decrypts_session_data(annex_d_keys: SessionKeys) -> None:
    data = _session_message("session_data")["data"]
    reader = SecureChannel(annex_d_keys, Role.READER)
    assert reader.decrypt(data) == _hex("device_response")


def test_annex_d_encryption_reproduces_the_ciphertexts(annex_d_keys: SessionKeys) -> None:
    reader = SecureChannel(annex_d_keys, Role.READER)
    holder = SecureChannel(annex_d_keys, Role.HOLDER)
    assert (
        reader.encrypt(_hex("device_request"))
        == (_session_message("session_establishment")["data"])
    )
    assert holder.encrypt(_hex("device_response")) == _session_message("session_data")["data"]


def test_annex_d_iv_rule() -> None:
    assert gcm_iv(READER_IDENTIFIER, 1).hex() == "000000000000000000000001"
    assert gcm_iv(HOLDER_IDENTIFIER, 1).hex() == "000000000000000100000001"
    assert gcm_iv(HOLDER_IDENTIFIER, 0x01020304).hex() == "000000000000000101020304"


def test_annex_d_wrong_direction_fails(annex_d_keys: SessionKeys) -> None:
    # The reader cannot decrypt its own message: directions use different keys and IVs.
    data = _session_message("session_establishment")["data"]
    with pytest.raises(errors.SessionDecryptFailed):
        SecureChannel(annex_d_keys, Role.READER).decrypt(data)


# --- Wycheproof ECDH P-256 --------------------------------------------------------------


@pytest.mark.parametrize(("group", "test"), _cases("ecdh_secp256r1_ecpoint_test.json"))
def test_wycheproof_ecdh_ecpoint(group: dict[str, Any], test: dict[str, Any]) -> None:
    assert group["curve"] == "secp256r1"
    private = ec.derive_private_key(int(test["private"], 16), ec.SECP256R1())
    public = bytes.fromhex(test["public"])
    if test["result"] == "valid":
        assert ecdh_shared_secret(private, public).hex() == test["shared"]
        return
    try:
        shared = ecdh_shared_secret(private, public)
    except errors.SessionKeyInvalid:
        return
    # "acceptable" (a compressed point) may pass; an invalid input never does.
    assert test["result"] == "acceptable", test["comment"]
    assert shared.hex() == test["shared"]


@pytest.mark.parametrize(("group", "test"), _cases("ecdh_secp256r1_test.json"))
def test_wycheproof_ecdh_spki(group: dict[str, Any], test: dict[str, Any]) -> None:
    """The SPKI form, as a reader configured with DER keys would meet it.

    The DER layer is cryptography's; the point it yields goes through the
    session code, which must then agree with the expected secret.
    """
    assert group["curve"] == "secp256r1"
    private = ec.derive_private_key(int(test["private"], 16), ec.SECP256R1())
    try:
        loaded = serialization.load_der_public_key(bytes.fromhex(test["public"]))
    except (ValueError, UnsupportedAlgorithm):
        assert test["result"] != "valid", test["comment"]
        return
    if not isinstance(loaded, ec.EllipticCurvePublicKey) or not isinstance(
        loaded.curve, ec.SECP256R1
    ):
        assert test["result"] != "valid", test["comment"]
        return
    try:
        shared = ecdh_shared_secret(private, public_point(loaded))
    except errors.SessionKeyInvalid:
        assert test["result"] != "valid", test["comment"]
        return
    if test["result"] == "invalid":
        # Only DER-level defects are invalid here; cryptography must have caught them.
        pytest.fail(f"accepted an invalid key: {test['comment']}")
    assert shared.hex() == test["shared"]


def test_ecdh_refuses_compressed_and_malformed_points() -> None:
    key = generate_ephemeral_key()
    uncompressed = public_point(key)
    compressed = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    for bad in (compressed, uncompressed[:-1], uncompressed + b"\x00", b"\x05" + uncompressed[1:]):
        with pytest.raises(errors.SessionKeyInvalid) as info:
            load_public_point(bad)
        assert info.value.status_word == 0x6A80
    off_curve = uncompressed[:-1] + bytes([uncompressed[-1] ^ 1])
    with pytest.raises(errors.SessionKeyInvalid):
        ecdh_shared_secret(key, off_curve)
    with pytest.raises(errors.SessionKeyInvalid):
        load_public_point("04" * 65)


# --- Wycheproof HKDF-SHA256 -------------------------------------------------------------


@pytest.mark.parametrize(("group", "test"), _cases("hkdf_sha256_test.json"))
def test_wycheproof_hkdf_sha256(group: dict[str, Any], test: dict[str, Any]) -> None:
    del group
    ikm, salt, info = (bytes.fromhex(test[k]) for k in ("ikm", "salt", "info"))
    if test["result"] == "valid":
        okm = hkdf_sha256(ikm, salt=salt, info=info, length=test["size"])
        assert okm.hex() == test["okm"]
    else:
        with pytest.raises(errors.InvalidArgument):
            hkdf_sha256(ikm, salt=salt, info=info, length=test["size"])


@pytest.mark.parametrize("length", [0, -1, 8161, True])
def test_hkdf_length_bounds(length: int) -> None:
    with pytest.raises(errors.InvalidArgument):
        hkdf_sha256(b"k", salt=b"", info=b"", length=length)


# --- Wycheproof AES-GCM -----------------------------------------------------------------

PROFILE = {"keySize": 256, "ivSize": 96, "tagSize": 128}


@pytest.mark.parametrize(("group", "test"), _cases("aes_gcm_test.json"))
def test_wycheproof_aes_gcm(group: dict[str, Any], test: dict[str, Any]) -> None:
    key, iv, aad, msg, ct, tag = (
        bytes.fromhex(test[k]) for k in ("key", "iv", "aad", "msg", "ct", "tag")
    )
    in_profile = all(group[k] == v for k, v in PROFILE.items())
    if not in_profile:
        # AES-128/192, other IV sizes and truncated tags are outside the session profile.
        with pytest.raises((errors.InvalidArgument, errors.SessionDecryptFailed)):
            gcm_decrypt(key, iv, ct + tag, aad)
        return
    if test["result"] == "valid":
        assert gcm_decrypt(key, iv, ct + tag, aad) == msg
        assert gcm_encrypt(key, iv, msg, aad) == ct + tag
    else:
        with pytest.raises(errors.SessionDecryptFailed) as info:
            gcm_decrypt(key, iv, ct + tag, aad)
        assert info.value.status_word == 0x6988


def test_aes_gcm_profile_has_vectors() -> None:
    groups = _wycheproof("aes_gcm_test.json")["testGroups"]
    in_profile = [g for g in groups if all(g[k] == v for k, v in PROFILE.items())]
    assert sum(len(g["tests"]) for g in in_profile) >= 50


def test_gcm_refuses_short_input() -> None:
    with pytest.raises(errors.SessionDecryptFailed):
        gcm_decrypt(bytes(32), bytes(12), bytes(GCM_TAG_LENGTH - 1))


# --- the channel: counters, replay, tampering ----------------------------------------


def _channels() -> tuple[SecureChannel, SecureChannel]:
    keys = derive_session_keys(bytes(range(32)), b"transcript")
    return SecureChannel(keys, Role.READER), SecureChannel(keys, Role.HOLDER)


def test_channel_round_trip_both_directions_in_order() -> None:
    reader, holder = _channels()
    for i in range(5):
        assert holder.decrypt(reader.encrypt(b"request %d" % i)) == b"request %d" % i
        assert reader.decrypt(holder.encrypt(b"answer %d" % i)) == b"answer %d" % i
    assert reader.next_send_counter == holder.next_send_counter == 6


def test_channel_counters_never_repeat() -> None:
    reader, _ = _channels()
    ciphertexts = {reader.encrypt(b"same plaintext") for _ in range(100)}
    assert len(ciphertexts) == 100


def test_channel_rejects_a_replayed_ciphertext() -> None:
    reader, holder = _channels()
    first = reader.encrypt(b"one")
    assert holder.decrypt(first) == b"one"
    with pytest.raises(errors.SessionDecryptFailed):
        holder.decrypt(first)


def test_channel_rejects_reordered_messages() -> None:
    reader, holder = _channels()
    reader.encrypt(b"skipped")
    second = reader.encrypt(b"two")
    with pytest.raises(errors.SessionDecryptFailed):
        holder.decrypt(second)


def test_channel_rejects_a_ciphertext_from_another_session() -> None:
    reader, _ = _channels()
    other = SecureChannel(derive_session_keys(bytes(range(32)), b"other transcript"), Role.HOLDER)
    with pytest.raises(errors.SessionDecryptFailed):
        other.decrypt(reader.encrypt(b"hello"))


@pytest.mark.parametrize("position", [0, 5, -1])
def test_channel_rejects_tampering_and_then_closes(position: int) -> None:
    reader, holder = _channels()
    data = bytearray(reader.encrypt(b"beneficiary 2"))
    data[position] ^= 0x01
    with pytest.raises(errors.SessionDecryptFailed) as info:
        holder.decrypt(bytes(data))
    assert info.value.status_word == 0x6988
    with pytest.raises(errors.SessionDecryptFailed):
        holder.decrypt(reader.encrypt(b"later"))


def test_channel_counter_may_not_wrap(monkeypatch: pytest.MonkeyPatch) -> None:
    reader, _ = _channels()
    monkeypatch.setattr(reader, "_send_counter", MAX_COUNTER)
    reader.encrypt(b"last")
    with pytest.raises(errors.SessionCounterExhausted):
        reader.encrypt(b"one too many")
    with pytest.raises(errors.SessionCounterExhausted):
        gcm_iv(READER_IDENTIFIER, 0)
    assert issubclass(errors.SessionCounterExhausted, errors.UsageError)


def test_ephemeral_keys_follow_the_injected_rng() -> None:
    def fixed(n: int) -> bytes:
        return bytes([7]) * n

    assert public_point(generate_ephemeral_key(fixed)) == public_point(
        generate_ephemeral_key(fixed)
    )
    draws = iter([bytes(32), b"\xff" * 32, bytes(31) + b"\x05"])
    key = generate_ephemeral_key(lambda n: next(draws))
    assert key.private_numbers().private_value == 5
    with pytest.raises(errors.InvalidArgument):
        generate_ephemeral_key(lambda n: bytes(n - 1))
    with pytest.raises(errors.InvalidArgument):
        generate_ephemeral_key(bytes)
