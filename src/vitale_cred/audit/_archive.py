"""What the audit knows besides the records: lists in force over time, professionals.

* :class:`TrustArchive` gives the trust store in force at a time: the X.509 bundle,
  or the archived signed trust list in force then (``spec/evidence.md`` section 7.2);
* :class:`StatusArchive` answers a status check at a time from the archived Status
  List Tokens in force then (it is the verifiers' ``StatusCheck``);
* :class:`Directory` holds the professionals: kind, position, evidence keys.

Everything is built from bytes (:class:`AuditMaterial`), so that one picklable
object reaches every Dask worker, which builds its own archive once.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from vitale_cred.audit._inputs import read_parquet_rows
from vitale_cred.clock import FixedClock
from vitale_cred.errors import (
    InvalidArgument,
    Revoked,
    StatusUndetermined,
    Suspended,
    VitaleCredError,
)
from vitale_cred.evidence import ProfessionalKeys
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.model import StatusReference
from vitale_cred.registry import CoseHeader, CwtClaim, ProfessionalKind, StatusValue, TrustListLabel
from vitale_cred.status import (
    STATUS_LIST_TYP,
    StatusPolicy,
    StatusResult,
    StatusState,
    VerifiedStatusList,
    verify_status_list,
)
from vitale_cred.trust import TrustStore
from vitale_cred.trustlist import TRUST_LIST_TYP, StalePolicy, TrustListReader

__all__ = [
    "AuditMaterial",
    "Directory",
    "Professional",
    "StatusArchive",
    "TrustArchive",
    "classify_signed",
    "load_directory",
]

#: A trust list stays in force at most this long after its issued_at (a reader's
#: default maximum age, spec/trust.md section 5.2).
TRUST_LIST_MAX_AGE = TrustListReader.DEFAULT_MAX_AGE
_KINDS = {kind.name.lower(): kind for kind in ProfessionalKind}


def classify_signed(data: bytes) -> str:
    """``trust_list`` or ``status_list``: what an archived signed document is, by its
    protected ``typ``; anything else is refused."""
    message = cose.decode_sign1(data, max_size=len(data) + 1)
    typ = message.protected.get(CoseHeader.TYP)
    if typ == TRUST_LIST_TYP:
        return "trust_list"
    if typ == STATUS_LIST_TYP:
        return "status_list"
    raise InvalidArgument(f"an archived document is a trust list or a status list, not {typ!r}")


@dataclass(frozen=True)
class AuditMaterial:
    """The trust an audit starts from, as bytes.

    ``pem``: the X.509 bundle a reader would use (roots and issuer certificates);
    with ``trust_lists``, its roots are the trust-list authority and the lists alone
    say which issuers are trusted. ``status_lists``: every Status List Token the
    issuers published over the period (an empty tuple: revocation is not checked).
    """

    pem: bytes
    trust_lists: tuple[bytes, ...] = ()
    status_lists: tuple[bytes, ...] = ()
    fingerprint: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.pem)
        for group in (self.trust_lists, self.status_lists):
            digest.update(len(group).to_bytes(8, "big"))
            for item in group:
                digest.update(hashlib.sha256(item).digest())
        object.__setattr__(self, "fingerprint", digest.hexdigest())


class TrustArchive:
    """The trust store in force at any time (``spec/evidence.md`` section 7.2)."""

    def __init__(self, material: AuditMaterial) -> None:
        try:
            self._bundle = TrustStore.from_pem(material.pem)
        except ValueError as exc:
            raise InvalidArgument("the trust bundle is not a PEM certificate bundle") from exc
        self._issued: list[int] = []
        self._stores: list[TrustStore] = []
        self._empty = TrustStore()
        if material.trust_lists:
            self._load_lists(material.trust_lists)

    def _load_lists(self, lists: Sequence[bytes]) -> None:
        authority = TrustStore.trust_list_authority(self._bundle.roots)
        verified = []
        for data in lists:
            reader = TrustListReader(authority, stale=StalePolicy.ACCEPT_STALE)
            issued_at = _trust_list_issued_at(data)
            # Checked at its own issue time: a list is judged as readers received it.
            reader.update(data, clock=FixedClock(issued_at))
            current = reader.current
            if current is None:  # pragma: no cover - update sets it or raises
                continue
            verified.append((current.trust_list.issued_at, current.seq, reader))
        verified.sort(key=lambda item: (item[0], item[1]))
        withdrawn: list[bytes] = []
        for issued_at, _, reader in verified:
            withdrawn.extend(reader.current.trust_list.withdrawn_keys if reader.current else ())
            # Withdrawals are permanent: every key withdrawn so far stays withdrawn.
            for identity in withdrawn:
                reader.store.withdraw_key(identity)
            self._issued.append(issued_at)
            self._stores.append(reader.store)

    @property
    def uses_trust_lists(self) -> bool:
        """Whether archived trust lists, rather than the bundle, say who is trusted."""
        return bool(self._issued)

    def store_at(self, at: int) -> TrustStore:
        """The store in force at ``at`` (an empty store when no list is in force)."""
        if not self._issued:
            return self._bundle
        position = bisect.bisect_right(self._issued, at) - 1
        if position < 0 or at >= self._issued[position] + TRUST_LIST_MAX_AGE:
            return self._empty
        return self._stores[position]

    def __call__(self, at: int) -> TrustStore:
        return self.store_at(at)


def _trust_list_issued_at(data: bytes) -> int:
    """A trust list's ``issued_at``, read before verification (verification follows)."""
    message = cose.decode_sign1(data, max_size=len(data) + 1)
    content = _cbor.decode(message.payload, max_size=len(message.payload) + 1, max_depth=8)
    issued = content.get(TrustListLabel.ISSUED_AT) if isinstance(content, dict) else None
    if type(issued) is not int or issued < 0:
        raise InvalidArgument("an archived trust list has no issued_at(2)")
    return issued


@dataclass(frozen=True, slots=True)
class _Version:
    iat: int
    exp: int | None
    verified: VerifiedStatusList


class StatusArchive:
    """The verifiers' status check over the archived lists in force at each time.

    For a credential's ``[list, idx]`` signed by ``issuer_kid``, the list in force
    at ``now`` is the verified token of that key and number with the greatest
    ``iat`` at or before ``now``, before its ``exp`` and younger than
    :attr:`StatusPolicy.DEFAULT_MAX_LIST_AGE`. None in force: undetermined, which
    the audit reports (``status.undetermined``).
    """

    def __init__(self, tokens: Iterable[bytes], trust: TrustArchive) -> None:
        versions: dict[tuple[bytes, int], list[_Version]] = {}
        for token in tokens:
            iat = _status_iat(token)
            verified = verify_status_list(token, trust.store_at(iat), clock=FixedClock(iat))
            key = (verified.kid, verified.list_id)
            versions.setdefault(key, []).append(_Version(verified.iat, verified.exp, verified))
        self._versions = {key: sorted(v, key=lambda x: x.iat) for key, v in versions.items()}
        self._iats = {key: [v.iat for v in items] for key, items in self._versions.items()}
        self._max_age = StatusPolicy.DEFAULT_MAX_LIST_AGE

    def __len__(self) -> int:
        return sum(len(v) for v in self._versions.values())

    def undetermined(self, reason: str) -> StatusResult:
        """No status can be known: the audit refuses (``status.undetermined``)."""
        raise StatusUndetermined(reason)

    def check(self, ref: StatusReference, now: int, *, issuer_kid: bytes) -> StatusResult:
        """The status of ``ref`` in the list of ``issuer_kid`` in force at ``now``."""
        key = (issuer_kid, ref.list_id)
        name = f"list {ref.list_id} of issuer {issuer_kid.hex()}"
        iats = self._iats.get(key)
        position = -1 if iats is None else bisect.bisect_right(iats, now) - 1
        if iats is None or position < 0:
            raise StatusUndetermined(f"no archived {name} was issued by {now}")
        version = self._versions[key][position]
        if version.exp is not None and now >= version.exp:
            raise StatusUndetermined(f"the {name} in force at {now} expired at {version.exp}")
        if now >= version.iat + self._max_age:
            raise StatusUndetermined(f"the {name} in force at {now} is older than a week")
        value = version.verified.status(ref.idx)
        if value == StatusValue.VALID:
            return StatusResult(StatusState.VALID, f"{name} #{ref.idx} is VALID at {now}")
        if value == StatusValue.INVALID:
            raise Revoked(f"{name} #{ref.idx} is INVALID (revoked) at {now}")
        if value == StatusValue.SUSPENDED:
            raise Suspended(f"{name} #{ref.idx} is SUSPENDED at {now}")
        raise StatusUndetermined(f"{name} #{ref.idx} has status value {value} at {now}")


def _status_iat(token: bytes) -> int:
    message = cose.decode_sign1(token, max_size=len(token) + 1)
    claims = _cbor.decode(
        message.payload, max_size=len(message.payload) + 1, max_depth=2, deterministic=False
    )
    iat = claims.get(CwtClaim.IAT) if isinstance(claims, dict) else None
    if type(iat) is not int or iat < 0:
        raise InvalidArgument("an archived status list has no iat(6)")
    return iat


# --- professionals -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Professional:
    """One professional of the audit's directory."""

    id: str
    kind: ProfessionalKind | None = None
    lat: float | None = None
    lon: float | None = None
    #: DER SubjectPublicKeyInfo of each key the professional signs evidence with.
    keys: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if (self.lat is None) != (self.lon is None):
            raise InvalidArgument(f"professional {self.id}: give lat and lon, or neither")
        if (
            self.lat is not None
            and self.lon is not None
            and not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0)
        ):
            raise InvalidArgument(f"professional {self.id}: lat/lon out of range")

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Professional:
        """``{"id", "kind", "lat", "lon", "keys": [base64 SPKI DER]}``; all but id optional."""
        ident = value.get("id")
        if not isinstance(ident, str) or not ident:
            raise InvalidArgument("a professional has a text id")
        kind_name = value.get("kind")
        kind = None
        if kind_name is not None:
            kind = _KINDS.get(str(kind_name).lower())
            if kind is None:
                raise InvalidArgument(f"professional {ident}: unknown kind {kind_name!r}")
        lat, lon = value.get("lat"), value.get("lon")
        keys = []
        for text in value.get("keys") or ():
            try:
                keys.append(base64.b64decode(text, validate=True))
            except (ValueError, TypeError) as exc:
                raise InvalidArgument(f"professional {ident}: a key is not base64") from exc
        return cls(
            ident,
            kind,
            None if lat is None else float(lat),
            None if lon is None else float(lon),
            tuple(keys),
        )


class Directory:
    """The professionals the audit knows: kind, position and evidence keys."""

    def __init__(self, professionals: Iterable[Professional]) -> None:
        self._by_id: dict[str, Professional] = {}
        for professional in professionals:
            self._by_id[professional.id] = professional

    def __contains__(self, ident: object) -> bool:
        return ident in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, ident: str) -> Professional | None:
        """The professional ``ident``, if known."""
        return self._by_id.get(ident)

    def position(self, ident: str) -> tuple[float, float] | None:
        """(lat, lon) of ``ident``, if known."""
        found = self._by_id.get(ident)
        if found is None or found.lat is None or found.lon is None:
            return None
        return found.lat, found.lon

    def keys(self) -> ProfessionalKeys | None:
        """The evidence keys of every professional, or None when nobody has one."""
        directory = ProfessionalKeys()
        for professional in self._by_id.values():
            for der in professional.keys:
                try:
                    key = serialization.load_der_public_key(der)
                    directory.add(professional.id, key)
                except (ValueError, VitaleCredError) as exc:
                    raise InvalidArgument(
                        f"professional {professional.id}: a key is not a usable public key"
                    ) from exc
        return directory if len(directory) else None


def load_directory(path: str | Path) -> tuple[Professional, ...]:
    """Read a directory of professionals: JSON Lines, or Parquet (same columns)."""
    source = Path(path)
    if source.suffix == ".parquet":
        rows: Iterable[Mapping[str, Any]] = read_parquet_rows(source)
    else:
        try:
            text = source.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"cannot read the directory {source}: {exc}") from exc
        parsed = []
        for number, line in enumerate(text.splitlines()):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidArgument(f"{source}:{number}: not JSON") from exc
            if not isinstance(value, dict):
                raise InvalidArgument(f"{source}:{number}: not a JSON object")
            parsed.append(value)
        rows = parsed
    return tuple(Professional.from_json(row) for row in rows)
