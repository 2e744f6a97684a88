"""One world builder for the tests, the fuzz harnesses and the benchmarks.

A world is an issuer PKI, the ``family5`` card (the copy that ships in the package)
issued to one device key, a fixed clock and the trust store of a reader that trusts
the issuer. Keys are random unless a label is given: label-derived keys and the
deterministic byte source come from the vector generator (``tools/vectors``), the
only place where they exist, and never reach the library.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a script (tests/test_nfc.py --write): tools/ lives at the repository root.
    sys.path.insert(0, str(ROOT))

from tools.vectors._material import drbg, ec_private_key  # noqa: E402
from vitale_cred.clock import FixedClock  # noqa: E402
from vitale_cred.credential import CredentialBundle, Issuer  # noqa: E402
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey  # noqa: E402
from vitale_cred.model import Card  # noqa: E402
from vitale_cred.pki import IssuerMaterial  # noqa: E402
from vitale_cred.registry import CoseAlg  # noqa: E402
from vitale_cred.trust import TrustStore  # noqa: E402
from vitale_cred.verify import Policy, Verifier  # noqa: E402

__all__ = [
    "NOW",
    "T0",
    "World",
    "drbg",
    "family5",
    "family5_json",
    "fixed_key",
    "make_world",
]

#: Start of validity of the test PKI.
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
#: The verification instant of most tests: two days after issuance.
NOW = int((T0 + dt.timedelta(days=2)).timestamp())


def family5_json() -> dict[str, Any]:
    """The five-person example card, as the issuer's JSON."""
    text = resources.files("vitale_cred").joinpath("data/family5.json").read_text("utf-8")
    value: dict[str, Any] = json.loads(text)
    return value


def family5() -> Card:
    return Card.from_json(family5_json())


def fixed_key(label: str, curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    """A private key derived from ``label`` (P-256 unless ``curve``): tests and fuzzing only."""
    return ec_private_key(label, curve or ec.SECP256R1())


@dataclass
class World:
    """One issuer, one card issued to one device, and a verifier trusting the issuer."""

    material: IssuerMaterial
    card: Card
    device: SoftwareDeviceKey
    issuer: Issuer
    bundle: CredentialBundle
    clock: FixedClock
    trust: TrustStore

    def verifier(self, **policy: object) -> Verifier:
        return Verifier(Policy(trust=self.trust, clock=self.clock, **policy))  # type: ignore[arg-type]


def make_world(
    alg: CoseAlg = CoseAlg.ES256,
    *,
    now: int = NOW,
    not_before: dt.datetime = T0,
    device: SoftwareDeviceKey | None = None,
    card: Card | None = None,
) -> World:
    """A fresh issuer of ``alg`` (random keys) and ``card`` (family5) issued at ``now``."""
    material = IssuerMaterial.generate(alg, not_before)
    clock = FixedClock(now)
    device = device or SoftwareDeviceKey.generate()
    issuer = Issuer(
        material.signer(), kid=material.kid, clock=clock, x5chain=[material.issuer_certificate]
    )
    card = card or family5()
    bundle = issuer.issue(
        card, ProvenDeviceKey.unsafe_without_proof(device.cose_key()), valid_days=365
    )
    trust = TrustStore(
        roots=[material.root_certificate], certificates=[material.issuer_certificate]
    )
    return World(material, card, device, issuer, bundle, clock, trust)
