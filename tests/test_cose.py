"""Our COSE_Sign1 / COSE_Key layer: refusals with their exact error class and code.

Every negative test asserts the exact class (not a parent) and its stable
``code``. The property tests at the end feed arbitrary bytes, single-byte
mutations of valid messages and random header maps through ``decode_sign1`` +
``Sign1.verify``: nothing but a ``VitaleCredError`` subclass may escape.

Tests named ``test_bug_...`` are regression tests for defects found in
``src/vitale_cred/hazmat/cose.py`` (a ``TypeError`` escaping on unhashable values, CBOR
``true`` read as the integer 1, a COSE_Key ``alg`` that does not fit its curve).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vitale_cred.errors import (
    BadKey,
    CborDuplicateKey,
    CborIndefiniteLength,
    CborLengthExceedsInput,
    CborNonDeterministic,
    CborTagNotAllowed,
    CborTooLarge,
    CborTrailingBytes,
    CborTypeNotAllowed,
    CoseAlgMismatch,
    CoseAlgMissing,
    CoseAlgNotAllowed,
    CoseBadSignature,
    CoseError,
    CoseHeaderConflict,
    CoseKeyError,
    CoseUnknownCritical,
    InvalidArgument,
    UsageError,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import (
    CoseKey,
    Signer,
    SoftwareSigner,
    VerifyingKey,
    decode_sign1,
    encode_sign1,
    sig_structure,
    sign1,
)
from vitale_cred.registry import (
    CoseAlg,
    CoseCurve,
    CoseHeader,
    CoseKeyLabel,
    CoseKeyType,
    CoseTag,
)

P256_SCALAR = 0xA11CE_5EED_0001
P384_SCALAR = 0xA11CE_5EED_0002
ED25519_SEED = bytes(range(100, 132))

P256 = ec.derive_private_key(P256_SCALAR, ec.SECP256R1())
P384 = ec.derive_private_key(P384_SCALAR, ec.SECP384R1())
ED = ed25519.Ed25519PrivateKey.from_private_bytes(ED25519_SEED)
PRIVATE: dict[CoseAlg, Any] = {CoseAlg.ES256: P256, CoseAlg.ES384: P384, CoseAlg.EDDSA: ED}
ALGS = [CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA]
PAYLOAD = b"\xa1\x01\x65carte"  # {1: "carte"}
KID = b"issuer-key-1"


def signer(alg: CoseAlg = CoseAlg.ES256) -> SoftwareSigner:
    return SoftwareSigner(PRIVATE[alg], alg)


def vkey(alg: CoseAlg = CoseAlg.ES256) -> VerifyingKey:
    return VerifyingKey(PRIVATE[alg].public_key(), alg)


def bstr(data: bytes) -> bytes:
    """CBOR encoding of a byte string."""
    return _cbor.encode(data)


class Raw:
    """A protected-header item placed in the array as is (not a byte string)."""

    def __init__(self, value: Any) -> None:
        self.value = value


_SIGN = object()  # build(): sign the Sig_structure


def build(
    protected: dict[Any, Any] | bytes | Raw,
    unprotected: Any = None,
    payload: Any = PAYLOAD,
    *,
    alg: CoseAlg = CoseAlg.ES256,
    signature: Any = _SIGN,
    tag: int | None = CoseTag.COSE_SIGN1,
) -> bytes:
    """A COSE_Sign1 with free-form parts, signed over its own Sig_structure if possible."""
    if isinstance(protected, Raw):
        protected_bytes: Any = protected.value
    elif isinstance(protected, dict):
        protected_bytes = _cbor.encode(protected) if protected else b""
    else:
        protected_bytes = protected
    if signature is _SIGN:
        if isinstance(protected_bytes, bytes) and isinstance(payload, bytes):
            signature = signer(alg).sign(sig_structure(protected_bytes, payload))
        else:
            signature = b"\x00" * 64
    items = [protected_bytes, {} if unprotected is None else unprotected, payload, signature]
    value: Any = items if tag is None else _cbor.Tagged(tag, items)
    return _cbor.encode(value)


def raw_sign1(protected_bytes: bytes, unprotected_raw: bytes, payload: bytes = PAYLOAD) -> bytes:
    """A tagged COSE_Sign1 assembled byte by byte (for non-deterministic headers)."""
    signature = signer().sign(sig_structure(protected_bytes, payload))
    return b"\xd2\x84" + bstr(protected_bytes) + unprotected_raw + bstr(payload) + bstr(signature)


def expect(
    error: type[VitaleCredError], code: str, call: Callable[..., Any], *args: Any, **kwargs: Any
) -> VitaleCredError:
    """``call`` raises exactly ``error`` (not a subclass or parent) with ``code``."""
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    assert type(info.value) is error, f"{type(info.value).__name__} raised: {info.value}"
    assert info.value.code == code == error.code
    return info.value


def decode_and_verify(data: bytes, key: VerifyingKey | None = None, **kwargs: Any) -> None:
    decode_sign1(data, **kwargs).verify(key or vkey())


# --- positive controls --------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_sign1_with_protected_alg_and_kid_round_trips_and_verifies(alg: CoseAlg) -> None:
    data = sign1(PAYLOAD, signer(alg), kid=KID)
    message = decode_sign1(data)
    assert message.protected == {CoseHeader.ALG: alg, CoseHeader.KID: KID}
    assert message.alg == alg
    assert message.kid == KID
    assert message.payload == PAYLOAD
    assert message.raw == data
    message.verify(vkey(alg), allowed_algs={alg})


def test_sign1_with_external_aad_verifies_only_with_the_same_aad() -> None:
    data = sign1(PAYLOAD, signer(), external_aad=b"reader-nonce")
    message = decode_sign1(data)
    message.verify(vkey(), external_aad=b"reader-nonce")
    expect(CoseBadSignature, "cose.bad_signature", message.verify, vkey())
    expect(CoseBadSignature, "cose.bad_signature", message.verify, vkey(), external_aad=b"other")


def test_encode_sign1_assembles_what_sign1_produces() -> None:
    data = sign1(PAYLOAD, signer(), kid=KID)
    message = decode_sign1(data)
    rebuilt = encode_sign1(
        message.protected_bytes, dict(message.unprotected), message.payload, message.signature
    )
    assert rebuilt == data


def test_unprotected_header_is_not_covered_by_the_signature() -> None:
    protected = {CoseHeader.ALG: CoseAlg.ES256}
    signature = signer().sign(sig_structure(_cbor.encode(protected), PAYLOAD))
    for kid in (b"a", b"b"):
        data = build(protected, {CoseHeader.KID: kid}, signature=signature)
        decode_and_verify(data)


# --- alg ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "protected", [{}, {CoseHeader.KID: KID}], ids=["empty-protected", "kid-only"]
)
def test_missing_alg_is_refused_at_verify_with_alg_missing(protected: dict[int, Any]) -> None:
    message = decode_sign1(build(protected))
    expect(CoseAlgMissing, "cose.alg_missing", message.verify, vkey())


def test_alg_only_in_unprotected_header_is_refused_at_decode_with_alg_missing() -> None:
    data = build({}, {CoseHeader.ALG: CoseAlg.ES256})
    expect(CoseAlgMissing, "cose.alg_missing", decode_sign1, data)
    expect(CoseAlgMissing, "cose.alg_missing", decode_sign1, data, deterministic=False)


def test_alg_unprotected_next_to_a_protected_kid_is_refused_with_alg_missing() -> None:
    data = build({CoseHeader.KID: KID}, {CoseHeader.ALG: CoseAlg.ES256})
    expect(CoseAlgMissing, "cose.alg_missing", decode_sign1, data)


def test_alg_in_both_headers_is_refused_as_header_conflict() -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256}, {CoseHeader.ALG: CoseAlg.ES256})
    expect(CoseHeaderConflict, "cose.header_conflict", decode_sign1, data)


@pytest.mark.parametrize(
    "alg",
    [CoseAlg.ES512, CoseAlg.PS256, CoseAlg.HMAC_256_256, "none", "ES256", -999, 0],
    ids=["ES512", "PS256", "HMAC-5", "text-none", "text-ES256", "minus-999", "zero"],
)
def test_alg_outside_the_allow_list_is_refused_with_alg_not_allowed(alg: int | str) -> None:
    message = decode_sign1(build({CoseHeader.ALG: alg}))
    expect(CoseAlgNotAllowed, "cose.alg_not_allowed", message.verify, vkey())


def test_alg_allowed_by_default_but_not_by_a_narrowed_list_is_refused() -> None:
    message = decode_sign1(sign1(PAYLOAD, signer(CoseAlg.ES256)))
    expect(
        CoseAlgNotAllowed,
        "cose.alg_not_allowed",
        message.verify,
        vkey(CoseAlg.ES256),
        allowed_algs={CoseAlg.ES384},
    )


@pytest.mark.parametrize(
    ("message_alg", "key_alg"),
    [
        (CoseAlg.ES384, CoseAlg.ES256),
        (CoseAlg.ES256, CoseAlg.ES384),
        (CoseAlg.EDDSA, CoseAlg.ES256),
        (CoseAlg.ES256, CoseAlg.EDDSA),
    ],
    ids=lambda a: a.name,
)
def test_message_alg_different_from_the_key_alg_is_refused_with_alg_mismatch(
    message_alg: CoseAlg, key_alg: CoseAlg
) -> None:
    message = decode_sign1(sign1(PAYLOAD, signer(message_alg)))
    expect(CoseAlgMismatch, "cose.alg_mismatch", message.verify, vkey(key_alg))


@pytest.mark.parametrize(
    "alg", [b"\x26", True, [-7], {1: -7}], ids=["bstr", "true", "array", "map"]
)
def test_alg_that_is_not_an_integer_or_text_is_malformed(alg: Any) -> None:
    expect(CoseError, "cose.malformed", decode_sign1, build({CoseHeader.ALG: alg}))


# --- crit ---------------------------------------------------------------------------


def test_critical_header_this_layer_does_not_understand_is_refused() -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256, CoseHeader.CRIT: [99], 99: 1})
    expect(CoseUnknownCritical, "cose.unknown_critical", decode_sign1, data)


def test_critical_text_label_is_refused() -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256, CoseHeader.CRIT: ["x"], "x": 1})
    expect(CoseUnknownCritical, "cose.unknown_critical", decode_sign1, data)


def test_critical_label_absent_from_the_protected_header_is_refused() -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256, CoseHeader.CRIT: [CoseHeader.KID]}, {4: KID})
    expect(CoseUnknownCritical, "cose.unknown_critical", decode_sign1, data)


def test_crit_in_the_unprotected_header_is_refused() -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256}, {CoseHeader.CRIT: [CoseHeader.ALG]})
    expect(CoseUnknownCritical, "cose.unknown_critical", decode_sign1, data)


@pytest.mark.parametrize("crit", [[], 1, b"\x01", {}], ids=["empty", "int", "bstr", "map"])
def test_crit_that_is_not_a_non_empty_array_is_refused(crit: Any) -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256, CoseHeader.CRIT: crit})
    expect(CoseUnknownCritical, "cose.unknown_critical", decode_sign1, data)


def test_crit_naming_understood_protected_labels_is_accepted() -> None:
    protected = {
        CoseHeader.ALG: CoseAlg.ES256,
        CoseHeader.CRIT: [CoseHeader.ALG, CoseHeader.KID],
        CoseHeader.KID: KID,
    }
    decode_and_verify(build(protected))


@pytest.mark.parametrize(
    "label", [[1], {}, [], {1: 1}], ids=["array", "map", "empty-array", "map1"]
)
def test_bug_crit_with_an_array_or_map_label_raises_unknown_critical_not_typeerror(
    label: Any,
) -> None:
    # Regression: _check_headers tested `label not in _UNDERSTOOD_HEADERS`, which hashes
    # the label, so an array or map label raised TypeError instead of a library error.
    data = build({CoseHeader.ALG: CoseAlg.ES256, CoseHeader.CRIT: [label]})
    expect(CoseUnknownCritical, "cose.unknown_critical", decode_sign1, data)


# --- other headers ------------------------------------------------------------------


def test_same_label_in_both_headers_is_refused_as_header_conflict() -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256, CoseHeader.KID: KID}, {CoseHeader.KID: KID})
    expect(CoseHeaderConflict, "cose.header_conflict", decode_sign1, data)


@pytest.mark.parametrize("where", ["protected", "unprotected"])
def test_kid_that_is_not_a_byte_string_is_malformed(where: str) -> None:
    if where == "protected":
        data = build({CoseHeader.ALG: CoseAlg.ES256, CoseHeader.KID: "text-kid"})
    else:
        data = build({CoseHeader.ALG: CoseAlg.ES256}, {CoseHeader.KID: 7})
    expect(CoseError, "cose.malformed", decode_sign1, data)


@pytest.mark.parametrize(
    "protected_bytes",
    [_cbor.encode([1, -7]), _cbor.encode(1), _cbor.encode("a"), _cbor.encode(b"\xa1\x01\x26")],
    ids=["array", "int", "text", "bstr"],
)
def test_protected_header_that_does_not_encode_a_map_is_malformed(protected_bytes: bytes) -> None:
    expect(CoseError, "cose.malformed", decode_sign1, build(protected_bytes))


@pytest.mark.parametrize(
    "protected", [{1: -7}, [], 0, True], ids=["bare-map", "array", "int", "true"]
)
def test_protected_header_that_is_not_a_byte_string_is_malformed(protected: Any) -> None:
    expect(CoseError, "cose.malformed", decode_sign1, build(Raw(protected)))


def test_null_protected_header_is_refused_by_the_cbor_profile() -> None:
    expect(CborTypeNotAllowed, "cbor.type_not_allowed", decode_sign1, build(Raw(None)))


@pytest.mark.parametrize("unprotected", [[], b"", 0], ids=["array", "bstr", "int"])
def test_unprotected_header_that_is_not_a_map_is_malformed(unprotected: Any) -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256}, unprotected)
    expect(CoseError, "cose.malformed", decode_sign1, data)


def test_protected_header_with_bytes_after_the_map_is_refused() -> None:
    data = build(bytes.fromhex("a1012600"))
    expect(CborTrailingBytes, "cbor.trailing_bytes", decode_sign1, data)


def test_protected_header_cut_short_is_refused() -> None:
    data = build(bytes.fromhex("a20126"))
    expect(CborLengthExceedsInput, "cbor.length_exceeds_input", decode_sign1, data)


def test_tag_inside_the_protected_header_is_refused() -> None:
    data = build(bytes.fromhex("a101d20126"))  # {1: 18(-7)}
    expect(CborTagNotAllowed, "cbor.tag_not_allowed", decode_sign1, data)


def test_non_shortest_protected_header_is_refused_strictly_and_verifies_relaxed() -> None:
    data = raw_sign1(bytes.fromhex("a1013806"), b"\xa0")  # {1: -7} with a 1-byte argument
    expect(CborNonDeterministic, "cbor.non_deterministic", decode_sign1, data)
    message = decode_sign1(data, deterministic=False)
    assert message.protected_bytes == bytes.fromhex("a1013806")  # the received bytes
    message.verify(vkey())


def test_unordered_unprotected_header_is_refused_strictly_and_verifies_relaxed() -> None:
    unprotected = bytes.fromhex("a2") + b"\x04" + bstr(KID) + b"\x03\x00"  # {4: kid, 3: 0}
    data = raw_sign1(bytes.fromhex("a10126"), unprotected)
    expect(CborNonDeterministic, "cbor.non_deterministic", decode_sign1, data)
    decode_and_verify(data, deterministic=False)


@pytest.mark.parametrize("deterministic", [True, False])
@pytest.mark.parametrize("where", ["protected", "unprotected"])
def test_duplicate_header_label_is_always_refused(where: str, deterministic: bool) -> None:
    if where == "protected":
        data = raw_sign1(bytes.fromhex("a201260126"), b"\xa0")
    else:
        data = raw_sign1(bytes.fromhex("a10126"), b"\xa2\x04\x41k\x04\x41k")
    expect(
        CborDuplicateKey,
        "cbor.duplicate_key",
        decode_sign1,
        data,
        deterministic=deterministic,
    )


# --- payload and structure ----------------------------------------------------------


def test_detached_nil_payload_is_refused_by_the_cbor_profile() -> None:
    # spec/verification.md 2.1 step 5: null never reaches the COSE layer.
    data = build({CoseHeader.ALG: CoseAlg.ES256}, payload=None)
    expect(CborTypeNotAllowed, "cbor.type_not_allowed", decode_sign1, data)


@pytest.mark.parametrize("payload", ["text", 1, [b"x"]], ids=["text", "int", "array"])
def test_payload_that_is_not_a_byte_string_is_malformed(payload: Any) -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256}, payload=payload)
    expect(CoseError, "cose.malformed", decode_sign1, data)


def test_untagged_message_is_refused_when_the_tag_is_required() -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256}, tag=None)
    expect(CoseError, "cose.malformed", decode_sign1, data)
    decode_and_verify(data, require_tag=False)


@pytest.mark.parametrize("tag", [16, 17, 61, 96, 98, 998], ids=lambda t: f"tag-{t}")
def test_message_under_another_tag_is_refused(tag: int) -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256}, tag=tag)
    for require_tag in (True, False):
        expect(
            CborTagNotAllowed,
            "cbor.tag_not_allowed",
            decode_sign1,
            data,
            require_tag=require_tag,
        )


def test_cwt_tag_61_around_a_valid_sign1_is_refused() -> None:
    data = b"\xd8\x3d" + sign1(PAYLOAD, signer())
    expect(CborTagNotAllowed, "cbor.tag_not_allowed", decode_sign1, data)


@pytest.mark.parametrize("count", [0, 3, 5])
def test_array_without_exactly_four_items_is_malformed(count: int) -> None:
    items = [_cbor.encode({1: -7}), {}, PAYLOAD, b"\x00" * 64, b""][:count]
    data = _cbor.encode(_cbor.Tagged(CoseTag.COSE_SIGN1, items))
    expect(CoseError, "cose.malformed", decode_sign1, data)


@pytest.mark.parametrize("value", [{1: 2}, b"\x84", "text", 0], ids=["map", "bstr", "text", "int"])
def test_tag_18_around_something_else_than_an_array_is_malformed(value: Any) -> None:
    data = _cbor.encode(_cbor.Tagged(CoseTag.COSE_SIGN1, value))
    expect(CoseError, "cose.malformed", decode_sign1, data)


def test_bytes_after_the_message_are_refused() -> None:
    data = sign1(PAYLOAD, signer()) + b"\x00"
    expect(CborTrailingBytes, "cbor.trailing_bytes", decode_sign1, data)


def test_message_cut_short_is_refused() -> None:
    data = sign1(PAYLOAD, signer())[:-1]
    expect(CborLengthExceedsInput, "cbor.length_exceeds_input", decode_sign1, data)


def test_indefinite_length_array_is_refused() -> None:
    data = sign1(PAYLOAD, signer())
    assert data[1] == 0x84
    indefinite = data[:1] + b"\x9f" + data[2:] + b"\xff"
    expect(CborIndefiniteLength, "cbor.indefinite_length", decode_sign1, indefinite)


def test_message_larger_than_max_size_is_refused() -> None:
    data = sign1(b"\x00" * 200, signer())
    expect(CborTooLarge, "cbor.too_large", decode_sign1, data, max_size=100)


def test_text_instead_of_bytes_is_a_usage_error() -> None:
    expect(InvalidArgument, "usage.invalid_argument", decode_sign1, "d284")


# --- signature ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "length"),
    [
        (CoseAlg.ES256, 0),
        (CoseAlg.ES256, 63),
        (CoseAlg.ES256, 65),
        (CoseAlg.ES256, 96),
        (CoseAlg.ES384, 64),
        (CoseAlg.ES384, 97),
        (CoseAlg.EDDSA, 63),
        (CoseAlg.EDDSA, 114),
    ],
    ids=lambda v: v.name if isinstance(v, CoseAlg) else str(v),
)
def test_signature_of_the_wrong_length_is_a_bad_signature(alg: CoseAlg, length: int) -> None:
    data = build({CoseHeader.ALG: alg}, signature=b"\x01" * length)
    message = decode_sign1(data)
    error = expect(CoseBadSignature, "cose.bad_signature", message.verify, vkey(alg))
    assert str(length) in str(error)


@pytest.mark.parametrize(
    "signature", ["sig", 0, False, [b""]], ids=["text", "int", "false", "array"]
)
def test_signature_that_is_not_a_byte_string_is_malformed(signature: Any) -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256}, signature=signature)
    expect(CoseError, "cose.malformed", decode_sign1, data)


def test_null_signature_is_refused_by_the_cbor_profile() -> None:
    data = build({CoseHeader.ALG: CoseAlg.ES256}, signature=None)
    expect(CborTypeNotAllowed, "cbor.type_not_allowed", decode_sign1, data)


def _flip(data: bytes, offset: int, bit: int = 0x01) -> bytes:
    out = bytearray(data)
    out[offset] ^= bit
    return bytes(out)


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
@pytest.mark.parametrize("part", ["signature-first", "signature-last", "payload", "protected-kid"])
def test_single_bit_flip_in_signed_bytes_is_a_bad_signature(alg: CoseAlg, part: str) -> None:
    data = sign1(PAYLOAD, signer(alg), kid=KID)
    message = decode_sign1(data)
    if part == "signature-first":
        offset = len(data) - len(message.signature)
    elif part == "signature-last":
        offset = len(data) - 1
    elif part == "payload":
        offset = data.index(PAYLOAD) + 2
    else:
        offset = data.index(KID) + 3  # inside the protected bstr
    flipped = decode_sign1(_flip(data, offset))
    assert flipped != message
    expect(CoseBadSignature, "cose.bad_signature", flipped.verify, vkey(alg))


def test_signature_by_another_key_is_a_bad_signature() -> None:
    other = SoftwareSigner(ec.derive_private_key(P256_SCALAR + 1, ec.SECP256R1()))
    message = decode_sign1(sign1(PAYLOAD, other))
    expect(CoseBadSignature, "cose.bad_signature", message.verify, vkey())


@pytest.mark.parametrize(
    "signature",
    [
        b"\x00" * 64,
        b"\xff" * 64,
        (0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551).to_bytes(32, "big")
        * 2,
    ],
    ids=["r=s=0", "r=s=2**256-1", "r=s=n"],
)
def test_ecdsa_signature_with_out_of_range_integers_is_a_bad_signature(signature: bytes) -> None:
    message = decode_sign1(build({CoseHeader.ALG: CoseAlg.ES256}, signature=signature))
    expect(CoseBadSignature, "cose.bad_signature", message.verify, vkey())


# --- keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_cose_key_round_trips_through_cbor_and_verifies(alg: CoseAlg) -> None:
    key = CoseKey.from_public_key(PRIVATE[alg].public_key(), kid=KID, alg=alg)
    encoded = _cbor.encode(key.to_map())
    parsed = CoseKey.from_map(_cbor.decode(encoded))
    assert parsed == key
    assert parsed.default_alg() is alg
    decode_sign1(sign1(PAYLOAD, signer(alg))).verify(parsed.verifying_key())


@pytest.mark.parametrize("alg", [CoseAlg.ES256, CoseAlg.ES384], ids=lambda a: a.name)
def test_compressed_ec2_cose_key_with_sign_bit_y_round_trips_and_verifies(alg: CoseAlg) -> None:
    key = CoseKey.from_public_key(PRIVATE[alg].public_key(), compressed=True)
    assert isinstance(key.y, bool)
    parsed = CoseKey.from_map(_cbor.decode(_cbor.encode(key.to_map())))
    assert parsed == key
    assert parsed.public_key() == PRIVATE[alg].public_key()
    decode_sign1(sign1(PAYLOAD, signer(alg))).verify(parsed.verifying_key())


def test_compressed_ec2_cose_key_whose_x_is_not_on_the_curve_is_refused_when_loaded() -> None:
    key = CoseKey.from_map(_p256_map(x=b"\xff" * 32, y=True))
    expect(CoseKeyError, "cose.bad_key", key.public_key)


def _p256_map(**changes: Any) -> dict[Any, Any]:
    numbers = P256.public_key().public_numbers()
    out: dict[Any, Any] = {
        CoseKeyLabel.KTY: CoseKeyType.EC2,
        CoseKeyLabel.CRV: CoseCurve.P256,
        CoseKeyLabel.X: numbers.x.to_bytes(32, "big"),
        CoseKeyLabel.Y: numbers.y.to_bytes(32, "big"),
    }
    for name, value in changes.items():
        label = CoseKeyLabel[name.upper()]
        if value is None:
            out.pop(label, None)
        else:
            out[label] = value
    return out


def _ed25519_map(**changes: Any) -> dict[Any, Any]:
    raw = ED.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    out: dict[Any, Any] = {
        CoseKeyLabel.KTY: CoseKeyType.OKP,
        CoseKeyLabel.CRV: CoseCurve.ED25519,
        CoseKeyLabel.X: raw,
    }
    for name, value in changes.items():
        out[CoseKeyLabel[name.upper()]] = value
    return out


def test_cose_key_with_private_d_is_refused() -> None:
    error = expect(
        CoseKeyError, "cose.bad_key", CoseKey.from_map, _p256_map(d=P256_SCALAR.to_bytes(32, "big"))
    )
    assert "d(-4)" in str(error)
    expect(CoseKeyError, "cose.bad_key", CoseKey.from_map, _ed25519_map(d=ED25519_SEED))


@pytest.mark.parametrize(
    "key_map",
    [
        _p256_map(x=b"\x01" * 31),
        _p256_map(x=b"\x01" * 33),
        _p256_map(y=b"\x01" * 31),
        _p256_map(y=b"\x01" * 48),
        _p256_map(y=None),
        _p256_map(crv=CoseCurve.P384),
        _ed25519_map(x=b"\x01" * 31),
        _ed25519_map(x=b"\x01" * 33),
        _ed25519_map(y=b"\x01" * 32),
    ],
    ids=[
        "p256-x-31",
        "p256-x-33",
        "p256-y-31",
        "p256-y-48",
        "p256-no-y",
        "p384-with-32-byte-coordinates",
        "ed25519-x-31",
        "ed25519-x-33",
        "ed25519-with-y",
    ],
)
def test_cose_key_with_wrong_coordinate_lengths_is_refused(key_map: dict[Any, Any]) -> None:
    expect(CoseKeyError, "cose.bad_key", CoseKey.from_map, key_map)


@pytest.mark.parametrize(
    "key_map",
    [
        _p256_map(y=(1).to_bytes(32, "big")),
        _p256_map(x=bytes(32), y=bytes(32)),
        _p256_map(x=b"\xff" * 32),
    ],
    ids=["y-changed", "all-zero", "x-beyond-p"],
)
def test_cose_key_point_not_on_the_curve_is_refused_when_loaded(key_map: dict[Any, Any]) -> None:
    key = CoseKey.from_map(key_map)  # lengths are right: parsing accepts it
    expect(CoseKeyError, "cose.bad_key", key.public_key)
    expect(CoseKeyError, "cose.bad_key", key.verifying_key)


@pytest.mark.parametrize(
    "label",
    [CoseKeyLabel.KEY_OPS, 99, -5, "use", b"x"],
    ids=["key_ops", "99", "-5", "text", "bstr"],
)
def test_cose_key_with_an_unknown_label_is_refused(label: Any) -> None:
    key_map = {**_p256_map(), label: [1]}
    expect(CoseKeyError, "cose.bad_key", CoseKey.from_map, key_map)


@pytest.mark.parametrize(
    "key_map",
    [
        [1, 2],
        b"\xa1\x01\x02",
        None,
        _p256_map(kty=CoseKeyType.SYMMETRIC),
        _p256_map(crv=CoseCurve.P521),
        _p256_map(crv=CoseCurve.ED25519),
        _p256_map(crv=None),
        _p256_map(kty=None),
        _ed25519_map(crv=4),  # X25519
        _ed25519_map(crv=7),  # Ed448
        _p256_map(x="text"),
        _p256_map(x=None),
        _p256_map(kid="text-kid"),
        _p256_map(alg=CoseAlg.ES512),
        _p256_map(alg=CoseAlg.HMAC_256_256),
        _p256_map(alg="ES256"),
    ],
    ids=[
        "array",
        "bstr",
        "nil",
        "symmetric-kty",
        "p521",
        "ec2-with-ed25519-crv",
        "no-crv",
        "no-kty",
        "x25519",
        "ed448",
        "text-x",
        "no-x",
        "text-kid",
        "alg-es512",
        "alg-hmac",
        "alg-text",
    ],
)
def test_cose_key_that_is_malformed_or_unsupported_is_refused(key_map: Any) -> None:
    expect(CoseKeyError, "cose.bad_key", CoseKey.from_map, key_map)


@pytest.mark.parametrize("alg", [[-7], {1: -7}], ids=["array", "map"])
def test_bug_cose_key_alg_array_or_map_raises_cose_key_error_not_typeerror(alg: Any) -> None:
    # Regression: CoseKey.from_map tested `alg not in ALGORITHMS`, which hashes alg, so
    # an array or map alg raised TypeError.
    expect(CoseKeyError, "cose.bad_key", CoseKey.from_map, _p256_map(alg=alg))


def test_bug_cose_key_kty_cbor_true_is_refused_not_read_as_okp() -> None:
    # Regression: CoseKey.from_map compared kty/crv with ==, and True == 1 == OKP, so
    # {1: true, -1: 6, -2: x} was accepted as an OKP Ed25519 key.
    expect(CoseKeyError, "cose.bad_key", CoseKey.from_map, _ed25519_map(kty=True))


def test_bug_cose_key_crv_cbor_true_is_refused_not_read_as_p256() -> None:
    expect(CoseKeyError, "cose.bad_key", CoseKey.from_map, _p256_map(crv=True))


@pytest.mark.parametrize("alg", [CoseAlg.ES384, CoseAlg.EDDSA], ids=lambda a: a.name)
def test_bug_cose_key_alg_inconsistent_with_its_curve_is_a_cose_key_error(alg: CoseAlg) -> None:
    # Regression: a received COSE_Key (e.g. a cnf key) whose alg does not fit its curve
    # is peer input, yet from_map accepted it and verifying_key() raised BadKey, a
    # UsageError (a local error) instead of a verification error.
    def load() -> VerifyingKey:
        return CoseKey.from_map(_p256_map(alg=alg)).verifying_key()

    with pytest.raises(VitaleCredError) as info:
        load()
    assert not isinstance(info.value, UsageError)
    expect(CoseKeyError, "cose.bad_key", load)


@pytest.mark.parametrize(
    ("public", "alg"),
    [
        (P384.public_key(), CoseAlg.ES256),
        (P256.public_key(), CoseAlg.ES384),
        (P256.public_key(), CoseAlg.EDDSA),
        (ED.public_key(), CoseAlg.ES256),
        (P256.public_key(), CoseAlg.ES512),
        (P256.public_key(), CoseAlg.HMAC_256_256),
    ],
    ids=["p384-es256", "p256-es384", "p256-eddsa", "ed25519-es256", "es512", "hmac"],
)
def test_verifying_key_refuses_a_key_of_another_algorithm_with_bad_key(
    public: Any, alg: CoseAlg
) -> None:
    expect(BadKey, "usage.bad_key", VerifyingKey, public, alg)


def test_cose_key_from_a_p521_public_key_is_refused_with_bad_key() -> None:
    public = ec.derive_private_key(5, ec.SECP521R1()).public_key()
    expect(BadKey, "usage.bad_key", CoseKey.from_public_key, public)


# --- signers --------------------------------------------------------------------------


@pytest.mark.parametrize("alg", [CoseAlg.ES256, CoseAlg.ES384], ids=lambda a: a.name)
def test_deterministic_ecdsa_signer_gives_identical_signatures_twice(alg: CoseAlg) -> None:
    first = signer(alg).sign(b"message")
    assert first == signer(alg).sign(b"message")
    assert sign1(PAYLOAD, signer(alg), kid=KID) == sign1(PAYLOAD, signer(alg), kid=KID)
    vkey(alg).verify(first, b"message")


def test_randomised_ecdsa_signer_gives_different_signatures_that_verify() -> None:
    randomised = SoftwareSigner(P256, deterministic=False)
    first, second = randomised.sign(b"message"), randomised.sign(b"message")
    assert first != second
    vkey().verify(first, b"message")
    vkey().verify(second, b"message")


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_signer_and_verifying_key_repr_hold_no_key_material(alg: CoseAlg) -> None:
    private = PRIVATE[alg]
    software = signer(alg)
    texts = [repr(software), str(software), repr(vkey(alg)), str(vkey(alg))]
    assert texts[0] == f"SoftwareSigner({alg.name})"
    assert texts[2] == f"VerifyingKey({alg.name})"
    if isinstance(private, ec.EllipticCurvePrivateKey):
        secret = private.private_numbers().private_value
        public = private.public_key().public_numbers()
        needles = [hex(secret)[2:], str(secret), hex(public.x)[2:], str(public.x)]
    else:
        needles = [ED25519_SEED.hex(), repr(ED25519_SEED)]
    for text in texts:
        for needle in needles:
            assert needle not in text
    assert not hasattr(software, "__dict__")


def test_software_signer_satisfies_the_signer_protocol_and_infers_its_alg() -> None:
    assert isinstance(SoftwareSigner(P256), Signer)
    assert SoftwareSigner(P256).alg is CoseAlg.ES256
    assert SoftwareSigner(P384).alg is CoseAlg.ES384
    assert SoftwareSigner(ED).alg is CoseAlg.EDDSA


def test_software_signer_refuses_a_key_of_another_algorithm() -> None:
    expect(BadKey, "usage.bad_key", SoftwareSigner, P256, CoseAlg.ES384)
    expect(BadKey, "usage.bad_key", SoftwareSigner, ED, CoseAlg.ES256)


def test_sign1_refuses_a_signer_returning_a_signature_of_the_wrong_length() -> None:
    class ShortSigner:
        alg = CoseAlg.ES256

        def public_key(self) -> Any:
            return P256.public_key()

        def sign(self, message: bytes) -> bytes:
            return b"\x00" * 63

    expect(BadKey, "usage.bad_key", sign1, PAYLOAD, ShortSigner())


# --- properties -------------------------------------------------------------------------

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID = {alg: sign1(PAYLOAD, signer(alg), kid=KID) for alg in ALGS}


def _decode_then_verify_all_keys(data: bytes, **kwargs: Any) -> None:
    message = decode_sign1(data, **kwargs)
    for alg in ALGS:
        with contextlib.suppress(VitaleCredError):
            message.verify(vkey(alg))


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=300).map(lambda b: b"\xd2\x84" + b),
        st.binary(max_size=300).map(lambda b: b"\x84" + b),
    ),
    require_tag=st.booleans(),
    deterministic=st.booleans(),
)
def test_arbitrary_bytes_raise_only_library_errors(
    data: bytes, require_tag: bool, deterministic: bool
) -> None:
    with contextlib.suppress(VitaleCredError):
        _decode_then_verify_all_keys(data, require_tag=require_tag, deterministic=deterministic)


@FUZZ
@given(
    alg=st.sampled_from(ALGS),
    position=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
    deterministic=st.booleans(),
)
def test_single_byte_mutations_of_a_valid_sign1_raise_only_library_errors(
    alg: CoseAlg, position: int, value: int, deterministic: bool
) -> None:
    original = VALID[alg]
    mutated = bytearray(original)
    mutated[position % len(original)] = value
    try:
        message = decode_sign1(bytes(mutated), deterministic=deterministic)
        message.verify(vkey(alg))
    except VitaleCredError:
        return
    # accepted: only a change that leaves the signed parts intact may verify
    assert message.to_be_signed() == decode_sign1(original).to_be_signed()
    assert message.signature == decode_sign1(original).signature


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64 - 1),
    st.binary(max_size=8),
    st.text(max_size=4),
)
_CBOR_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.integers(-3, 40), st.text(max_size=2)), inner, max_size=3),
    ),
    max_leaves=8,
)
_HEADER_LABELS = st.one_of(st.sampled_from([1, 2, 3, 4, 5, 6, 33, 99, -1]), st.text(max_size=2))


@FUZZ
@given(
    protected=st.dictionaries(_HEADER_LABELS, _CBOR_VALUES, max_size=4),
    unprotected=st.dictionaries(_HEADER_LABELS, _CBOR_VALUES, max_size=3),
)
@example(protected={1: -7, 2: [[1]]}, unprotected={})
def test_random_header_maps_raise_only_library_errors(
    protected: dict[Any, Any], unprotected: dict[Any, Any]
) -> None:
    try:
        data = build(protected, unprotected)
    except VitaleCredError:
        return  # not encodable under the profile: nothing to decode
    with contextlib.suppress(VitaleCredError):
        _decode_then_verify_all_keys(data)


@FUZZ
@given(
    key_map=st.dictionaries(
        st.one_of(st.sampled_from([1, 2, 3, -1, -2, -3, -4]), st.integers(-6, 6)),
        st.one_of(
            _CBOR_VALUES,
            st.sampled_from([1, 2, 6, -7, -8, -35]),
            st.binary(min_size=32, max_size=32),
        ),
        max_size=6,
    )
)
@example(key_map={1: 2, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32, 3: [-7]})
def test_random_cose_key_maps_raise_only_library_errors(key_map: dict[Any, Any]) -> None:
    with contextlib.suppress(VitaleCredError):
        CoseKey.from_map(key_map).verifying_key()


# --- the protected-header memo a verifier owns ----------------------------------------


def _compact_sign1(protected: dict[Any, Any]) -> bytes:
    return _cbor.encode(_cbor.Tagged(18, [_cbor.encode(protected), {}, b"payload", b"\x00" * 64]))


def test_header_memo_keeps_checked_headers_within_its_bound() -> None:
    from vitale_cred.hazmat.cose import HeaderMemo

    memo = HeaderMemo(size=2)
    first = decode_sign1(_compact_sign1({1: -7, 4: b"k1"}), memo=memo)
    assert len(memo) == 1
    again = decode_sign1(_compact_sign1({1: -7, 4: b"k1"}), memo=memo)
    assert again.protected == first.protected
    # The memo hands out copies: a caller cannot poison what the next message sees.
    again.protected[1] = -35
    assert decode_sign1(_compact_sign1({1: -7, 4: b"k1"}), memo=memo).protected[1] == -7
    decode_sign1(_compact_sign1({1: -7, 4: b"k2"}), memo=memo)
    decode_sign1(_compact_sign1({1: -7, 4: b"k3"}), memo=memo)
    assert 1 <= len(memo) <= 2


def test_header_memo_never_keeps_a_header_that_fails_its_checks() -> None:
    from vitale_cred.hazmat.cose import HeaderMemo

    memo = HeaderMemo()
    bad = _compact_sign1({1: -7, 2: [99]})  # crit names a label nobody understands
    for _ in range(2):
        with pytest.raises(CoseUnknownCritical):
            decode_sign1(bad, memo=memo)
    assert len(memo) == 0
    with pytest.raises(InvalidArgument):
        HeaderMemo(size=0)


def test_without_a_memo_nothing_is_remembered_between_calls() -> None:
    """No module-level container of the COSE layer grows with the messages it decodes."""
    from vitale_cred.hazmat import cose

    def sizes() -> dict[str, int]:
        return {
            name: len(value)
            for name, value in vars(cose).items()
            if isinstance(value, dict | list | set)
        }

    before = sizes()
    for n in range(50):
        decode_sign1(_compact_sign1({1: -7, 4: n.to_bytes(2, "big")}))
    assert sizes() == before


# --- the DER form of ECDSA signatures -----------------------------------------------


def _half(width: int) -> st.SearchStrategy[bytes]:
    # Leading zero bytes, a set first bit and all-zero halves are where DER differs.
    edge = st.sampled_from(
        [b"\x00" * width, b"\x00" * (width - 1) + b"\x01", b"\x80" + b"\x00" * (width - 1)]
    )
    zeros = st.tuples(st.integers(0, width), st.binary(min_size=width, max_size=width)).map(
        lambda t: b"\x00" * t[0] + t[1][t[0] :]
    )
    return st.one_of(st.binary(min_size=width, max_size=width), edge, zeros)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), width=st.sampled_from([32, 48, 66]))
def test_ecdsa_der_writes_what_cryptography_writes(data: st.DataObject, width: int) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from vitale_cred.hazmat.cose import ecdsa_der

    r, s = data.draw(_half(width)), data.draw(_half(width))
    expected = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
    assert ecdsa_der(r, s) == expected
