"""COSE WG examples (cose-wg/Examples) and the RFC 8392 Appendix A.3 signed CWT.

Every COSE_Sign1 vector runs through the same pipeline, the one a caller uses:
``decode_sign1(data, require_tag=True, deterministic=False)`` (other
implementations' bytes need not be deterministic), then the vector's key through
``CoseKey.from_map(...).verifying_key()``, then ``Sign1.verify(key,
external_aad=...)``. ``EXPECTED`` gives the outcome of that pipeline for every
JSON file in the copied folders: ``None`` (verifies) or the exact error class.

Where our policy and the examples part ways (each has its own test below):

* ``sign-pass-01`` sends ``alg`` only in the unprotected header: refused with
  ``CoseAlgMissing``. Its signature is, moreover, computed over a zero-length
  protected bstr while the message carries ``h'A0'``; a verifier that uses the
  received bytes (RFC 9052 section 4.4, and this library) cannot verify it.
* ``sign-pass-03`` is untagged: refused when the tag is required (``CoseError``),
  verifies with ``require_tag=False``.
* ES512 (``ecdsa-sig-03`` on P-521, ``ecdsa-sig-04`` on P-256) and Ed448
  (``eddsa-sig-02``) are not supported: the P-521 and Ed448 COSE_Keys are refused
  with ``CoseKeyError``, a ``VerifyingKey`` for them with ``BadKey``, and an ES512
  message with ``CoseAlgNotAllowed``.
* The COSE_Sign examples (tag 98: ``ecdsa-01..04``, ``eddsa-01/02``) are not
  COSE_Sign1: ``decode_sign1`` refuses their tag with ``CborTagNotAllowed``.
* A wrong or foreign tag is a CBOR-level refusal, ``CborTagNotAllowed`` (a
  ``DecodeError``, not a ``CoseError``).
"""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from vitale_cred.errors import (
    BadKey,
    CborNonDeterministic,
    CborTagNotAllowed,
    CoseAlgMismatch,
    CoseAlgMissing,
    CoseAlgNotAllowed,
    CoseBadSignature,
    CoseError,
    CoseKeyError,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import CoseKey, VerifyingKey, decode_sign1, sig_structure
from vitale_cred.registry import CoseAlg, CoseCurve, CoseKeyLabel, CoseKeyType, CoseTag

VECTORS = Path(__file__).parent / "vectors"
COSE_WG = VECTORS / "cose-wg"
FOLDERS = ("sign1-tests", "ecdsa-examples", "eddsa-examples")

EXPECTED: dict[str, type[VitaleCredError] | None] = {
    "sign1-tests/sign-pass-01.json": CoseAlgMissing,  # alg only unprotected
    "sign1-tests/sign-pass-02.json": None,  # with external_aad
    "sign1-tests/sign-pass-03.json": CoseError,  # untagged, tag required
    "sign1-tests/sign-fail-01.json": CborTagNotAllowed,  # tag 998
    "sign1-tests/sign-fail-02.json": CoseBadSignature,  # payload changed
    "sign1-tests/sign-fail-03.json": CoseAlgNotAllowed,  # alg -999
    "sign1-tests/sign-fail-04.json": CoseAlgNotAllowed,  # alg "unknown"
    "sign1-tests/sign-fail-06.json": CoseBadSignature,  # protected label added
    "sign1-tests/sign-fail-07.json": CoseBadSignature,  # protected label removed
    "ecdsa-examples/ecdsa-sig-01.json": None,  # ES256
    "ecdsa-examples/ecdsa-sig-02.json": None,  # ES384
    "ecdsa-examples/ecdsa-sig-03.json": CoseKeyError,  # ES512 / P-521 key
    "ecdsa-examples/ecdsa-sig-04.json": CoseAlgNotAllowed,  # ES512 with a P-256 key
    "ecdsa-examples/ecdsa-01.json": CborTagNotAllowed,  # COSE_Sign (tag 98)
    "ecdsa-examples/ecdsa-02.json": CborTagNotAllowed,
    "ecdsa-examples/ecdsa-03.json": CborTagNotAllowed,
    "ecdsa-examples/ecdsa-04.json": CborTagNotAllowed,
    "eddsa-examples/eddsa-sig-01.json": None,  # Ed25519
    "eddsa-examples/eddsa-sig-02.json": CoseKeyError,  # Ed448 key
    "eddsa-examples/eddsa-01.json": CborTagNotAllowed,  # COSE_Sign (tag 98)
    "eddsa-examples/eddsa-02.json": CborTagNotAllowed,
}

_JWK_KTY = {"EC": CoseKeyType.EC2, "OKP": CoseKeyType.OKP}
_JWK_CRV = {"P-256": 1, "P-384": 2, "P-521": 3, "Ed25519": 6, "Ed448": 7}


# --- helpers -------------------------------------------------------------------------


@functools.cache
def load(relative: str) -> Any:
    return json.loads((COSE_WG / relative).read_text(encoding="utf-8"))


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_param(jwk: dict[str, Any], name: str) -> bytes | None:
    """A JWK-style byte parameter, given as base64url ``name`` or hex ``name_hex``."""
    if name in jwk:
        return _b64url(jwk[name])
    if f"{name}_hex" in jwk:
        return bytes.fromhex(jwk[f"{name}_hex"])
    return None


def jwk_cose_key_map(jwk: dict[str, Any], *, with_private: bool = False) -> dict[int, Any]:
    """The JWK-style key of a vector as a COSE_Key map (public part unless asked)."""
    out: dict[int, Any] = {
        CoseKeyLabel.KTY: int(_JWK_KTY[jwk["kty"]]),
        CoseKeyLabel.CRV: _JWK_CRV[jwk["crv"]],
        CoseKeyLabel.X: jwk_param(jwk, "x"),
    }
    y = jwk_param(jwk, "y")
    if y is not None:
        out[CoseKeyLabel.Y] = y
    if "kid" in jwk:
        out[CoseKeyLabel.KID] = jwk["kid"].encode("utf-8")
    if with_private:
        out[CoseKeyLabel.D] = jwk_param(jwk, "d")
    return out


def jwk_public_key(jwk: dict[str, Any]) -> Any:
    """The vector's public key as a ``cryptography`` object, whatever the curve."""
    x = jwk_param(jwk, "x")
    assert x is not None
    if jwk["kty"] == "OKP":
        okp: Any = {"Ed25519": ed25519.Ed25519PublicKey, "Ed448": ed448.Ed448PublicKey}[jwk["crv"]]
        return okp.from_public_bytes(x)
    curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
    y = jwk_param(jwk, "y")
    assert y is not None
    return ec.EllipticCurvePublicKey.from_encoded_point(curve[jwk["crv"]], b"\x04" + x + y)


def jwk_private_key(jwk: dict[str, Any]) -> Any:
    d = jwk_param(jwk, "d")
    assert d is not None
    if jwk["kty"] == "OKP":
        okp: Any = {"Ed25519": ed25519.Ed25519PrivateKey, "Ed448": ed448.Ed448PrivateKey}[
            jwk["crv"]
        ]
        return okp.from_private_bytes(d)
    curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
    return ec.derive_private_key(int.from_bytes(d, "big"), curve[jwk["crv"]])


def message_bytes(vector: dict[str, Any]) -> bytes:
    return bytes.fromhex(vector["output"]["cbor"])


def vector_payload(vector: dict[str, Any]) -> bytes:
    if "plaintext_hex" in vector["input"]:
        return bytes.fromhex(vector["input"]["plaintext_hex"])
    text: str = vector["input"]["plaintext"]
    return text.encode("utf-8")


def sign0(vector: dict[str, Any]) -> Any:
    return vector["input"]["sign0"]


def external_aad(vector: dict[str, Any]) -> bytes:
    return bytes.fromhex(sign0(vector).get("external", ""))


def raw_parts(data: bytes, tag: int = CoseTag.COSE_SIGN1) -> list[Any]:
    """The four items of a (possibly refused) COSE_Sign1, read without COSE policy."""
    value = _cbor.decode(data, tags=frozenset({tag}), deterministic=False)
    if isinstance(value, _cbor.Tagged):
        assert value.tag == tag
        value = value.value
    assert isinstance(value, list)
    assert len(value) == 4
    return value


def run_pipeline(vector: dict[str, Any]) -> None:
    """decode (tag required, non-deterministic allowed) -> COSE_Key -> verify."""
    message = decode_sign1(message_bytes(vector), require_tag=True, deterministic=False)
    key = CoseKey.from_map(jwk_cose_key_map(sign0(vector)["key"])).verifying_key()
    message.verify(key, external_aad=external_aad(vector))


def _ecdsa_raw_verify(public: Any, signature: bytes, message: bytes, hash_alg: Any) -> None:
    half = len(signature) // 2
    der = encode_dss_signature(
        int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
    )
    public.verify(der, message, ec.ECDSA(hash_alg))


# --- the table -------------------------------------------------------------------------


def test_every_copied_cose_wg_file_has_an_expected_outcome() -> None:
    found = {
        f"{folder}/{path.name}" for folder in FOLDERS for path in (COSE_WG / folder).glob("*.json")
    }
    assert found == set(EXPECTED)


@pytest.mark.parametrize(("relative", "expected"), sorted(EXPECTED.items()), ids=sorted(EXPECTED))
def test_cose_wg_vector_outcome_through_decode_key_and_verify(
    relative: str, expected: type[VitaleCredError] | None
) -> None:
    vector = load(relative)
    if vector.get("fail", False):
        assert expected is not None, "a vector marked fail must be refused"
    if expected is None:
        run_pipeline(vector)
        return
    with pytest.raises(expected) as info:
        run_pipeline(vector)
    assert type(info.value) is expected
    assert info.value.code == expected.code


@pytest.mark.parametrize(
    "relative",
    [*sorted(r for r, e in EXPECTED.items() if e is None), "sign1-tests/sign-pass-03.json"],
)
def test_cose_wg_to_be_signed_equals_our_sig_structure(relative: str) -> None:
    vector = load(relative)
    message = decode_sign1(message_bytes(vector), require_tag=False, deterministic=False)
    expected = bytes.fromhex(vector["intermediates"]["ToBeSign_hex"])
    assert message.payload == vector_payload(vector)
    assert message.to_be_signed(external_aad(vector)) == expected


@pytest.mark.parametrize(
    "relative",
    sorted(r for r in EXPECTED if "sign0" in load(r)["input"] or "sign" in load(r)["input"]),
)
def test_cose_wg_vector_private_key_matches_its_public_key(relative: str) -> None:
    inputs = load(relative)["input"]
    jwks = (
        [inputs["sign0"]["key"]]
        if "sign0" in inputs
        else [s["key"] for s in inputs["sign"]["signers"]]
    )
    for jwk in jwks:
        private = jwk_private_key(jwk)
        assert private.public_key() == jwk_public_key(jwk)


# --- sign1-tests -----------------------------------------------------------------------


def test_sign_pass_01_alg_only_in_unprotected_header_is_refused_with_alg_missing() -> None:
    vector = load("sign1-tests/sign-pass-01.json")
    data = message_bytes(vector)
    _, unprotected, _, _ = raw_parts(data)
    assert unprotected[1] == CoseAlg.ES256
    for deterministic in (True, False):
        with pytest.raises(CoseAlgMissing) as info:
            decode_sign1(data, require_tag=True, deterministic=deterministic)
        assert type(info.value) is CoseAlgMissing
        assert info.value.code == "cose.alg_missing"


def test_sign_pass_01_signature_covers_empty_protected_bstr_not_the_received_a0() -> None:
    vector = load("sign1-tests/sign-pass-01.json")
    protected_bytes, _, payload, signature = raw_parts(message_bytes(vector))
    assert protected_bytes == b"\xa0"
    key = VerifyingKey(jwk_public_key(sign0(vector)["key"]), CoseAlg.ES256)
    # Over the bytes received, as RFC 9052 section 4.4 directs: it does not verify.
    with pytest.raises(CoseBadSignature):
        key.verify(signature, sig_structure(protected_bytes, payload))
    # The generator signed a zero-length protected bstr (its ToBeSign): that verifies.
    normalised = sig_structure(b"", payload)
    assert normalised == bytes.fromhex(vector["intermediates"]["ToBeSign_hex"])
    key.verify(signature, normalised)


def test_sign_pass_02_needs_its_external_aad() -> None:
    vector = load("sign1-tests/sign-pass-02.json")
    message = decode_sign1(message_bytes(vector), deterministic=False)
    key = CoseKey.from_map(jwk_cose_key_map(sign0(vector)["key"])).verifying_key()
    assert external_aad(vector) == bytes.fromhex("11aa22bb33cc44dd55006699")
    message.verify(key, external_aad=external_aad(vector))
    with pytest.raises(CoseBadSignature):
        message.verify(key)


def test_sign_pass_03_untagged_is_refused_when_tag_required_and_verifies_otherwise() -> None:
    vector = load("sign1-tests/sign-pass-03.json")
    data = message_bytes(vector)
    with pytest.raises(CoseError) as info:
        decode_sign1(data, require_tag=True, deterministic=False)
    assert type(info.value) is CoseError
    assert info.value.code == "cose.malformed"
    message = decode_sign1(data, require_tag=False, deterministic=False)
    message.verify(CoseKey.from_map(jwk_cose_key_map(sign0(vector)["key"])).verifying_key())


def test_sign_fail_01_wrong_tag_is_refused_although_its_signature_is_valid() -> None:
    vector = load("sign1-tests/sign-fail-01.json")
    data = message_bytes(vector)
    for require_tag in (True, False):
        with pytest.raises(CborTagNotAllowed):
            decode_sign1(data, require_tag=require_tag, deterministic=False)
    protected_bytes, _, payload, signature = raw_parts(data, tag=998)
    key = VerifyingKey(jwk_public_key(sign0(vector)["key"]), CoseAlg.ES256)
    key.verify(signature, sig_structure(protected_bytes, payload))  # only the tag is wrong


@pytest.mark.parametrize(
    ("relative", "alg"),
    [("sign1-tests/sign-fail-03.json", -999), ("sign1-tests/sign-fail-04.json", "unknown")],
)
def test_sign_fail_changed_alg_is_not_allowed(relative: str, alg: int | str) -> None:
    vector = load(relative)
    message = decode_sign1(message_bytes(vector), deterministic=False)
    assert message.protected == {1: alg}
    key = CoseKey.from_map(jwk_cose_key_map(sign0(vector)["key"])).verifying_key()
    with pytest.raises(CoseAlgNotAllowed) as info:
        message.verify(key)
    assert type(info.value) is CoseAlgNotAllowed


@pytest.mark.parametrize(
    "relative",
    [
        "sign1-tests/sign-fail-02.json",
        "sign1-tests/sign-fail-06.json",
        "sign1-tests/sign-fail-07.json",
    ],
)
def test_sign_fail_changed_payload_or_protected_header_breaks_the_signature(
    relative: str,
) -> None:
    vector = load(relative)
    message = decode_sign1(message_bytes(vector), deterministic=False)
    key = CoseKey.from_map(jwk_cose_key_map(sign0(vector)["key"])).verifying_key()
    with pytest.raises(CoseBadSignature) as info:
        message.verify(key)
    assert type(info.value) is CoseBadSignature
    # the damage is after signing: the ToBeSign the generator signed does verify
    key.verify(message.signature, bytes.fromhex(vector["intermediates"]["ToBeSign_hex"]))


# --- unsupported algorithms ------------------------------------------------------------


def test_ecdsa_sig_03_es512_on_p521_is_refused_at_key_and_alg() -> None:
    vector = load("ecdsa-examples/ecdsa-sig-03.json")
    message = decode_sign1(message_bytes(vector), deterministic=False)
    assert message.alg == CoseAlg.ES512
    jwk = sign0(vector)["key"]
    with pytest.raises(CoseKeyError) as info:
        CoseKey.from_map(jwk_cose_key_map(jwk))
    assert type(info.value) is CoseKeyError
    public = jwk_public_key(jwk)
    for alg in (CoseAlg.ES512, CoseAlg.ES256):
        with pytest.raises(BadKey) as bad:
            VerifyingKey(public, alg)
        assert type(bad.value) is BadKey
    p256 = CoseKey.from_map(
        jwk_cose_key_map(load("ecdsa-examples/ecdsa-sig-01.json")["input"]["sign0"]["key"])
    )
    with pytest.raises(CoseAlgNotAllowed):
        message.verify(p256.verifying_key())
    # the vector itself is sound: P-521 / SHA-512 over its ToBeSign
    _ecdsa_raw_verify(public, message.signature, message.to_be_signed(), hashes.SHA512())


def test_ecdsa_sig_04_es512_with_p256_key_is_not_allowed_and_mismatches_es256_key() -> None:
    vector = load("ecdsa-examples/ecdsa-sig-04.json")
    message = decode_sign1(message_bytes(vector), deterministic=False)
    assert message.alg == CoseAlg.ES512
    jwk = sign0(vector)["key"]
    key = CoseKey.from_map(jwk_cose_key_map(jwk)).verifying_key()
    assert key.alg is CoseAlg.ES256
    with pytest.raises(CoseAlgNotAllowed):
        message.verify(key)
    with pytest.raises(CoseAlgMismatch):
        message.verify(key, allowed_algs={CoseAlg.ES512})
    with pytest.raises(BadKey):
        VerifyingKey(jwk_public_key(jwk), CoseAlg.ES512)
    with_alg = {**jwk_cose_key_map(jwk), CoseKeyLabel.ALG: int(CoseAlg.ES512)}
    with pytest.raises(CoseKeyError):
        CoseKey.from_map(with_alg)
    _ecdsa_raw_verify(
        jwk_public_key(jwk), message.signature, message.to_be_signed(), hashes.SHA512()
    )


def test_eddsa_sig_02_ed448_is_refused_at_key_and_its_signature_length() -> None:
    vector = load("eddsa-examples/eddsa-sig-02.json")
    message = decode_sign1(message_bytes(vector), deterministic=False)
    assert message.alg == CoseAlg.EDDSA
    assert len(message.signature) == 114
    jwk = sign0(vector)["key"]
    with pytest.raises(CoseKeyError):
        CoseKey.from_map(jwk_cose_key_map(jwk))
    with pytest.raises(BadKey):
        VerifyingKey(jwk_public_key(jwk), CoseAlg.EDDSA)
    ed25519_key = CoseKey.from_map(
        jwk_cose_key_map(load("eddsa-examples/eddsa-sig-01.json")["input"]["sign0"]["key"])
    ).verifying_key()
    with pytest.raises(CoseBadSignature):
        message.verify(ed25519_key)
    jwk_public_key(jwk).verify(message.signature, message.to_be_signed())


@pytest.mark.parametrize("relative", sorted(r for r in EXPECTED if "sign" in load(r)["input"]))
def test_cose_sign_multi_signer_examples_are_refused_by_decode_sign1(relative: str) -> None:
    data = message_bytes(load(relative))
    assert data[:2] == b"\xd8\x62"  # tag 98, COSE_Sign
    for require_tag in (True, False):
        with pytest.raises(CborTagNotAllowed) as info:
            decode_sign1(data, require_tag=require_tag, deterministic=False)
        assert info.value.code == "cbor.tag_not_allowed"


# --- CWT: RFC 8392 Appendix A ----------------------------------------------------------

RFC8392 = VECTORS / "rfc8392-cwt" / "rfc8392_appendix_a.json"
A1_CLAIMS = {
    1: "coap://as.example.com",
    2: "erikw",
    3: "coap://light.example.com",
    4: 1444064944,
    5: 1443944944,
    6: 1443944944,
    7: bytes.fromhex("0b71"),
}


@functools.cache
def rfc8392() -> Any:
    return json.loads(RFC8392.read_text(encoding="utf-8"))


def _a23_key_map() -> Any:
    return _cbor.decode(
        bytes.fromhex(rfc8392()["keys"]["A.2.3_ecdsa_p256"]["cose_key_hex"]), deterministic=False
    )


def test_rfc8392_a3_is_tag_18_only_with_alg_protected_and_kid_unprotected() -> None:
    data = bytes.fromhex(rfc8392()["tokens"]["A.3_signed_cwt"]["hex"])
    assert data[0] == 0xD2  # tag 18 directly: no CWT tag 61 around it
    message = decode_sign1(data)  # strict defaults: tag required, deterministic
    assert message.protected_bytes == bytes.fromhex("a10126")
    assert message.protected == {1: CoseAlg.ES256}
    assert message.unprotected == {4: b"AsymmetricECDSA256"}
    assert message.kid == b"AsymmetricECDSA256"


def test_rfc8392_a3_verifies_with_the_a23_key_and_decodes_the_a1_claims() -> None:
    data = bytes.fromhex(rfc8392()["tokens"]["A.3_signed_cwt"]["hex"])
    message = decode_sign1(data)
    public = {k: v for k, v in _a23_key_map().items() if k != CoseKeyLabel.D}
    cose_key = CoseKey.from_map(public)
    assert cose_key.kid == b"AsymmetricECDSA256"
    assert cose_key.alg is CoseAlg.ES256
    assert cose_key.crv is CoseCurve.P256
    message.verify(cose_key.verifying_key(), allowed_algs={CoseAlg.ES256})
    claims = _cbor.decode(message.payload)
    assert claims == A1_CLAIMS
    assert message.payload == bytes.fromhex(rfc8392()["claims_set_A1"]["hex"])


def test_rfc8392_a23_cose_key_is_refused_whole_for_private_d_and_non_deterministic_order() -> None:
    raw = bytes.fromhex(rfc8392()["keys"]["A.2.3_ecdsa_p256"]["cose_key_hex"])
    with pytest.raises(CborNonDeterministic):
        _cbor.decode(raw)  # labels -4, -3, -2, -1, 1, 2, 3: not bytewise order
    with pytest.raises(CoseKeyError) as info:
        CoseKey.from_map(_a23_key_map())
    assert "d(-4)" in str(info.value)


def test_rfc8392_a23_private_d_reproduces_the_public_point() -> None:
    key = _a23_key_map()
    private = ec.derive_private_key(int.from_bytes(key[CoseKeyLabel.D], "big"), ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    assert numbers.x.to_bytes(32, "big") == key[CoseKeyLabel.X]
    assert numbers.y.to_bytes(32, "big") == key[CoseKeyLabel.Y]


def test_cose_wg_cwt_a3_has_empty_unprotected_and_the_same_verifying_signature() -> None:
    vector = load("CWT/A_3.json")
    message = decode_sign1(message_bytes(vector))
    rfc = decode_sign1(bytes.fromhex(rfc8392()["tokens"]["A.3_signed_cwt"]["hex"]))
    assert message.unprotected == {}
    # only the unprotected kid differs: it is not covered by the signature
    assert (message.protected_bytes, message.payload, message.signature) == (
        rfc.protected_bytes,
        rfc.payload,
        rfc.signature,
    )
    message.verify(CoseKey.from_map(jwk_cose_key_map(sign0(vector)["key"])).verifying_key())
    assert _cbor.decode(message.payload) == A1_CLAIMS


@pytest.mark.parametrize(
    ("source", "first_tag"),
    [
        ("rfc:A.4_maced_cwt_with_cwt_tag", CoseTag.CWT),
        ("rfc:A.5_encrypted_cwt", 16),
        ("rfc:A.6_nested_cwt", 16),
        ("rfc:A.7_maced_cwt_float_iat", 17),
        ("cose-wg:CWT/A_4.json", 17),
        ("cose-wg:CWT/A_5.json", 16),
        ("cose-wg:CWT/A_6.json", 16),
        ("cose-wg:CWT/A_7.json", 17),
    ],
)
def test_non_sign1_cwt_examples_are_refused_by_decode_sign1_at_their_tag(
    source: str, first_tag: int
) -> None:
    origin, name = source.split(":", 1)
    if origin == "rfc":
        data = bytes.fromhex(rfc8392()["tokens"][name]["hex"])
    else:
        data = message_bytes(load(name))
    with pytest.raises(CborTagNotAllowed) as info:
        decode_sign1(data, require_tag=False, deterministic=False)
    assert f"tag {int(first_tag)} " in str(info.value)
