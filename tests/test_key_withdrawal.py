"""Withdrawal per public key and the trust-list authority's single usage
(spec/trust.md sections 6.1 and 7): TrustStore.withdraw_key, withdraw(kid),
usages_for_key, TrustedKey.spki_sha256, and withdrawn_keys(5) of trust lists."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable

import pytest
from cryptography.hazmat.primitives import serialization

from vitale_cred.clock import FixedClock
from vitale_cred.errors import (
    InvalidArgument,
    KeyUsageNotAllowed,
    KeyWithdrawn,
    TrustListInvalid,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.registry import CoseAlg, TrustListLabel
from vitale_cred.trust import (
    SPKI_SHA256_LENGTH,
    TrustedKey,
    TrustStore,
    Usage,
    raw_key,
    spki_sha256,
)
from vitale_cred.trustlist import (
    MAX_WITHDRAWN_KEYS,
    TrustList,
    TrustListEntry,
    TrustListReader,
    sign_trust_list,
    verify_trust_list,
)

from _world import NOW, World

DAY = 86_400


def _signer(alg: CoseAlg = CoseAlg.ES256) -> cose.SoftwareSigner:
    return cose.SoftwareSigner(generate_private_key(alg))


def _message(signer: cose.SoftwareSigner, kid: bytes) -> cose.Sign1:
    return cose.decode_sign1(cose.sign1(b"payload", signer, kid=kid))


def _key(
    signer: cose.SoftwareSigner,
    kid: bytes,
    usages: Iterable[Usage] = (Usage.CREDENTIAL, Usage.STATUS_LIST, Usage.STATEMENT),
) -> TrustedKey:
    return raw_key(cose.CoseKey.from_public_key(signer.public_key()), kid, usages=usages)


# --- key identity ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", [CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA])
def test_identity_is_the_sha256_of_the_der_subject_public_key_info(alg: CoseAlg) -> None:
    public = _signer(alg).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    identity = spki_sha256(public)
    assert identity == hashlib.sha256(der).digest()
    assert len(identity) == SPKI_SHA256_LENGTH
    assert spki_sha256(cose.CoseKey.from_public_key(public).verifying_key()) == identity


def test_identity_of_a_compressed_cose_key_is_that_of_the_key() -> None:
    public = _signer().public_key()
    compressed = cose.CoseKey.from_public_key(public, compressed=True)
    assert raw_key(compressed, b"k").spki_sha256 == spki_sha256(public)


def test_identity_of_a_certificate_key_is_that_of_the_key(world: World) -> None:
    cert = world.material.issuer_certificate
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki_sha256(cert.public_key()) == hashlib.sha256(der).digest()  # type: ignore[arg-type]


def test_trusted_key_identity_is_derived_never_given() -> None:
    signer, other = _signer(), _signer()
    key = raw_key(cose.CoseKey.from_public_key(signer.public_key()), b"k")
    with pytest.raises(ValueError, match="init=False"):
        dataclasses.replace(key, spki_sha256=spki_sha256(other.public_key()))
    moved = dataclasses.replace(
        key, key=cose.CoseKey.from_public_key(other.public_key()).verifying_key()
    )
    assert moved.spki_sha256 == spki_sha256(other.public_key())


def test_identity_refuses_a_key_that_is_not_ec_nor_ed25519() -> None:
    with pytest.raises(InvalidArgument):
        spki_sha256(b"not a key")  # type: ignore[arg-type]


# --- withdraw_key ------------------------------------------------------------------------


def test_withdraw_key_takes_the_identity_a_verifying_key_or_a_public_key() -> None:
    a, b, c = _signer(), _signer(), _signer(CoseAlg.EDDSA)
    store = TrustStore()
    store.withdraw_key(spki_sha256(a.public_key()))
    store.withdraw_key(cose.CoseKey.from_public_key(b.public_key()).verifying_key())
    store.withdraw_key(c.public_key())
    assert store.withdrawn_keys == {spki_sha256(s.public_key()) for s in (a, b, c)}


@pytest.mark.parametrize("value", [b"\x00" * 31, b"\x00" * 33, b"", "00" * 32, 7, None])
def test_withdraw_key_refuses_what_is_not_a_key_or_an_identity(value: object) -> None:
    with pytest.raises(InvalidArgument):
        TrustStore().withdraw_key(value)  # type: ignore[arg-type]


def test_withdrawn_key_is_refused_under_every_kid_added_before_or_after() -> None:
    signer = _signer()
    store = TrustStore(keys=[_key(signer, b"before")])
    assert store.resolve(_message(signer, b"before"), NOW).kid == b"before"
    store.withdraw_key(signer.public_key())
    store.add_key(_key(signer, b"after"))
    for kid in (b"before", b"after"):
        with pytest.raises(KeyWithdrawn, match="SPKI SHA-256"):
            store.resolve(_message(signer, kid), NOW)


def test_withdraw_key_leaves_other_keys_alone() -> None:
    kept, gone = _signer(), _signer()
    store = TrustStore(keys=[_key(kept, b"kept"), _key(gone, b"gone")])
    store.withdraw_key(gone.public_key())
    assert store.resolve(_message(kept, b"kept"), NOW).kid == b"kept"


def test_withdraw_key_applies_to_a_warm_cached_path(world: World) -> None:
    store = TrustStore(
        roots=[world.material.root_certificate], certificates=[world.material.issuer_certificate]
    )
    message = cose.decode_sign1(world.bundle.credentials[0])
    assert store.resolve(message, NOW).kid == world.material.kid  # now cached
    store.withdraw_key(world.material.issuer_certificate.public_key())  # type: ignore[arg-type]
    with pytest.raises(KeyWithdrawn):
        store.resolve(message, NOW)


# --- withdraw(kid) withdraws that kid's key ------------------------------------------------


def test_withdraw_kid_of_a_raw_key_withdraws_its_identity() -> None:
    signer = _signer()
    store = TrustStore(keys=[_key(signer, b"a"), _key(signer, b"b")])
    store.withdraw(b"a")
    assert store.withdrawn_keys == {spki_sha256(signer.public_key())}
    with pytest.raises(KeyWithdrawn):
        store.resolve(_message(signer, b"b"), NOW)


def test_withdraw_kid_of_a_registered_certificate_withdraws_its_identity(world: World) -> None:
    store = TrustStore(
        roots=[world.material.root_certificate], certificates=[world.material.issuer_certificate]
    )
    store.withdraw(world.material.kid)
    assert store.withdrawn_keys == {
        spki_sha256(world.material.issuer_certificate.public_key())  # type: ignore[arg-type]
    }


def test_withdraw_kid_of_a_path_seen_only_in_x5chain_withdraws_its_identity(
    world: World,
) -> None:
    store = TrustStore(roots=[world.material.root_certificate])
    # Only a message that verified leaves its x5chain path in the store.
    message = cose.decode_sign1(world.bundle.credentials[0])
    key, remember = store.resolve_pending(message, NOW)
    message.verify(key.key, allowed_algs=store.allowed_algs)
    remember()
    store.withdraw(world.material.kid)
    assert store.withdrawn_keys == {
        spki_sha256(world.material.issuer_certificate.public_key())  # type: ignore[arg-type]
    }


def test_withdraw_of_an_unknown_kid_withdraws_that_kid_only() -> None:
    store = TrustStore()
    store.withdraw(b"nobody")
    assert store.withdrawn_keys == frozenset()
    with pytest.raises(KeyWithdrawn):
        store.resolve(_message(_signer(), b"nobody"), NOW)


# --- the authority key's single usage ------------------------------------------------------


def test_usages_for_key_unites_raw_keys_and_registered_certificates(world: World) -> None:
    signer = _signer()
    store = TrustStore(
        keys=[
            _key(signer, b"a", usages=[Usage.STATUS_LIST]),
            _key(signer, b"b", usages=[Usage.STATEMENT]),
        ],
        roots=[world.material.root_certificate],
        certificates=[world.material.issuer_certificate],
    )
    assert store.usages_for_key(spki_sha256(signer.public_key())) == {
        Usage.STATUS_LIST,
        Usage.STATEMENT,
    }
    issuer = spki_sha256(world.material.issuer_certificate.public_key())  # type: ignore[arg-type]
    assert store.usages_for_key(issuer) == {Usage.CREDENTIAL, Usage.STATUS_LIST, Usage.STATEMENT}
    assert store.usages_for_key(b"\x00" * 32) == frozenset()


@pytest.mark.parametrize("usage", list(Usage))
def test_key_holding_trust_list_and_another_usage_is_refused_for_every_usage(
    usage: Usage,
) -> None:
    signer = _signer()
    store = TrustStore(keys=[_key(signer, b"k", usages=[Usage.TRUST_LIST, Usage.STATUS_LIST])])
    with pytest.raises(KeyUsageNotAllowed, match="trust-list authority key"):
        store.resolve(_message(signer, b"k"), NOW, usage)


def test_authority_key_alone_still_signs_trust_lists() -> None:
    signer = _signer()
    store = TrustStore(keys=[_key(signer, b"k", usages=[Usage.TRUST_LIST])])
    assert store.resolve(_message(signer, b"k"), NOW, Usage.TRUST_LIST).kid == b"k"


def test_replacing_the_issuer_entry_frees_the_authority_key() -> None:
    # The index follows replace_keys: once the issuer entry of the authority key is
    # gone, the authority key works again (the store never guessed a role).
    signer = _signer()
    store = TrustStore(
        keys=[_key(signer, b"tl", usages=[Usage.TRUST_LIST]), _key(signer, b"issuer")]
    )
    with pytest.raises(KeyUsageNotAllowed):
        store.resolve(_message(signer, b"tl"), NOW, Usage.TRUST_LIST)
    store.replace_keys([_key(signer, b"tl", usages=[Usage.TRUST_LIST])])
    assert store.resolve(_message(signer, b"tl"), NOW, Usage.TRUST_LIST).kid == b"tl"


def test_registered_certificate_carrying_an_authority_key_is_refused(world: World) -> None:
    store = TrustStore(
        roots=[world.material.root_certificate],
        certificates=[world.material.issuer_certificate],
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(world.material.issuer_certificate.public_key()),  # type: ignore[arg-type]
                b"tl",
                usages=[Usage.TRUST_LIST],
            )
        ],
    )
    compact = cose.decode_sign1(world.bundle.credentials[0])
    with pytest.raises(KeyUsageNotAllowed):
        store.resolve(compact, NOW)


# --- trust lists: withdrawn_keys(5) --------------------------------------------------------


def _entry(signer: cose.SoftwareSigner, kid: bytes) -> TrustListEntry:
    return TrustListEntry(
        kid=kid,
        algs=frozenset({CoseAlg.ES256}),
        usages=frozenset({Usage.CREDENTIAL}),
        key=cose.CoseKey.from_public_key(signer.public_key()),
    )


def test_withdrawn_keys_round_trip_and_are_absent_when_none() -> None:
    identity = spki_sha256(_signer().public_key())
    with_keys = TrustList(1, NOW, NOW + DAY, (), (identity,))
    wire = with_keys.to_wire()
    assert wire[TrustListLabel.WITHDRAWN_KEYS] == [identity]
    assert TrustList.from_wire(_cbor.decode(_cbor.encode(wire))) == with_keys
    assert TrustListLabel.WITHDRAWN_KEYS not in TrustList(1, NOW, NOW + DAY, ()).to_wire()


@pytest.mark.parametrize(
    "withdrawn",
    [
        (b"\x01" * 31,),
        (b"\x01" * 32, b"\x01" * 32),
        ("01" * 32,),
        tuple(i.to_bytes(32, "big") for i in range(MAX_WITHDRAWN_KEYS + 1)),
    ],
    ids=["short", "duplicate", "text", "too-many"],
)
def test_trust_list_refuses_malformed_withdrawn_keys(withdrawn: tuple[bytes, ...]) -> None:
    with pytest.raises(InvalidArgument):
        TrustList(1, NOW, NOW + DAY, (), withdrawn)


@pytest.mark.parametrize("value", [[], b"\x01" * 32, None])
def test_decoded_withdrawn_keys_must_be_a_non_empty_array(value: object) -> None:
    wire = TrustList(1, NOW, NOW + DAY, ()).to_wire()
    wire[TrustListLabel.WITHDRAWN_KEYS] = value
    with pytest.raises(TrustListInvalid):
        TrustList.from_wire(wire)


def _authority(root: cose.SoftwareSigner) -> TrustStore:
    return TrustStore(keys=[_key(root, b"root", usages=[Usage.TRUST_LIST])])


def test_verified_trust_list_carries_its_withdrawn_keys() -> None:
    root, issuer, gone = _signer(), _signer(), _signer()
    identity = spki_sha256(gone.public_key())
    data = sign_trust_list(
        TrustList(3, NOW, NOW + DAY, (_entry(issuer, b"i"),), (identity,)), root, kid=b"root"
    )
    verified = verify_trust_list(data, _authority(root), clock=FixedClock(NOW))
    assert verified.trust_list.withdrawn_keys == (identity,)


def test_trust_list_listing_and_withdrawing_one_key_is_invalid() -> None:
    root, issuer = _signer(), _signer()
    data = sign_trust_list(
        TrustList(3, NOW, NOW + DAY, (_entry(issuer, b"i"),), (spki_sha256(issuer.public_key()),)),
        root,
        kid=b"root",
    )
    with pytest.raises(TrustListInvalid, match="withdraws"):
        verify_trust_list(data, _authority(root), clock=FixedClock(NOW))


def test_trust_list_entry_with_an_authority_key_is_refused() -> None:
    root, other_root = _signer(), _signer()
    authority = TrustStore(
        keys=[
            _key(root, b"root", usages=[Usage.TRUST_LIST]),
            _key(other_root, b"root-2", usages=[Usage.TRUST_LIST]),
        ]
    )
    data = sign_trust_list(
        TrustList(3, NOW, NOW + DAY, (_entry(other_root, b"i"),)), root, kid=b"root"
    )
    with pytest.raises(KeyUsageNotAllowed, match="authority key"):
        verify_trust_list(data, authority, clock=FixedClock(NOW))


def test_reader_keeps_a_key_withdrawn_by_one_list_out_of_every_later_list() -> None:
    # List 1 withdraws the issuer key; list 2 lists it again under a new kid: the
    # reader's store refuses it, since a withdrawal is never undone by omission.
    authority = _signer()
    authority_kid = b"authority"
    authority_store = TrustStore(keys=[_key(authority, authority_kid, usages=(Usage.TRUST_LIST,))])
    issuer = _signer()
    reader = TrustListReader(authority_store)
    first = TrustList(1, NOW, NOW + DAY, (), (spki_sha256(issuer.public_key()),))
    reader.update(sign_trust_list(first, authority, kid=authority_kid), clock=FixedClock(NOW))
    second = TrustList(2, NOW, NOW + DAY, (_entry(issuer, b"renewed"),))
    reader.update(sign_trust_list(second, authority, kid=authority_kid), clock=FixedClock(NOW))
    with pytest.raises(KeyWithdrawn) as info:
        reader.store.resolve(_message(issuer, b"renewed"), NOW)
    assert info.value.code == "trust.key_withdrawn"
