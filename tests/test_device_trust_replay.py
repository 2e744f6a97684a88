"""Device keys and enrolment, the trust store, and the replay cache."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from vitale_cred.credential import strip_x5chain
from vitale_cred.device import (
    ENROLMENT_CONTEXT,
    ProvenDeviceKey,
    SoftwareDeviceKey,
    load_public_pem,
    new_nonce,
    possession_proof,
    verify_possession,
)
from vitale_cred.errors import (
    BadKey,
    CertificateChainError,
    InvalidArgument,
    ProofOfPossessionError,
    TrustError,
    UnknownIssuer,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.pki import (
    IssuerMaterial,
    generate_private_key,
    kid_for_certificate,
    make_issuer_certificate,
)
from vitale_cred.registry import CoseAlg, CoseHeader, ProofLabel
from vitale_cred.replay import SHARER_CLOCK_MARGIN, InMemoryReplayCache
from vitale_cred.trust import TrustStore, Usage

from _world import NOW, T0, World

NONCE = bytes(range(16))
DER = Encoding.DER


# --- device keys and proof of possession -----------------------------------------


def test_proof_of_possession_binds_the_key_it_proves() -> None:
    device = SoftwareDeviceKey.generate()
    proven = verify_possession(possession_proof(device, NONCE, NOW), NONCE, NOW)
    assert proven.proven
    assert proven.key == device.cose_key()


def test_proof_over_another_nonce_is_refused() -> None:
    proof = possession_proof(SoftwareDeviceKey.generate(), NONCE, NOW)
    with pytest.raises(ProofOfPossessionError) as info:
        verify_possession(proof, bytes(16), NOW)
    assert info.value.code == "issuance.pop_invalid"


def test_stale_proof_is_refused() -> None:
    proof = possession_proof(SoftwareDeviceKey.generate(), NONCE, NOW)
    with pytest.raises(ProofOfPossessionError):
        verify_possession(proof, NONCE, NOW + 301)


def test_proof_signed_by_a_key_other_than_the_one_it_names_is_refused() -> None:
    device, other = SoftwareDeviceKey.generate(), SoftwareDeviceKey.generate()
    payload = _cbor.encode(
        {
            ProofLabel.CONTEXT: ENROLMENT_CONTEXT,
            ProofLabel.NONCE: NONCE,
            ProofLabel.KEY: device.cose_key().to_map(),
            ProofLabel.IAT: NOW,
        }
    )
    with pytest.raises(ProofOfPossessionError) as info:
        verify_possession(cose.sign1(payload, other), NONCE, NOW)
    assert isinstance(info.value.__cause__, Exception)


def test_a_presentation_signature_cannot_pass_for_a_proof(world: World) -> None:
    from vitale_cred.presentation import present

    token = present(world.bundle.credentials[0], world.device, clock=world.clock)
    with pytest.raises(ProofOfPossessionError):
        verify_possession(token, NONCE, NOW)


@pytest.mark.parametrize("garbage", [b"", b"\xd2\x84", b"\x00" * 40])
def test_garbage_proofs_raise_the_proof_error(garbage: bytes) -> None:
    with pytest.raises(ProofOfPossessionError):
        verify_possession(garbage, NONCE, NOW)


def test_device_key_is_p256_only_and_its_repr_has_no_secret() -> None:
    device = SoftwareDeviceKey.generate()
    assert "PRIVATE" not in repr(device)
    pem = device.export_private_pem()
    assert b"PRIVATE KEY" in pem
    assert SoftwareDeviceKey.from_pem(pem).cose_key() == device.cose_key()
    assert load_public_pem(device.public_pem()) == device.cose_key()
    with pytest.raises(BadKey):
        SoftwareDeviceKey(generate_private_key(CoseAlg.ES384))  # type: ignore[arg-type]
    with pytest.raises(BadKey):
        ProvenDeviceKey.unsafe_without_proof(
            cose.CoseKey.from_public_key(generate_private_key(CoseAlg.EDDSA).public_key())
        )


def test_device_cose_key_is_compressed_and_loads_to_the_same_point() -> None:
    device = SoftwareDeviceKey.generate()
    key = device.cose_key()
    assert isinstance(key.y, bool)
    assert key.public_key().public_numbers() == device.public_key().public_numbers()


def test_nonce_rng_must_return_sixteen_bytes() -> None:
    assert new_nonce(lambda n: b"\x07" * n) == b"\x07" * 16
    with pytest.raises(InvalidArgument):
        new_nonce(lambda n: b"\x07")


# --- trust store -----------------------------------------------------------------


@pytest.mark.parametrize("alg", [CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA])
def test_issuer_certificates_of_each_algorithm_validate_to_their_root(alg: CoseAlg) -> None:
    material = IssuerMaterial.generate(alg, T0)
    trust = TrustStore(roots=[material.root_certificate])
    message = cose.decode_sign1(
        cose.sign1(
            b"x",
            material.signer(),
            kid=material.kid,
            unprotected={CoseHeader.X5CHAIN: material.issuer_certificate.public_bytes(DER)},
        )
    )
    key = trust.resolve(message, NOW, Usage.CREDENTIAL)
    assert key.alg is alg
    message.verify(key.key)
    with pytest.raises(CertificateChainError):
        trust.resolve(message, int((T0 - dt.timedelta(days=1)).timestamp()), Usage.CREDENTIAL)


def test_eddsa_path_refuses_a_certificate_signed_by_another_root() -> None:
    one = IssuerMaterial.generate(CoseAlg.EDDSA, T0)
    two = IssuerMaterial.generate(CoseAlg.EDDSA, T0)
    assert two.root_key is not None
    forged = make_issuer_certificate(
        one.issuer_key.public_key(),
        "Caisse primaire (test)",
        two.root_key,
        one.root_certificate,
        T0,
        T0 + dt.timedelta(days=30),
    )
    trust = TrustStore(roots=[one.root_certificate], certificates=[forged])
    message = cose.decode_sign1(cose.sign1(b"x", one.signer(), kid=kid_for_certificate(forged)))
    with pytest.raises(CertificateChainError):
        trust.resolve(message, NOW, Usage.CREDENTIAL)


def test_message_naming_no_signer_is_an_unknown_issuer(world: World) -> None:
    message = cose.decode_sign1(cose.sign1(b"x", world.material.signer()))
    with pytest.raises(UnknownIssuer):
        world.trust.resolve(message, NOW, Usage.CREDENTIAL)


def test_x5chain_of_the_wrong_shape_is_refused(world: World) -> None:
    for chain in ([], [1], "cert", [b"a", b"b", b"c", b"d"]):
        message = cose.decode_sign1(
            cose.sign1(b"x", world.material.signer(), unprotected={CoseHeader.X5CHAIN: chain})
        )
        with pytest.raises(TrustError):
            world.trust.resolve(message, NOW, Usage.CREDENTIAL)
    message = cose.decode_sign1(
        cose.sign1(b"x", world.material.signer(), unprotected={CoseHeader.X5CHAIN: b"junk"})
    )
    with pytest.raises(CertificateChainError):
        world.trust.resolve(message, NOW, Usage.CREDENTIAL)


def test_a_root_must_be_a_ca(world: World) -> None:
    with pytest.raises(InvalidArgument):
        TrustStore(roots=[world.material.issuer_certificate])


def test_trust_store_from_pem_splits_roots_and_issuers(world: World) -> None:
    pem = world.material.root_certificate.public_bytes(Encoding.PEM)
    pem += world.material.issuer_certificate.public_bytes(Encoding.PEM)
    trust = TrustStore.from_pem(pem)
    assert trust.roots == [world.material.root_certificate]
    message = cose.decode_sign1(strip_x5chain(world.bundle.credentials[0]))
    assert trust.resolve(message, NOW, Usage.CREDENTIAL).kid == world.material.kid


# --- replay cache ------------------------------------------------------------------


def test_replay_cache_remembers_until_expiry_plus_the_clock_margin() -> None:
    cache = InMemoryReplayCache(capacity=10)
    assert cache.check_and_add(b"a", expires_at=100, now=50)
    assert not cache.check_and_add(b"a", expires_at=100, now=99)
    # A sharer whose clock runs ahead may still be behind the recording reader's.
    assert not cache.check_and_add(b"a", expires_at=200, now=100 + SHARER_CLOCK_MARGIN)
    assert cache.check_and_add(b"a", expires_at=200, now=101 + SHARER_CLOCK_MARGIN)


def test_replay_cache_memory_is_bounded_under_a_flood() -> None:
    cache = InMemoryReplayCache(capacity=1000)
    for i in range(20_000):
        assert cache.check_and_add(i.to_bytes(16, "big"), expires_at=10_000 + i, now=0)
    assert len(cache) == 1000
    # The entries dropped first are those that expire first.
    assert cache.check_and_add((0).to_bytes(16, "big"), expires_at=10_000, now=0)
    assert not cache.check_and_add((19_999).to_bytes(16, "big"), expires_at=29_999, now=0)


def test_replay_cache_is_thread_safe() -> None:
    cache = InMemoryReplayCache(capacity=100_000)
    accepted: list[bool] = []

    def run() -> None:
        for i in range(5000):
            accepted.append(cache.check_and_add(i.to_bytes(4, "big"), 10, 0))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(accepted) == 5000


def test_replay_cache_capacity_must_be_positive() -> None:
    with pytest.raises(InvalidArgument):
        InMemoryReplayCache(capacity=0)


def test_refusing_cache_never_forgets_an_unexpired_nonce_under_a_flood() -> None:
    from vitale_cred.errors import ReplayCacheFull

    cache = InMemoryReplayCache(capacity=100, when_full="refuse")
    for i in range(100):
        assert cache.check_and_add(i.to_bytes(16, "big"), expires_at=1_000, now=0)
    with pytest.raises(ReplayCacheFull) as info:
        cache.check_and_add(b"\xff" * 16, expires_at=1_000, now=0)
    assert info.value.code == "presentation.replay_cache_full"
    # Every recorded nonce is still refused as a replay: nothing was evicted.
    assert not cache.check_and_add((0).to_bytes(16, "big"), expires_at=1_000, now=0)
    # Once the entries are dead for every sharer, new tokens are accepted again.
    assert cache.check_and_add(b"\xff" * 16, expires_at=3_000, now=1_001 + SHARER_CLOCK_MARGIN)


def test_verifier_with_a_refusing_cache_reports_it_full(world: World) -> None:
    from vitale_cred.errors import ReplayCacheFull
    from vitale_cred.presentation import present

    verifier = world.verifier(replay_cache=InMemoryReplayCache(1, when_full="refuse"))
    verifier.verify_presentation(
        present(world.bundle.credentials[0], world.device, clock=world.clock)
    )
    with pytest.raises(ReplayCacheFull):
        verifier.verify_presentation(
            present(world.bundle.credentials[1], world.device, clock=world.clock)
        )


def test_replay_cache_options_are_checked() -> None:
    with pytest.raises(InvalidArgument):
        InMemoryReplayCache(10, when_full="drop")  # type: ignore[arg-type]
