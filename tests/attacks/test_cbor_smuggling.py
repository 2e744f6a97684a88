"""Duplicate-key and non-deterministic CBOR smuggling: two parsers, two meanings.

A signer and a verifier that read the same bytes differently can be made to
disagree on what was signed. cbor2 (like most decoders) keeps the LAST of two
duplicate keys; the strict decoder refuses the map, so no reading is ever chosen.
"""

from __future__ import annotations

import struct

import cbor2

from vitale_cred.clock import FixedClock
from vitale_cred.errors import (
    CborDuplicateKey,
    CborIndefiniteLength,
    CborNonDeterministic,
    CborTrailingBytes,
    CborTypeNotAllowed,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.registry import CoseAlg, CwtClaim, PresentationLabel
from vitale_cred.status import StatusList, issue_status_list, verify_status_list
from vitale_cred.trust import TrustStore, Usage, raw_key

from ._support import (
    bstr,
    claims_map,
    device_signs,
    expect,
    head,
    issuer_signs,
    payload_map,
    sign1_bytes,
    token,
)
from _world import NOW, World


def _map_items(value: dict[int, object]) -> bytes:
    """The encoded pairs of a map, without the map head."""
    encoded = _cbor.encode(value)
    return encoded[len(head(5, len(value))) :]


def test_duplicate_exp_claim_is_refused_where_cbor2_would_keep_the_later_expiry(
    world: World,
) -> None:
    claims = claims_map(world)
    short_lived = claims[CwtClaim.EXP]
    far_future = short_lived + 10 * 365 * 86_400
    pairs = _map_items(claims) + head(0, CwtClaim.EXP) + head(0, far_future)
    payload = head(5, len(claims) + 1) + pairs
    assert cbor2.loads(payload)[CwtClaim.EXP] == far_future  # what a lax verifier would use
    forged = issuer_signs(world, payload)
    expect(CborDuplicateKey, "cbor.duplicate_key", world.verifier().verify_credential, forged)


def test_duplicate_iat_in_a_presentation_payload_is_refused(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0])
    payload = head(5, len(wire) + 1) + _map_items(wire) + head(0, 2) + head(0, NOW + 250)
    assert cbor2.loads(payload)[PresentationLabel.IAT] == NOW + 250
    expect(
        CborDuplicateKey,
        "cbor.duplicate_key",
        world.verifier().verify_presentation,
        device_signs(world, payload),
    )


def test_duplicate_alg_in_the_protected_header_is_refused(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    protected = b"\xa3\x01\x26\x01\x05\x04" + bstr(world.material.kid)  # alg -7, alg 5, kid
    assert cbor2.loads(protected)[1] == int(CoseAlg.HMAC_256_256)
    forged = sign1_bytes(bstr(protected), b"\xa0", bstr(genuine.payload), bstr(genuine.signature))
    expect(CborDuplicateKey, "cbor.duplicate_key", world.verifier().verify_credential, forged)


def test_duplicate_key_inside_the_card_map_is_refused(world: World) -> None:
    claims = claims_map(world, 2)
    card = claims[CwtClaim.CARD]
    card_bytes = head(5, len(card) + 1) + _map_items(card) + head(0, 6) + head(0, 0)
    assert cbor2.loads(card_bytes)[6] == 0  # index 2 would read as the insured
    del claims[CwtClaim.CARD]
    pairs = _map_items(claims) + head(1, -1 - int(CwtClaim.CARD)) + card_bytes
    forged = issuer_signs(world, head(5, len(claims) + 1) + pairs)
    expect(CborDuplicateKey, "cbor.duplicate_key", world.verifier().verify_credential, forged)


def test_boolean_key_that_python_would_merge_with_key_1_is_refused(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0])
    payload = head(5, len(wire) + 1) + _map_items(wire) + b"\xf5" + bstr(b"\x00" * 16)
    assert cbor2.loads(payload)[1] == b"\x00" * 16  # True == 1: the credential is replaced
    expect(
        CborTypeNotAllowed,
        "cbor.type_not_allowed",
        world.verifier().verify_presentation,
        device_signs(world, payload),
    )


def test_duplicate_key_written_in_two_encodings_is_refused_by_the_lax_claims_parser(
    world: World,
) -> None:
    # Status list claims are read without the deterministic check (the draft's own
    # examples are not deterministic): a duplicate must still be caught when the two
    # keys are the same integer written in two head lengths.
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    trust = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(signer.public_key()),
                b"sl",
                usages=[Usage.STATUS_LIST],
            )
        ]
    )
    genuine = issue_status_list(
        signer,
        kid=b"sl",
        uri="https://a.example/1",
        list_id=1,
        status_list=StatusList(1, 8),
        iat=NOW,
    )
    claims = _cbor.decode(cose.decode_sign1(genuine).payload)
    pairs = _map_items(claims) + head(0, 2, width=1) + _cbor.encode("https://b.example/1")
    payload = head(5, len(claims) + 1) + pairs
    forged = cose.sign1(payload, signer, kid=b"sl", protected={16: "application/statuslist+cwt"})
    expect(
        CborDuplicateKey,
        "cbor.duplicate_key",
        verify_status_list,
        forged,
        trust,
        clock=FixedClock(NOW),
    )
    # Two list numbers: a reader keeping the first and a verifier the last would
    # disagree on which list this is.
    pairs = _map_items(claims) + _cbor.encode(-65539) + _cbor.encode(2)
    payload = head(5, len(claims) + 1) + pairs
    forged = cose.sign1(payload, signer, kid=b"sl", protected={16: "application/statuslist+cwt"})
    expect(
        CborDuplicateKey,
        "cbor.duplicate_key",
        verify_status_list,
        forged,
        trust,
        clock=FixedClock(NOW),
    )


def test_iat_in_a_non_shortest_head_is_refused_even_when_signed(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0])
    body = _cbor.encode(wire)
    short = head(0, 2) + head(0, NOW)
    assert short in body
    payload = body.replace(short, head(0, 2) + head(0, NOW, width=8))
    expect(
        CborNonDeterministic,
        "cbor.non_deterministic",
        world.verifier().verify_presentation,
        device_signs(world, payload),
    )


def test_claims_map_keys_out_of_canonical_order_are_refused(world: World) -> None:
    claims = claims_map(world)
    pairs = b"".join(_cbor.encode(k) + _cbor.encode(v) for k, v in reversed(claims.items()))
    forged = issuer_signs(world, head(5, len(claims)) + pairs)
    expect(
        CborNonDeterministic,
        "cbor.non_deterministic",
        world.verifier().verify_credential,
        forged,
    )


def test_indefinite_length_claims_map_is_refused(world: World) -> None:
    claims = claims_map(world)
    forged = issuer_signs(world, b"\xbf" + _map_items(claims) + b"\xff")
    expect(
        CborIndefiniteLength,
        "cbor.indefinite_length",
        world.verifier().verify_credential,
        forged,
    )


def test_credential_split_into_indefinite_byte_string_chunks_is_refused(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0])
    credential = wire.pop(PresentationLabel.CREDENTIAL)
    chunks = b"\x5f" + bstr(credential[:10]) + bstr(credential[10:]) + b"\xff"
    payload = head(5, len(wire) + 1) + b"\x01" + chunks + _map_items(wire)
    expect(
        CborIndefiniteLength,
        "cbor.indefinite_length",
        world.verifier().verify_presentation,
        device_signs(world, payload),
    )


def test_float_time_that_cbor2_would_accept_is_refused(world: World) -> None:
    claims = claims_map(world)
    iat = claims.pop(CwtClaim.IAT)
    float_iat = head(0, CwtClaim.IAT) + b"\xfb" + struct.pack(">d", float(iat))
    payload = head(5, len(claims) + 1) + float_iat + _map_items(claims)
    assert cbor2.loads(payload)[CwtClaim.IAT] == iat
    expect(
        CborTypeNotAllowed,
        "cbor.type_not_allowed",
        world.verifier().verify_credential,
        issuer_signs(world, payload),
    )


def test_bytes_smuggled_after_the_cose_array_are_refused(world: World) -> None:
    expect(
        CborTrailingBytes,
        "cbor.trailing_bytes",
        world.verifier().verify_presentation,
        token(world) + b"\xa0",
    )


def test_bytes_smuggled_after_the_signed_claims_map_are_refused(world: World) -> None:
    payload = _cbor.encode(claims_map(world)) + _cbor.encode({CwtClaim.EXP: 2**39})
    expect(
        CborTrailingBytes,
        "cbor.trailing_bytes",
        world.verifier().verify_credential,
        issuer_signs(world, payload),
    )
