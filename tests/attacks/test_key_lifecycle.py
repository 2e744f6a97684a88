"""Expired, rotated and withdrawn keys; an insider with an old issuer key.

A trusted key is checked against its own window at the verification instant
(not at the credential's ``iat``, which its signer chooses), withdrawal takes
effect at once, and a trust list can never be rolled back to one that still
held a withdrawn key.
"""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives.serialization import Encoding

from vitale_cred import cose
from vitale_cred.credential import Issuer, strip_x5chain
from vitale_cred.errors import (
    KeyNotValidAtTime,
    KeyUsageNotAllowed,
    KeyWithdrawn,
    TrustListInvalid,
    TrustListRollback,
    UnknownIssuer,
)
from vitale_cred.pki import generate_private_key
from vitale_cred.registry import CoseAlg, CoseHeader
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import (
    TrustList,
    TrustListEntry,
    TrustListReader,
    sign_trust_list,
)
from vitale_cred.verify import Policy, Verifier

from ._support import claims_of, expect
from conftest import NOW, World

DAY = 86_400


@dataclasses.dataclass
class Keys:
    root: cose.SoftwareSigner
    old: cose.SoftwareSigner
    new: cose.SoftwareSigner

    def entry(self, which: str, **window: int) -> TrustListEntry:
        signer = getattr(self, which)
        return TrustListEntry(
            kid=which.encode(),
            algs=frozenset({CoseAlg.ES256}),
            usages=frozenset({Usage.CREDENTIAL}),
            key=cose.CoseKey.from_public_key(signer.public_key()),
            **window,
        )

    def trust_list(self, seq: int, *entries: TrustListEntry) -> bytes:
        return sign_trust_list(
            TrustList(seq, NOW - DAY, NOW + 30 * DAY, entries), self.root, kid=b"root"
        )

    def authority(self) -> TrustStore:
        return TrustStore(
            keys=[
                raw_key(
                    cose.CoseKey.from_public_key(self.root.public_key()),
                    b"root",
                    usages=[Usage.TRUST_LIST],
                )
            ]
        )


def _keys() -> Keys:
    return Keys(*(cose.SoftwareSigner(generate_private_key(CoseAlg.ES256)) for _ in range(3)))


def _credential(world: World, signer: cose.SoftwareSigner, kid: bytes, **changes: int) -> bytes:
    claims = dataclasses.replace(claims_of(world.bundle.credentials[0]), **changes)
    return Issuer(signer, kid=kid, clock=world.clock).sign_claims(claims)


def test_raw_key_past_its_not_after_is_refused(world: World) -> None:
    keys = _keys()
    trust = TrustStore(
        keys=[
            raw_key(cose.CoseKey.from_public_key(keys.old.public_key()), b"old", not_after=NOW - 1)
        ]
    )
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    expect(
        KeyNotValidAtTime,
        "trust.key_not_valid",
        verifier.verify_credential,
        _credential(world, keys.old, b"old"),
    )


def test_raw_key_before_its_not_before_is_refused(world: World) -> None:
    keys = _keys()
    trust = TrustStore(
        keys=[
            raw_key(cose.CoseKey.from_public_key(keys.new.public_key()), b"new", not_before=NOW + 1)
        ]
    )
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    expect(
        KeyNotValidAtTime,
        "trust.key_not_valid",
        verifier.verify_credential,
        _credential(world, keys.new, b"new"),
    )


def test_retired_key_cannot_sign_a_backdated_credential_after_its_window(world: World) -> None:
    # An insider keeps the old issuer key after rotation and backdates iat into
    # the key's window: the window is checked at "now", so the forgery fails.
    keys = _keys()
    reader = TrustListReader(keys.authority())
    reader.update(
        keys.trust_list(1, keys.entry("old", not_after=NOW - DAY), keys.entry("new")), now=NOW
    )
    backdated = _credential(world, keys.old, b"old", iat=NOW - 2 * DAY, exp=NOW + 300 * DAY)
    verifier = Verifier(Policy(trust=reader.store, clock=world.clock))
    expect(KeyNotValidAtTime, "trust.key_not_valid", verifier.verify_credential, backdated)


def test_key_withdrawn_by_a_new_trust_list_is_unknown_at_once(world: World) -> None:
    keys = _keys()
    reader = TrustListReader(keys.authority())
    reader.update(keys.trust_list(1, keys.entry("old"), keys.entry("new")), now=NOW)
    verifier = Verifier(Policy(trust=reader.store, clock=world.clock))
    credential = _credential(world, keys.old, b"old")
    assert verifier.verify_credential(credential)
    reader.update(keys.trust_list(2, keys.entry("new")), now=NOW)
    expect(UnknownIssuer, "trust.unknown_issuer", verifier.verify_credential, credential)


def test_older_trust_list_still_holding_a_withdrawn_key_cannot_be_replayed(world: World) -> None:
    keys = _keys()
    reader = TrustListReader(keys.authority())
    old_list = keys.trust_list(1, keys.entry("old"), keys.entry("new"))
    reader.update(old_list, now=NOW)
    reader.update(keys.trust_list(2, keys.entry("new")), now=NOW)
    expect(TrustListRollback, "trust.list_rollback", reader.update, old_list, now=NOW)


def test_second_list_under_the_same_seq_cannot_reinstate_a_key(world: World) -> None:
    keys = _keys()
    reader = TrustListReader(keys.authority())
    reader.update(keys.trust_list(2, keys.entry("new")), now=NOW)
    rival = keys.trust_list(2, keys.entry("old"), keys.entry("new"))
    expect(TrustListRollback, "trust.list_rollback", reader.update, rival, now=NOW)


def test_trust_list_signed_by_an_issuer_key_is_refused(world: World) -> None:
    keys = _keys()
    authority = TrustStore(
        keys=[raw_key(cose.CoseKey.from_public_key(keys.old.public_key()), b"root")]
    )
    reader = TrustListReader(authority)
    forged = keys.trust_list(9, keys.entry("old"))
    expect(KeyUsageNotAllowed, "trust.usage_not_allowed", reader.update, forged, now=NOW)


def test_trust_list_without_its_typ_is_refused(world: World) -> None:
    keys = _keys()
    payload = cose.decode_sign1(keys.trust_list(3, keys.entry("new"))).payload
    forged = cose.sign1(payload, keys.root, kid=b"root")
    reader = TrustListReader(keys.authority())
    expect(TrustListInvalid, "trust.list_invalid", reader.update, forged, now=NOW)


def _x509_verifier(world: World) -> tuple[TrustStore, Verifier]:
    trust = TrustStore(
        roots=[world.material.root_certificate], certificates=[world.material.issuer_certificate]
    )
    return trust, Verifier(Policy(trust=trust, clock=world.clock))


def test_withdrawn_x509_issuer_named_by_kid_is_refused_at_once(world: World) -> None:
    trust, verifier = _x509_verifier(world)
    compact = strip_x5chain(world.bundle.credentials[0])
    assert verifier.verify_credential(compact)
    trust.withdraw(world.material.kid)
    expect(KeyWithdrawn, "trust.key_withdrawn", verifier.verify_credential, compact)


def test_withdrawn_x509_issuer_stays_withdrawn_when_the_message_carries_its_chain(
    world: World,
) -> None:
    # The insider (or thief) of a compromised issuer key keeps the certificate in
    # the unprotected x5chain, which no signature covers.
    trust, verifier = _x509_verifier(world)
    full = world.bundle.credentials[0]
    assert cose.decode_sign1(full).unprotected[CoseHeader.X5CHAIN]
    assert verifier.verify_credential(full)
    trust.withdraw(world.material.kid)
    expect(KeyWithdrawn, "trust.key_withdrawn", verifier.verify_credential, full)


def test_issuer_certificate_dropped_from_the_trust_list_stays_out_when_carried(
    world: World,
) -> None:
    keys = _keys()
    entry = TrustListEntry(
        kid=world.material.kid,
        algs=frozenset({CoseAlg.ES256}),
        usages=frozenset({Usage.CREDENTIAL}),
        certificate=world.material.issuer_certificate.public_bytes(Encoding.DER),
    )
    reader = TrustListReader(keys.authority())
    reader.update(keys.trust_list(1, entry, keys.entry("new")), now=NOW)
    verifier = Verifier(Policy(trust=reader.store, clock=world.clock))
    full = world.bundle.credentials[0]
    assert verifier.verify_credential(full)
    reader.update(keys.trust_list(2, keys.entry("new")), now=NOW)
    expect(UnknownIssuer, "trust.unknown_issuer", verifier.verify_credential, full)


def test_trust_list_entry_whose_certificate_claims_version_4_is_refused(world: World) -> None:
    der = world.material.issuer_certificate.public_bytes(Encoding.DER)
    version = der.find(bytes.fromhex("a003020102"))
    forged_der = der[: version + 4] + b"\x04" + der[version + 5 :]
    keys = _keys()
    entry = TrustListEntry(
        kid=world.material.kid,
        algs=frozenset({CoseAlg.ES256}),
        usages=frozenset({Usage.CREDENTIAL}),
        certificate=forged_der,
    )
    reader = TrustListReader(keys.authority())
    expect(
        TrustListInvalid, "trust.list_invalid", reader.update, keys.trust_list(5, entry), now=NOW
    )
