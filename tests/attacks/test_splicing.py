"""Token splicing between holders, beneficiary substitution, cross-protocol reuse.

The device signature covers the embedded credential byte for byte, and the issuer
signature covers the one beneficiary the credential discloses; moving any signed
part to another envelope breaks one of the two.
"""

from __future__ import annotations

from vitale_cred.credential import strip_x5chain
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey, possession_proof
from vitale_cred.errors import (
    CoseBadSignature,
    DeviceSignatureInvalid,
    SchemaError,
    SchemaUnknownLabel,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.presentation import NONCE_LENGTH, present
from vitale_cred.registry import CardLabel, CwtClaim
from vitale_cred.status import StatusList, issue_status_list

from ._support import expect, payload_map, resign, token, with_parts
from _world import NOW, World


def _second_holder(world: World) -> tuple[SoftwareDeviceKey, bytes]:
    """Another holder whose card the same fund issued (same issuer key)."""
    other = SoftwareDeviceKey.generate()
    bundle = world.issuer.issue(
        world.card,
        ProvenDeviceKey.unsafe_without_proof(other.cose_key()),
        valid_days=30,
        beneficiaries=[1],
    )
    return other, bundle.credentials[0]


def test_other_holders_credential_in_a_token_signed_by_my_device_is_refused(
    world: World,
) -> None:
    _, theirs = _second_holder(world)
    forged = cose.sign1(_cbor.encode(payload_map(theirs)), world.device)
    expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        world.verifier().verify_presentation,
        forged,
    )


def test_my_credential_in_a_token_signed_by_another_holders_device_is_refused(
    world: World,
) -> None:
    other, _ = _second_holder(world)
    forged = cose.sign1(_cbor.encode(payload_map(world.bundle.credentials[0])), other)
    expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        world.verifier().verify_presentation,
        forged,
    )


def test_dependants_credential_with_the_insureds_beneficiary_map_is_refused(
    world: World,
) -> None:
    child = cose.decode_sign1(world.bundle.credentials[2])
    insured = _cbor.decode(cose.decode_sign1(world.bundle.credentials[0]).payload)
    claims = _cbor.decode(child.payload)
    claims[CwtClaim.CARD][CardLabel.BENEFICIARY] = insured[CwtClaim.CARD][CardLabel.BENEFICIARY]
    del claims[CwtClaim.CARD][CardLabel.INDEX]  # the insured's view carries no index
    forged = with_parts(world.bundle.credentials[2], payload=_cbor.encode(claims))
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_beneficiary_index_rewritten_alone_is_refused(world: World) -> None:
    message = cose.decode_sign1(world.bundle.credentials[3])
    claims = _cbor.decode(message.payload)
    claims[CwtClaim.CARD][CardLabel.INDEX] = 2
    forged = with_parts(world.bundle.credentials[3], payload=_cbor.encode(claims))
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_issuer_signature_spliced_onto_a_sibling_credential_payload_is_refused(
    world: World,
) -> None:
    sibling = cose.decode_sign1(world.bundle.credentials[1])
    forged = with_parts(world.bundle.credentials[0], payload=sibling.payload)
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_device_signature_of_one_token_spliced_onto_another_payload_is_refused(
    world: World,
) -> None:
    first = token(world, nonce=b"\x01" * NONCE_LENGTH)
    second = cose.decode_sign1(token(world, nonce=b"\x02" * NONCE_LENGTH))
    forged = with_parts(first, payload=second.payload)
    expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        world.verifier().verify_presentation,
        forged,
    )


def test_device_key_swapped_into_cnf_breaks_the_issuer_signature(world: World) -> None:
    thief = SoftwareDeviceKey.generate()
    claims = _cbor.decode(cose.decode_sign1(world.bundle.credentials[0]).payload)
    claims[CwtClaim.CNF] = {1: thief.cose_key().to_map()}
    spliced = with_parts(strip_x5chain(world.bundle.credentials[0]), payload=_cbor.encode(claims))
    forged = present(spliced, thief, clock=world.clock)
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_presentation, forged)


def test_status_list_token_of_the_same_issuer_presented_as_a_credential_is_refused(
    world: World,
) -> None:
    status_token = issue_status_list(
        world.material.signer(),
        kid=world.material.kid,
        uri="https://status.example/1",
        list_id=1,
        status_list=StatusList(1, 8),
        iat=NOW,
    )
    expect(
        SchemaUnknownLabel,
        "schema.unknown_label",
        world.verifier().verify_credential,
        status_token,
    )


def test_enrolment_proof_of_possession_replayed_as_a_presentation_is_refused(
    world: World,
) -> None:
    proof = possession_proof(world.device, b"\x05" * 16, NOW)
    expect(SchemaError, "schema.invalid", world.verifier().verify_presentation, proof)


def test_presentation_resigned_around_a_credential_with_an_altered_status_is_refused(
    world: World,
) -> None:
    genuine = resign(world, world.bundle.credentials[0])
    claims = _cbor.decode(cose.decode_sign1(genuine).payload)
    claims[CwtClaim.NBF] = NOW - 10
    tampered = with_parts(strip_x5chain(genuine), payload=_cbor.encode(claims))
    forged = present(tampered, world.device, clock=world.clock)
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_presentation, forged)
