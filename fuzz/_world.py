"""A deterministic world for the fuzz harnesses and the corpus builder.

Every key is derived from a fixed label, every nonce and ephemeral key from a
counter-mode SHA-256 stream, and every ECDSA signature is deterministic (RFC 6979),
so ``make_corpus.py`` writes the same tokens on every run (only the X.509
certificates, whose signatures cryptography randomises, differ between runs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from vitale_cred import cose
from vitale_cred.clock import FixedClock
from vitale_cred.credential import CredentialBundle, Issuer
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey
from vitale_cred.model import Card
from vitale_cred.pki import kid_for_certificate, make_issuer_certificate, make_root_certificate
from vitale_cred.registry import CoseAlg
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
from vitale_cred.trustlist import TrustList, TrustListEntry, sign_trust_list
from vitale_cred.verify import Policy, Verifier

ROOT = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NOW = int((T0 + dt.timedelta(days=2)).timestamp())
STATUS_URI = "https://status.example.test/lists/1"
STATUS_KID = b"status-1"
AUTHORITY_KID = b"trust-authority"
RAW_ISSUER_KID = b"raw-issuer"


def drbg(label: str) -> Callable[[int], bytes]:
    """A reproducible byte source (SHA-256 in counter mode). Never for real keys."""
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < n:
            out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
            counter += 1
        return out[:n]

    return rng


def fixed_key(label: str, curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    """A P-256 (or ``curve``) private key derived from ``label``."""
    curve = curve or ec.SECP256R1()
    scalar = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big") % (2**200) + 1
    return ec.derive_private_key(scalar, curve)


@dataclass
class FuzzWorld:
    """Issuer PKI, a family5 bundle bound to a device key, lists and the verifier's trust."""

    clock: FixedClock
    device: SoftwareDeviceKey
    issuer: Issuer
    bundle: CredentialBundle
    raw_bundle: CredentialBundle
    trust: TrustStore
    authority: TrustStore
    status_token: bytes
    trust_list: bytes
    status_provider: InMemoryStatusProvider

    def verifier(self, **policy: object) -> Verifier:
        """A verifier at NOW with a status checker over the published list."""
        checker = StatusChecker(self.status_provider, self.trust, policy=StatusPolicy())
        options: dict[str, object] = {"status": checker}
        options.update(policy)
        return Verifier(Policy(trust=self.trust, clock=self.clock, **options))  # type: ignore[arg-type]


def family5() -> Card:
    return Card.from_json(json.loads((ROOT / "spec/examples/family5.json").read_text("utf-8")))


def build() -> FuzzWorld:
    clock = FixedClock(NOW)
    issue_clock = FixedClock(T0 + dt.timedelta(days=1))
    root_key = fixed_key("fuzz root")
    issuer_key = fixed_key("fuzz issuer")
    root = make_root_certificate(root_key, "Fuzz root", T0, T0 + dt.timedelta(days=3650))
    cert = make_issuer_certificate(
        issuer_key.public_key(), "Fuzz issuer", root_key, root, T0, T0 + dt.timedelta(days=730)
    )
    device = SoftwareDeviceKey(fixed_key("fuzz device"))
    card = family5()
    refs = [StatusReference(i, STATUS_URI) for i in range(len(card.beneficiaries))]
    issuer = Issuer(
        cose.SoftwareSigner(issuer_key),
        kid=kid_for_certificate(cert),
        clock=issue_clock,
        x5chain=[cert],
    )
    proven = ProvenDeviceKey.unsafe_without_proof(device.cose_key())
    bundle = issuer.issue(card, proven, valid_days=365, status=refs)
    raw_signer = cose.SoftwareSigner(fixed_key("fuzz raw issuer"))
    raw_issuer = Issuer(raw_signer, kid=RAW_ISSUER_KID, clock=issue_clock)
    raw_bundle = raw_issuer.issue(card, proven, valid_days=365)

    status_signer = cose.SoftwareSigner(fixed_key("fuzz status"))
    status_list = StatusList(2, 64)
    status_list.set(3, StatusValue.INVALID)
    status_list.set(4, StatusValue.SUSPENDED)
    status_token = issue_status_list(
        status_signer,
        kid=STATUS_KID,
        uri=STATUS_URI,
        status_list=status_list,
        iat=NOW - 3600,
        exp=NOW + 86_400,
        ttl=43_200,
    )
    trust = TrustStore(
        roots=[root],
        certificates=[cert],
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(status_signer.public_key()),
                STATUS_KID,
                usages=[Usage.STATUS_LIST],
            ),
            raw_key(cose.CoseKey.from_public_key(raw_signer.public_key()), RAW_ISSUER_KID),
        ],
    )
    provider = InMemoryStatusProvider({STATUS_URI: status_token})

    authority_signer = cose.SoftwareSigner(fixed_key("fuzz trust authority"))
    authority = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(authority_signer.public_key()),
                AUTHORITY_KID,
                usages=[Usage.TRUST_LIST],
            )
        ]
    )
    entries = (
        TrustListEntry(
            kid=RAW_ISSUER_KID,
            algs=frozenset({CoseAlg.ES256}),
            usages=frozenset({Usage.CREDENTIAL}),
            key=cose.CoseKey.from_public_key(raw_signer.public_key()),
            not_before=NOW - 86_400,
            not_after=NOW + 365 * 86_400,
            name="raw issuer",
        ),
        TrustListEntry(
            kid=kid_for_certificate(cert),
            algs=frozenset({CoseAlg.ES256}),
            usages=frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST}),
            certificate=cert.public_bytes(Encoding.DER),
        ),
    )
    trust_list = sign_trust_list(
        TrustList(seq=7, issued_at=NOW - 60, next_update=NOW + 86_400, entries=entries),
        authority_signer,
        kid=AUTHORITY_KID,
    )
    return FuzzWorld(
        clock,
        device,
        issuer,
        bundle,
        raw_bundle,
        trust,
        authority,
        status_token,
        trust_list,
        provider,
    )

