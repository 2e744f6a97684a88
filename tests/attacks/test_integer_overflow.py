"""Integer overflows: 2^64 - 1, negative times and huge values in signed fields.

Python integers do not wrap, so the risk is semantic: a time far in the future
(a credential that never expires), a negative time, a serial or index beyond
what any other implementation stores. Every integer field has a stated range.
"""

from __future__ import annotations

from typing import Any

import pytest

from vitale_cred.clock import FixedClock
from vitale_cred.errors import (
    SchemaError,
    StatusIndexOutOfRange,
    StatusListInvalid,
    StatusReferenceInvalid,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.registry import CardLabel, CwtClaim, PresentationLabel
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    issue_status_list,
    verify_status_list,
)
from vitale_cred.verify import Policy, Verifier

from ._support import claims_map, device_signs, expect, issuer_signs, payload_map, resign
from _world import NOW, World

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


def _status_verifier(world: World) -> Verifier:
    """A verifier whose checker holds list 1 (1024 entries) signed by the world's issuer."""
    list_token = issue_status_list(
        world.material.signer(),
        kid=world.material.kid,
        uri="https://status.example/1",
        list_id=1,
        status_list=StatusList(1, 1024),
        iat=NOW - 10,
    )
    checker = StatusChecker(
        InMemoryStatusProvider([list_token]), world.trust, policy=StatusPolicy()
    )
    return Verifier(Policy(trust=world.trust, clock=world.clock, status=checker))


def test_status_index_of_2_to_the_32_minus_1_is_out_of_range(world: World) -> None:
    credential = resign(world, world.bundle.credentials[0], status=StatusReference(1, 2**32 - 1))
    expect(
        StatusIndexOutOfRange,
        "status.index_out_of_range",
        _status_verifier(world).verify_credential,
        credential,
    )


@pytest.mark.parametrize(
    "reference",
    [
        [1, 2**32],
        [1, U64_MAX],
        [2**32, 0],
        [U64_MAX, 0],
        [-1, 0],
        [1, -1],
        [1, -(2**64)],
        [True, 0],
        [1, False],
        [1],
        [1, 0, 0],
    ],
    ids=str,
)
def test_status_reference_outside_2_to_the_32_is_refused_even_when_signed(
    world: World, reference: list[Any]
) -> None:
    claims = claims_map(world)
    claims[CwtClaim.CARD][CardLabel.STATUS] = reference
    forged = issuer_signs(world, _cbor.encode(claims))
    expect(
        StatusReferenceInvalid,
        "status.reference_invalid",
        _status_verifier(world).verify_credential,
        forged,
    )


@pytest.mark.parametrize("list_id", [2**32, U64_MAX, -1, True])
def test_status_list_number_outside_2_to_the_32_is_refused_even_when_signed(
    world: World, list_id: Any
) -> None:
    claims = {
        CwtClaim.SUB: "https://status.example/1",
        CwtClaim.LIST: list_id,
        CwtClaim.IAT: NOW - 10,
        CwtClaim.STATUS_LIST: {"bits": 1, "lst": StatusList(1, 8).compressed()},
    }
    token = issuer_signs(world, _cbor.encode(claims), protected={16: "application/statuslist+cwt"})
    expect(
        StatusListInvalid,
        "status.list_invalid",
        verify_status_list,
        token,
        world.trust,
        clock=FixedClock(NOW),
    )
