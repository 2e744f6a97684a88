"""Algorithm confusion: the message may not choose how it is checked.

The algorithm is fixed by the trusted key (Tink's rule): ``alg`` must be protected,
allowed, and equal to the key's algorithm; nothing else is ever tried.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import serialization

from vitale_cred.errors import (
    CoseAlgMismatch,
    CoseAlgMissing,
    CoseAlgNotAllowed,
    CoseError,
    CoseHeaderConflict,
    DeviceSignatureInvalid,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.registry import CoseAlg, CoseHeader

from ._support import bstr, expect, payload_map, sign1_bytes, with_parts
from _world import World


def _forge(world: World, protected: dict[int, object], signature: bytes) -> bytes:
    """The genuine credential payload under a forged protected header and signature."""
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    return cose.encode_sign1(_cbor.encode(protected), {}, genuine.payload, signature)


def test_alg_none_as_a_missing_alg_with_an_empty_signature_is_refused(world: World) -> None:
    forged = _forge(world, {CoseHeader.KID: world.material.kid}, b"")
    expect(CoseAlgMissing, "cose.alg_missing", world.verifier().verify_credential, forged)


def test_alg_text_none_is_not_an_allowed_algorithm(world: World) -> None:
    forged = _forge(world, {CoseHeader.ALG: "none", CoseHeader.KID: world.material.kid}, b"")
    expect(CoseAlgNotAllowed, "cose.alg_not_allowed", world.verifier().verify_credential, forged)


def test_alg_spelled_as_text_es256_is_not_the_registered_integer(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    forged = _forge(
        world, {CoseHeader.ALG: "ES256", CoseHeader.KID: world.material.kid}, genuine.signature
    )
    expect(CoseAlgNotAllowed, "cose.alg_not_allowed", world.verifier().verify_credential, forged)


def test_hmac_alg_keyed_with_the_issuer_public_key_is_refused(world: World) -> None:
    # The classic JWT confusion: MAC the message with the public key's bytes.
    public = world.material.issuer_certificate.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    protected = _cbor.encode(
        {CoseHeader.ALG: int(CoseAlg.HMAC_256_256), CoseHeader.KID: world.material.kid}
    )
    mac = hmac.new(public, cose.sig_structure(protected, genuine.payload), hashlib.sha256).digest()
    forged = cose.encode_sign1(protected, {}, genuine.payload, mac)
    expect(CoseAlgNotAllowed, "cose.alg_not_allowed", world.verifier().verify_credential, forged)


def test_hmac_alg_keyed_with_the_device_public_key_fails_the_device_binding(
    world: World,
) -> None:
    public = world.device.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    payload = _cbor.encode(payload_map(world.bundle.credentials[0]))
    protected = _cbor.encode({CoseHeader.ALG: int(CoseAlg.HMAC_256_256)})
    mac = hmac.new(public, cose.sig_structure(protected, payload), hashlib.sha256).digest()
    forged = cose.encode_sign1(protected, {}, payload, mac)
    error = expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        world.verifier().verify_presentation,
        forged,
    )
    assert "cose.alg_not_allowed" in error.message


def test_protected_alg_es384_over_an_es256_issuer_key_is_a_mismatch(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    protected = {CoseHeader.ALG: int(CoseAlg.ES384), CoseHeader.KID: world.material.kid}
    forged = _forge(world, protected, genuine.signature + bytes(32))
    expect(CoseAlgMismatch, "cose.alg_mismatch", world.verifier().verify_credential, forged)


def test_eddsa_signature_under_an_es256_issuer_kid_is_a_mismatch(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    attacker = cose.SoftwareSigner(generate_private_key(CoseAlg.EDDSA))
    forged = cose.sign1(genuine.payload, attacker, kid=world.material.kid)
    expect(CoseAlgMismatch, "cose.alg_mismatch", world.verifier().verify_credential, forged)


def test_registered_but_unsupported_es512_is_not_allowed(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    protected = {CoseHeader.ALG: int(CoseAlg.ES512), CoseHeader.KID: world.material.kid}
    forged = _forge(world, protected, genuine.signature)
    expect(CoseAlgNotAllowed, "cose.alg_not_allowed", world.verifier().verify_credential, forged)


def test_device_signature_with_eddsa_is_refused_even_by_a_valid_key_type(world: World) -> None:
    attacker = cose.SoftwareSigner(generate_private_key(CoseAlg.EDDSA))
    payload = _cbor.encode(payload_map(world.bundle.credentials[0]))
    forged = cose.sign1(payload, attacker)
    error = expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        world.verifier().verify_presentation,
        forged,
    )
    assert "cose.alg_not_allowed" in error.message


def test_alg_moved_to_the_unprotected_header_is_refused(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    forged = cose.encode_sign1(
        _cbor.encode({CoseHeader.KID: world.material.kid}),
        {CoseHeader.ALG: int(CoseAlg.ES256)},
        genuine.payload,
        genuine.signature,
    )
    expect(CoseAlgMissing, "cose.alg_missing", world.verifier().verify_credential, forged)


def test_alg_repeated_in_the_unprotected_header_is_a_header_conflict(world: World) -> None:
    forged = with_parts(
        world.bundle.credentials[0], unprotected={CoseHeader.ALG: int(CoseAlg.HMAC_256_256)}
    )
    expect(CoseHeaderConflict, "cose.header_conflict", world.verifier().verify_credential, forged)


def test_alg_encoded_as_a_boolean_is_malformed(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    protected = b"\xa2\x01\xf5\x04" + bstr(world.material.kid)  # {1: true, 4: kid}
    forged = sign1_bytes(bstr(protected), b"\xa0", bstr(genuine.payload), bstr(genuine.signature))
    expect(CoseError, "cose.malformed", world.verifier().verify_credential, forged)
