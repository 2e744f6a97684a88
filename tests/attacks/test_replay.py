"""Replay: a photographed QR shown again, an NFC answer carried to another session.

A QR token's signed nonce is remembered until the token expires; the cache keys
on the nonce, so no re-encoding, re-compression or signature twin evades it. A
cache shared by readers whose clocks and skews differ keeps every nonce until no
sharer can accept it. An NFC token is bound to its session transcript and never
enters the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vitale_cred.clock import MAX_CLOCK_SKEW, FixedClock
from vitale_cred.errors import (
    PresentationExpired,
    PresentationReplayed,
    TranscriptMismatch,
)
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.qrtext import decode_qr_text, encode_qr_text
from vitale_cred.presentation import present, present_qr
from vitale_cred.registry import CoseHeader
from vitale_cred.replay import InMemoryReplayCache, ReplayCache, SqliteReplayCache
from vitale_cred.verify import Policy, Verifier

from ._support import expect, high_s, with_parts
from _world import World


def test_qr_token_shown_twice_within_its_lifetime_is_refused(world: World) -> None:
    verifier = world.verifier()
    text = present_qr(world.bundle.credentials[0], world.device, clock=world.clock)
    verifier.verify_qr(text)
    world.clock.advance(30)
    expect(PresentationReplayed, "presentation.replayed", verifier.verify_qr, text)


def test_replay_re_wrapped_in_the_other_qr_compression_is_refused(world: World) -> None:
    verifier = world.verifier()
    text = present_qr(world.bundle.credentials[0], world.device, clock=world.clock, compress=False)
    verifier.verify_qr(text)
    rewrapped = encode_qr_text(decode_qr_text(text), compress=True)
    assert rewrapped != text
    expect(PresentationReplayed, "presentation.replayed", verifier.verify_qr, rewrapped)


def test_replay_with_the_ecdsa_signature_twin_r_n_minus_s_is_refused(world: World) -> None:
    verifier = world.verifier()
    genuine = present(world.bundle.credentials[0], world.device, clock=world.clock)
    verifier.verify_presentation(genuine)
    twin = with_parts(genuine, signature=high_s(cose.decode_sign1(genuine).signature))
    assert twin != genuine
    expect(PresentationReplayed, "presentation.replayed", verifier.verify_presentation, twin)


def test_replay_padded_with_an_unsigned_unprotected_header_is_refused(world: World) -> None:
    verifier = world.verifier()
    genuine = present(world.bundle.credentials[0], world.device, clock=world.clock)
    verifier.verify_presentation(genuine)
    padded = with_parts(genuine, unprotected={CoseHeader.KID: b"padding"})
    expect(PresentationReplayed, "presentation.replayed", verifier.verify_presentation, padded)


def test_replay_at_a_second_reader_sharing_the_cache_is_refused(world: World) -> None:
    shared = InMemoryReplayCache()
    counter = world.verifier(replay_cache=shared)
    back_office = world.verifier(replay_cache=shared)
    genuine = present(world.bundle.credentials[0], world.device, clock=world.clock)
    counter.verify_presentation(genuine)
    expect(PresentationReplayed, "presentation.replayed", back_office.verify_presentation, genuine)


def test_replay_after_the_token_lifetime_is_refused_as_expired(world: World) -> None:
    verifier = world.verifier(skew=30)
    genuine = present(world.bundle.credentials[0], world.device, clock=world.clock, ttl=60)
    verifier.verify_presentation(genuine)
    world.clock.advance(60 + 30 + 1)
    expect(PresentationExpired, "presentation.expired", verifier.verify_presentation, genuine)


def test_nfc_token_captured_in_one_session_is_refused_in_the_next(world: World) -> None:
    first = hashlib.sha256(b"transcript of session 1").digest()
    second = hashlib.sha256(b"transcript of session 2").digest()
    captured = present(
        world.bundle.credentials[0], world.device, clock=world.clock, transcript=first
    )
    expect(
        TranscriptMismatch,
        "presentation.transcript_mismatch",
        world.verifier().verify_presentation,
        captured,
        transcript=second,
    )


def test_nfc_token_captured_over_the_air_is_refused_when_shown_as_a_qr_code(
    world: World,
) -> None:
    captured = present(
        world.bundle.credentials[0],
        world.device,
        clock=world.clock,
        transcript=hashlib.sha256(b"eavesdropped session").digest(),
    )
    expect(
        TranscriptMismatch,
        "presentation.transcript_mismatch",
        world.verifier().verify_qr,
        encode_qr_text(captured),
    )


# --- one cache shared by readers whose clocks and skews differ ----------------------

#: Gives each reader its handle on the shared cache: the same object in memory, its
#: own connection to the same file for SQLite (as separate processes would have).
SharedCache = Callable[[], ReplayCache]


@pytest.fixture(params=["memory", "sqlite"])
def shared_cache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SharedCache]:
    if request.param == "memory":
        in_memory = InMemoryReplayCache()
        yield lambda: in_memory
        return
    opened: list[SqliteReplayCache] = []

    def connect() -> ReplayCache:
        opened.append(SqliteReplayCache(tmp_path / "replay.db"))
        return opened[-1]

    yield connect
    for cache in opened:
        cache.close()


def _reader(world: World, cache: ReplayCache, clock: FixedClock, skew: int) -> Verifier:
    return Verifier(Policy(trust=world.trust, clock=clock, skew=skew, replay_cache=cache))


def test_replay_after_a_reader_with_its_clock_11_s_ahead_purged_the_nonce_is_refused(
    world: World, shared_cache: SharedCache
) -> None:
    skew = MAX_CLOCK_SKEW
    counter = _reader(world, shared_cache(), world.clock, skew)
    ahead_clock = FixedClock(world.clock.now() + 11)
    ahead = _reader(world, shared_cache(), ahead_clock, skew)
    credential = world.bundle.credentials[0]
    photographed = present(credential, world.device, clock=world.clock, ttl=60)
    counter.verify_presentation(photographed)
    # Five seconds before the counter stops accepting the token, the reader ahead
    # is already past that instant on its own clock, and verifies another token:
    # a purge by its clock alone would drop the photographed nonce.
    world.clock.advance(60 + skew - 5)
    ahead_clock.advance(60 + skew - 5)
    ahead.verify_presentation(present(credential, world.device, clock=ahead_clock, ttl=60))
    expect(PresentationReplayed, "presentation.replayed", counter.verify_presentation, photographed)


def test_replay_at_a_reader_with_a_larger_skew_after_expiry_at_the_first_is_refused(
    world: World, shared_cache: SharedCache
) -> None:
    strict = _reader(world, shared_cache(), world.clock, 0)
    lenient = _reader(world, shared_cache(), world.clock, MAX_CLOCK_SKEW)
    photographed = present(world.bundle.credentials[0], world.device, clock=world.clock, ttl=60)
    strict.verify_presentation(photographed)
    world.clock.advance(60 + 10)  # expired for the strict reader, not for the lenient one
    expect(PresentationExpired, "presentation.expired", strict.verify_presentation, photographed)
    expect(PresentationReplayed, "presentation.replayed", lenient.verify_presentation, photographed)


def test_replay_at_a_larger_skew_reader_11_s_behind_after_a_purge_at_the_first_is_refused(
    world: World, shared_cache: SharedCache
) -> None:
    # Both differences at once: only recording every token until the largest skew
    # (not the recording reader's own) AND purging with the clock margin hold here.
    strict = _reader(world, shared_cache(), world.clock, 0)
    behind_clock = FixedClock(world.clock.now() - 11)
    lenient = _reader(world, shared_cache(), behind_clock, MAX_CLOCK_SKEW)
    credential = world.bundle.credentials[0]
    photographed = present(credential, world.device, clock=world.clock, ttl=60)
    strict.verify_presentation(photographed)
    world.clock.advance(60 + MAX_CLOCK_SKEW + 5)
    behind_clock.advance(60 + MAX_CLOCK_SKEW + 5)  # 6 s left before it expires there
    strict.verify_presentation(present(credential, world.device, clock=world.clock, ttl=60))
    expect(PresentationReplayed, "presentation.replayed", lenient.verify_presentation, photographed)
