"""Restarts: what a reader refused must stay refused after it restarts.

The attacker controls the distribution channel (status lists, trust-list files) and,
for the last attack, the reader's clock setting. Each reader here is restarted the
way a terminal is: new objects over the same SQLite trust state file
(spec/security.md section 9).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vitale_cred.clock import FixedClock
from vitale_cred.device import ProvenDeviceKey
from vitale_cred.errors import (
    ClockRollback,
    Expired,
    Revoked,
    StatusUndetermined,
    TrustListRollback,
)
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.registry import CoseAlg
from vitale_cred.state import GuardedClock, SqliteTrustState
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
from vitale_cred.trustlist import TrustList, TrustListEntry, TrustListReader, sign_trust_list
from vitale_cred.verify import Policy, Verifier

from ._support import expect
from _world import NOW, World

DAY = 86_400
URI = "https://status.vitale.example/lists/4"
LIST = 4


def _status_credential(world: World) -> bytes:
    bundle = world.issuer.issue(
        world.card,
        ProvenDeviceKey.unsafe_without_proof(world.device.cose_key()),
        valid_days=365,
        status=[StatusReference(LIST, 20 + i) for i in range(5)],
    )
    return bundle.credentials[0]


def _status_list(world: World, iat: int, *, revoked: bool, exp: int | None = None) -> bytes:
    statuses = StatusList(2, 64)
    if revoked:
        statuses.set(20, StatusValue.INVALID)
    return issue_status_list(
        world.material.signer(),
        kid=world.material.kid,
        uri=URI,
        list_id=LIST,
        status_list=statuses,
        iat=iat,
        exp=exp,
    )


def _verifier(world: World, provider: InMemoryStatusProvider, state: SqliteTrustState) -> Verifier:
    checker = StatusChecker(provider, world.trust, policy=StatusPolicy(), state=state)
    return Verifier(Policy(trust=world.trust, clock=world.clock, status=checker))


def test_older_status_list_replayed_after_a_restart_to_unrevoke_is_refused(
    world: World, tmp_path: Path
) -> None:
    credential = _status_credential(world)
    clean = _status_list(world, NOW - 3600, revoked=False, exp=NOW + DAY)
    revoking = _status_list(world, NOW - 60, revoked=True, exp=NOW + DAY)
    with SqliteTrustState(tmp_path / "state.db") as state, pytest.raises(Revoked):
        _verifier(world, InMemoryStatusProvider([revoking]), state).verify_credential(credential)
    # Restart: empty caches; the channel now serves the older, still unexpired list.
    with SqliteTrustState(tmp_path / "state.db") as state:
        verifier = _verifier(world, InMemoryStatusProvider([clean]), state)
        err = expect(
            StatusUndetermined, "status.undetermined", verifier.verify_credential, credential
        )
    assert getattr(err.__cause__, "code", None) == "status.list_invalid"


def test_stale_status_list_without_exp_is_refused_on_first_sight(world: World) -> None:
    credential = _status_credential(world)
    # Captured before the revocation, 400 days ago, with no exp and no ttl: a checker with
    # nothing cached (a new reader, or one just restarted) has nothing to compare it with.
    ancient = _status_list(world, NOW - 400 * DAY, revoked=False)
    checker = StatusChecker(InMemoryStatusProvider([ancient]), world.trust, policy=StatusPolicy())
    verifier = Verifier(Policy(trust=world.trust, clock=world.clock, status=checker))
    err = expect(StatusUndetermined, "status.undetermined", verifier.verify_credential, credential)
    assert getattr(err.__cause__, "code", None) == "status.list_too_old"


def test_older_trust_list_replayed_after_a_restart_to_reinstate_a_withdrawn_key_is_refused(
    tmp_path: Path,
) -> None:
    root, compromised, current = (
        cose.SoftwareSigner(generate_private_key(CoseAlg.ES256)) for _ in range(3)
    )
    authority = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(root.public_key()), b"root", usages=[Usage.TRUST_LIST]
            )
        ]
    )

    def entry(kid: bytes, signer: cose.SoftwareSigner) -> TrustListEntry:
        return TrustListEntry(
            kid=kid,
            algs=frozenset({CoseAlg.ES256}),
            usages=frozenset({Usage.CREDENTIAL}),
            key=cose.CoseKey.from_public_key(signer.public_key()),
        )

    def signed(seq: int, *entries: TrustListEntry) -> bytes:
        return sign_trust_list(
            TrustList(seq, NOW - DAY, NOW + 30 * DAY, entries), root, kid=b"root"
        )

    old = signed(1, entry(b"bad", compromised), entry(b"cur", current))
    with SqliteTrustState(tmp_path / "state.db") as state:
        reader = TrustListReader(authority, state=state)
        reader.update(old, clock=FixedClock(NOW))
        reader.update(signed(2, entry(b"cur", current)), clock=FixedClock(NOW))  # withdraws "bad"
    with SqliteTrustState(tmp_path / "state.db") as state:
        restarted = TrustListReader(authority, state=state)
        expect(
            TrustListRollback, "trust.list_rollback", restarted.update, old, clock=FixedClock(NOW)
        )


def test_clock_set_back_to_accept_an_expired_credential_is_refused(
    world: World, tmp_path: Path
) -> None:
    credential = world.bundle.credentials[0]
    with SqliteTrustState(tmp_path / "state.db") as state:
        verifier = Verifier(Policy(trust=world.trust, clock=GuardedClock(world.clock, state)))
        world.clock.advance(366 * DAY)
        expect(Expired, "validity.expired", verifier.verify_credential, credential)
        world.clock.advance(-366 * DAY)  # the terminal's clock is set back a year
        expect(ClockRollback, "validity.clock_rollback", verifier.verify_credential, credential)
    # Restarting the reader does not clear it either.
    with SqliteTrustState(tmp_path / "state.db") as state:
        verifier = Verifier(Policy(trust=world.trust, clock=GuardedClock(world.clock, state)))
        expect(ClockRollback, "validity.clock_rollback", verifier.verify_credential, credential)
