"""Interoperability with python-cwt (``import cwt``) at the COSE_Sign1 layer.

(a) A COSE_Sign1 made by our ``sign1()`` (ES256, ES384, EdDSA; ``alg`` and ``kid``
    protected) over a CWT claims map verifies in ``cwt.decode`` with a
    ``cwt.COSEKey`` built from our public key, as our COSE_Key map
    (``CoseKey.to_map()``) or as a SubjectPublicKeyInfo PEM, and the claims match.
    python-cwt selects the key by ``kid``: a message without one is refused with
    ``ValueError("kid should be specified.")``, so every message here has a kid.
(b) A CWT made by ``cwt.encode`` verifies with ``decode_sign1(...,
    deterministic=False)`` + ``Sign1.verify(VerifyingKey(...))``. python-cwt 3.3
    puts ``alg`` protected and ``kid`` *unprotected*, and emits a bare tag-18
    COSE_Sign1 by default; only ``tagged=True`` wraps it in the CWT tag 61, which
    ``decode_sign1`` refuses (``CborTagNotAllowed``). The tests strip that 2-byte
    tag head themselves, leaving the received COSE_Sign1 bytes untouched.

python-cwt checks ``exp``/``nbf`` against the wall clock and fills in missing
``exp``/``nbf``/``iat`` from it, so the claims below carry all three explicitly:
``nbf``/``iat`` in 2023 and ``exp`` in 2100.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

if not os.environ.get("VITALE_REQUIRE_INTEROP"):
    # python-cwt decodes only with cbor2 5.x: it runs in the interop environment of
    # scripts/test, which sets VITALE_REQUIRE_INTEROP so that a missing oracle fails.
    pytest.importorskip("cwt", reason="python-cwt lives in the cbor2 5.x environment")
import cwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vitale_cred.errors import CborTagNotAllowed, CoseBadSignature
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import CoseKey, SoftwareSigner, VerifyingKey, decode_sign1, sign1
from vitale_cred.registry import CoseAlg, CoseHeader, CwtClaim

pytestmark = pytest.mark.interop

CLAIMS: dict[int, Any] = {
    CwtClaim.ISS: "https://emetteur.example/ameli",
    CwtClaim.SUB: "beneficiaire-0001",
    CwtClaim.AUD: "https://lecteur.example",
    CwtClaim.EXP: 4_102_444_800,  # 2100-01-01
    CwtClaim.NBF: 1_700_000_000,  # 2023-11-14
    CwtClaim.IAT: 1_700_000_000,
    CwtClaim.CTI: bytes.fromhex("0b71"),
}
ALGS = [CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA]


def _private_key(alg: CoseAlg) -> Any:
    if alg is CoseAlg.ES256:
        return ec.derive_private_key(0x1234_5678_9ABC, ec.SECP256R1())
    if alg is CoseAlg.ES384:
        return ec.derive_private_key(0x1234_5678_9ABC_DEF0, ec.SECP384R1())
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _claims_as_ints(claims: Any) -> dict[int, Any]:
    return {int(k): v for k, v in claims.items()}


def _cwt_public_key(public: Any, alg: CoseAlg, kid: bytes, form: str) -> Any:
    if form == "cose_key":
        return cwt.COSEKey.new(CoseKey.from_public_key(public, kid=kid, alg=alg).to_map())
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cwt.COSEKey.from_pem(pem, alg=int(alg), kid=kid)


def _cwt_private_key(private: Any, alg: CoseAlg, kid: bytes) -> Any:
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cwt.COSEKey.from_pem(pem, alg=int(alg), kid=kid)


# --- (a) ours -> python-cwt ------------------------------------------------------------


@pytest.mark.parametrize("form", ["cose_key", "pem"])
@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_our_sign1_cwt_verifies_in_python_cwt_with_equal_claims(alg: CoseAlg, form: str) -> None:
    private = _private_key(alg)
    kid = f"vitale-{alg.name}".encode()
    data = sign1(_cbor.encode(CLAIMS), SoftwareSigner(private, alg), kid=kid)
    message = decode_sign1(data)
    assert message.protected == {CoseHeader.ALG: alg, CoseHeader.KID: kid}
    decoded = cwt.decode(data, _cwt_public_key(private.public_key(), alg, kid, form))
    assert _claims_as_ints(decoded) == CLAIMS


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_our_tampered_sign1_is_refused_by_python_cwt(alg: CoseAlg) -> None:
    private = _private_key(alg)
    data = bytearray(sign1(_cbor.encode(CLAIMS), SoftwareSigner(private, alg), kid=b"k"))
    data[-1] ^= 0x01
    with pytest.raises(cwt.VerifyError):
        cwt.decode(bytes(data), _cwt_public_key(private.public_key(), alg, b"k", "cose_key"))


def test_python_cwt_refuses_our_sign1_without_kid() -> None:
    private = _private_key(CoseAlg.ES256)
    data = sign1(_cbor.encode(CLAIMS), SoftwareSigner(private))
    key = _cwt_public_key(private.public_key(), CoseAlg.ES256, b"k", "cose_key")
    with pytest.raises(ValueError, match="kid should be specified"):
        cwt.decode(data, key)


# --- (b) python-cwt -> ours ------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_python_cwt_token_verifies_in_our_layer_with_equal_claims(alg: CoseAlg) -> None:
    private = _private_key(alg)
    kid = f"cwt-{alg.name}".encode()
    token = cwt.encode(CLAIMS, _cwt_private_key(private, alg, kid))
    assert token[0] == 0xD2  # a bare COSE_Sign1 (tag 18), no CWT tag 61 by default
    message = decode_sign1(token, deterministic=False)
    assert message.protected == {CoseHeader.ALG: alg}
    assert message.unprotected == {CoseHeader.KID: kid}
    assert message.kid == kid
    message.verify(VerifyingKey(private.public_key(), alg), allowed_algs={alg})
    assert _cbor.decode(message.payload, deterministic=False) == CLAIMS


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_python_cwt_tagged_token_needs_tag_61_stripped_before_decode_sign1(alg: CoseAlg) -> None:
    private = _private_key(alg)
    token = cwt.encode(CLAIMS, _cwt_private_key(private, alg, b"k"), tagged=True)
    assert token[:2] == b"\xd8\x3d"  # tag 61 (CWT) head
    with pytest.raises(CborTagNotAllowed):
        decode_sign1(token, deterministic=False)
    message = decode_sign1(token[2:], deterministic=False)  # unwrapped here, in the test
    message.verify(VerifyingKey(private.public_key(), alg))
    assert _cbor.decode(message.payload, deterministic=False) == CLAIMS


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_python_cwt_token_with_flipped_signature_is_refused_by_our_layer(alg: CoseAlg) -> None:
    private = _private_key(alg)
    token = bytearray(cwt.encode(CLAIMS, _cwt_private_key(private, alg, b"k")))
    token[-1] ^= 0x80
    message = decode_sign1(bytes(token), deterministic=False)
    with pytest.raises(CoseBadSignature):
        message.verify(VerifyingKey(private.public_key(), alg))


# --- (c) credentials and presentations as issued by the library ---------------------


def test_issued_credentials_and_presentation_verify_in_python_cwt() -> None:
    from vitale_cred.credential import strip_x5chain
    from vitale_cred.presentation import present

    from conftest import make_world

    for alg in ALGS:
        world = make_world(alg)
        public = world.material.issuer_certificate.public_key()
        key = _cwt_public_key(public, alg, world.material.kid, "cose_key")
        for credential in world.bundle.credentials:
            claims = _claims_as_ints(cwt.decode(strip_x5chain(credential), key))
            assert claims[CwtClaim.CNF] == {1: world.device.cose_key().to_map()}
        # The presentation's device signature, with the holder's key given a kid for
        # python-cwt (our presentations carry none: the key is in the credential).
        token = present(world.bundle.credentials[2], world.device, clock=world.clock)
        message = decode_sign1(token)
        with_kid = sign1(message.payload, world.device, kid=b"device")
        device_key = _cwt_public_key(
            world.device.public_key(), CoseAlg.ES256, b"device", "cose_key"
        )
        decoded = cwt.COSE.new().decode(with_kid, device_key)
        assert decoded == message.payload
