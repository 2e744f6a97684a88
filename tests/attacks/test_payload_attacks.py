"""Detached (nil) and empty payloads: the signed bytes must be the bytes used.

A detached payload would let the verifier check a signature over bytes it was
handed separately; the CBOR profile refuses its null outright (no v1 structure
uses null), and an empty or non-map payload fails decoding even when genuinely
signed.
"""

from __future__ import annotations

from vitale_cred.errors import (
    CborLengthExceedsInput,
    CborTypeNotAllowed,
    CoseError,
    SchemaError,
    SchemaMissingLabel,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.registry import PresentationLabel

from ._support import bstr, device_signs, expect, issuer_signs, payload_map, sign1_bytes, token
from _world import World


def _detached(data: bytes) -> bytes:
    genuine = cose.decode_sign1(data)
    return sign1_bytes(bstr(genuine.protected_bytes), b"\xa0", b"\xf6", bstr(genuine.signature))


def test_credential_with_a_detached_nil_payload_is_refused(world: World) -> None:
    forged = _detached(world.bundle.credentials[0])
    expect(
        CborTypeNotAllowed,
        "cbor.type_not_allowed",
        world.verifier().verify_credential,
        forged,
    )


def test_presentation_with_a_detached_nil_payload_is_refused(world: World) -> None:
    expect(
        CborTypeNotAllowed,
        "cbor.type_not_allowed",
        world.verifier().verify_presentation,
        _detached(token(world)),
    )


def test_empty_credential_payload_signed_by_the_issuer_is_refused(world: World) -> None:
    forged = issuer_signs(world, b"")
    expect(
        CborLengthExceedsInput,
        "cbor.length_exceeds_input",
        world.verifier().verify_credential,
        forged,
    )


def test_empty_presentation_payload_signed_by_the_device_is_refused(world: World) -> None:
    expect(
        CborLengthExceedsInput,
        "cbor.length_exceeds_input",
        world.verifier().verify_presentation,
        device_signs(world, b""),
    )


def test_payload_sent_as_a_text_string_is_malformed(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    forged = sign1_bytes(bstr(genuine.protected_bytes), b"\xa0", b"\x60", bstr(genuine.signature))
    expect(CoseError, "cose.malformed", world.verifier().verify_credential, forged)


def test_claims_that_are_an_array_instead_of_a_map_are_refused(world: World) -> None:
    forged = issuer_signs(world, _cbor.encode([6, 1, 4, 2]))
    expect(SchemaError, "schema.invalid", world.verifier().verify_credential, forged)


def test_presentation_without_an_embedded_credential_is_refused(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0])
    del wire[PresentationLabel.CREDENTIAL]
    expect(
        SchemaMissingLabel,
        "schema.missing_label",
        world.verifier().verify_presentation,
        device_signs(world, _cbor.encode(wire)),
    )


def test_presentation_whose_embedded_credential_is_empty_is_refused(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0])
    wire[PresentationLabel.CREDENTIAL] = b""
    expect(
        CborLengthExceedsInput,
        "cbor.length_exceeds_input",
        world.verifier().verify_presentation,
        device_signs(world, _cbor.encode(wire)),
    )
