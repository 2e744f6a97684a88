"""What the protocol does not prevent, demonstrated so that the limits stay known.

These tests assert ACCEPTANCE: each documents a residual risk of spec/security.md
section 5. They are not counted among the refused attacks (README.md).
"""

from __future__ import annotations

from vitale_cred.nfc import pair
from vitale_cred.presentation import present, present_qr
from vitale_cred.replay import InMemoryReplayCache

from ._support import holder_for, reader_for
from _world import World


def test_residual_qr_replayed_at_a_reader_with_its_own_cache_is_accepted(
    world: World,
) -> None:
    text = present_qr(world.bundle.credentials[0], world.device, clock=world.clock)
    assert world.verifier().verify_qr(text)  # the genuine reader
    world.clock.advance(20)  # the shoulder-surfer walks to another pharmacy
    assert world.verifier().verify_qr(text)


def test_residual_replay_cache_flooded_by_a_holder_forgets_the_oldest_tokens(
    world: World,
) -> None:
    # Any holder can mint valid tokens at will; a verifier that accepts tokens
    # from the network can be made to evict an unexpired nonce.
    capacity = 64
    verifier = world.verifier(replay_cache=InMemoryReplayCache(capacity))
    credential = world.bundle.credentials[0]
    victim = present(credential, world.device, clock=world.clock, ttl=60)
    assert verifier.verify_presentation(victim)
    for _ in range(capacity):
        flood = present(credential, world.device, clock=world.clock, ttl=300)
        assert verifier.verify_presentation(flood)
    assert verifier.verify_presentation(victim)  # replayed within its lifetime


def test_residual_nfc_relay_forwarding_bytes_unchanged_is_accepted(world: World) -> None:
    holder = holder_for(world)
    reader = reader_for(world)
    relayed: list[tuple[bytes, bytes]] = []
    assert pair(holder, reader, trace=relayed).beneficiary_index == 0
    assert len(relayed) == 2  # the relay saw only ciphertext and the FCI
