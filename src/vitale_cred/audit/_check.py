"""The audit's checks: one record (A1 - A4), then across records (nonce, time lines).

``spec/evidence.md`` section 7. :class:`Checker` is what one worker keeps: one
:class:`~vitale_cred.evidence.EvidenceVerifier` with its caches, the archives and
the directory. :func:`check_partition` turns the records of one partition into report
columns and the keys of the cross-record checks, already split by bucket;
:func:`cross_check` runs both cross-record checks on one bucket, exactly, since a
bucket holds every record of each of its token keys and device time lines.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from vitale_cred.audit._archive import AuditMaterial, Directory, StatusArchive, TrustArchive
from vitale_cred.credential import Delegation
from vitale_cred.errors import (
    AuditDelegationExceeded,
    AuditImpossibleTravel,
    AuditNonceReused,
    AuditProfessionalUnknown,
    AuditReaderRefused,
    AuditRecordInvalid,
    InternalError,
    VitaleCredError,
)
from vitale_cred.evidence import EvidenceRecord, EvidenceVerifier, VerifiedEvidence, decode_evidence
from vitale_cred.hazmat import cose
from vitale_cred.presentation import MAX_TTL, decode_presentation_payload
from vitale_cred.registry import ProfessionalKind
from vitale_cred.verify import DEFAULT_SKEW, VerifiedPresentation

__all__ = [
    "AUTHENTIC_FAMILIES",
    "COLUMNS",
    "FINDING_ORDER",
    "AuditParameters",
    "Checker",
    "Columns",
    "DelegationLimits",
    "NonceEntry",
    "TimelineEntry",
    "bucket_of",
    "check_partition",
    "cross_check",
    "haversine_km",
    "parse_limits",
]

#: Codes of a refusal after which a record may still be authentic (section 7.6).
AUTHENTIC_FAMILIES: Final = ("presentation.", "validity.", "status.", "delegation.")
#: Findings after A1, in report order (section 7.7).
FINDING_ORDER: Final = (
    AuditReaderRefused.code,
    AuditProfessionalUnknown.code,
    AuditDelegationExceeded.code,
    AuditNonceReused.code,
    AuditImpossibleTravel.code,
)
#: Mean Earth radius (IUGG), kilometres.
EARTH_RADIUS_KM: Final = 6371.0088


@dataclass(frozen=True)
class AuditParameters:
    """The audit's parameters: the verifier policy and the travel rule (section 7.5)."""

    skew: int = DEFAULT_SKEW
    max_token_lifetime: int = MAX_TTL
    max_speed_kmh: float = 250.0
    distance_slack_km: float = 30.0
    time_slack_s: int = 60
    issuer_cache_size: int = 65_536

    def __post_init__(self) -> None:
        if self.max_speed_kmh <= 0 or self.distance_slack_km < 0 or self.time_slack_s < 0:
            raise ValueError("the travel rule needs a positive speed and non-negative slacks")

    def travel_limit_km(self, seconds: int) -> float:
        """The farthest two consecutive reads ``seconds`` apart may be."""
        return self.distance_slack_km + self.max_speed_kmh * (seconds + self.time_slack_s) / 3600


# --- delegation limits (section 7.3) ----------------------------------------------------

_CLAUSE = re.compile(r"\s*(kinds|from|until)\s*=\s*(.*?)\s*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KINDS = {kind.name.lower(): kind for kind in ProfessionalKind}


@dataclass(frozen=True, slots=True)
class DelegationLimits:
    """A delegation scope in the audit's syntax: kinds of professional, UTC days."""

    kinds: frozenset[ProfessionalKind] | None = None
    first_day: _dt.date | None = None
    last_day: _dt.date | None = None


def parse_limits(scope: str) -> DelegationLimits | None:
    """The limits a scope states, or None when it is text for people (section 7.3)."""
    if not scope:
        return None
    values: dict[str, str] = {}
    for clause in scope.split(";"):
        match = _CLAUSE.fullmatch(clause)
        if match is None or match.group(1) in values:
            return None
        values[match.group(1)] = match.group(2)
    kinds = None
    if "kinds" in values:
        names = [name.strip() for name in values["kinds"].split(",")]
        if not names or not all(name in _KINDS for name in names):
            return None
        kinds = frozenset(_KINDS[name] for name in names)
    days: dict[str, _dt.date] = {}
    for name in ("from", "until"):
        if name in values:
            if _DATE.fullmatch(values[name]) is None:
                return None
            try:
                days[name] = _dt.date.fromisoformat(values[name])
            except ValueError:
                return None
    return DelegationLimits(kinds, days.get("from"), days.get("until"))


def _within_limits(delegation: Delegation, read_at: int, kind: ProfessionalKind | None) -> bool:
    limits = parse_limits(delegation.limits)
    if limits is None:
        return True
    day = _dt.datetime.fromtimestamp(read_at, _dt.UTC).date()
    if limits.first_day is not None and day < limits.first_day:
        return False
    if limits.last_day is not None and day > limits.last_day:
        return False
    return limits.kinds is None or kind is None or kind in limits.kinds


# --- one worker's state ------------------------------------------------------------------


class Checker:
    """What one worker keeps for an audit: a verifier with its caches, the directory."""

    def __init__(
        self,
        material: AuditMaterial,
        directory: Directory | None,
        parameters: AuditParameters,
    ) -> None:
        trust = TrustArchive(material)
        status = StatusArchive(material.status_lists, trust) if material.status_lists else None
        self.parameters = parameters
        self.directory = directory
        self.verifier = EvidenceVerifier(
            trust,
            status=status,
            professionals=None if directory is None else directory.keys(),
            skew=parameters.skew,
            max_token_lifetime=parameters.max_token_lifetime,
            issuer_cache_size=parameters.issuer_cache_size,
        )

    def check(self, data: bytes | None) -> _Outcome:
        """A1 - A4 of one record; never raises."""
        if data is None:
            return _Outcome(None, None, False, [AuditRecordInvalid.code])
        codes: list[str] = []
        record: EvidenceRecord | None = None
        verified: VerifiedEvidence | None = None
        presentation: VerifiedPresentation | None = None
        try:
            record = decode_evidence(data)
            verified = self.verifier.verify(record)
            presentation = verified.presentation
        except VitaleCredError as exc:
            codes.append(exc.code)
            if record is not None and exc.code.startswith(AUTHENTIC_FAMILIES):
                presentation = self._authentic(record)
        except Exception:  # noqa: BLE001 - a defect must not stop the audit: it is reported
            codes.append(InternalError.code)
        if record is not None:
            evidence = record.evidence
            if not evidence.accepted:
                codes.append(AuditReaderRefused.code)
            directory = self.directory
            known = directory is None or evidence.professional in directory
            if not known:
                codes.append(AuditProfessionalUnknown.code)
            if verified is not None:
                delegation = verified.presentation.delegation
                if delegation is not None:
                    found = None if directory is None else directory.get(evidence.professional)
                    kind = None if found is None else found.kind
                    if not _within_limits(delegation, evidence.read_at, kind):
                        codes.append(AuditDelegationExceeded.code)
        return _Outcome(record, presentation, presentation is not None, codes)

    def _authentic(self, record: EvidenceRecord) -> VerifiedPresentation | None:
        """Section 7.6: the record verifies at its token's own iat, status aside."""
        try:
            message = cose.decode_sign1(record.evidence.presentation)
            iat = decode_presentation_payload(message.payload).iat
            return self.verifier.verify(record, at=iat, status=False).presentation
        except VitaleCredError:
            return None


@dataclass(slots=True)
class _Outcome:
    record: EvidenceRecord | None
    presentation: VerifiedPresentation | None
    authentic: bool
    codes: list[str]


# --- report columns ------------------------------------------------------------------------

#: The report's columns and their Arrow types (section 7.7).
COLUMNS: Final = (
    ("source", "string"),
    ("row", "int64"),
    ("channel", "string"),
    ("professional", "string"),
    ("invoice", "string"),
    ("read_at", "int64"),
    ("reader_verdict", "string"),
    ("signed", "bool"),
    ("bound", "bool"),
    ("issuer_kid", "string"),
    ("organisme", "string"),
    ("card_serial", "int64"),
    ("beneficiary_index", "int64"),
    ("delegated", "bool"),
    ("device", "string"),
    ("nonce", "string"),
    ("token_iat", "int64"),
    ("authentic", "bool"),
    ("codes", "list<string>"),
    ("code", "string"),
)
_NAMES = tuple(name for name, _ in COLUMNS)


@dataclass(frozen=True, slots=True)
class NonceEntry:
    """A record in the nonce join: its token key and professional (section 7.4)."""

    token_key: bytes
    professional: str
    part: int
    position: int


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A record in its device's time line (section 7.5)."""

    device: bytes
    read_at: int
    part: int
    position: int
    professional: str


@dataclass
class Columns:
    """Report columns of records of one input partition, before the cross-record
    findings; ``positions`` are the records' positions in their partition."""

    values: dict[str, list[Any]] = field(default_factory=lambda: {n: [] for n in _NAMES})
    positions: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values["row"])


def bucket_of(key: bytes, buckets: int) -> int:
    """The bucket of a token key or a device key: stable across processes and runs."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % buckets


def device_id(x: bytes) -> str:
    """The report's short identifier of a device key."""
    return hashlib.sha256(x).hexdigest()[:16]


def check_partition(
    checker: Checker,
    part: int,
    source: str,
    records: Iterable[tuple[int, int, bytes | None]],
    buckets: int,
) -> tuple[Columns, list[list[NonceEntry]], list[list[TimelineEntry]]]:
    """Check records of input partition ``part`` (``(position, row, bytes)`` each, any
    subset of the partition): their columns, and their cross-record entries split into
    ``buckets`` (by token key for the nonce join, by device key for time lines)."""
    columns = Columns()
    v = columns.values
    positions = columns.positions
    nonces: list[list[NonceEntry]] = [[] for _ in range(buckets)]
    timelines: list[list[TimelineEntry]] = [[] for _ in range(buckets)]
    for position, row, data in records:
        outcome = checker.check(data)
        record = outcome.record
        presentation = outcome.presentation
        positions.append(position)
        v["source"].append(source)
        v["row"].append(row)
        if record is None:
            for name in ("channel", "professional", "invoice", "read_at", "reader_verdict"):
                v[name].append(None)
            v["signed"].append(None)
            v["bound"].append(None)
        else:
            evidence = record.evidence
            v["channel"].append(evidence.channel.name.lower())
            v["professional"].append(evidence.professional)
            v["invoice"].append(evidence.invoice.hex())
            v["read_at"].append(evidence.read_at)
            v["reader_verdict"].append(evidence.verdict)
            v["signed"].append(record.signed)
            v["bound"].append(evidence.context is not None and outcome.authentic)
        if presentation is None:
            for name in (
                "issuer_kid",
                "organisme",
                "card_serial",
                "beneficiary_index",
                "delegated",
                "device",
                "nonce",
                "token_iat",
            ):
                v[name].append(None)
        else:
            credential = presentation.credential
            card = credential.card
            x = credential.device_key.x
            v["issuer_kid"].append(credential.issuer.kid.hex())
            v["organisme"].append(str(card.organisme))
            v["card_serial"].append(card.serial)
            v["beneficiary_index"].append(card.index)
            v["delegated"].append(credential.delegation is not None)
            v["device"].append(device_id(x))
            v["nonce"].append(presentation.nonce.hex())
            v["token_iat"].append(presentation.token_iat)
            if record is not None and outcome.authentic:
                evidence = record.evidence
                token_key = x + presentation.nonce
                nonces[bucket_of(token_key, buckets)].append(
                    NonceEntry(token_key, evidence.professional, part, position)
                )
                timelines[bucket_of(x, buckets)].append(
                    TimelineEntry(x, evidence.read_at, part, position, evidence.professional)
                )
        v["authentic"].append(outcome.authentic)
        v["codes"].append(outcome.codes)
        v["code"].append(outcome.codes[0] if outcome.codes else None)
    return columns, nonces, timelines


# --- across records (sections 7.4, 7.5) ----------------------------------------------------


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) positions in degrees."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _groups(entries: Sequence[Any], key: Any) -> Iterator[list[Any]]:
    ordered = sorted(entries, key=key)
    start = 0
    for end in range(1, len(ordered) + 1):
        if end == len(ordered) or key(ordered[end])[0] != key(ordered[start])[0]:
            yield ordered[start:end]
            start = end


def _line_key(entry: TimelineEntry) -> tuple[bytes, int, int, int]:
    return (entry.device, entry.read_at, entry.part, entry.position)


def _nonce_key(entry: NonceEntry) -> tuple[bytes, int, int]:
    return (entry.token_key, entry.part, entry.position)


def cross_check(
    nonces: Iterable[NonceEntry],
    timelines: Iterable[TimelineEntry],
    directory: Directory | None,
    parameters: AuditParameters,
) -> list[tuple[int, int, str]]:
    """The cross-record findings of one bucket: ``(part, position, code)``, sorted."""
    out: set[tuple[int, int, str]] = set()
    nonce_code = AuditNonceReused.code
    for group in _groups(list(nonces), _nonce_key):
        if len({entry.professional for entry in group}) > 1:
            out.update((entry.part, entry.position, nonce_code) for entry in group)
    if directory is not None:
        travel_code = AuditImpossibleTravel.code
        for line in _groups(list(timelines), _line_key):
            for a, b in itertools.pairwise(line):
                if a.professional == b.professional:
                    continue
                here, there = directory.position(a.professional), directory.position(b.professional)
                if here is None or there is None:
                    continue
                if haversine_km(here, there) > parameters.travel_limit_km(b.read_at - a.read_at):
                    out.add((a.part, a.position, travel_code))
                    out.add((b.part, b.position, travel_code))
    return sorted(out)
