"""Seeded generator of realistic synthetic evidence: honest traffic and injected frauds.

One day of electronic invoices in metropolitan France, each with its evidence record
(``spec/evidence.md``): professionals (doctors, pharmacies, ...) spread over 24
cities, phones that live in one city and see one to three professionals a day at
least two hours apart (a few travel, six hours or more between two cities), 70 % QR
codes and 30 % NFC taps (most with a request context), a fifth of the professionals
signing their evidence, delegated credentials used at pharmacies. Then frauds of
every kind the audit looks for are injected, each with its ground truth: the exact
set of findings the audit must report for every record it touches.

Same seed, same bytes: keys derive from labels (``tools/vectors/_material.py``),
ECDSA signatures are deterministic, every other draw comes from one
``random.Random(seed)``.

Usage::

    from benchmarks.evidence_gen import generate
    data = generate(2_000, seed=7)                      # honest records, plus frauds
    data.write_jsonl("evidence.jsonl")                  # or data.write_parquet(...)
    data.labels                                         # expected findings per record

``python -m benchmarks.evidence_gen --honest 20000 --out DIR`` writes a data set
(``evidence.parquet``, ``readers.pem``, the status lists, ``professionals.jsonl``,
``truth.json``) for ``vitale-cred audit``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from benchmarks.cards import generate_card
from tools.vectors._material import Pki, ec_private_key, make_pki
from vitale_cred.audit import AuditMaterial, Professional, haversine_km
from vitale_cred.clock import FixedClock
from vitale_cred.credential import Delegation, Issuer
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey
from vitale_cred.evidence import Evidence, invoice_digest
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.session import session_transcript
from vitale_cred.model import Card, StatusReference
from vitale_cred.presentation import present
from vitale_cred.registry import (
    ContextLabel,
    CoseAlg,
    EvidenceChannel,
    FciLabel,
    ProfessionalKind,
    ReaderInfoLabel,
    StatusValue,
)
from vitale_cred.status import StatusList, issue_status_list

__all__ = ["CITIES", "DAY0", "FRAUD_KINDS", "Synthetic", "generate", "main"]

#: The audited day: 2026-12-01T00:00:00Z.
DAY0 = int(dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp())
_HOUR = 3_600
_CREDENTIAL_IAT = DAY0 - 30 * 86_400
_STATUS_URI = "https://status.example.fr/audit/1"

#: Metropolitan cities: (name, latitude, longitude).
CITIES: tuple[tuple[str, float, float], ...] = (
    ("Paris", 48.857, 2.352),
    ("Marseille", 43.296, 5.370),
    ("Lyon", 45.764, 4.836),
    ("Toulouse", 43.605, 1.444),
    ("Nice", 43.710, 7.262),
    ("Nantes", 47.218, -1.554),
    ("Strasbourg", 48.573, 7.752),
    ("Montpellier", 43.611, 3.877),
    ("Bordeaux", 44.838, -0.579),
    ("Lille", 50.629, 3.057),
    ("Rennes", 48.117, -1.678),
    ("Reims", 49.258, 4.032),
    ("Dijon", 47.322, 5.041),
    ("Brest", 48.390, -4.486),
    ("Limoges", 45.834, 1.261),
    ("Clermont-Ferrand", 45.778, 3.087),
    ("Tours", 47.394, 0.685),
    ("Amiens", 49.894, 2.296),
    ("Metz", 49.119, 6.176),
    ("Perpignan", 42.699, 2.895),
    ("Besançon", 47.238, 6.024),
    ("Caen", 49.183, -0.371),
    ("Grenoble", 45.188, 5.724),
    ("Rouen", 49.443, 1.099),
)
_KIND_WEIGHTS = (
    (ProfessionalKind.MEDECIN, 40),
    (ProfessionalKind.PHARMACIE, 35),
    (ProfessionalKind.AUXILIAIRE, 12),
    (ProfessionalKind.DENTISTE, 6),
    (ProfessionalKind.LABORATOIRE, 5),
    (ProfessionalKind.TRANSPORT, 2),
)

# Ground truth: the findings of each injected kind (the honest victims of "replay"
# and "travel" get the same finding as the fraudulent record).
_NONCE = "audit.nonce_reused"
_TRAVEL = "audit.impossible_travel"
FRAUD_KINDS: dict[str, frozenset[str]] = {
    "replay": frozenset({_NONCE}),
    "travel": frozenset({_TRAVEL}),
    "expired": frozenset({"presentation.expired"}),
    "not_yet_valid": frozenset({"presentation.not_yet_valid"}),
    "revoked": frozenset({"status.revoked"}),
    "suspended": frozenset({"status.suspended"}),
    "device_signature": frozenset({"binding.device_signature_invalid"}),
    "unknown_issuer": frozenset({"trust.unknown_issuer"}),
    "context_mismatch": frozenset({"evidence.context_mismatch"}),
    "evidence_signature": frozenset({"evidence.signature_invalid"}),
    "transcript_mismatch": frozenset({"presentation.transcript_mismatch"}),
    "reader_refused": frozenset({"audit.reader_refused"}),
    "delegation": frozenset({"audit.delegation_exceeded"}),
    "unknown_professional": frozenset({"audit.professional_unknown"}),
    "truncated": frozenset({"cbor.length_exceeds_input"}),
    "wrong_types": frozenset({"evidence.invalid"}),
    "not_a_record": frozenset({"audit.record_invalid"}),
}


@dataclass(frozen=True)
class _Practice:
    id: str
    kind: ProfessionalKind
    city: int
    lat: float
    lon: float
    signer: cose.SoftwareSigner | None


@dataclass
class _Phone:
    index: int
    device: SoftwareDeviceKey
    credential: bytes
    city: int
    delegated: bool = False


@dataclass
class Synthetic:
    """A generated data set: rows (record bytes, or None for a row that holds no
    record), the expected findings of each row, and what the audit needs."""

    records: list[bytes | None]
    labels: list[frozenset[str]]
    kinds: list[str]
    pem: bytes
    status_lists: tuple[bytes, ...]
    professionals: tuple[Professional, ...]
    seed: int
    stats: dict[str, Any] = field(default_factory=dict)

    def material(self) -> AuditMaterial:
        """The audit's trust: the readers' PEM bundle and the archived status lists."""
        return AuditMaterial(pem=self.pem, status_lists=self.status_lists)

    def expected_counts(self) -> Counter[str]:
        """Records per finding, as the audit must count them."""
        counts: Counter[str] = Counter()
        for labels in self.labels:
            counts.update(labels)
        return counts

    def honest(self) -> int:
        """Rows of honest traffic that no fraud touches."""
        return sum(1 for labels in self.labels if not labels)

    def write_jsonl(self, path: str | Path) -> None:
        """One ``{"evidence": base64}`` a line; rows without a record take each of the
        broken forms in turn (not JSON, no member, not base64, null)."""
        broken = (
            "{not json",
            '{"other": 1}',
            '{"evidence": "!!not base64!!"}',
            '{"evidence": null}',
        )
        lines = []
        missing = 0
        for record in self.records:
            if record is None:
                lines.append(broken[missing % len(broken)])
                missing += 1
            else:
                lines.append(json.dumps({"evidence": base64.b64encode(record).decode("ascii")}))
        Path(path).write_text("\n".join(lines) + "\n", encoding="ascii")

    def write_parquet(self, path: str | Path, *, row_group_size: int = 10_000) -> None:
        """A Parquet file with the binary column ``evidence`` (null: no record)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"evidence": pa.array(self.records, type=pa.binary())})
        pq.write_table(table, Path(path), row_group_size=row_group_size, compression="zstd")

    def write_professionals(self, path: str | Path) -> None:
        """The directory as JSON Lines."""
        lines = []
        for p in self.professionals:
            lines.append(
                json.dumps(
                    {
                        "id": p.id,
                        "kind": None if p.kind is None else p.kind.name.lower(),
                        "lat": p.lat,
                        "lon": p.lon,
                        "keys": [base64.b64encode(k).decode("ascii") for k in p.keys],
                    }
                )
            )
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


class _Generator:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.pki = make_pki(f"Audit {seed}", CoseAlg.ES256, 0x5000)
        self.untrusted = make_pki(f"Audit {seed} untrusted", CoseAlg.ES256, 0x6000)
        self.issuer = self._issuer(self.pki)
        self.forger = self._issuer(self.untrusted)
        self.points = [
            ec_private_key(f"audit/{seed}/ephemeral/{i}", ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
            for i in range(16)
        ]
        self.practices: list[_Practice] = []
        self.phones: list[_Phone] = []
        self.by_city: dict[int, list[_Practice]] = {}
        self.status_values: dict[int, int] = {}  # index -> value from noon on
        self.records: list[bytes | None] = []
        self.labels: list[set[str]] = []
        self.kinds: list[str] = []
        self.tokens: list[dict[str, Any]] = []  # what each honest record was made of
        self.invoice_counter = 0

    @staticmethod
    def _issuer(pki: Pki) -> Issuer:
        return Issuer(
            pki.signer(), kid=pki.kid, clock=FixedClock(_CREDENTIAL_IAT), x5chain=[pki.issuer]
        )

    # --- the world ------------------------------------------------------------------------

    def practices_for(self, count: int) -> None:
        kinds = [k for k, _ in _KIND_WEIGHTS]
        weights = [w for _, w in _KIND_WEIGHTS]
        for number in range(count):
            # Two practices in every city at least: a replay goes to the second one.
            cycled = number < 2 * len(CITIES)
            city = number % len(CITIES) if cycled else self.rng.randrange(len(CITIES))
            _, lat, lon = CITIES[city]
            signer = None
            if self.rng.random() < 0.2:
                key = ec_private_key(f"audit/{self.seed}/professional/{number}", ec.SECP256R1())
                signer = cose.SoftwareSigner(key)
            # Pharmacies first in every city, so that delegations have one to go to.
            kind = (
                ProfessionalKind.PHARMACIE
                if number < len(CITIES)
                else self.rng.choices(kinds, weights)[0]
            )
            practice = _Practice(
                f"{10_000_000_000 + number * 7919}",
                kind,
                city,
                round(lat + self.rng.uniform(-0.05, 0.05), 5),
                round(lon + self.rng.uniform(-0.07, 0.07), 5),
                signer,
            )
            self.practices.append(practice)
            self.by_city.setdefault(city, []).append(practice)

    def phone(
        self, *, city: int | None = None, delegation: Delegation | None = None, forged: bool = False
    ) -> _Phone:
        index = len(self.phones)
        device = SoftwareDeviceKey(
            ec_private_key(f"audit/{self.seed}/device/{index}", ec.SECP256R1())
        )
        card_json = generate_card(self.rng, ins=False)
        card_json["issued"] = "2026-11-01"  # after every birth the generator draws
        card = Card.from_json(card_json)
        beneficiary = self.rng.randrange(len(card.beneficiaries))
        issuer = self.forger if forged else self.issuer
        bundle = issuer.issue(
            card,
            ProvenDeviceKey.unsafe_without_proof(device.cose_key()),
            valid_days=365,
            status=[StatusReference(1, index)],
            delegation=delegation,
            beneficiaries=[beneficiary],
        )
        phone = _Phone(
            index,
            device,
            bundle.credentials[0],
            self.rng.randrange(len(CITIES)) if city is None else city,
            delegation is not None,
        )
        self.phones.append(phone)
        return phone

    # --- records ----------------------------------------------------------------------------

    def _invoice(self) -> bytes:
        self.invoice_counter += 1
        return invoice_digest(f"FSE {self.seed}-{self.invoice_counter:09d}".encode("ascii"))

    def _nonce(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def _fci_and_info(self, context: dict[int, Any] | None) -> tuple[bytes, bytes]:
        fci = _cbor.encode(
            {
                FciLabel.VERSION: 1,
                FciLabel.MAX_COMMAND: 1024,
                FciLabel.MAX_RESPONSE: 8464,
                FciLabel.EXTENDED_LENGTH: True,
                FciLabel.ALGORITHMS: [-7],
                FciLabel.SESSION_MODES: [1],
                FciLabel.HOLDER_KEY: self.rng.choice(self.points),
            }
        )
        info: dict[int, Any] = {
            ReaderInfoLabel.VERSION: 1,
            ReaderInfoLabel.NONCE: self.rng.randbytes(16),
            ReaderInfoLabel.MODE: 1,
            ReaderInfoLabel.READER_KEY: self.rng.choice(self.points),
        }
        if context is not None:
            info[ReaderInfoLabel.CONTEXT] = context
        return fci, _cbor.encode(info)

    def make(
        self,
        phone: _Phone,
        practice: _Practice,
        read_at: int,
        *,
        channel: EvidenceChannel = EvidenceChannel.QR,
        iat: int | None = None,
        context: bool = True,
        verdict: str = "ok",
        professional: str | None = None,
        sign: bool = True,
    ) -> tuple[Evidence, bytes]:
        """An evidence record of ``phone`` read at ``practice`` at ``read_at``."""
        iat = read_at - self.rng.randint(1, 20) if iat is None else iat
        invoice = self._invoice()
        ident = practice.id if professional is None else professional
        fci = info = transcript = None
        if channel is EvidenceChannel.NFC:
            fci, info = self._fci_and_info(
                {ContextLabel.PROFESSIONAL: ident, ContextLabel.INVOICE: invoice}
                if context
                else None
            )
            transcript = hashlib.sha256(session_transcript(fci, info)).digest()
        token = present(
            phone.credential,
            phone.device,
            clock=FixedClock(iat),
            transcript=transcript,
            rng=self._nonce,
        )
        evidence = Evidence(channel, token, read_at, verdict, ident, invoice, fci, info)
        signer = practice.signer if sign else None
        return evidence, evidence.encode(signer=signer)

    def add(self, record: bytes | None, kind: str, labels: set[str]) -> int:
        self.records.append(record)
        self.labels.append(labels)
        self.kinds.append(kind)
        return len(self.records) - 1


def _visit_times(rng: random.Random, visits: int) -> list[int]:
    """``visits`` instants of the day between 07:00 and 21:00, at least 2 h apart."""
    window = 14 * _HOUR - 2 * _HOUR * (visits - 1)
    offsets = sorted(rng.randrange(window) for _ in range(visits))
    return [DAY0 + 7 * _HOUR + offset + 2 * _HOUR * i for i, offset in enumerate(offsets)]


def generate(honest: int, *, seed: int = 1, frauds: int = 2) -> Synthetic:
    """About ``honest`` records of honest traffic, then ``frauds`` records of every kind
    of :data:`FRAUD_KINDS` (twice as many rows for replays and journeys, whose honest
    victims are flagged too), shuffled."""
    if honest < 10 or frauds < 0:
        raise ValueError("give at least 10 honest records and a non-negative fraud count")
    g = _Generator(seed)
    rng = g.rng
    g.practices_for(max(2 * len(CITIES), honest // 40))
    # Honest traffic: phones seeing one to three professionals of their city.
    honest_records: list[tuple[int, _Phone, _Practice, int, EvidenceChannel]] = []
    last_of_phone: dict[int, int] = {}
    while len(honest_records) < honest:
        phone = g.phone()
        visits = rng.choices((1, 2, 3), (55, 30, 15))[0]
        traveller = visits > 1 and rng.random() < 0.08
        times = _visit_times(rng, visits)
        if traveller:
            times = [
                DAY0 + 7 * _HOUR + rng.randrange(_HOUR),
                DAY0 + 15 * _HOUR + rng.randrange(4 * _HOUR),
            ]
        for number, at in enumerate(times):
            city = phone.city
            if traveller and number == 1:
                city = rng.choice([c for c in range(len(CITIES)) if c != phone.city])
            practice = rng.choice(g.by_city[city])
            channel = EvidenceChannel.NFC if rng.random() < 0.3 else EvidenceChannel.QR
            honest_records.append((len(honest_records), phone, practice, at, channel))
            if not traveller:
                last_of_phone[phone.index] = len(honest_records) - 1
    # Honest delegated credentials, used at pharmacies (their scope allows only those).
    scope = "kinds=pharmacie;until=2027-03-31"
    delegates = []
    for _ in range(max(2, honest // 200)):
        delegate = g.phone(delegation=Delegation("MARTIN Pierre", "DURAND Anne", scope))
        delegates.append(delegate)
        pharmacy = next(p for p in g.by_city[delegate.city] if p.kind is ProfessionalKind.PHARMACIE)
        honest_records.append(
            (len(honest_records), delegate, pharmacy, _visit_times(rng, 1)[0], EvidenceChannel.QR)
        )
    made: list[tuple[Evidence, int]] = []
    for _, phone, practice, at, channel in honest_records:
        evidence, data = g.make(phone, practice, at, channel=channel, context=rng.random() < 0.9)
        made.append((evidence, g.add(data, "honest", set())))
    stats: dict[str, Any] = {"honest": len(made), "professionals": len(g.practices)}

    used: set[int] = set()

    def honest_qr_last(phone_filter: Any = None) -> tuple[int, _Phone, _Practice, int, int]:
        """An honest QR record, last of its phone's day, of a phone no fraud used yet."""
        for _ in range(10_000):
            position = rng.choice(list(last_of_phone.values()))
            number, phone, practice, at, channel = honest_records[position]
            if phone.index in used or channel is not EvidenceChannel.QR or phone.delegated:
                continue
            if at > DAY0 + 22 * _HOUR:
                continue
            used.add(phone.index)
            return number, phone, practice, at, made[number][1]
        raise RuntimeError("not enough honest records to inject frauds into")

    def home_practice(phone: _Phone, *, other_than: _Practice | None = None) -> _Practice:
        choices = [p for p in g.by_city[phone.city] if p is not other_than]
        return rng.choice(choices)

    def fresh(city: int | None = None, **options: Any) -> _Phone:
        phone = g.phone(city=city, **options)
        used.add(phone.index)
        return phone

    def morning_and(phone: _Phone) -> None:
        """One honest morning visit (clean: the phone was fine then)."""
        _, data = g.make(phone, home_practice(phone), DAY0 + 8 * _HOUR + rng.randrange(2 * _HOUR))
        g.add(data, "honest", set())

    for _ in range(frauds):
        # The same QR token at a second professional of the same town, seconds later.
        number, phone, practice, at, row = honest_qr_last()
        original = made[number][0]
        other = home_practice(phone, other_than=practice)
        replay = Evidence(
            EvidenceChannel.QR,
            original.presentation,
            original.read_at + rng.randint(5, 25),
            "ok",
            other.id,
            g._invoice(),
        )
        g.labels[row].add(_NONCE)
        g.add(replay.encode(signer=other.signer), "replay", {_NONCE})

        # A fresh code of the same phone, 10 to 40 minutes later, 350 km away or more.
        number, phone, practice, at, row = honest_qr_last()
        far = [
            c
            for c in range(len(CITIES))
            if haversine_km(CITIES[c][1:], CITIES[phone.city][1:]) > 380
        ]
        far_practice = rng.choice(g.by_city[rng.choice(far)])
        _, data = g.make(phone, far_practice, at + rng.randint(10 * 60, 40 * 60))
        g.labels[row].add(_TRAVEL)
        g.add(data, "travel", {_TRAVEL})

        # Read outside the token's lifetime (a photo used later, a backdated read).
        phone = fresh()
        at = DAY0 + 14 * _HOUR + rng.randrange(4 * _HOUR)
        _, data = g.make(phone, home_practice(phone), at, iat=at - 90 - rng.randint(60, 600))
        g.add(data, "expired", {"presentation.expired"})
        phone = fresh()
        at = DAY0 + 14 * _HOUR + rng.randrange(4 * _HOUR)
        _, data = g.make(phone, home_practice(phone), at, iat=at + 30 + rng.randint(60, 600))
        g.add(data, "not_yet_valid", {"presentation.not_yet_valid"})

        # Revoked and suspended at noon: fine in the morning, flagged in the afternoon.
        for kind, value in (("revoked", StatusValue.INVALID), ("suspended", StatusValue.SUSPENDED)):
            phone = fresh()
            g.status_values[phone.index] = value
            morning_and(phone)
            _, data = g.make(
                phone, home_practice(phone), DAY0 + 14 * _HOUR + rng.randrange(4 * _HOUR)
            )
            g.add(data, kind, set(FRAUD_KINDS[kind]))

        # Forged: a device signature with one bit flipped; a credential no fund issued.
        phone = fresh()
        evidence, _ = g.make(phone, home_practice(phone), DAY0 + 10 * _HOUR, sign=False)
        token = bytearray(evidence.presentation)
        token[-5] ^= 0x40
        bad = Evidence(
            EvidenceChannel.QR,
            bytes(token),
            evidence.read_at,
            "ok",
            evidence.professional,
            evidence.invoice,
        )
        g.add(bad.encode(), "device_signature", {"binding.device_signature_invalid"})
        phone = fresh(forged=True)
        _, data = g.make(phone, home_practice(phone), DAY0 + 11 * _HOUR)
        g.add(data, "unknown_issuer", {"trust.unknown_issuer"})

        # NFC evidence moved to another invoice; another session's ReaderInfo.
        phone = fresh()
        evidence, _ = g.make(
            phone, home_practice(phone), DAY0 + 12 * _HOUR, channel=EvidenceChannel.NFC, sign=False
        )
        moved = Evidence(
            EvidenceChannel.NFC,
            evidence.presentation,
            evidence.read_at,
            "ok",
            evidence.professional,
            g._invoice(),
            evidence.fci,
            evidence.reader_info,
        )
        g.add(moved.encode(), "context_mismatch", {"evidence.context_mismatch"})
        phone = fresh()
        evidence, _ = g.make(
            phone,
            home_practice(phone),
            DAY0 + 13 * _HOUR,
            channel=EvidenceChannel.NFC,
            context=False,
            sign=False,
        )
        _, other_info = g._fci_and_info(None)
        swapped = Evidence(
            EvidenceChannel.NFC,
            evidence.presentation,
            evidence.read_at,
            "ok",
            evidence.professional,
            evidence.invoice,
            evidence.fci,
            other_info,
        )
        g.add(swapped.encode(), "transcript_mismatch", {"presentation.transcript_mismatch"})

        # A signed record altered after the professional signed it.
        phone = fresh()
        signing = next(p for p in g.practices if p.signer is not None)
        evidence, data = g.make(phone, signing, DAY0 + 9 * _HOUR)
        message = cose.decode_sign1(data)
        altered = Evidence(
            EvidenceChannel.QR,
            evidence.presentation,
            evidence.read_at - 1,
            "ok",
            evidence.professional,
            evidence.invoice,
        )
        forged = cose.encode_sign1(message.protected_bytes, {}, altered.encode(), message.signature)
        g.add(forged, "evidence_signature", {"evidence.signature_invalid"})

        # Billed although the reader refused; a delegation used at a doctor's.
        phone = fresh()
        _, data = g.make(
            phone, home_practice(phone), DAY0 + 15 * _HOUR, verdict="presentation.replayed"
        )
        g.add(data, "reader_refused", {"audit.reader_refused"})
        delegate = fresh(delegation=Delegation("MARTIN Pierre", "DURAND Anne", scope))
        doctor = next(
            (p for p in g.by_city[delegate.city] if p.kind is ProfessionalKind.MEDECIN),
            None,
        ) or next(p for p in g.practices if p.kind is ProfessionalKind.MEDECIN)
        _, data = g.make(delegate, doctor, DAY0 + 16 * _HOUR)
        g.add(data, "delegation", {"audit.delegation_exceeded"})

        # A professional the fund does not know.
        phone = fresh()
        _, data = g.make(
            phone,
            home_practice(phone),
            DAY0 + 17 * _HOUR,
            professional=f"99{rng.randrange(10**9):09d}",
            sign=False,
        )
        g.add(data, "unknown_professional", {"audit.professional_unknown"})

        # Bad records: cut short, a text read_at, a row with no record at all.
        phone = fresh()
        evidence, data = g.make(phone, home_practice(phone), DAY0 + 18 * _HOUR, sign=False)
        g.add(data[: len(data) // 2], "truncated", {"cbor.length_exceeds_input"})
        wire = evidence.to_wire()
        wire[5] = str(evidence.read_at)
        g.add(_cbor.encode(wire), "wrong_types", {"evidence.invalid"})
        g.add(None, "not_a_record", {"audit.record_invalid"})

    status_lists = _status_lists(g)
    professionals = tuple(
        Professional(
            p.id,
            p.kind,
            p.lat,
            p.lon,
            ()
            if p.signer is None
            else (
                p.signer.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            ),
        )
        for p in g.practices
    )
    order = list(range(len(g.records)))
    rng.shuffle(order)
    stats["rows"] = len(order)
    stats["phones"] = len(g.phones)
    stats["frauds"] = dict(Counter(g.kinds[i] for i in order if g.kinds[i] != "honest"))
    pem = b"".join(
        cert.public_bytes(serialization.Encoding.PEM) for cert in (g.pki.root, g.pki.issuer)
    )
    return Synthetic(
        records=[g.records[i] for i in order],
        labels=[frozenset(g.labels[i]) for i in order],
        kinds=[g.kinds[i] for i in order],
        pem=pem,
        status_lists=status_lists,
        professionals=professionals,
        seed=seed,
        stats=stats,
    )


def _status_lists(g: _Generator) -> tuple[bytes, ...]:
    """The issuer's status list: all valid from the night before, revocations at noon."""
    size = max(8, math.ceil(len(g.phones) / 4) * 4)
    out = []
    for iat, values in ((DAY0 - _HOUR, {}), (DAY0 + 12 * _HOUR, g.status_values)):
        status_list = StatusList(2, size)
        for index, value in values.items():
            status_list.set(index, value)
        out.append(
            issue_status_list(
                g.pki.signer(),
                kid=g.pki.kid,
                uri=_STATUS_URI,
                list_id=1,
                status_list=status_list,
                iat=iat,
                exp=iat + 2 * 86_400,
            )
        )
    return tuple(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.evidence_gen",
        description="Write a seeded synthetic data set of evidence records for vitale-cred audit.",
        epilog="example: python -m benchmarks.evidence_gen --honest 20000 --out /tmp/audit-data",
    )
    parser.add_argument("--honest", type=int, default=20_000, help="honest records")
    parser.add_argument("--frauds", type=int, default=5, help="records of each fraud kind")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--out", required=True, help="directory to write into")
    parser.add_argument("--jsonl", action="store_true", help="JSON Lines instead of Parquet")
    args = parser.parse_args(argv)
    data = generate(args.honest, seed=args.seed, frauds=args.frauds)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.jsonl:
        data.write_jsonl(out / "evidence.jsonl")
    else:
        data.write_parquet(out / "evidence.parquet")
    (out / "readers.pem").write_bytes(data.pem)
    archive = out / "archive"
    archive.mkdir(exist_ok=True)
    for number, token in enumerate(data.status_lists):
        (archive / f"status-{number:03d}.cwt").write_bytes(token)
    data.write_professionals(out / "professionals.jsonl")
    truth = {"expected": dict(sorted(data.expected_counts().items())), **data.stats}
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(truth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
