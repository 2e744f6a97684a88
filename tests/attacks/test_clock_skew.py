"""Clock skew edges: exactly at the bound passes, one second beyond fails.

The skew is a named, bounded policy constant (``clock.MAX_CLOCK_SKEW``); every
comparison is inclusive at the bound, for the credential and for the token.
Status lists get no skew on ``exp`` and ``MAX_CLOCK_SKEW`` on ``iat``.
"""

from __future__ import annotations

import pytest

from vitale_cred.clock import MAX_CLOCK_SKEW, FixedClock
from vitale_cred.errors import (
    Expired,
    NotYetValid,
    PresentationExpired,
    PresentationLifetimeTooLong,
    PresentationNotYetValid,
    StatusListExpired,
    StatusListInvalid,
    TrustListExpired,
)
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.presentation import present
from vitale_cred.registry import CoseAlg
from vitale_cred.status import StatusList, issue_status_list, verify_status_list
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import TrustList, sign_trust_list, verify_trust_list

from ._support import claims_of, expect, resign
from _world import NOW, World

SKEWS = [0, 30, MAX_CLOCK_SKEW]


@pytest.mark.parametrize("skew", SKEWS)
def test_credential_expiry_is_honoured_to_the_second_of_the_skew(world: World, skew: int) -> None:
    credential = world.bundle.credentials[0]
    verifier = world.verifier(skew=skew)
    world.clock.advance(claims_of(credential).exp + skew - NOW)
    assert verifier.verify_credential(credential)
    world.clock.advance(1)
    expect(Expired, "validity.expired", verifier.verify_credential, credential)


@pytest.mark.parametrize("skew", SKEWS)
def test_credential_iat_in_the_future_is_honoured_to_the_second_of_the_skew(
    world: World, skew: int
) -> None:
    at_bound = resign(world, world.bundle.credentials[0], iat=NOW + skew)
    beyond = resign(world, world.bundle.credentials[0], iat=NOW + skew + 1)
    verifier = world.verifier(skew=skew)
    assert verifier.verify_credential(at_bound)
    expect(NotYetValid, "validity.not_yet_valid", verifier.verify_credential, beyond)


def test_credential_nbf_is_honoured_to_the_second_of_the_skew(world: World) -> None:
    at_bound = resign(world, world.bundle.credentials[0], nbf=NOW + 30)
    beyond = resign(world, world.bundle.credentials[0], nbf=NOW + 31)
    verifier = world.verifier(skew=30)
    assert verifier.verify_credential(at_bound)
    expect(NotYetValid, "validity.not_yet_valid", verifier.verify_credential, beyond)


@pytest.mark.parametrize("skew", SKEWS)
def test_token_expiry_is_honoured_to_the_second_of_the_skew(world: World, skew: int) -> None:
    verifier = world.verifier(skew=skew)
    credential = world.bundle.credentials[0]
    at_bound = present(credential, world.device, clock=world.clock, ttl=60)
    beyond = present(credential, world.device, clock=world.clock, ttl=60)
    world.clock.advance(60 + skew)
    assert verifier.verify_presentation(at_bound)
    world.clock.advance(1)
    expect(PresentationExpired, "presentation.expired", verifier.verify_presentation, beyond)


@pytest.mark.parametrize("skew", SKEWS)
def test_token_from_a_phone_clock_ahead_is_honoured_to_the_second_of_the_skew(
    world: World, skew: int
) -> None:
    credential = world.bundle.credentials[0]
    at_bound = present(credential, world.device, clock=FixedClock(NOW + skew))
    beyond = present(credential, world.device, clock=FixedClock(NOW + skew + 1))
    verifier = world.verifier(skew=skew)
    assert verifier.verify_presentation(at_bound)
    expect(
        PresentationNotYetValid,
        "presentation.not_yet_valid",
        verifier.verify_presentation,
        beyond,
    )


def test_token_lifetime_at_the_policy_cap_passes_and_one_second_more_fails(
    world: World,
) -> None:
    verifier = world.verifier(max_token_lifetime=120)
    credential = world.bundle.credentials[0]
    assert verifier.verify_presentation(
        present(credential, world.device, clock=world.clock, ttl=120)
    )
    expect(
        PresentationLifetimeTooLong,
        "presentation.lifetime_too_long",
        verifier.verify_presentation,
        present(credential, world.device, clock=world.clock, ttl=121),
    )


def _status_world() -> tuple[cose.SoftwareSigner, TrustStore]:
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
    return signer, trust


def test_status_list_is_expired_from_its_exp_on_with_no_skew() -> None:
    signer, trust = _status_world()
    token = issue_status_list(
        signer,
        kid=b"sl",
        uri="https://status.example/1",
        list_id=1,
        status_list=StatusList(1, 8),
        iat=NOW - 100,
        exp=NOW + 1,
    )
    assert verify_status_list(token, trust, clock=FixedClock(NOW))
    expect(
        StatusListExpired,
        "status.list_expired",
        verify_status_list,
        token,
        trust,
        clock=FixedClock(NOW + 1),
    )


def test_status_list_iat_ahead_is_honoured_to_the_second_of_the_maximum_skew() -> None:
    signer, trust = _status_world()

    def issued_at(iat: int) -> bytes:
        return issue_status_list(
            signer,
            kid=b"sl",
            uri="https://status.example/1",
            list_id=1,
            status_list=StatusList(1, 8),
            iat=iat,
        )

    assert verify_status_list(issued_at(NOW + MAX_CLOCK_SKEW), trust, clock=FixedClock(NOW))
    expect(
        StatusListInvalid,
        "status.list_invalid",
        verify_status_list,
        issued_at(NOW + MAX_CLOCK_SKEW + 1),
        trust,
        clock=FixedClock(NOW),
    )


def test_trust_list_is_usable_up_to_its_next_update_and_not_one_second_after() -> None:
    # Its own key: a trust-list authority key is trusted for nothing else.
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    authority = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(signer.public_key()),
                b"sl",
                usages=[Usage.TRUST_LIST],
            )
        ]
    )
    data = sign_trust_list(TrustList(1, NOW - 10, NOW + 100, ()), signer, kid=b"sl")
    assert verify_trust_list(data, authority, clock=FixedClock(NOW + 100))
    expect(
        TrustListExpired,
        "trust.list_expired",
        verify_trust_list,
        data,
        authority,
        clock=FixedClock(NOW + 101),
    )
