"""The signed trust list: which issuer keys readers trust, updated offline from a file.

A trust list is a tagged COSE_Sign1 signed by the root authority (protected ``typ``
``application/vitale-trust-list+cbor``) whose payload is (``spec/trust.md``
section 5)::

    { 1: seq (uint, strictly increasing), 2: issued_at, 3: next_update,
      4: [ entry ... ], ? 5: [ spki_sha256 ... ] }
    entry = { 1: kid, ? 2: COSE_Key, ? 3: certificate (DER), 4: [alg ...],
              5: [usage ...], ? 6: not_before, ? 7: not_after, ? 8: name }

Rotation: several entries may be active at once; an entry stays usable until its
``not_after`` (a retired key keeps verifying the credentials it signed), and a
compromised key is withdrawn by publishing a list without it and with the SHA-256
of its SubjectPublicKeyInfo in ``withdrawn_keys(5)``, which refuses the key under
every kid and certificate, renewed ones included. A reader refuses a
list whose ``seq`` is lower than the one it holds (rollback), and handles a list
past its ``next_update`` by an explicit :class:`StalePolicy`.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, final

from cryptography import x509

from vitale_cred._schema import labelled_map
from vitale_cred._sealed import Sealed, sealed_factory
from vitale_cred.clock import Clock, read_clock
from vitale_cred.errors import (
    CoseError,
    InvalidArgument,
    KeyUsageNotAllowed,
    TrustListExpired,
    TrustListInvalid,
    TrustListRollback,
    TrustListTooOld,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.registry import CoseAlg, CoseHeader, TrustEntryLabel, TrustListLabel
from vitale_cred.state import TrustState, trust_list_issued_at_mark, trust_list_seq_mark
from vitale_cred.trust import (
    SPKI_SHA256_LENGTH,
    TrustedKey,
    TrustStore,
    Usage,
    check_issuer_profile,
    verify_typed,
)

__all__ = [
    "MAX_PRODUCER_VALIDITY",
    "TRUST_LIST_TYP",
    "StalePolicy",
    "TrustList",
    "TrustListEntry",
    "TrustListReader",
    "VerifiedTrustList",
    "sign_trust_list",
    "verify_trust_list",
]

TRUST_LIST_TYP = "application/vitale-trust-list+cbor"
#: Largest trust list accepted (bytes).
MAX_TRUST_LIST_BYTES = 262_144
#: Most entries in one list.
MAX_ENTRIES = 256
#: Most key identities in one list's ``withdrawn_keys(5)``.
MAX_WITHDRAWN_KEYS = 1024

_USAGE_CODES = {Usage.CREDENTIAL: 1, Usage.STATUS_LIST: 2, Usage.STATEMENT: 3}
_USAGE_BY_CODE = {v: k for k, v in _USAGE_CODES.items()}
_ENTRY_REQUIRED = frozenset({TrustEntryLabel.KID, TrustEntryLabel.ALGS, TrustEntryLabel.USAGES})
_ENTRY_LABELS = frozenset(TrustEntryLabel)
_LIST_REQUIRED = frozenset(
    {
        TrustListLabel.SEQ,
        TrustListLabel.ISSUED_AT,
        TrustListLabel.NEXT_UPDATE,
        TrustListLabel.ENTRIES,
    }
)
_LIST_LABELS = frozenset(TrustListLabel)


def _integer(value: object) -> bool:
    """An integer and not a boolean (bool subclasses int; true is not usage 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


class StalePolicy(enum.Enum):
    """What a reader does with a list whose ``next_update`` has passed."""

    REJECT = "reject"
    #: Keep using the stale list (an outage of the distribution channel must not stop
    #: care); the verifier result does not change, the caller is told by ``stale``.
    ACCEPT_STALE = "accept_stale"


@dataclass(frozen=True, slots=True)
class TrustListEntry:
    """One trusted issuer key: a COSE_Key or a certificate, with algs, usages and window."""

    kid: bytes
    algs: frozenset[CoseAlg]
    usages: frozenset[Usage]
    key: cose.CoseKey | None = None
    certificate: bytes | None = None
    not_before: int | None = None
    not_after: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if (self.key is None) == (self.certificate is None):
            raise InvalidArgument("an entry has exactly one of key and certificate")
        if not 1 <= len(self.kid) <= 32:
            raise InvalidArgument("kid must be 1..32 bytes")
        if not self.algs or not self.usages or Usage.TRUST_LIST in self.usages:
            raise InvalidArgument("an entry needs algs and usages (trust_list is not one)")

    def to_wire(self) -> dict[int, Any]:
        out: dict[int, Any] = {
            TrustEntryLabel.KID: self.kid,
            TrustEntryLabel.ALGS: sorted(int(a) for a in self.algs),
            TrustEntryLabel.USAGES: sorted(_USAGE_CODES[u] for u in self.usages),
        }
        if self.key is not None:
            out[TrustEntryLabel.KEY] = self.key.to_map()
        if self.certificate is not None:
            out[TrustEntryLabel.CERTIFICATE] = self.certificate
        if self.not_before is not None:
            out[TrustEntryLabel.NOT_BEFORE] = self.not_before
        if self.not_after is not None:
            out[TrustEntryLabel.NOT_AFTER] = self.not_after
        if self.name:
            out[TrustEntryLabel.NAME] = self.name
        return out

    @classmethod
    def from_wire(cls, value: Any) -> TrustListEntry:
        labelled_map(
            value,
            "trust-list entry",
            known=_ENTRY_LABELS,
            required=_ENTRY_REQUIRED,
            labels=TrustEntryLabel,
            error=TrustListInvalid,
        )
        kid, algs, usages = (
            value[TrustEntryLabel.KID],
            value[TrustEntryLabel.ALGS],
            value[TrustEntryLabel.USAGES],
        )
        if not isinstance(kid, bytes) or not isinstance(algs, list) or not isinstance(usages, list):
            raise TrustListInvalid("entry kid/algs/usages have the wrong types")
        # bool is an int in Python, and true would read as usage 1.
        if not all(_integer(a) and a in cose.ALGORITHMS for a in algs):
            raise TrustListInvalid("entry names an unsupported algorithm")
        if not all(_integer(u) and u in _USAGE_BY_CODE for u in usages):
            raise TrustListInvalid("entry names an unknown usage")
        times = [value.get(TrustEntryLabel.NOT_BEFORE), value.get(TrustEntryLabel.NOT_AFTER)]
        if any(t is not None and (type(t) is not int or t < 0) for t in times):
            raise TrustListInvalid("entry validity must be unsigned integer times")
        name = value.get(TrustEntryLabel.NAME, "")
        certificate = value.get(TrustEntryLabel.CERTIFICATE)
        if not isinstance(name, str) or (
            certificate is not None and not isinstance(certificate, bytes)
        ):
            raise TrustListInvalid("entry name or certificate has the wrong type")
        try:
            key = (
                cose.CoseKey.from_map(value[TrustEntryLabel.KEY])
                if TrustEntryLabel.KEY in value
                else None
            )
            return cls(
                kid=kid,
                algs=frozenset(CoseAlg(a) for a in algs),
                usages=frozenset(_USAGE_BY_CODE[u] for u in usages),
                key=key,
                certificate=certificate,
                not_before=times[0],
                not_after=times[1],
                name=name,
            )
        except (InvalidArgument, CoseError) as exc:
            raise TrustListInvalid(f"entry rejected: {exc.message}") from exc

    def trusted_key(self) -> TrustedKey:
        """The verifier's view of this entry (the certificate, if any, is profile-checked)."""
        not_before, not_after = self.not_before, self.not_after
        if self.certificate is not None:
            try:
                cert = x509.load_der_x509_certificate(self.certificate)
            except (ValueError, x509.InvalidVersion) as exc:
                raise TrustListInvalid("entry certificate is unreadable") from exc
            alg = check_issuer_profile(cert)
            verifying = cose.VerifyingKey(cert.public_key(), alg)  # type: ignore[arg-type]
            cert_start = int(cert.not_valid_before_utc.timestamp())
            cert_end = int(cert.not_valid_after_utc.timestamp())
            not_before = cert_start if not_before is None else max(not_before, cert_start)
            not_after = cert_end if not_after is None else min(not_after, cert_end)
        else:
            if self.key is None:  # excluded by __post_init__; keeps the types exact
                raise TrustListInvalid("entry has no key")
            try:
                verifying = self.key.verifying_key()
            except CoseError as exc:
                raise TrustListInvalid(f"entry key unusable: {exc.message}") from exc
        if verifying.alg not in self.algs:
            raise TrustListInvalid(f"entry key is {verifying.alg.name}, not in its algs")
        return TrustedKey(
            kid=self.kid,
            key=verifying,
            usages=self.usages,
            not_before=not_before,
            not_after=not_after,
            name=self.name,
        )

    def key_identity(self) -> bytes:
        """The SPKI SHA-256 of the entry's key (decoded and checked as by
        :meth:`trusted_key`, with the same errors)."""
        return self.trusted_key().spki_sha256


@dataclass(frozen=True, slots=True)
class TrustList:
    """The content of a trust list.

    ``withdrawn_keys``: SPKI SHA-256 of keys withdrawn for good (spec/trust.md
    section 7); empty means the label is absent.
    """

    seq: int
    issued_at: int
    next_update: int
    entries: tuple[TrustListEntry, ...]
    withdrawn_keys: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.next_update <= self.issued_at:
            raise InvalidArgument("next_update must be after issued_at")
        if len(self.entries) > MAX_ENTRIES:
            raise InvalidArgument(f"at most {MAX_ENTRIES} entries")
        if len({e.kid for e in self.entries}) != len(self.entries):
            raise InvalidArgument("kids must be unique in a trust list")
        if len(self.withdrawn_keys) > MAX_WITHDRAWN_KEYS:
            raise InvalidArgument(f"at most {MAX_WITHDRAWN_KEYS} withdrawn keys")
        if not all(
            isinstance(k, bytes) and len(k) == SPKI_SHA256_LENGTH for k in self.withdrawn_keys
        ):
            raise InvalidArgument(f"a withdrawn key is a {SPKI_SHA256_LENGTH}-byte SPKI SHA-256")
        if len(set(self.withdrawn_keys)) != len(self.withdrawn_keys):
            raise InvalidArgument("withdrawn keys must be unique in a trust list")

    def to_wire(self) -> dict[int, Any]:
        out: dict[int, Any] = {
            TrustListLabel.SEQ: self.seq,
            TrustListLabel.ISSUED_AT: self.issued_at,
            TrustListLabel.NEXT_UPDATE: self.next_update,
            TrustListLabel.ENTRIES: [e.to_wire() for e in self.entries],
        }
        # Absent rather than empty: one encoding for "nothing withdrawn".
        if self.withdrawn_keys:
            out[TrustListLabel.WITHDRAWN_KEYS] = list(self.withdrawn_keys)
        return out

    @classmethod
    def from_wire(cls, value: Any) -> TrustList:
        labelled_map(
            value,
            "trust list",
            known=_LIST_LABELS,
            required=_LIST_REQUIRED,
            labels=TrustListLabel,
            error=TrustListInvalid,
        )
        seq, issued, next_update, entries = (
            value[TrustListLabel.SEQ],
            value[TrustListLabel.ISSUED_AT],
            value[TrustListLabel.NEXT_UPDATE],
            value[TrustListLabel.ENTRIES],
        )
        if any(type(t) is not int or t < 0 for t in (seq, issued, next_update)):
            raise TrustListInvalid("seq and times must be unsigned integers")
        if not isinstance(entries, list):
            raise TrustListInvalid("entries must be an array")
        withdrawn = value.get(TrustListLabel.WITHDRAWN_KEYS, None)
        if TrustListLabel.WITHDRAWN_KEYS in value and (
            not isinstance(withdrawn, list) or not withdrawn
        ):
            # An empty array would be a second encoding of the absent label.
            raise TrustListInvalid("withdrawn_keys must be a non-empty array when present")
        try:
            return cls(
                seq,
                issued,
                next_update,
                tuple(TrustListEntry.from_wire(e) for e in entries),
                tuple(withdrawn or ()),
            )
        except InvalidArgument as exc:
            raise TrustListInvalid(exc.message) from exc


#: Furthest ``next_update`` a producer sets after ``issued_at``: the readers' default
#: maximum age (spec/trust.md section 5.1), past which they refuse the list anyway.
MAX_PRODUCER_VALIDITY = 90 * 86_400


def sign_trust_list(trust_list: TrustList, signer: cose.Signer, *, kid: bytes) -> bytes:
    """Sign a trust list with the root authority's key.

    What a reader would refuse is refused here first, with the reader's code
    (``trust.list_invalid``, or the certificate profile's for an entry that is no
    issuer certificate, a root for instance).
    """
    wire = trust_list.to_wire()
    # The reader's own decoding and its view of each entry (certificates profile-checked).
    for entry in TrustList.from_wire(wire).entries:
        entry.trusted_key()
    if trust_list.next_update - trust_list.issued_at > MAX_PRODUCER_VALIDITY:
        raise InvalidArgument(
            f"next_update is more than {MAX_PRODUCER_VALIDITY // 86_400} days after issued_at:"
            " readers refuse a list that old whatever next_update says"
        )
    return cose.sign1(
        _cbor.encode(wire),
        signer,
        kid=kid,
        protected={CoseHeader.TYP: TRUST_LIST_TYP},
    )


@final
class VerifiedTrustList(Sealed, producer="verify_trust_list()"):
    """A trust list whose signature by a trust-list authority was checked (sealed)."""

    __slots__ = ("raw", "stale", "trust_list")

    trust_list: TrustList
    stale: bool
    raw: bytes

    @property
    def seq(self) -> int:
        """The list's sequence number."""
        return self.trust_list.seq


_new_verified_trust_list = sealed_factory(VerifiedTrustList)


def verify_trust_list(
    data: bytes,
    authority: TrustStore,
    *,
    clock: Clock,
    stale: StalePolicy = StalePolicy.REJECT,
) -> VerifiedTrustList:
    """Check a trust list's signature (a key trusted for ``trust_list``) and its
    freshness at the time ``clock`` tells."""
    return _verify_trust_list(data, authority, now=read_clock(clock), stale=stale)


def _verify_trust_list(
    data: bytes, authority: TrustStore, *, now: int, stale: StalePolicy
) -> VerifiedTrustList:
    if not isinstance(data, bytes):
        raise InvalidArgument("trust list must be bytes")
    message, _ = verify_typed(
        data,
        authority,
        typ=TRUST_LIST_TYP,
        usage=Usage.TRUST_LIST,
        now=now,
        max_size=MAX_TRUST_LIST_BYTES,
        error=TrustListInvalid,
    )
    content = _cbor.decode(message.payload, max_size=MAX_TRUST_LIST_BYTES, max_depth=8)
    trust_list = TrustList.from_wire(content)
    is_stale = now > trust_list.next_update
    if is_stale and stale is StalePolicy.REJECT:
        raise TrustListExpired(f"trust list {trust_list.seq} passed its next_update")
    _check_entry_keys(trust_list, authority)
    return _new_verified_trust_list(trust_list=trust_list, stale=is_stale, raw=data)


def _check_entry_keys(trust_list: TrustList, authority: TrustStore) -> None:
    """Section 5.2 step 8: every entry's key decodes, is not withdrawn by the list
    itself, and is not a trust-list authority key of the reader."""
    withdrawn = frozenset(trust_list.withdrawn_keys)
    for entry in trust_list.entries:
        identity = entry.key_identity()
        if identity in withdrawn:
            # Trusting and withdrawing one key at once: the list contradicts itself,
            # and no reading of it is safe.
            raise TrustListInvalid(
                f"entry {entry.kid.hex()} carries a key the list itself withdraws"
            )
        if Usage.TRUST_LIST in authority.usages_for_key(identity):
            # An authority key granted issuer usages by its own list would let one
            # compromised key both sign credentials and vouch for itself.
            raise KeyUsageNotAllowed(
                f"entry {entry.kid.hex()} carries a trust-list authority key: an "
                "authority key signs trust lists and nothing else"
            )


class TrustListReader:
    """A reader's trust state fed by successive trust lists (rollback-protected).

    ``max_age``: a list is refused from ``issued_at + max_age`` on
    (``trust.list_too_old``), even before its ``next_update`` and under
    :attr:`StalePolicy.ACCEPT_STALE`. ``state``: where the ``seq`` and ``issued_at``
    of the last accepted list are kept (under the reader's own ``authority_name``),
    so that rollback protection survives restarts and is shared by the processes
    using one :class:`~vitale_cred.state.SqliteTrustState`.
    """

    #: Default ceiling on a list's age, 90 days: it holds whatever the list's
    #: ``next_update`` and the :class:`StalePolicy`, so that a reader holding nothing
    #: (new or restarted) cannot be fed an arbitrarily old list that still holds a
    #: withdrawn key (spec/trust.md section 5.2 step 7a).
    DEFAULT_MAX_AGE: ClassVar[int] = 90 * 86_400

    def __init__(
        self,
        authority: TrustStore,
        *,
        stale: StalePolicy = StalePolicy.REJECT,
        allowed_algs: Iterable[CoseAlg] = cose.DEFAULT_ALGS,
        max_age: int = DEFAULT_MAX_AGE,
        state: TrustState | None = None,
        authority_name: str = "default",
    ) -> None:
        if type(max_age) is not int or max_age <= 0:
            raise InvalidArgument("max_age must be a positive integer of seconds")
        if state is not None and not isinstance(state, TrustState):
            raise InvalidArgument("state must be a TrustState")
        self._authority = authority
        self._stale = stale
        self._allowed = frozenset(allowed_algs)
        self._max_age = max_age
        self._state = state
        # Validated here, so that a bad name fails at construction, not at the first update.
        self._marks = (
            trust_list_seq_mark(authority_name),
            trust_list_issued_at_mark(authority_name),
        )
        self._lock = threading.Lock()
        self._current: VerifiedTrustList | None = None
        # No X.509 roots: with a trust list in force the list alone says who is trusted,
        # so an issuer certificate left out of it never validates through an x5chain.
        self.store = TrustStore(allowed_algs=self._allowed)

    @property
    def current(self) -> VerifiedTrustList | None:
        """The list in force, if any."""
        return self._current

    @property
    def max_age(self) -> int:
        """The ceiling on a list's age, in seconds from its ``issued_at``."""
        return self._max_age

    def update(self, data: bytes, *, clock: Clock) -> VerifiedTrustList:
        """Verify ``data`` at the time ``clock`` tells and, if not older, put its keys
        in force in ``store``."""
        now = read_clock(clock)
        verified = _verify_trust_list(data, self._authority, now=now, stale=self._stale)
        issued_at = verified.trust_list.issued_at
        if now >= issued_at + self._max_age:
            # Before the keys are built and before any mark moves: a list this old is
            # refused whatever the reader held, in memory or on disk.
            raise TrustListTooOld(
                f"trust list {verified.seq} was issued at {issued_at}, {now - issued_at} s "
                f"ago: the reader's maximum age is {self._max_age} s"
            )
        keys = [e.trusted_key() for e in verified.trust_list.entries]
        with self._lock:
            current = self._current
            if current is not None:
                if verified.seq < current.seq:
                    raise TrustListRollback(
                        f"trust list {verified.seq} is older than the one in force ({current.seq})"
                    )
                if verified.seq == current.seq and verified.raw != current.raw:
                    raise TrustListRollback(f"two different trust lists claim seq {verified.seq}")
            if self._state is not None:
                self._raise_marks(verified)
            # Withdrawals are permanent: a later list that omits a key does not revive it.
            for identity in verified.trust_list.withdrawn_keys:
                self.store.withdraw_key(identity)
            self.store.replace_keys(keys)
            self._current = verified
        return verified

    def _raise_marks(self, verified: VerifiedTrustList) -> None:
        """Compare with, then raise, the persisted marks (the check of a restarted reader)."""
        if self._state is None:  # the caller checked; keeps the types exact
            return
        seq_mark, issued_mark = self._marks
        seq, issued_at = verified.seq, verified.trust_list.issued_at
        # Checked before the raise too, so that a rival list with the recorded seq and a
        # later issued_at cannot move the issued_at mark (the raise alone would let it).
        self._refuse_older(seq, issued_at, self._state.get(seq_mark), self._state.get(issued_mark))
        before = self._state.raise_marks({seq_mark: seq, issued_mark: issued_at})
        # The raise is the authoritative compare: another process may have moved on.
        self._refuse_older(seq, issued_at, before[seq_mark], before[issued_mark])

    @staticmethod
    def _refuse_older(
        seq: int, issued_at: int, held_seq: int | None, held_issued: int | None
    ) -> None:
        if held_seq is not None and seq < held_seq:
            raise TrustListRollback(
                f"trust list {seq} is older than the last accepted one ({held_seq}, recorded state)"
            )
        if held_issued is not None and issued_at < held_issued:
            raise TrustListRollback(
                f"trust list {seq} was issued at {issued_at}, before the last accepted list "
                f"({held_issued}, recorded state)"
            )
        if held_seq == seq and held_issued is not None and held_issued != issued_at:
            raise TrustListRollback(
                f"two different trust lists claim seq {seq} (issued at {issued_at} and "
                f"{held_issued}, recorded state)"
            )
