"""The trust store's cache of validated x5chain paths: entered only after the message
carrying the chain verified, bounded, oldest insertion evicted first
(spec/verification.md section 4.1, spec/trust.md section 4.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from vitale_cred.credential import strip_x5chain
from vitale_cred.errors import CoseBadSignature, InvalidArgument, KeyWithdrawn
from vitale_cred.hazmat import cose
from vitale_cred.registry import CoseHeader
from vitale_cred.trust import PATH_CACHE_SIZE, TrustStore, Usage, verify_typed

from _world import NOW, World
from conftest import padding_certificates

_DER = serialization.Encoding.DER


def _roots_only(world: World, **options: Any) -> TrustStore:
    return TrustStore(roots=[world.material.root_certificate], **options)


def _carrying(world: World, extra: bytes | None = None) -> cose.Sign1:
    """The genuine credential, its x5chain the issuer certificate (and ``extra``)."""
    compact = strip_x5chain(world.bundle.credentials[0])
    msg = cose.decode_sign1(compact)
    chain = [world.material.issuer_certificate.public_bytes(_DER)]
    if extra is not None:
        chain.append(extra)
    unprotected = {**msg.unprotected, CoseHeader.X5CHAIN: chain}
    return cose.decode_sign1(
        cose.encode_sign1(msg.protected_bytes, unprotected, msg.payload, msg.signature)
    )


def _counting(monkeypatch: pytest.MonkeyPatch, store: TrustStore) -> list[int]:
    calls = [0]
    original: Callable[..., Any] = store._validated

    def counted(*args: Any) -> Any:
        calls[0] += 1
        return original(*args)

    monkeypatch.setattr(store, "_validated", counted)
    return calls


def test_resolve_alone_never_caches_an_x5chain_path(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _roots_only(world)
    calls = _counting(monkeypatch, store)
    message = _carrying(world)
    first = store.resolve(message, NOW, Usage.CREDENTIAL)
    second = store.resolve(message, NOW, Usage.CREDENTIAL)
    assert first.kid == second.kid == world.material.kid
    assert calls[0] == 2
    assert len(store._paths) == 0


def test_the_path_is_remembered_once_the_signature_verified(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _roots_only(world)
    calls = _counting(monkeypatch, store)
    message = _carrying(world)
    key, remember = store.resolve_pending(message, NOW, Usage.CREDENTIAL)
    message.verify(key.key, allowed_algs=store.allowed_algs)
    assert len(store._paths) == 0
    remember()
    assert len(store._paths) == 1
    assert store.resolve(message, NOW, Usage.CREDENTIAL) is key
    assert calls[0] == 1


def _typed(world: World, *, break_signature: bool) -> bytes:
    """A typed document signed by the issuer, carrying its certificate in x5chain."""
    data = cose.sign1(
        b"document",
        world.material.signer(),
        kid=world.material.kid,
        protected={CoseHeader.TYP: "application/example"},
        unprotected={CoseHeader.X5CHAIN: world.material.issuer_certificate.public_bytes(_DER)},
    )
    if not break_signature:
        return data
    msg = cose.decode_sign1(data)
    bad = bytearray(msg.signature)
    bad[7] ^= 1
    return cose.encode_sign1(msg.protected_bytes, dict(msg.unprotected), msg.payload, bytes(bad))


def test_a_signed_document_whose_signature_fails_leaves_no_path(world: World) -> None:
    store = _roots_only(world)
    options: dict[str, Any] = {
        "typ": "application/example",
        "usage": Usage.STATUS_LIST,
        "now": NOW,
        "max_size": 8192,
        "error": InvalidArgument,
    }
    with pytest.raises(CoseBadSignature):
        verify_typed(_typed(world, break_signature=True), store, **options)
    assert len(store._paths) == 0
    verify_typed(_typed(world, break_signature=False), store, **options)
    assert len(store._paths) == 1


def test_the_cache_holds_at_most_its_default_size_and_evicts_the_oldest(world: World) -> None:
    store = _roots_only(world)
    extras = padding_certificates(PATH_CACHE_SIZE + 4)
    for extra in extras:
        message = _carrying(world, extra)
        key, remember = store.resolve_pending(message, NOW, Usage.CREDENTIAL)
        message.verify(key.key, allowed_algs=store.allowed_algs)
        remember()
        assert len(store._paths) <= PATH_CACHE_SIZE
    assert len(store._paths) == PATH_CACHE_SIZE
    leaf = world.material.issuer_certificate.public_bytes(_DER)
    assert (leaf, extras[0]) not in store._paths
    assert (leaf, extras[-1]) in store._paths


def test_a_zero_size_disables_the_x5chain_cache_but_not_verification(world: World) -> None:
    store = _roots_only(world, path_cache_size=0)
    message = _carrying(world)
    key, remember = store.resolve_pending(message, NOW, Usage.CREDENTIAL)
    message.verify(key.key, allowed_algs=store.allowed_algs)
    remember()
    assert len(store._paths) == 0
    assert store.resolve(message, NOW, Usage.CREDENTIAL).kid == world.material.kid


@pytest.mark.parametrize("size", [-1, True, 2.0, "256"])
def test_path_cache_size_is_checked(world: World, size: object) -> None:
    with pytest.raises(InvalidArgument):
        _roots_only(world, path_cache_size=size)


def test_registered_chains_are_configuration_and_stay_out_of_the_bounded_cache(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TrustStore(
        roots=[world.material.root_certificate],
        certificates=[world.material.issuer_certificate],
        path_cache_size=1,
    )
    calls = _counting(monkeypatch, store)
    compact = cose.decode_sign1(strip_x5chain(world.bundle.credentials[0]))
    for _ in range(3):
        store.resolve(compact, NOW, Usage.CREDENTIAL)
    assert calls[0] == 1
    assert len(store._paths) == 0


def test_a_key_withdrawn_before_its_path_is_remembered_is_not_cached(world: World) -> None:
    store = _roots_only(world)
    message = _carrying(world)
    key, remember = store.resolve_pending(message, NOW, Usage.CREDENTIAL)
    message.verify(key.key, allowed_algs=store.allowed_algs)
    store.withdraw(world.material.kid)
    remember()
    assert len(store._paths) == 0
    with pytest.raises(KeyWithdrawn):
        store.resolve(message, NOW, Usage.CREDENTIAL)
