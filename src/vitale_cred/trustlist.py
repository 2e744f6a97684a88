"""The signed trust list: which issuer keys readers trust, updated offline from a file.

A trust list is a tagged COSE_Sign1 signed by the root authority (protected ``typ``
``application/vitale-trust-list+cbor``) whose payload is (``spec/trust.md``
section 5)::

    { 1: seq (uint, strictly increasing), 2: issued_at, 3: next_update,
      4: [ entry ... ] }
    entry = { 1: kid, ? 2: COSE_Key, ? 3: certificate (DER), 4: [alg ...],
              5: [usage ...], ? 6: not_before, ? 7: not_after, ? 8: name }

Rotation: several entries may be active at once; an entry stays usable until its
``not_after`` (a retired key keeps verifying the credentials it signed), and a
compromised key is withdrawn by publishing a list without it. A reader refuses a
list whose ``seq`` is lower than the one it holds (rollback), and handles a list
past its ``next_update`` by an explicit :class:`StalePolicy`.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from . import _cbor, cose
from .errors import (
    CoseError,
    InvalidArgument,
    TrustListExpired,
    TrustListInvalid,
    TrustListRollback,
)
from .registry import CoseAlg, CoseHeader, TrustEntryLabel, TrustListLabel
from .trust import TrustedKey, TrustStore, Usage, check_issuer_profile, verify_typed

__all__ = [
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

_USAGE_CODES = {Usage.CREDENTIAL: 1, Usage.STATUS_LIST: 2, Usage.STATEMENT: 3}
_USAGE_BY_CODE = {v: k for k, v in _USAGE_CODES.items()}
_ENTRY_REQUIRED = frozenset({TrustEntryLabel.KID, TrustEntryLabel.ALGS, TrustEntryLabel.USAGES})
_ENTRY_LABELS = frozenset(TrustEntryLabel)
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
        if not isinstance(value, dict) or not set(value) >= _ENTRY_REQUIRED:
            raise TrustListInvalid("entry must be a map with kid, algs and usages")
        if not set(value) <= _ENTRY_LABELS:
            raise TrustListInvalid("entry has unknown labels")
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


@dataclass(frozen=True, slots=True)
class TrustList:
    """The content of a trust list."""

    seq: int
    issued_at: int
    next_update: int
    entries: tuple[TrustListEntry, ...]

    def __post_init__(self) -> None:
        if self.next_update <= self.issued_at:
            raise InvalidArgument("next_update must be after issued_at")
        if len(self.entries) > MAX_ENTRIES:
            raise InvalidArgument(f"at most {MAX_ENTRIES} entries")
        if len({e.kid for e in self.entries}) != len(self.entries):
            raise InvalidArgument("kids must be unique in a trust list")

    def to_wire(self) -> dict[int, Any]:
        return {
            TrustListLabel.SEQ: self.seq,
            TrustListLabel.ISSUED_AT: self.issued_at,
            TrustListLabel.NEXT_UPDATE: self.next_update,
            TrustListLabel.ENTRIES: [e.to_wire() for e in self.entries],
        }

    @classmethod
    def from_wire(cls, value: Any) -> TrustList:
        if not isinstance(value, dict) or set(value) != _LIST_LABELS:
            raise TrustListInvalid(
                "trust list must hold exactly seq, issued_at, next_update, entries"
            )
        seq, issued, next_update, entries = (value[label] for label in TrustListLabel)
        if any(type(t) is not int or t < 0 for t in (seq, issued, next_update)):
            raise TrustListInvalid("seq and times must be unsigned integers")
        if not isinstance(entries, list):
            raise TrustListInvalid("entries must be an array")
        try:
            return cls(
                seq, issued, next_update, tuple(TrustListEntry.from_wire(e) for e in entries)
            )
        except InvalidArgument as exc:
            raise TrustListInvalid(exc.message) from exc


def sign_trust_list(trust_list: TrustList, signer: cose.Signer, *, kid: bytes) -> bytes:
    """Sign a trust list with the root authority's key."""
    return cose.sign1(
        _cbor.encode(trust_list.to_wire()),
        signer,
        kid=kid,
        protected={CoseHeader.TYP: TRUST_LIST_TYP},
    )


@dataclass(frozen=True, slots=True)
class VerifiedTrustList:
    """A trust list whose signature by a trust-list authority was checked."""

    trust_list: TrustList
    stale: bool
    raw: bytes

    @property
    def seq(self) -> int:
        """The list's sequence number."""
        return self.trust_list.seq


def verify_trust_list(
    data: bytes,
    authority: TrustStore,
    *,
    now: int,
    stale: StalePolicy = StalePolicy.REJECT,
) -> VerifiedTrustList:
    """Check a trust list's signature (a key trusted for ``trust_list``) and freshness."""
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
    return VerifiedTrustList(trust_list, is_stale, data)


class TrustListReader:
    """A reader's trust state fed by successive trust lists (rollback-protected)."""

    def __init__(
        self,
        authority: TrustStore,
        *,
        stale: StalePolicy = StalePolicy.REJECT,
        allowed_algs: Iterable[CoseAlg] = cose.DEFAULT_ALGS,
    ) -> None:
        self._authority = authority
        self._stale = stale
        self._allowed = frozenset(allowed_algs)
        self._lock = threading.Lock()
        self._current: VerifiedTrustList | None = None
        # No X.509 roots: with a trust list in force the list alone says who is trusted,
        # so an issuer certificate left out of it never validates through an x5chain.
        self.store = TrustStore(allowed_algs=self._allowed)

    @property
    def current(self) -> VerifiedTrustList | None:
        """The list in force, if any."""
        return self._current

    def update(self, data: bytes, *, now: int) -> VerifiedTrustList:
        """Verify ``data`` and, if not older, put its keys in force in ``store``."""
        verified = verify_trust_list(data, self._authority, now=now, stale=self._stale)
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
            self.store.replace_keys(keys)
            self._current = verified
        return verified
