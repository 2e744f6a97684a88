"""Unauthenticated input filling memory or burning path validations.

``x5chain`` sits in the credential's unprotected header: a sender can wrap one
genuine compact credential in any certificates it likes, and each distinct chain
used to be validated (about 0.9 ms) and cached (about 14 KiB, never freed) before
the presentation's device signature was even looked at. The verifier now checks
the token's freshness and the device signature first, and the trust store keeps an
``x5chain`` path only once the message carrying it verified, in a bounded cache
(spec/verification.md sections 2 and 4.1, spec/security.md "Cost of unauthenticated
input").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from vitale_cred.credential import strip_x5chain
from vitale_cred.device import SoftwareDeviceKey
from vitale_cred.errors import CoseBadSignature, DeviceSignatureInvalid, PresentationExpired
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.presentation import NONCE_LENGTH, PresentationPayload
from vitale_cred.registry import CoseHeader, CwtClaim
from vitale_cred.trust import TrustStore
from vitale_cred.verify import Policy, Verifier

from ._support import claims_map, expect, with_parts
from _world import NOW, World
from conftest import padding_certificates

ATTEMPTS = 64
_DER = serialization.Encoding.DER


def _store(world: World, **options: Any) -> TrustStore:
    """A store of its own (the world's store is shared by other tests)."""
    return TrustStore(
        roots=[world.material.root_certificate],
        certificates=[world.material.issuer_certificate],
        **options,
    )


def _padded(world: World, credential: bytes, extra: bytes) -> bytes:
    """``credential`` carrying the genuine issuer certificate plus ``extra`` in x5chain."""
    leaf = world.material.issuer_certificate.public_bytes(_DER)
    msg = cose.decode_sign1(credential)
    unprotected = {**msg.unprotected, CoseHeader.X5CHAIN: [leaf, extra]}
    return with_parts(credential, unprotected=unprotected)


def _token(credential: bytes, signer: SoftwareDeviceKey, nonce: bytes, *, iat: int = NOW) -> bytes:
    """A presentation of ``credential`` exactly as given (x5chain kept), device-signed."""
    payload = PresentationPayload(credential, iat, 60, nonce).to_wire()
    return cose.sign1(_cbor.encode(payload), signer)


def _nonce(i: int) -> bytes:
    return i.to_bytes(NONCE_LENGTH, "big")


def _count(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """Count the calls of ``owner.name`` (the original still runs)."""
    calls = [0]
    original: Callable[..., Any] = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_distinct_x5chains_with_garbage_device_signatures_validate_and_cache_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(world)
    verifier = Verifier(Policy(trust=store, clock=world.clock))
    compact = strip_x5chain(world.bundle.credentials[0])
    validations = _count(monkeypatch, store, "_validated")
    verifications = _count(monkeypatch, cose.Sign1, "verify")
    paths_before = len(store._paths)
    for i, extra in enumerate(padding_certificates(ATTEMPTS)):
        genuine = _token(_padded(world, compact, extra), world.device, _nonce(i))
        forged = with_parts(genuine, signature=b"\x5a" * 64)
        expect(
            DeviceSignatureInvalid,
            "binding.device_signature_invalid",
            verifier.verify_presentation,
            forged,
        )
        assert len(store._paths) == paths_before
    # Per refused attempt: one ECDSA verification, no path validation, no state.
    assert validations[0] == 0
    assert verifications[0] == ATTEMPTS
    assert len(verifier._cache) == 0


def test_forged_credentials_around_the_senders_own_device_key_leave_no_cached_path(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sender holding a device key of its own passes the device signature; the
    # path is then validated once per attempt, bounded, and forgotten.
    store = _store(world)
    verifier = Verifier(Policy(trust=store, clock=world.clock))
    attacker = SoftwareDeviceKey.generate()
    claims = claims_map(world)
    claims[CwtClaim.CNF] = {1: attacker.cose_key().to_map()}
    forged = cose.sign1(_cbor.encode(claims), attacker, kid=world.material.kid)
    validations = _count(monkeypatch, store, "_validated")
    for i, extra in enumerate(padding_certificates(ATTEMPTS)):
        token = _token(_padded(world, forged, extra), attacker, _nonce(i))
        expect(CoseBadSignature, "cose.bad_signature", verifier.verify_presentation, token)
        assert len(store._paths) == 0
    assert validations[0] == ATTEMPTS
    assert len(verifier._cache) == 0


def test_expired_tokens_with_distinct_x5chains_are_refused_before_any_trust_work(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(world)
    verifier = Verifier(Policy(trust=store, clock=world.clock))
    compact = strip_x5chain(world.bundle.credentials[0])
    validations = _count(monkeypatch, store, "_validated")
    verifications = _count(monkeypatch, cose.Sign1, "verify")
    for i, extra in enumerate(padding_certificates(8)):
        token = _token(_padded(world, compact, extra), world.device, _nonce(i), iat=NOW - 3_600)
        expect(PresentationExpired, "presentation.expired", verifier.verify_presentation, token)
    assert (validations[0], verifications[0], len(store._paths)) == (0, 0, 0)


def test_genuine_holder_padding_its_x5chain_cannot_grow_the_path_cache_past_its_bound(
    world: World,
) -> None:
    # Every token here verifies: the holder's own credential and device, a distinct
    # harmless certificate appended each time. Accepted, and the cache stays bounded.
    store = _store(world, path_cache_size=4)
    verifier = Verifier(Policy(trust=store, clock=world.clock, issuer_cache_size=8))
    compact = strip_x5chain(world.bundle.credentials[0])
    for i, extra in enumerate(padding_certificates(20)):
        verified = verifier.verify_presentation(
            _token(_padded(world, compact, extra), world.device, _nonce(i))
        )
        assert verified.insured_nir == world.card.nir
        assert len(store._paths) == min(i + 1, 4)
        assert len(verifier._cache) == min(i + 1, 8)
