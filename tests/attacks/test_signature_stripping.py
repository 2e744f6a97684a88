"""Signature stripping and mangling: no signature, a short one, someone else's.

A raw COSE signature has a fixed length per algorithm, checked before any
cryptography; ECDSA's (r, n - s) twin verifies, so nothing may key on signature
bytes (the replay cache keys on the signed nonce instead).
"""

from __future__ import annotations

from vitale_cred.errors import CoseBadSignature, CoseError, DeviceSignatureInvalid
from vitale_cred.hazmat import cose

from ._support import bstr, expect, sign1_bytes, token, with_parts
from _world import World


def test_credential_with_an_empty_signature_is_refused(world: World) -> None:
    forged = with_parts(world.bundle.credentials[0], signature=b"")
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_credential_with_a_signature_cut_by_one_byte_is_refused(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    forged = with_parts(world.bundle.credentials[0], signature=genuine.signature[:-1])
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_credential_with_a_byte_appended_to_the_signature_is_refused(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    forged = with_parts(world.bundle.credentials[0], signature=genuine.signature + b"\x00")
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_all_zero_signature_r_s_equal_to_zero_is_refused(world: World) -> None:
    forged = with_parts(world.bundle.credentials[0], signature=bytes(64))
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_signature_of_r_and_s_equal_to_the_group_order_is_refused(world: World) -> None:
    order = bytes.fromhex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")
    forged = with_parts(world.bundle.credentials[0], signature=order + order)
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_signature_of_another_credential_of_the_same_issuer_is_refused(world: World) -> None:
    other = cose.decode_sign1(world.bundle.credentials[1])
    forged = with_parts(world.bundle.credentials[0], signature=other.signature)
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_presentation_with_an_empty_device_signature_is_refused(world: World) -> None:
    forged = with_parts(token(world), signature=b"")
    expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        world.verifier().verify_presentation,
        forged,
    )


def test_issuer_signature_moved_into_the_device_signature_slot_is_refused(world: World) -> None:
    issuer_signature = cose.decode_sign1(world.bundle.credentials[0]).signature
    forged = with_parts(token(world), signature=issuer_signature)
    expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        world.verifier().verify_presentation,
        forged,
    )


def test_signature_sent_as_a_text_string_is_malformed(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    forged = sign1_bytes(
        bstr(genuine.protected_bytes),
        b"\xa0",
        bstr(genuine.payload),
        b"\x60",  # ""
    )
    expect(CoseError, "cose.malformed", world.verifier().verify_credential, forged)


def test_cose_sign1_without_its_signature_element_is_malformed(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    body = b"\x83" + bstr(genuine.protected_bytes) + b"\xa0" + bstr(genuine.payload)
    forged = b"\xd2" + body
    expect(CoseError, "cose.malformed", world.verifier().verify_credential, forged)
