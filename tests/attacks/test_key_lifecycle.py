"""Expired, rotated and withdrawn keys; an insider with an old issuer key.

A trusted key is checked against its own window at the verification instant
(not at the credential's ``iat``, which its signer chooses), withdrawal takes
effect at once, and a trust list can never be rolled back to one that still
held a withdrawn key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from vitale_cred.clock import FixedClock
from vitale_cred.credential import Issuer, strip_x5chain
from vitale_cred.errors import (
    KeyNotValidAtTime,
    KeyUsageNotAllowed,
    KeyWithdrawn,
    TrustListInvalid,
    TrustListRollback,
    UnknownIssuer,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key, kid_for_certificate, make_issuer_certificate
from vitale_cred.registry import CoseAlg, CoseHeader
from vitale_cred.trust import TrustStore, Usage, raw_key, spki_sha256
from vitale_cred.trustlist import (
    TRUST_LIST_TYP,
    TrustList,
    TrustListEntry,
    TrustListReader,
)
from vitale_cred.verify import Policy, Verifier

from ._support import claims_of, expect
from _world import NOW, T0, World

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
        """Signed by the authority's key without the producer's checks: what a
        compromised or careless producer could emit, for the reader to judge."""
        payload = TrustList(seq, NOW - DAY, NOW + 30 * DAY, entries).to_wire()
        return cose.sign1(
            _cbor.encode(payload), self.root, kid=b"root", protected={16: TRUST_LIST_TYP}
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
        keys.trust_list(1, keys.entry("old", not_after=NOW - DAY), keys.entry("new")),
        clock=FixedClock(NOW),
    )
    backdated = _credential(world, keys.old, b"old", iat=NOW - 2 * DAY, exp=NOW + 300 * DAY)
    verifier = Verifier(Policy(trust=reader.store, clock=world.clock))
    expect(KeyNotValidAtTime, "trust.key_not_valid", verifier.verify_credential, backdated)


def test_key_withdrawn_by_a_new_trust_list_is_unknown_at_once(world: World) -> None:
    keys = _keys()
    reader = TrustListReader(keys.authority())
    reader.update(keys.trust_list(1, keys.entry("old"), keys.entry("new")), clock=FixedClock(NOW))
    verifier = Verifier(Policy(trust=reader.store, clock=world.clock))
    credential = _credential(world, keys.old, b"old")
    assert verifier.verify_credential(credential)
    reader.update(keys.trust_list(2, keys.entry("new")), clock=FixedClock(NOW))
    expect(UnknownIssuer, "trust.unknown_issuer", verifier.verify_credential, credential)


def test_older_trust_list_still_holding_a_withdrawn_key_cannot_be_replayed(world: World) -> None:
    keys = _keys()
    reader = TrustListReader(keys.authority())
    old_list = keys.trust_list(1, keys.entry("old"), keys.entry("new"))
    reader.update(old_list, clock=FixedClock(NOW))
    reader.update(keys.trust_list(2, keys.entry("new")), clock=FixedClock(NOW))
    expect(TrustListRollback, "trust.list_rollback", reader.update, old_list, clock=FixedClock(NOW))


def test_second_list_under_the_same_seq_cannot_reinstate_a_key(world: World) -> None:
    keys = _keys()
    reader = TrustListReader(keys.authority())
    reader.update(keys.trust_list(2, keys.entry("new")), clock=FixedClock(NOW))
    rival = keys.trust_list(2, keys.entry("old"), keys.entry("new"))
    expect(TrustListRollback, "trust.list_rollback", reader.update, rival, clock=FixedClock(NOW))


def test_trust_list_signed_by_an_issuer_key_is_refused(world: World) -> None:
    keys = _keys()
    authority = TrustStore(
        keys=[raw_key(cose.CoseKey.from_public_key(keys.old.public_key()), b"root")]
    )
    reader = TrustListReader(authority)
    forged = keys.trust_list(9, keys.entry("old"))
    expect(
        KeyUsageNotAllowed, "trust.usage_not_allowed", reader.update, forged, clock=FixedClock(NOW)
    )


def test_trust_list_without_its_typ_is_refused(world: World) -> None:
    keys = _keys()
    payload = cose.decode_sign1(keys.trust_list(3, keys.entry("new"))).payload
    forged = cose.sign1(payload, keys.root, kid=b"root")
    reader = TrustListReader(keys.authority())
    expect(TrustListInvalid, "trust.list_invalid", reader.update, forged, clock=FixedClock(NOW))


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
    reader.update(keys.trust_list(1, entry, keys.entry("new")), clock=FixedClock(NOW))
    verifier = Verifier(Policy(trust=reader.store, clock=world.clock))
    full = world.bundle.credentials[0]
    assert verifier.verify_credential(full)
    reader.update(keys.trust_list(2, keys.entry("new")), clock=FixedClock(NOW))
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
        TrustListInvalid,
        "trust.list_invalid",
        reader.update,
        keys.trust_list(5, entry),
        clock=FixedClock(NOW),
    )


# --- withdrawal per key, not per certificate (spec/trust.md section 7) ------------------


def _renewed(world: World) -> x509.Certificate:
    """A certificate renewed by the genuine root for the (compromised) issuer key."""
    material = world.material
    assert material.root_key is not None
    return make_issuer_certificate(
        material.issuer_certificate.public_key(),  # type: ignore[arg-type]
        "Caisse primaire (test)",
        material.root_key,
        material.root_certificate,
        T0 - dt.timedelta(days=1),
        T0 + dt.timedelta(days=3 * 365),
        serial=77,
    )


def _signed_under(world: World, certificate: x509.Certificate, *, carried: bool) -> bytes:
    """A credential signed by the issuer key, naming ``certificate`` (kid, and x5chain)."""
    issuer = Issuer(
        world.material.signer(),
        kid=kid_for_certificate(certificate),
        clock=world.clock,
        x5chain=[certificate] if carried else (),
    )
    return issuer.sign_claims(claims_of(world.bundle.credentials[0]))


def _issuer_identity(world: World) -> bytes:
    return spki_sha256(world.material.issuer_certificate.public_key())  # type: ignore[arg-type]


def test_renewed_certificate_for_a_withdrawn_key_is_refused_when_carried_in_x5chain(
    world: World,
) -> None:
    # The insider holding the compromised key gets (or kept) a renewed certificate
    # for it: a new serial and kid, the same key.
    trust = TrustStore(roots=[world.material.root_certificate])
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    renewed = _signed_under(world, _renewed(world), carried=True)
    assert verifier.verify_credential(renewed)
    trust.withdraw_key(_issuer_identity(world))
    expect(KeyWithdrawn, "trust.key_withdrawn", verifier.verify_credential, renewed)


def test_renewed_certificate_for_a_withdrawn_key_is_refused_when_registered(
    world: World,
) -> None:
    trust, verifier = _x509_verifier(world)
    trust.withdraw_key(world.material.issuer_certificate.public_key())  # type: ignore[arg-type]
    # Registered after the withdrawal, named by kid only (the compact form).
    renewed = _renewed(world)
    trust.add_certificate(renewed)
    compact = _signed_under(world, renewed, carried=False)
    expect(KeyWithdrawn, "trust.key_withdrawn", verifier.verify_credential, compact)


def test_renewed_certificate_is_refused_after_the_old_kid_was_withdrawn(world: World) -> None:
    # withdraw(kid) withdraws the key the kid names, not only that one certificate.
    trust, verifier = _x509_verifier(world)
    trust.withdraw(world.material.kid)
    renewed = _signed_under(world, _renewed(world), carried=True)
    expect(KeyWithdrawn, "trust.key_withdrawn", verifier.verify_credential, renewed)


def test_raw_key_carrying_a_withdrawn_public_key_is_refused_under_a_new_kid(
    world: World,
) -> None:
    keys = _keys()
    trust = TrustStore()
    trust.withdraw_key(spki_sha256(keys.old.public_key()))
    # Re-listed under a fresh kid and as a compressed point: one key, one identity.
    compressed = cose.CoseKey.from_public_key(keys.old.public_key(), compressed=True)
    trust.add_key(raw_key(compressed, b"old-again"))
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    expect(
        KeyWithdrawn,
        "trust.key_withdrawn",
        verifier.verify_credential,
        _credential(world, keys.old, b"old-again"),
    )


# --- the trust-list authority key signs nothing else (spec/trust.md section 6.1) -------


def test_authority_key_that_also_signs_credentials_is_refused(world: World) -> None:
    keys = _keys()
    root_key = cose.CoseKey.from_public_key(keys.root.public_key())
    trust = TrustStore(
        keys=[raw_key(root_key, b"root", usages=[Usage.TRUST_LIST, Usage.CREDENTIAL])]
    )
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    expect(
        KeyUsageNotAllowed,
        "trust.usage_not_allowed",
        verifier.verify_credential,
        _credential(world, keys.root, b"root"),
    )
    # Nor does the dual key keep its trust-list role.
    reader = TrustListReader(trust)
    expect(
        KeyUsageNotAllowed,
        "trust.usage_not_allowed",
        reader.update,
        keys.trust_list(1, keys.entry("new")),
        clock=FixedClock(NOW),
    )


def test_authority_key_registered_again_as_an_issuer_under_another_kid_is_refused(
    world: World,
) -> None:
    keys = _keys()
    root_key = cose.CoseKey.from_public_key(keys.root.public_key())
    trust = TrustStore(
        keys=[
            raw_key(root_key, b"root", usages=[Usage.TRUST_LIST]),
            raw_key(root_key, b"issuer"),
        ]
    )
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    expect(
        KeyUsageNotAllowed,
        "trust.usage_not_allowed",
        verifier.verify_credential,
        _credential(world, keys.root, b"issuer"),
    )


def test_trust_list_vouching_for_its_own_authority_key_is_refused(world: World) -> None:
    keys = _keys()
    own = TrustListEntry(
        kid=b"issuer",
        algs=frozenset({CoseAlg.ES256}),
        usages=frozenset({Usage.CREDENTIAL}),
        key=cose.CoseKey.from_public_key(keys.root.public_key()),
    )
    reader = TrustListReader(keys.authority())
    expect(
        KeyUsageNotAllowed,
        "trust.usage_not_allowed",
        reader.update,
        keys.trust_list(1, own, keys.entry("new")),
        clock=FixedClock(NOW),
    )
