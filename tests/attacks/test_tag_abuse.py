"""Tag abuse: a tag changes how a decoder reads what follows, so almost none pass.

Only tag 18 (COSE_Sign1) is allowed, only around the COSE array, exactly once.
The CWT tag 61, tag 24 (embedded CBOR), bignums and date tags are refused
wherever they appear, so no decoder can reinterpret a signed value.
"""

from __future__ import annotations

from vitale_cred.errors import CborTagNotAllowed, CoseError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.registry import CwtClaim, PresentationLabel

from ._support import (
    bstr,
    claims_map,
    device_signs,
    expect,
    head,
    issuer_signs,
    payload_map,
    tag,
    token,
)
from _world import World


def _untagged(data: bytes) -> bytes:
    assert data[0] == 0xD2
    return data[1:]


def test_credential_under_the_cwt_tag_61_instead_of_18_is_refused(world: World) -> None:
    forged = tag(61, _untagged(world.bundle.credentials[0]))
    expect(CborTagNotAllowed, "cbor.tag_not_allowed", world.verifier().verify_credential, forged)


def test_untagged_cose_sign1_is_refused(world: World) -> None:
    forged = _untagged(world.bundle.credentials[0])
    expect(CoseError, "cose.malformed", world.verifier().verify_credential, forged)


def test_tag_18_nested_twice_is_refused(world: World) -> None:
    forged = tag(18, world.bundle.credentials[0])
    expect(CoseError, "cose.malformed", world.verifier().verify_credential, forged)


def test_rfc8392_cwt_wrapper_61_around_18_is_refused(world: World) -> None:
    forged = tag(61, world.bundle.credentials[0])
    expect(CborTagNotAllowed, "cbor.tag_not_allowed", world.verifier().verify_credential, forged)


def test_self_described_cbor_tag_55799_prefix_is_refused(world: World) -> None:
    forged = tag(55799, token(world))
    expect(CborTagNotAllowed, "cbor.tag_not_allowed", world.verifier().verify_presentation, forged)


def test_embedded_credential_wrapped_in_tag_24_is_refused(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0])
    credential = wire.pop(PresentationLabel.CREDENTIAL)
    payload = (
        head(5, len(wire) + 1)
        + b"\x01"
        + tag(24, bstr(credential))
        + _cbor.encode(wire)[len(head(5, len(wire))) :]
    )
    expect(
        CborTagNotAllowed,
        "cbor.tag_not_allowed",
        world.verifier().verify_presentation,
        device_signs(world, payload),
    )


def test_embedded_credential_carrying_the_cwt_tag_is_refused(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0])
    wire[PresentationLabel.CREDENTIAL] = tag(61, wire[PresentationLabel.CREDENTIAL])
    expect(
        CborTagNotAllowed,
        "cbor.tag_not_allowed",
        world.verifier().verify_presentation,
        device_signs(world, _cbor.encode(wire)),
    )


def test_epoch_date_tag_on_exp_is_refused_even_when_signed(world: World) -> None:
    claims = claims_map(world)
    claims[CwtClaim.EXP] = _cbor.Tagged(1, claims[CwtClaim.EXP])
    expect(
        CborTagNotAllowed,
        "cbor.tag_not_allowed",
        world.verifier().verify_credential,
        issuer_signs(world, _cbor.encode(claims)),
    )


def test_bignum_tag_2_for_iat_is_refused_even_when_signed(world: World) -> None:
    claims = claims_map(world)
    claims[CwtClaim.IAT] = _cbor.Tagged(2, claims[CwtClaim.IAT].to_bytes(8, "big"))
    expect(
        CborTagNotAllowed,
        "cbor.tag_not_allowed",
        world.verifier().verify_credential,
        issuer_signs(world, _cbor.encode(claims)),
    )


def test_tag_inside_the_protected_header_is_refused(world: World) -> None:
    genuine = cose.decode_sign1(world.bundle.credentials[0])
    protected = b"\xa2\x01" + tag(18, b"\x26") + b"\x04" + bstr(world.material.kid)
    forged = tag(
        18,
        b"\x84" + bstr(protected) + b"\xa0" + bstr(genuine.payload) + bstr(genuine.signature),
    )
    expect(CborTagNotAllowed, "cbor.tag_not_allowed", world.verifier().verify_credential, forged)


def test_tag_18_smuggled_into_the_unprotected_kid_is_refused(world: World) -> None:
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    genuine = cose.decode_sign1(issuer_signs(world, payload, kid=None))
    unprotected = b"\xa1\x04" + tag(18, bstr(b"other-kid"))
    forged = tag(
        18,
        b"\x84"
        + bstr(genuine.protected_bytes)
        + unprotected
        + bstr(genuine.payload)
        + bstr(genuine.signature),
    )
    expect(CoseError, "cose.malformed", world.verifier().verify_credential, forged)
