"""Trust lists (rotation, withdrawal, rollback, expiry) and revocation through the verifier."""

from __future__ import annotations

import dataclasses

import cbor2
import pytest

from vitale_cred.clock import FixedClock
from vitale_cred.credential import Delegation, Issuer, strip_x5chain
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey
from vitale_cred.errors import (
    CoseBadSignature,
    KeyNotValidAtTime,
    KeyUsageNotAllowed,
    Revoked,
    StatusUndetermined,
    Suspended,
    TrustListExpired,
    TrustListInvalid,
    TrustListRollback,
    UnknownIssuer,
)
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.presentation import present
from vitale_cred.registry import CardLabel, CoseAlg, CwtClaim
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    StatusValue,
    issue_status_list,
)
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import (
    StalePolicy,
    TrustList,
    TrustListEntry,
    TrustListReader,
    sign_trust_list,
    verify_trust_list,
)
from vitale_cred.verify import Policy, Verifier

from _world import NOW, World, family5

DAY = 86_400
ROOT_KID = b"root-1"


@dataclasses.dataclass
class Fund:
    """The root authority and two successive issuer keys, A then B."""

    root: cose.SoftwareSigner
    a: cose.SoftwareSigner
    b: cose.SoftwareSigner
    authority: TrustStore

    def entry(self, kid: bytes, signer: cose.SoftwareSigner, **kw: object) -> TrustListEntry:
        return TrustListEntry(
            kid=kid,
            algs=frozenset({signer.alg}),
            usages=frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST}),
            key=cose.CoseKey.from_public_key(signer.public_key()),
            **kw,  # type: ignore[arg-type]
        )

    def publish(self, seq: int, *entries: TrustListEntry, issued: int = NOW) -> bytes:
        return sign_trust_list(
            TrustList(seq, issued, issued + 7 * DAY, tuple(entries)), self.root, kid=ROOT_KID
        )


@pytest.fixture
def fund() -> Fund:
    root = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    authority = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(root.public_key()), ROOT_KID, usages=[Usage.TRUST_LIST]
            )
        ]
    )
    return Fund(
        root,
        cose.SoftwareSigner(generate_private_key(CoseAlg.ES256)),
        cose.SoftwareSigner(generate_private_key(CoseAlg.EDDSA)),
        authority,
    )


def credential(
    signer: cose.SoftwareSigner,
    kid: bytes,
    device: SoftwareDeviceKey,
    clock: FixedClock,
    index: int = 0,
    **kw: object,
) -> bytes:
    issuer = Issuer(signer, kid=kid, clock=clock)
    bundle = issuer.issue(
        family5(),
        ProvenDeviceKey.unsafe_without_proof(device.cose_key()),
        valid_days=90,
        beneficiaries=[index],
        **kw,
    )  # type: ignore[arg-type]
    return bundle.credentials[0]


def test_full_key_rotation_walk_through(fund: Fund) -> None:
    clock = FixedClock(NOW)
    device = SoftwareDeviceKey.generate()
    reader = TrustListReader(fund.authority)
    verifier = Verifier(Policy(trust=reader.store, clock=clock))

    # 1. Key A alone signs credentials.
    reader.update(fund.publish(1, fund.entry(b"A", fund.a)), clock=clock)
    old = credential(fund.a, b"A", device, clock)
    assert verifier.verify_presentation(present(old, device, clock=clock)).beneficiary_index == 0

    # 2. Rotation: B joins; A is retired but stays trusted until its stated end.
    clock.advance(DAY)
    retire_at = clock.now() + 60 * DAY
    reader.update(
        fund.publish(2, fund.entry(b"A", fund.a, not_after=retire_at), fund.entry(b"B", fund.b)),
        clock=clock,
    )
    new = credential(fund.b, b"B", device, clock, index=1)
    assert verifier.verify_presentation(present(new, device, clock=clock)).beneficiary_index == 1
    assert verifier.verify_presentation(present(old, device, clock=clock)).beneficiary_index == 0

    # 3. Past A's stated end, its credentials stop verifying; B's go on.
    clock.advance(61 * DAY)
    reader.update(
        fund.publish(
            3,
            fund.entry(b"A", fund.a, not_after=retire_at),
            fund.entry(b"B", fund.b),
            issued=clock.now(),
        ),
        clock=clock,
    )
    with pytest.raises(KeyNotValidAtTime):
        verifier.verify_presentation(present(old, device, clock=clock))
    assert verifier.verify_presentation(present(new, device, clock=clock))

    # 4. B is compromised: withdrawn at once by the next list.
    reader.update(fund.publish(4, issued=clock.now()), clock=clock)
    with pytest.raises(UnknownIssuer):
        verifier.verify_presentation(present(new, device, clock=clock))

    # 5. Replaying list 3 (which still trusts B) is a rollback.
    with pytest.raises(TrustListRollback) as info:
        reader.update(fund.publish(3, fund.entry(b"B", fund.b), issued=clock.now()), clock=clock)
    assert info.value.code == "trust.list_rollback"
    assert reader.current is not None
    assert reader.current.seq == 4


def test_two_different_lists_with_one_seq_are_refused(fund: Fund) -> None:
    reader = TrustListReader(fund.authority)
    reader.update(fund.publish(1, fund.entry(b"A", fund.a)), clock=FixedClock(NOW))
    reader.update(
        fund.publish(1, fund.entry(b"A", fund.a)), clock=FixedClock(NOW)
    )  # same bytes: fine
    with pytest.raises(TrustListRollback):
        reader.update(fund.publish(1, fund.entry(b"B", fund.b)), clock=FixedClock(NOW))


def test_expired_list_is_refused_or_flagged_by_explicit_policy(fund: Fund) -> None:
    data = fund.publish(1, fund.entry(b"A", fund.a))
    later = NOW + 8 * DAY
    with pytest.raises(TrustListExpired) as info:
        verify_trust_list(data, fund.authority, clock=FixedClock(later))
    assert info.value.code == "trust.list_expired"
    verified = verify_trust_list(
        data, fund.authority, clock=FixedClock(later), stale=StalePolicy.ACCEPT_STALE
    )
    assert verified.stale
    assert not verify_trust_list(data, fund.authority, clock=FixedClock(NOW)).stale


def test_list_signed_by_an_issuer_key_is_refused(fund: Fund) -> None:
    data = sign_trust_list(
        TrustList(1, NOW, NOW + DAY, (fund.entry(b"A", fund.a),)), fund.a, kid=b"A"
    )
    authority = TrustStore(keys=[raw_key(cose.CoseKey.from_public_key(fund.a.public_key()), b"A")])
    with pytest.raises(KeyUsageNotAllowed):
        verify_trust_list(data, authority, clock=FixedClock(NOW))


def test_tampered_list_and_wrong_typ_are_refused(fund: Fund) -> None:
    data = bytearray(fund.publish(1, fund.entry(b"A", fund.a)))
    data[-3] ^= 1
    with pytest.raises(CoseBadSignature):
        verify_trust_list(bytes(data), fund.authority, clock=FixedClock(NOW))
    wrong = cose.sign1(b"\xa0", fund.root, kid=ROOT_KID)
    with pytest.raises(TrustListInvalid):
        verify_trust_list(wrong, fund.authority, clock=FixedClock(NOW))


def test_entry_whose_key_does_not_match_its_algs_is_refused(fund: Fund) -> None:
    bad = dataclasses.replace(fund.entry(b"A", fund.a), algs=frozenset({CoseAlg.EDDSA}))
    reader = TrustListReader(fund.authority)
    with pytest.raises(TrustListInvalid):
        reader.update(fund.publish(1, bad), clock=FixedClock(NOW))
    assert reader.current is None


def test_certificate_entries_bring_their_validity(world: World, fund: Fund) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    entry = TrustListEntry(
        kid=world.material.kid,
        algs=frozenset({CoseAlg.ES256}),
        usages=frozenset({Usage.CREDENTIAL}),
        certificate=world.material.issuer_certificate.public_bytes(Encoding.DER),
    )
    reader = TrustListReader(fund.authority)
    reader.update(fund.publish(1, entry), clock=FixedClock(NOW))
    verifier = Verifier(Policy(trust=reader.store, clock=world.clock))
    compact = strip_x5chain(world.bundle.credentials[4])
    assert verifier.verify_credential(compact).card.index == 4
    world.clock.advance(3 * 365 * DAY)
    with pytest.raises(KeyNotValidAtTime):
        verifier.verify_credential(compact)


# --- revocation through the verifier ----------------------------------------------

URI = "https://status.vitale.example/lists/1"
LIST = 1


@dataclasses.dataclass
class Revocation:
    clock: FixedClock
    device: SoftwareDeviceKey
    issuer: Issuer
    signer: cose.SoftwareSigner
    provider: InMemoryStatusProvider
    statuses: StatusList
    verifier: Verifier
    other_signer: cose.SoftwareSigner

    def publish(self) -> None:
        self.provider.publish(self.sign(self.signer, b"S", self.statuses))

    def sign(self, signer: cose.SoftwareSigner, kid: bytes, statuses: StatusList) -> bytes:
        return issue_status_list(
            signer,
            kid=kid,
            uri=URI,
            list_id=LIST,
            status_list=statuses,
            iat=self.clock.now(),
            ttl=60,
        )


@pytest.fixture
def revocation() -> Revocation:
    clock = FixedClock(NOW)
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    # "T" is another issuer key of the same trust store, with lists of its own.
    other = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    trust = TrustStore(
        keys=[
            raw_key(cose.CoseKey.from_public_key(signer.public_key()), b"S"),
            raw_key(cose.CoseKey.from_public_key(other.public_key()), b"T"),
        ]
    )
    provider = InMemoryStatusProvider()
    checker = StatusChecker(provider, trust, policy=StatusPolicy())
    rev = Revocation(
        clock,
        SoftwareDeviceKey.generate(),
        Issuer(signer, kid=b"S", clock=clock),
        signer,
        provider,
        StatusList(2, 1024),
        Verifier(Policy(trust=trust, clock=clock, status=checker)),
        other,
    )
    rev.publish()
    return rev


def issue_with_status(rev: Revocation, index: int, **kw: object) -> bytes:
    bundle = rev.issuer.issue(
        family5(),
        ProvenDeviceKey.unsafe_without_proof(rev.device.cose_key()),
        valid_days=30,
        status=[StatusReference(LIST, index)],
        beneficiaries=[0],
        **kw,  # type: ignore[arg-type]
    )
    return bundle.credentials[0]


def test_revoked_suspended_and_reinstated(revocation: Revocation) -> None:
    rev = revocation
    cred = issue_with_status(rev, 7)
    assert rev.verifier.verify_presentation(present(cred, rev.device, clock=rev.clock))

    rev.statuses.set(7, StatusValue.SUSPENDED)
    rev.publish()
    rev.clock.advance(61)  # the cached list's ttl passes
    with pytest.raises(Suspended) as info:
        rev.verifier.verify_presentation(present(cred, rev.device, clock=rev.clock))
    assert info.value.code == "status.suspended"

    rev.statuses.set(7, StatusValue.VALID)
    rev.publish()
    rev.clock.advance(61)
    assert rev.verifier.verify_presentation(present(cred, rev.device, clock=rev.clock))

    rev.statuses.set(7, StatusValue.INVALID)
    rev.publish()
    rev.clock.advance(61)
    with pytest.raises(Revoked) as info2:
        rev.verifier.verify_presentation(present(cred, rev.device, clock=rev.clock))
    assert info2.value.code == "status.revoked"


def test_delegation_is_revoked_independently_of_the_holder(revocation: Revocation) -> None:
    rev = revocation
    own = issue_with_status(rev, 1)
    delegate = SoftwareDeviceKey.generate()
    delegated = rev.issuer.issue(
        family5(),
        ProvenDeviceKey.unsafe_without_proof(delegate.cose_key()),
        valid_days=30,
        status=[StatusReference(LIST, 2)],
        beneficiaries=[0],
        delegation=Delegation("MARTIN Pierre", "DURAND Anne"),
    ).credentials[0]
    assert rev.verifier.verify_presentation(present(delegated, delegate, clock=rev.clock))
    rev.statuses.set(2, StatusValue.INVALID)
    rev.publish()
    rev.clock.advance(61)
    with pytest.raises(Revoked):
        rev.verifier.verify_presentation(present(delegated, delegate, clock=rev.clock))
    assert rev.verifier.verify_presentation(present(own, rev.device, clock=rev.clock))


def test_missing_list_or_reference_is_undetermined_never_valid(revocation: Revocation) -> None:
    rev = revocation
    no_ref = rev.issuer.issue(
        family5(),
        ProvenDeviceKey.unsafe_without_proof(rev.device.cose_key()),
        valid_days=30,
        beneficiaries=[0],
    ).credentials[0]
    with pytest.raises(StatusUndetermined):
        rev.verifier.verify_credential(no_ref)
    cred = issue_with_status(rev, 3)
    rev.provider.withdraw(b"S", LIST)
    rev.clock.advance(61)
    with pytest.raises(StatusUndetermined) as info:
        rev.verifier.verify_credential(cred)
    assert info.value.code == "status.undetermined"


def test_list_of_another_issuer_key_never_speaks_for_a_credential(revocation: Revocation) -> None:
    rev = revocation
    cred = issue_with_status(rev, 7)
    # T's list 1 revokes entry 7: S's credential pointing at its own list 1, entry 7,
    # stays valid.
    revoking = StatusList(2, 1024)
    revoking.set(7, StatusValue.INVALID)
    rev.provider.publish(rev.sign(rev.other_signer, b"T", revoking))
    rev.clock.advance(61)
    assert rev.verifier.verify_credential(cred)
    # S's list gone, T's list 1 (all VALID) cannot vouch for S's credential.
    rev.provider.withdraw(b"S", LIST)
    rev.provider.publish(rev.sign(rev.other_signer, b"T", StatusList(2, 1024)))
    rev.clock.advance(61)
    with pytest.raises(StatusUndetermined) as info:
        rev.verifier.verify_credential(cred)
    assert info.value.code == "status.undetermined"


def test_credential_carries_the_compact_reference_in_its_card_map(
    revocation: Revocation,
) -> None:
    rev = revocation
    cred = issue_with_status(rev, 9)
    claims = cbor2.loads(cose.decode_sign1(cred).payload)
    assert CwtClaim.STATUS not in claims
    assert claims[CwtClaim.CARD][CardLabel.STATUS] == [LIST, 9]
    assert rev.verifier.verify_credential(cred).status == StatusReference(LIST, 9)
