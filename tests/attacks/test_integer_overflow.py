"""Integer overflows: 2^64 - 1, negative times and huge values in signed fields.

Python integers do not wrap, so the risk is semantic: a time far in the future
(a credential that never expires), a negative time, a serial or index beyond
what any other implementation stores. Every integer field has a stated range.
"""

from __future__ import annotations

from vitale_cred import _cbor, cose
from vitale_cred.errors import SchemaError, StatusIndexOutOfRange
from vitale_cred.pki import generate_private_key
from vitale_cred.registry import CardLabel, CoseAlg, CwtClaim, PresentationLabel
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    issue_status_list,
)
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.verify import Policy, Verifier

from ._support import claims_map, device_signs, expect, issuer_signs, payload_map, resign
from conftest import NOW, World

U64_MAX = 2**64 - 1


def test_exp_of_2_to_the_64_minus_1_is_refused_even_when_signed(world: World) -> None:
    claims = claims_map(world)
    claims[CwtClaim.EXP] = U64_MAX
    forged = issuer_signs(world, _cbor.encode(claims))
    expect(SchemaError, "schema.invalid", world.verifier().verify_credential, forged)


def test_exp_just_past_the_40_bit_time_range_is_refused(world: World) -> None:
    claims = claims_map(world)
    claims[CwtClaim.EXP] = 2**40
    forged = issuer_signs(world, _cbor.encode(claims))
    expect(SchemaError, "schema.invalid", world.verifier().verify_credential, forged)


def test_negative_iat_is_refused_even_when_signed(world: World) -> None:
    claims = claims_map(world)
    claims[CwtClaim.IAT] = -1
    forged = issuer_signs(world, _cbor.encode(claims))
    expect(SchemaError, "schema.invalid", world.verifier().verify_credential, forged)


def test_most_negative_cbor_integer_as_nbf_is_refused(world: World) -> None:
    claims = claims_map(world)
    claims[CwtClaim.NBF] = -(2**64)
    forged = issuer_signs(world, _cbor.encode(claims))
    expect(SchemaError, "schema.invalid", world.verifier().verify_credential, forged)


def test_token_ttl_of_2_to_the_64_minus_1_is_refused(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0], ttl=U64_MAX)
    expect(
        SchemaError,
        "schema.invalid",
        world.verifier().verify_presentation,
        device_signs(world, _cbor.encode(wire)),
    )


def test_negative_token_iat_is_refused(world: World) -> None:
    wire = payload_map(world.bundle.credentials[0])
    wire[PresentationLabel.IAT] = -(2**63)
    expect(
        SchemaError,
        "schema.invalid",
        world.verifier().verify_presentation,
        device_signs(world, _cbor.encode(wire)),
    )


def test_card_serial_of_2_to_the_63_is_refused_even_when_signed(world: World) -> None:
    claims = claims_map(world)
    claims[CwtClaim.CARD][CardLabel.SERIAL] = 2**63
    forged = issuer_signs(world, _cbor.encode(claims))
    expect(SchemaError, "schema.invalid", world.verifier().verify_credential, forged)


def test_status_index_of_2_to_the_64_minus_1_is_out_of_range(world: World) -> None:
    uri = "https://status.example/1"
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    list_token = issue_status_list(
        signer, kid=b"sl", uri=uri, status_list=StatusList(1, 1024), iat=NOW - 10
    )
    status_trust = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(signer.public_key()),
                b"sl",
                usages=[Usage.STATUS_LIST],
            )
        ]
    )
    checker = StatusChecker(
        InMemoryStatusProvider({uri: list_token}), status_trust, policy=StatusPolicy()
    )
    credential = resign(world, world.bundle.credentials[0], status=StatusReference(U64_MAX, uri))
    verifier = Verifier(Policy(trust=world.trust, clock=world.clock, status=checker))
    expect(
        StatusIndexOutOfRange,
        "status.index_out_of_range",
        verifier.verify_credential,
        credential,
    )
