"""Revoked, suspended and undetermined status: no list, no "valid".

With a status checker in the policy, a credential is accepted only on a fresh,
trusted list that says VALID at its index. Everything else -- revoked,
suspended, unpublished, expired, untrusted, rolled back, signed by another key
than the credential's, or a value with no meaning here -- is an error (or an
explicit UNDETERMINED under "accept").
"""

from __future__ import annotations

import dataclasses

import pytest

from vitale_cred.clock import FixedClock
from vitale_cred.device import ProvenDeviceKey
from vitale_cred.errors import (
    Revoked,
    StatusIndexOutOfRange,
    StatusUndetermined,
    Suspended,
)
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.presentation import present_qr
from vitale_cred.registry import CoseAlg
from vitale_cred.status import (
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    StatusValue,
    issue_status_list,
    verify_status_list,
)
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.verify import Policy, Verifier

from _world import NOW, World

URI = "https://status.vitale.example/lists/7"
LIST = 7


class Channel:
    """The distribution channel, which the attacker controls: any bytes for any list."""

    def __init__(self) -> None:
        self.served: dict[tuple[bytes, int], bytes] = {}

    def serve(self, kid: bytes, list_id: int, token: bytes) -> None:
        self.served[(kid, list_id)] = token

    def fetch(self, kid: bytes, list_id: int) -> bytes | None:
        return self.served.get((kid, list_id))


@dataclasses.dataclass
class Lists:
    world: World
    signer: cose.Signer
    kid: bytes
    trust: TrustStore
    provider: Channel
    statuses: StatusList
    credentials: tuple[bytes, ...]

    def sign(self, *, iat: int = NOW - 60, list_id: int = LIST, **claims: int) -> bytes:
        return issue_status_list(
            self.signer,
            kid=self.kid,
            uri=URI,
            list_id=list_id,
            status_list=self.statuses,
            iat=iat,
            **claims,
        )

    def publish(self, *, iat: int = NOW - 60, list_id: int = LIST, **claims: int) -> bytes:
        """Sign the list and serve it where the credentials' issuer's list 7 is fetched."""
        token = self.sign(iat=iat, list_id=list_id, **claims)
        self.provider.serve(self.world.material.kid, LIST, token)
        return token

    def verifier(self, **policy: object) -> Verifier:
        checker = StatusChecker(self.provider, self.trust, policy=StatusPolicy(**policy))  # type: ignore[arg-type]
        return Verifier(Policy(trust=self.world.trust, clock=self.world.clock, status=checker))


# A key trusted for status lists only, of no issuer: its lists speak for no credential.
STATUS_ONLY_KEY = generate_private_key(CoseAlg.ES256)


@pytest.fixture
def lists(world: World) -> Lists:
    trust = TrustStore(
        roots=[world.material.root_certificate],
        certificates=[world.material.issuer_certificate],
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(STATUS_ONLY_KEY.public_key()),
                b"S",
                usages=[Usage.STATUS_LIST],
            )
        ],
    )
    bundle = world.issuer.issue(
        world.card,
        ProvenDeviceKey.unsafe_without_proof(world.device.cose_key()),
        valid_days=365,
        status=[StatusReference(LIST, 10 + i) for i in range(5)],
    )
    return Lists(
        world,
        world.material.signer(),
        world.material.kid,
        trust,
        Channel(),
        StatusList(2, 64),
        bundle.credentials,
    )


def test_revoked_credential_is_refused(lists: Lists) -> None:
    lists.statuses.set(10, StatusValue.INVALID)
    lists.publish()
    with pytest.raises(Revoked) as info:
        lists.verifier().verify_credential(lists.credentials[0])
    assert type(info.value) is Revoked
    assert info.value.code == "status.revoked"


def test_suspended_credential_is_refused_in_a_qr_presentation(lists: Lists) -> None:
    lists.statuses.set(11, StatusValue.SUSPENDED)
    lists.publish()
    text = present_qr(lists.credentials[1], lists.world.device, clock=lists.world.clock)
    with pytest.raises(Suspended) as info:
        lists.verifier().verify_qr(text)
    assert type(info.value) is Suspended
    assert info.value.code == "status.suspended"


def _undetermined(lists: Lists, credential: bytes, cause: str | None = None) -> None:
    with pytest.raises(StatusUndetermined) as info:
        lists.verifier().verify_credential(credential)
    assert type(info.value) is StatusUndetermined
    assert info.value.code == "status.undetermined"
    if cause is not None:
        assert getattr(info.value.__cause__, "code", None) == cause


def test_withheld_status_list_leaves_the_credential_undetermined(lists: Lists) -> None:
    _undetermined(lists, lists.credentials[0])


def test_expired_status_list_leaves_the_credential_undetermined(lists: Lists) -> None:
    lists.publish(iat=NOW - 7200, exp=NOW - 60)
    _undetermined(lists, lists.credentials[0], "status.list_expired")


def test_status_list_forged_under_the_trusted_kid_is_undetermined(lists: Lists) -> None:
    lists.signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    lists.publish()
    _undetermined(lists, lists.credentials[0], "cose.bad_signature")


def test_other_lists_token_served_for_this_list_is_undetermined(lists: Lists) -> None:
    lists.publish(list_id=LIST + 1)
    _undetermined(lists, lists.credentials[0], "status.list_invalid")


def test_list_of_a_status_only_key_served_for_the_issuers_list_is_undetermined(
    lists: Lists,
) -> None:
    # "S" is trusted to sign status lists, but did not sign the credential: its list 7,
    # all VALID, never vouches for the issuer's credentials.
    lists.signer, lists.kid = cose.SoftwareSigner(STATUS_ONLY_KEY), b"S"
    token = lists.publish()
    assert verify_status_list(token, lists.trust, clock=FixedClock(NOW)).kid == b"S"
    _undetermined(lists, lists.credentials[0], "status.list_invalid")


def test_list_of_another_key_under_its_own_kid_is_never_fetched(lists: Lists) -> None:
    # Published honestly under "S": a reader looking for the issuer's list 7 finds none.
    lists.signer, lists.kid = cose.SoftwareSigner(STATUS_ONLY_KEY), b"S"
    lists.provider.serve(b"S", LIST, lists.sign())
    _undetermined(lists, lists.credentials[0])


def test_unrevoking_list_of_another_key_does_not_outweigh_the_issuers(lists: Lists) -> None:
    lists.statuses.set(10, StatusValue.INVALID)
    lists.publish()
    lists.signer, lists.kid = cose.SoftwareSigner(STATUS_ONLY_KEY), b"S"
    lists.statuses = StatusList(2, 64)
    lists.provider.serve(b"S", LIST, lists.sign(iat=NOW))
    with pytest.raises(Revoked):
        lists.verifier().verify_credential(lists.credentials[0])


def test_older_list_replayed_to_unrevoke_is_refused(lists: Lists) -> None:
    clean = issue_status_list(
        lists.signer,
        kid=lists.kid,
        uri=URI,
        list_id=LIST,
        status_list=StatusList(2, 64),
        iat=NOW - 600,
    )
    lists.statuses.set(10, StatusValue.INVALID)
    lists.publish(iat=NOW - 60, ttl=30)
    verifier = lists.verifier()
    with pytest.raises(Revoked):
        verifier.verify_credential(lists.credentials[0])
    lists.provider.serve(lists.kid, LIST, clean)  # the attacker controls the channel
    lists.world.clock.advance(31)
    with pytest.raises(StatusUndetermined) as info:
        verifier.verify_credential(lists.credentials[0])
    assert info.value.code == "status.undetermined"
    assert getattr(info.value.__cause__, "code", None) == "status.list_invalid"


def test_application_specific_status_value_is_undetermined_never_valid(lists: Lists) -> None:
    lists.statuses.set(12, StatusValue.APPLICATION_SPECIFIC)
    lists.publish()
    _undetermined(lists, lists.credentials[2])


def test_credential_without_a_status_reference_is_undetermined_under_a_status_policy(
    lists: Lists,
) -> None:
    lists.publish()
    _undetermined(lists, lists.world.bundle.credentials[0])


def test_status_index_beyond_the_list_is_out_of_range_under_every_policy(
    lists: Lists,
) -> None:
    lists.statuses = StatusList(2, 8)
    lists.publish()
    for policy in ("reject", "accept"):
        with pytest.raises(StatusIndexOutOfRange) as info:
            lists.verifier(on_undetermined=policy).verify_credential(lists.credentials[0])
        assert info.value.code == "status.index_out_of_range"
