"""Performance suite: verification against its floor and its peers, scaling and sizes.

Run as ``python -m benchmarks``; ``--quick`` is the smoke
mode CI runs (nothing about time is asserted). Method, for every timed row: a
calibrated batch of calls (about ``batch_seconds``) is timed with
``time.perf_counter``; ``rounds`` rounds time every row once each, rows in an order
rotated by one at every round (interleaved A/B); the garbage collector is disabled
during each timed batch; each row first runs ``warmup`` untimed batches. A row
reports the median time per call, calls per second and its ratio to a baseline row
of the same run. Peers needing cbor2 5.x (pycose, python-cwt) run the same timing
code in the interpreter named by ``VITALE_PYCOSE_PYTHON``.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as _dt
import gc
import hashlib
import importlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import Any, Generic, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from benchmarks._timing import Maker
from benchmarks._timing import interleave as _interleave
from tests._world import family5_json, make_world
from vitale_cred.clock import FixedClock, SystemClock
from vitale_cred.credential import MAX_CREDENTIAL_BYTES, CredentialBundle, Issuer, decode_claims
from vitale_cred.device import SoftwareDeviceKey, possession_proof, verify_possession
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.base45 import b45decode, b45encode
from vitale_cred.hazmat.qrtext import decode_qr_text
from vitale_cred.model import Card
from vitale_cred.pki import IssuerMaterial
from vitale_cred.presentation import (
    MAX_PRESENTATION_BYTES,
    decode_presentation_payload,
    present,
    present_qr,
)
from vitale_cred.registry import CoseAlg
from vitale_cred.status import StatusList, StatusValue, issue_status_list, verify_status_list
from vitale_cred.trust import TrustStore, Usage
from vitale_cred.verify import Policy, Verifier

__all__ = ["TARGETS", "Settings", "main", "run"]

T = TypeVar("T")
#: A row's batch factory: ``make(n)`` prepares (untimed) and returns a callable doing n calls.

#: Pass/fail thresholds: (name, row, baseline row or None, operator, threshold, what).
TARGETS: tuple[tuple[str, str, str | None, str, float, str], ...] = (
    (
        "qr_cold_vs_floor",
        "ours.verify.qr.cold",
        "floor.presentation",
        "<=",
        2.0,
        "QR presentation verify, issuer cache off, <= 2.0x floor (2 ES256 verifies + 1 key load)",
    ),
    (
        "qr_first_sight_vs_floor",
        "ours.verify.qr.first_sight",
        "floor.presentation",
        "<=",
        3.0,
        "QR presentation verify with a fresh trust store (X.509 path validation), <= 3.0x floor",
    ),
    (
        "qr_warm_vs_floor",
        "ours.verify.qr.warm",
        "floor.warm",
        "<=",
        1.0,
        "QR presentation verify, warm issuer cache, <= 1.0x floor (1 ES256 verify + 1 key load)",
    ),
    (
        "vs_python_cwt",
        "peer.cwt.presentation",
        None,
        ">=",
        1.0,
        "python-cwt is no faster than our cold verify of the same presentation",
    ),
    (
        "vs_pycose",
        "peer.pycose.presentation",
        None,
        ">=",
        20.0,
        "pycose takes >= 20x our cold verify of the same presentation",
    ),
    (
        "scaling_2_workers",
        "scale.verify_many.1worker",
        "scale.verify_many.2workers",
        ">=",
        1.6,
        "2 worker processes verify >= 1.6x as many presentations per second as 1",
    ),
)

_NOT_BEFORE_MARGIN = 86_400
_STATUS_URI = "https://status.ameli.example/lists/all"
_STATUS_SEED = 20_250_101
_BASE45_BYTES = 666  # 999 Base45 characters
_ECDSA_P256 = ec.ECDSA(hashes.SHA256())
_ECDSA_P384 = ec.ECDSA(hashes.SHA384())
_P256 = ec.SECP256R1()


@dataclass(frozen=True)
class Settings:
    """How long and how often to measure."""

    quick: bool
    rounds: int
    batch_seconds: float
    warmup: int
    scale_tokens: int
    scale_chunk: int
    scale_rounds: int
    latency_calls: int
    profile_calls: int
    status_entries: tuple[int, ...]
    max_beneficiaries: int = 12


FULL = Settings(
    quick=False,
    rounds=41,
    batch_seconds=0.010,
    warmup=2,
    scale_tokens=2_400,
    scale_chunk=150,
    scale_rounds=7,
    latency_calls=3_000,
    profile_calls=3_000,
    status_entries=(1_000_000, 60_000_000),
)
QUICK = Settings(
    quick=True,
    rounds=5,
    batch_seconds=0.002,
    warmup=1,
    scale_tokens=400,
    scale_chunk=50,
    scale_rounds=2,
    latency_calls=200,
    profile_calls=0,
    status_entries=(1_000_000,),
)


# --- timing core: benchmarks/_timing.py, shared with the peer interpreter ----------


def _calls(fn: Callable[[], object]) -> Maker:
    """A maker repeating ``fn`` n times."""

    def make(n: int) -> Callable[[], object]:
        def run() -> None:
            for _ in repeat(None, n):
                fn()

        return run

    return make


class _Pool(Generic[T]):
    """Distinct items (tokens, QR texts) made on demand, so no batch repeats one."""

    def __init__(self, new: Callable[[], T]) -> None:
        self._new = new
        self._items: list[T] = []

    def take(self, n: int) -> list[T]:
        while len(self._items) < n:
            self._items.append(self._new())
        return self._items[:n]


# --- fixtures -------------------------------------------------------------------------


@dataclass
class _Fixture:
    """One issuer (one algorithm), its trust store, a card and presentations of it."""

    alg: CoseAlg
    material: IssuerMaterial
    trust: TrustStore
    issuer: Issuer
    bundle: CredentialBundle
    credential: bytes
    compact: bytes
    token: bytes
    qr: str
    tokens: _Pool[bytes] = field(init=False)
    texts: _Pool[str] = field(init=False)


@dataclass
class _World:
    now: int
    clock: FixedClock
    card: Card
    card_json: dict[str, Any]
    device: SoftwareDeviceKey
    proven: Any
    fixtures: dict[CoseAlg, _Fixture]
    notes: list[str]


def _world() -> _World:
    """The shared world builder (tests/_world.py) at the current time, for each algorithm,
    with one device key across issuers and the presentation pools of the timed rows."""
    now = SystemClock().now()
    not_before = _dt.datetime.fromtimestamp(now - _NOT_BEFORE_MARGIN, tz=_dt.UTC)
    card_json = family5_json()
    card = Card.from_json(card_json)
    device = SoftwareDeviceKey.generate()
    nonce = os.urandom(16)
    proven = verify_possession(possession_proof(device, nonce, now), nonce, now)
    fixtures: dict[CoseAlg, _Fixture] = {}
    clock = FixedClock(now)
    for alg in (CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA):
        world = make_world(alg, now=now, not_before=not_before, device=device, card=card)
        clock = world.clock
        credential = world.bundle.credentials[0]
        token = present(credential, device, clock=clock)
        compact = decode_presentation_payload(cose.decode_sign1(token).payload).credential
        fixture = _Fixture(
            alg,
            world.material,
            world.trust,
            world.issuer,
            world.bundle,
            credential,
            compact,
            token,
            present_qr(credential, device, clock=clock),
        )
        fixture.tokens = _Pool(partial(present, credential, device, clock=clock))
        fixture.texts = _Pool(partial(present_qr, credential, device, clock=clock))
        fixtures[alg] = fixture
    return _World(now, clock, card, card_json, device, proven, fixtures, [])


def _test_bytes() -> bytes:
    """Reproducible payload for the encoding rows."""
    return random.Random(_STATUS_SEED).randbytes(_BASE45_BYTES)


def _der(signature: bytes) -> bytes:
    half = len(signature) // 2
    return encode_dss_signature(
        int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
    )


def _compressed_point(key: cose.CoseKey) -> bytes:
    return (b"\x03" if key.y is True else b"\x02") + key.x


def _uncompressed_point(key: cose.CoseKey) -> bytes:
    public = key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _issuer_verify(fixture: _Fixture) -> Callable[[], None]:
    """A raw ``cryptography`` verify of the credential's issuer signature."""
    message = cose.decode_sign1(fixture.compact)
    tbs = message.to_be_signed()
    public = fixture.material.issuer_certificate.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = message.signature
        return lambda: public.verify(raw, tbs)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    ecdsa_key = public
    der = _der(message.signature)
    algorithm = _ECDSA_P384 if fixture.alg is CoseAlg.ES384 else _ECDSA_P256
    return lambda: ecdsa_key.verify(der, tbs, algorithm)


# --- rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    name: str
    group: str
    what: str
    make: Maker
    baseline: str
    factor: int = 1


def _floor_rows(world: _World) -> list[_Row]:
    es256 = world.fixtures[CoseAlg.ES256]
    outer = cose.decode_sign1(es256.token)
    outer_tbs, outer_der = outer.to_be_signed(), _der(outer.signature)
    device_key = decode_claims(cose.decode_sign1(es256.compact).payload).device_key
    compressed = _compressed_point(device_key)
    uncompressed = _uncompressed_point(device_key)
    device = ec.EllipticCurvePublicKey.from_encoded_point(_P256, compressed)
    issuer_verify = _issuer_verify(es256)
    private = es256.material.issuer_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    signing = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    load = ec.EllipticCurvePublicKey.from_encoded_point

    def verify_plus_load_xy() -> None:
        load(_P256, uncompressed).verify(outer_der, outer_tbs, _ECDSA_P256)

    def warm() -> None:
        load(_P256, compressed).verify(outer_der, outer_tbs, _ECDSA_P256)

    def presentation_with(issuer: Callable[[], None]) -> Callable[[], None]:
        def floor() -> None:
            issuer()
            load(_P256, compressed).verify(outer_der, outer_tbs, _ECDSA_P256)

        return floor

    data = _test_bytes()
    payload = cose.decode_sign1(es256.compact).payload
    cbor2 = importlib.import_module("cbor2")
    base64 = importlib.import_module("base64")
    b64 = base64.b64encode(data)
    verify = "floor.es256.verify"
    rows = [
        _Row(
            verify,
            "floor",
            "cryptography ES256 verify, key pre-loaded, DER signature",
            _calls(lambda: device.verify(outer_der, outer_tbs, _ECDSA_P256)),
            verify,
        ),
        _Row(
            "floor.p256.load_xy",
            "floor",
            "P-256 public key load from x/y (uncompressed point)",
            _calls(lambda: load(_P256, uncompressed)),
            verify,
        ),
        _Row(
            "floor.p256.load_compressed",
            "floor",
            "P-256 public key load from a compressed point (our cnf device keys)",
            _calls(lambda: load(_P256, compressed)),
            verify,
        ),
        _Row(
            "floor.es256.verify+load_xy",
            "floor",
            "ES256 verify + P-256 key load from x/y",
            _calls(verify_plus_load_xy),
            verify,
        ),
        _Row(
            "floor.warm",
            "floor",
            "warm floor: 1 ES256 verify + 1 compressed key load",
            _calls(warm),
            verify,
        ),
        _Row(
            "floor.presentation",
            "floor",
            "presentation floor: 2 ES256 verifies + 1 compressed key load",
            _calls(presentation_with(issuer_verify)),
            verify,
        ),
        _Row(
            "floor.es384.verify",
            "floor",
            "cryptography ES384 verify, key pre-loaded",
            _calls(_issuer_verify(world.fixtures[CoseAlg.ES384])),
            verify,
        ),
        _Row(
            "floor.ed25519.verify",
            "floor",
            "cryptography Ed25519 verify, key pre-loaded",
            _calls(_issuer_verify(world.fixtures[CoseAlg.EDDSA])),
            verify,
        ),
        _Row(
            "floor.presentation.es384",
            "floor",
            "presentation floor, ES384 issuer: ES384 + ES256 verify + compressed load",
            _calls(presentation_with(_issuer_verify(world.fixtures[CoseAlg.ES384]))),
            "floor.presentation",
        ),
        _Row(
            "floor.presentation.eddsa",
            "floor",
            "presentation floor, EdDSA issuer: Ed25519 + ES256 verify + compressed load",
            _calls(presentation_with(_issuer_verify(world.fixtures[CoseAlg.EDDSA]))),
            "floor.presentation",
        ),
        _Row(
            "floor.es256.sign",
            "floor",
            "cryptography ES256 sign (RFC 6979 deterministic), DER out",
            _calls(lambda: private.sign(outer_tbs, signing)),
            verify,
        ),
        _Row(
            "floor.base64.encode",
            "floor",
            f"stdlib base64 encode of {_BASE45_BYTES} bytes (C)",
            _calls(lambda: base64.b64encode(data)),
            "floor.base64.encode",
        ),
        _Row(
            "floor.base64.decode",
            "floor",
            f"stdlib base64 decode of {len(b64)} chars (C)",
            _calls(lambda: base64.b64decode(b64)),
            "floor.base64.decode",
        ),
        _Row(
            "floor.cbor2.loads",
            "floor",
            f"cbor2.loads of a credential payload ({len(payload)} B, C, not strict)",
            _calls(lambda: cbor2.loads(payload)),
            "floor.cbor2.loads",
        ),
    ]
    return rows


def _verify_maker(world: _World, fixture: _Fixture, *, warm: bool, qr: bool) -> Maker:
    """Fresh verifier per batch (so nonces are never replays), distinct presentations."""

    def make(n: int) -> Callable[[], object]:
        verifier = Verifier(
            Policy(trust=fixture.trust, clock=world.clock, issuer_cache_size=1024 if warm else 0)
        )
        if warm:
            verifier.verify_presentation(fixture.token)
        if qr:
            texts = fixture.texts.take(n)
            verify_qr = verifier.verify_qr

            def run_qr() -> None:
                for text in texts:
                    verify_qr(text)

            return run_qr
        tokens = fixture.tokens.take(n)
        verify = verifier.verify_presentation

        def run() -> None:
            for token in tokens:
                verify(token)

        return run

    return make


def _first_sight_maker(world: _World, fixture: _Fixture) -> Maker:
    """Each verification on a trust store of its own, built untimed: the issuer is seen
    for the first time, so its certificate path is validated inside the timed call."""

    def make(n: int) -> Callable[[], object]:
        texts = fixture.texts.take(n)
        verifiers = [
            Verifier(
                Policy(
                    trust=TrustStore(
                        roots=[fixture.material.root_certificate],
                        certificates=[fixture.material.issuer_certificate],
                    ),
                    clock=world.clock,
                )
            )
            for _ in texts
        ]

        def run() -> None:
            for verifier, text in zip(verifiers, texts, strict=True):
                verifier.verify_qr(text)

        return run

    return make


def _ours_rows(world: _World) -> list[_Row]:
    rows: list[_Row] = []
    es256 = world.fixtures[CoseAlg.ES256]
    for alg, floor in (
        (CoseAlg.ES256, "floor.es256.verify"),
        (CoseAlg.ES384, "floor.es384.verify"),
        (CoseAlg.EDDSA, "floor.ed25519.verify"),
    ):
        fixture = world.fixtures[alg]
        key = fixture.trust.resolve(cose.decode_sign1(fixture.compact), world.now).key
        compact = fixture.compact
        suffix = alg.name.lower()

        def cose_verify(data: bytes = compact, k: cose.VerifyingKey = key) -> None:
            cose.decode_sign1(data, max_size=MAX_CREDENTIAL_BYTES).verify(k)

        cold = Verifier(Policy(trust=fixture.trust, clock=world.clock, issuer_cache_size=0))
        rows.append(
            _Row(
                f"ours.cose.verify.credential.{suffix}",
                "ours",
                f"decode_sign1 + Sign1.verify of a {alg.name} credential, key loaded",
                _calls(cose_verify),
                floor,
            )
        )
        rows.append(
            _Row(
                f"ours.credential.verify.cold.{suffix}",
                "ours",
                f"Verifier.verify_credential, {alg.name} issuer, issuer cache off",
                _calls(partial(cold.verify_credential, compact)),
                floor,
            )
        )
        if alg is not CoseAlg.ES256:
            rows.append(
                _Row(
                    f"ours.verify.token.cold.{suffix}",
                    "ours",
                    f"presentation verify from token bytes, {alg.name} issuer, cache off",
                    _verify_maker(world, fixture, warm=False, qr=False),
                    f"floor.presentation.{suffix}",
                )
            )
    device_key = decode_claims(cose.decode_sign1(es256.compact).payload).device_key
    loaded_device = device_key.verifying_key()
    token = es256.token

    def cose_verify_presentation() -> None:
        cose.decode_sign1(token, max_size=MAX_PRESENTATION_BYTES).verify(loaded_device)

    card_one = world.card
    proven = world.proven
    issuer = es256.issuer
    credential = es256.credential
    device = world.device
    clock = world.clock
    data = _test_bytes()
    text = b45encode(data)
    payload = cose.decode_sign1(es256.compact).payload
    rows += [
        _Row(
            "ours.cose.verify.presentation",
            "ours",
            "decode_sign1 + Sign1.verify of the device-signed presentation, key loaded",
            _calls(cose_verify_presentation),
            "floor.es256.verify",
        ),
        _Row(
            "ours.verify.qr.cold",
            "ours",
            "QR presentation verify from QR text, issuer cache off",
            _verify_maker(world, es256, warm=False, qr=True),
            "floor.presentation",
        ),
        _Row(
            "ours.verify.qr.first_sight",
            "ours",
            "QR presentation verify on a fresh trust store: X.509 path validated",
            _first_sight_maker(world, es256),
            "floor.presentation",
        ),
        _Row(
            "ours.verify.token.cold",
            "ours",
            "presentation verify from token bytes, issuer cache off",
            _verify_maker(world, es256, warm=False, qr=False),
            "floor.presentation",
        ),
        _Row(
            "ours.verify.qr.warm",
            "ours",
            "QR presentation verify from QR text, credential in the issuer cache",
            _verify_maker(world, es256, warm=True, qr=True),
            "floor.warm",
        ),
        _Row(
            "ours.verify.token.warm",
            "ours",
            "presentation verify from token bytes, credential in the issuer cache",
            _verify_maker(world, es256, warm=True, qr=False),
            "floor.warm",
        ),
        _Row(
            "ours.issue.credential",
            "ours",
            "Issuer.issue of one credential (the insured)",
            _calls(lambda: issuer.issue(card_one, proven, valid_days=365, beneficiaries=[0])),
            "floor.es256.sign",
        ),
        _Row(
            "ours.issue.family5",
            "ours",
            "Issuer.issue of the family5 card (5 credentials)",
            _calls(lambda: issuer.issue(card_one, proven, valid_days=365)),
            "floor.es256.sign",
            factor=5,
        ),
        _Row(
            "ours.present.token",
            "ours",
            "present: strip x5chain, sign the presentation (holder side)",
            _calls(lambda: present(credential, device, clock=clock)),
            "floor.es256.sign",
        ),
        _Row(
            "ours.present.qr",
            "ours",
            "present_qr: present + QR text (zlib when shorter, Base45)",
            _calls(lambda: present_qr(credential, device, clock=clock)),
            "floor.es256.sign",
        ),
        _Row(
            "ours.base45.encode",
            "ours",
            f"b45encode of {_BASE45_BYTES} bytes (999 chars)",
            _calls(lambda: b45encode(data)),
            "floor.base64.encode",
        ),
        _Row(
            "ours.base45.decode",
            "ours",
            "b45decode of 999 chars",
            _calls(lambda: b45decode(text)),
            "floor.base64.decode",
        ),
        _Row(
            "ours.cbor.decode",
            "ours",
            f"strict CBOR decode of a credential payload ({len(payload)} B)",
            _calls(lambda: _cbor.decode(payload, max_size=MAX_CREDENTIAL_BYTES, max_depth=8)),
            "floor.cbor2.loads",
        ),
    ]
    return rows


def _part_rows(world: _World) -> list[_Row]:
    """The cold verification cut into its steps (ratio: share of the whole)."""
    es256 = world.fixtures[CoseAlg.ES256]
    token, qr, trust, now = es256.token, es256.qr, es256.trust, world.now
    outer = cose.decode_sign1(token, max_size=MAX_PRESENTATION_BYTES)
    payload = decode_presentation_payload(outer.payload)
    message = cose.decode_sign1(payload.credential, max_size=MAX_CREDENTIAL_BYTES)
    claims = decode_claims(message.payload)
    issuer = trust.resolve(message, now, Usage.CREDENTIAL)
    device = claims.device_key.verifying_key()
    device_algs = frozenset({CoseAlg.ES256})
    whole = "ours.verify.token.cold"
    steps: list[tuple[str, str, Callable[[], object]]] = [
        ("qr.decode", "decode_qr_text (prefix, Base45, envelope)", lambda: decode_qr_text(qr)),
        (
            "decode_sign1.presentation",
            "decode_sign1 of the presentation",
            lambda: cose.decode_sign1(token, max_size=MAX_PRESENTATION_BYTES),
        ),
        (
            "presentation_payload",
            "decode_presentation_payload",
            lambda: decode_presentation_payload(outer.payload),
        ),
        (
            "sha256.credential",
            "SHA-256 of the credential (issuer cache key)",
            lambda: hashlib.sha256(payload.credential).digest(),
        ),
        (
            "decode_sign1.credential",
            "decode_sign1 of the credential",
            lambda: cose.decode_sign1(payload.credential, max_size=MAX_CREDENTIAL_BYTES),
        ),
        (
            "decode_claims",
            "decode_claims (CBOR + CardView)",
            lambda: decode_claims(message.payload),
        ),
        (
            "trust.resolve",
            "TrustStore.resolve (kid, cached path)",
            lambda: trust.resolve(message, now, Usage.CREDENTIAL),
        ),
        (
            "verify.credential",
            "Sign1.verify of the credential (issuer key loaded)",
            lambda: message.verify(issuer.key, allowed_algs=trust.allowed_algs),
        ),
        (
            "device_key.load",
            "CoseKey.verifying_key of the cnf key (compressed)",
            claims.device_key.verifying_key,
        ),
        (
            "verify.presentation",
            "Sign1.verify of the presentation (device key loaded)",
            lambda: outer.verify(device, allowed_algs=device_algs),
        ),
    ]
    return [_Row(f"part.{name}", "parts", what, _calls(fn), whole) for name, what, fn in steps]


def _peer_base45_rows(notes: list[str]) -> list[_Row]:
    try:
        peer = importlib.import_module("base45")
    except ImportError:
        notes.append("PyPI base45 is not installed: its rows are left out (pip install base45).")
        return []
    data = _test_bytes()
    text = b45encode(data)
    if peer.b45decode(text) != data or peer.b45encode(data).decode("ascii") != text:
        notes.append("PyPI base45 disagrees with ours on the test data: its rows are left out.")
        return []
    return [
        _Row(
            "peer.base45.encode",
            "peers",
            f"PyPI base45 b45encode of {_BASE45_BYTES} bytes",
            _calls(lambda: peer.b45encode(data)),
            "ours.base45.encode",
        ),
        _Row(
            "peer.base45.decode",
            "peers",
            "PyPI base45 b45decode of 999 chars",
            _calls(lambda: peer.b45decode(text)),
            "ours.base45.decode",
        ),
    ]


def _nfc_rows(world: _World, notes: list[str]) -> list[_Row]:
    """The NFC exchange through the in-memory ``pair`` helper, when the module exists."""
    try:
        nfc = importlib.import_module("vitale_cred.nfc")
    except ImportError:
        notes.append("vitale_cred.nfc is absent: the NFC row is left out.")
        return []
    es256 = world.fixtures[CoseAlg.ES256]
    try:
        credentials = nfc.credentials_by_index(es256.bundle.credentials)

        def exchange(verifier: Verifier) -> object:
            holder = nfc.HolderSession(
                credentials,
                world.device,
                clock=world.clock,
                gate=lambda: True,
                chooser=lambda hint, available: 0 if hint is None else hint,
            )
            reader = nfc.ReaderSession(verifier, beneficiary_hint=0)
            return nfc.pair(holder, reader)

        def verifier() -> Verifier:
            return Verifier(Policy(trust=es256.trust, clock=world.clock, issuer_cache_size=0))

        exchange(verifier())
    except (AttributeError, TypeError, VitaleCredError) as exc:
        notes.append(f"vitale_cred.nfc is present but its pair helper failed ({exc!r}): no row.")
        return []

    def make(n: int) -> Callable[[], object]:
        v = verifier()

        def run() -> None:
            for _ in repeat(None, n):
                exchange(v)

        return run

    return [
        _Row(
            "ours.nfc.pair",
            "ours",
            "NFC session in memory (nfc.pair): ECDH, HKDF, AES-GCM, holder signs, "
            "reader verifies (issuer cache off)",
            make,
            "ours.verify.token.cold",
        )
    ]


# --- peers in their own interpreter ---------------------------------------------------

# The peer script: benchmarks/peers.py, run by the peer interpreter.
PEERS_SCRIPT = Path(__file__).resolve().parent / "peers.py"

_PEER_ROWS: dict[str, tuple[str, str, str]] = {
    # peer-interpreter name -> (row, what, baseline in the peer interpreter)
    "floor.es256.verify": (
        "floor.es256.verify@interop",
        "cryptography ES256 verify, key pre-loaded",
        "floor.es256.verify@interop",
    ),
    "floor.presentation": (
        "floor.presentation@interop",
        "presentation floor: 2 ES256 verifies + 1 compressed key load",
        "floor.es256.verify@interop",
    ),
    "ours.verify.token.cold": (
        "ours.verify.token.cold@interop",
        "our presentation verify from token bytes, issuer cache off",
        "floor.presentation@interop",
    ),
    "ours.cose.verify.credential": (
        "ours.cose.verify.credential@interop",
        "our decode_sign1 + Sign1.verify of the credential, key loaded",
        "floor.es256.verify@interop",
    ),
    "ours.cose.verify.presentation": (
        "ours.cose.verify.presentation@interop",
        "our decode_sign1 + Sign1.verify of the presentation, key loaded",
        "floor.es256.verify@interop",
    ),
    "cwt.inner.cose": (
        "peer.cwt.credential.cose",
        "python-cwt COSE.decode of the credential (verify), key loaded",
        "ours.cose.verify.credential@interop",
    ),
    "cwt.inner.cwt": (
        "peer.cwt.credential.cwt",
        "python-cwt cwt.decode of the credential (verify + claims), key loaded",
        "ours.cose.verify.credential@interop",
    ),
    "cwt.outer.cose": (
        "peer.cwt.presentation.cose",
        "python-cwt COSE.decode of the presentation (verify), key loaded",
        "ours.cose.verify.presentation@interop",
    ),
    "cwt.presentation": (
        "peer.cwt.presentation",
        "python-cwt, whole presentation: cwt.decode credential, load cnf key, "
        "COSE.decode presentation",
        "ours.verify.token.cold@interop",
    ),
    "pycose.inner": (
        "peer.pycose.credential",
        "pycose Sign1Message.decode + verify_signature of the credential",
        "ours.cose.verify.credential@interop",
    ),
    "pycose.outer": (
        "peer.pycose.presentation.cose",
        "pycose Sign1Message.decode + verify_signature of the presentation",
        "ours.cose.verify.presentation@interop",
    ),
    "pycose.presentation": (
        "peer.pycose.presentation",
        "pycose, whole presentation: decode both, verify credential, load cnf key, "
        "verify presentation",
        "ours.verify.token.cold@interop",
    ),
}


_MAIN_BASELINES = {
    "ours.verify.token.cold@interop": "ours.verify.token.cold",
    "ours.cose.verify.credential@interop": "ours.cose.verify.credential.es256",
    "ours.cose.verify.presentation@interop": "ours.cose.verify.presentation",
}


def _peer_spec(world: _World, settings: Settings) -> dict[str, Any]:
    es256 = world.fixtures[CoseAlg.ES256]
    outer = cose.decode_sign1(es256.token)
    inner = cose.decode_sign1(es256.compact)
    device_key = decode_claims(inner.payload).device_key
    issuer_key = cose.CoseKey.from_public_key(
        es256.material.issuer_certificate.public_key()  # type: ignore[arg-type]
    )
    assert isinstance(issuer_key.y, bytes)
    pem = serialization.Encoding.PEM
    return {
        "rounds": settings.rounds,
        "batch_seconds": settings.batch_seconds,
        "warmup": settings.warmup,
        "now": world.now,
        "outer": es256.token.hex(),
        "inner": es256.compact.hex(),
        "kid": es256.material.kid.hex(),
        "issuer_x": issuer_key.x.hex(),
        "issuer_y": issuer_key.y.hex(),
        "issuer_point": (b"\x04" + issuer_key.x + issuer_key.y).hex(),
        "device_point": _compressed_point(device_key).hex(),
        "inner_tbs": inner.to_be_signed().hex(),
        "inner_der": _der(inner.signature).hex(),
        "outer_tbs": outer.to_be_signed().hex(),
        "outer_der": _der(outer.signature).hex(),
        "root_pem": es256.material.root_certificate.public_bytes(pem).decode(),
        "issuer_pem": es256.material.issuer_certificate.public_bytes(pem).decode(),
        "tokens": [t.hex() for t in es256.tokens.take(1_000)],
    }


def _peer_results(
    world: _World, settings: Settings, notes: list[str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time python-cwt and pycose (and our verify, for an A/B) in the peer interpreter."""
    python = os.environ.get("VITALE_PYCOSE_PYTHON")
    if not python:
        notes.append(
            "VITALE_PYCOSE_PYTHON is not set: python-cwt and pycose (cbor2 5.x) are tried "
            "in this interpreter."
        )
        python = sys.executable
    elif not Path(python).exists():
        notes.append(f"VITALE_PYCOSE_PYTHON={python} does not exist: peer rows left out.")
        return [], {}
    try:
        done = subprocess.run(
            [python, str(PEERS_SCRIPT)],
            input=json.dumps(_peer_spec(world, settings)),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        notes.append(f"peer interpreter {python} failed to run ({exc!r}): peer rows left out.")
        return [], {}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        notes.append(f"peer interpreter {python} failed ({tail[0]}): peer rows left out.")
        return [], {}
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    notes.extend(answer["notes"])
    rows = []
    timed = {_PEER_ROWS[name][0] for name in answer["results"]}
    for name, stats in answer["results"].items():
        row, what, baseline = _PEER_ROWS[name]
        if baseline not in timed:
            # Our rows did not run there: compare with this interpreter's.
            baseline = _MAIN_BASELINES[baseline]
        group = "peers" if row.startswith("peer.") else "interop"
        rows.append(
            _result(row, group, what + " [peer interpreter]", stats, baseline, 1, python=python)
        )
    return rows, {"python": python, **answer["versions"]}


# --- results --------------------------------------------------------------------------


def _result(
    name: str,
    group: str,
    what: str,
    stats: dict[str, Any],
    baseline: str,
    factor: int,
    **extra: object,
) -> dict[str, Any]:
    median = stats["median_s"] * 1e6
    return {
        "name": name,
        "group": group,
        "what": what,
        "median_us": median,
        "p25_us": stats["p25_s"] * 1e6,
        "p75_us": stats["p75_s"] * 1e6,
        "ops": 1e6 / median,
        "number": int(stats["number"]),
        "rounds": int(stats["rounds"]),
        "baseline": baseline,
        "baseline_factor": factor,
        "ratio": None,
        "samples_us": [value * 1e6 for value in stats.get("samples_s", ())],
        **extra,
    }


def _fill_ratios(rows: list[dict[str, Any]]) -> None:
    by_name = {row["name"]: row for row in rows}
    for row in rows:
        base = by_name.get(row["baseline"])
        if base is None:
            row["baseline"] = row["name"]
            row["baseline_factor"] = 1
            base = row
        row["ratio"] = row["median_us"] / (row["baseline_factor"] * base["median_us"])


def _paired_ratio(row: dict[str, Any], base: dict[str, Any]) -> float:
    """The median over rounds of the row's time over its baseline's in the same round.

    Both were timed within one rotation, a fraction of a second apart: a drift of the
    machine's speed over the run (other tenants of a shared host) moves both, and
    cancels out of each round's ratio where it does not cancel out of a ratio of two
    medians taken over the whole run. Rows without paired samples (a quick run, rows
    timed in different runs) fall back to the ratio of their medians.
    """
    a, b = row.get("samples_us") or [], base.get("samples_us") or []
    if len(a) != len(b) or len(a) < 3:
        return float(row["median_us"] / base["median_us"])
    return float(statistics.median(x / y for x, y in zip(a, b, strict=True)))


def _targets(rows: list[dict[str, Any]], notes: list[str]) -> list[dict[str, Any]]:
    by_name = {row["name"]: row for row in rows}
    out = []
    for name, row_name, other, op, threshold, what in TARGETS:
        row = by_name.get(row_name)
        against = other if other is not None else (row or {}).get("baseline")
        base = by_name.get(against) if against else None
        entry: dict[str, Any] = {
            "name": name,
            "what": what,
            "row": row_name,
            "against": against,
            "op": op,
            "threshold": threshold,
            "value": None,
            "measured": False,
            "pass": None,
        }
        if row is not None and base is not None:
            value = _paired_ratio(row, base)
            entry["value"] = value
            entry["ratio_of_medians"] = row["median_us"] / base["median_us"]
            entry["measured"] = True
            entry["pass"] = value <= threshold if op == "<=" else value >= threshold
        else:
            notes.append(f"target {name} not measured (row {row_name} or its baseline missing)")
        out.append(entry)
    cold = by_name.get("ours.verify.token.cold")
    for entry in out:
        peer = by_name.get(entry["row"])
        if entry["name"].startswith("vs_") and peer is not None and cold is not None:
            # The same ratio against this interpreter's measurement, as a cross-check.
            entry["value_vs_main_interpreter"] = peer["median_us"] / cold["median_us"]
    return out


# --- scaling --------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_init(root_pem: bytes, issuer_pem: bytes, now: int) -> None:
    """Pool initialiser: the trust store, built once per worker process."""
    _WORKER["trust"] = TrustStore(
        roots=[x509.load_pem_x509_certificate(root_pem)],
        certificates=[x509.load_pem_x509_certificate(issuer_pem)],
    )
    _WORKER["clock"] = FixedClock(now)


def _worker_verify(tokens: list[bytes]) -> int:
    """Verify a chunk with ``verify_many`` (issuer cache off, gc off); count successes."""
    verifier = Verifier(Policy(trust=_WORKER["trust"], clock=_WORKER["clock"], issuer_cache_size=0))
    enabled = gc.isenabled()
    gc.disable()
    try:
        results = verifier.verify_many(tokens)
    finally:
        if enabled:
            gc.enable()
    return sum(1 for r in results if not isinstance(r, Exception))


def _scaling(world: _World, settings: Settings) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    es256 = world.fixtures[CoseAlg.ES256]
    tokens = es256.tokens.take(settings.scale_tokens)
    chunks = [
        tokens[i : i + settings.scale_chunk] for i in range(0, len(tokens), settings.scale_chunk)
    ]
    pem = serialization.Encoding.PEM
    initargs = (
        es256.material.root_certificate.public_bytes(pem),
        es256.material.issuer_certificate.public_bytes(pem),
        world.now,
    )
    context = multiprocessing.get_context("spawn")
    pools = {
        workers: context.Pool(workers, initializer=_worker_init, initargs=initargs)
        for workers in (1, 2)
    }
    trust = es256.trust

    def in_process() -> int:
        verifier = Verifier(Policy(trust=trust, clock=world.clock, issuer_cache_size=0))
        results = verifier.verify_many(tokens)
        return sum(1 for r in results if not isinstance(r, Exception))

    def pooled(workers: int) -> Callable[[], int]:
        return lambda: sum(pools[workers].map(_worker_verify, chunks, chunksize=1))

    modes: dict[str, Callable[[], int]] = {
        "scale.verify_many.inprocess": in_process,
        "scale.verify_many.1worker": pooled(1),
        "scale.verify_many.2workers": pooled(2),
    }
    samples: dict[str, list[float]] = {name: [] for name in modes}
    try:
        for run in modes.values():  # warm-up: worker start, imports, certificate paths
            if run() != len(tokens):
                raise RuntimeError("a presentation failed to verify in the scaling run")
        names = list(modes)
        enabled = gc.isenabled()
        for index in range(settings.scale_rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                gc.disable()
                try:
                    start = time.perf_counter()
                    verified = modes[name]()
                    elapsed = time.perf_counter() - start
                finally:
                    if enabled:
                        gc.enable()
                if verified != len(tokens):
                    raise RuntimeError("a presentation failed to verify in the scaling run")
                samples[name].append(elapsed / len(tokens))
    finally:
        for pool in pools.values():
            pool.close()
            pool.join()
    baselines = {
        "scale.verify_many.inprocess": "ours.verify.token.cold",
        "scale.verify_many.1worker": "scale.verify_many.inprocess",
        "scale.verify_many.2workers": "scale.verify_many.1worker",
    }
    whats = {
        "scale.verify_many.inprocess": "Verifier.verify_many in this process (wall time / N)",
        "scale.verify_many.1worker": "verify_many in a pool of 1 worker process (wall / N)",
        "scale.verify_many.2workers": "verify_many in a pool of 2 worker processes (wall / N)",
    }
    rows = []
    for name, values in samples.items():
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        stats = {
            "median_s": statistics.median(values),
            "p25_s": quartiles[0],
            "p75_s": quartiles[2],
            "number": len(tokens),
            "rounds": len(values),
        }
        rows.append(_result(name, "scaling", whats[name], stats, baselines[name], 1))
    one = statistics.median(samples["scale.verify_many.1worker"])
    two = statistics.median(samples["scale.verify_many.2workers"])
    summary = {
        "presentations": len(tokens),
        "chunk": settings.scale_chunk,
        "rounds": settings.scale_rounds,
        "start_method": "spawn",
        "cpu_count": os.cpu_count(),
        "speedup_2_vs_1": one / two,
        "note": "issuer cache off; each task builds a Verifier over the worker's TrustStore",
    }
    return rows, summary


# --- latency, profile -----------------------------------------------------------------


def _latency(world: _World, settings: Settings) -> list[dict[str, Any]]:
    """Single-call times, calls of the three subjects interleaved one by one."""
    es256 = world.fixtures[CoseAlg.ES256]
    n = settings.latency_calls
    texts = es256.texts.take(n)
    cold = Verifier(Policy(trust=es256.trust, clock=world.clock, issuer_cache_size=0))
    warm = Verifier(Policy(trust=es256.trust, clock=world.clock))
    warm.verify_presentation(es256.token)
    floor_row = next(r for r in _floor_rows(world) if r.name == "floor.presentation")
    floor_once = floor_row.make(1)
    subjects: dict[str, Callable[[str], object]] = {
        "ours.verify.qr.cold": cold.verify_qr,
        "ours.verify.qr.warm": warm.verify_qr,
        "floor.presentation": lambda _text: floor_once(),
    }
    samples: dict[str, list[int]] = {name: [] for name in subjects}
    clock_ns = time.perf_counter_ns
    enabled = gc.isenabled()
    gc.disable()
    try:
        for text in texts:
            for name, call in subjects.items():
                start = clock_ns()
                call(text)
                samples[name].append(clock_ns() - start)
    finally:
        if enabled:
            gc.enable()
    out = []
    for name, values in samples.items():
        values.sort()
        pick = [values[min(len(values) - 1, int(q * len(values)))] / 1e3 for q in (0.5, 0.9, 0.99)]
        out.append(
            {
                "name": name,
                "calls": len(values),
                "p50_us": pick[0],
                "p90_us": pick[1],
                "p99_us": pick[2],
                "max_us": values[-1] / 1e3,
                "p99_over_p50": pick[2] / pick[0],
            }
        )
    return out


def _profile(world: _World, settings: Settings, top: int = 15) -> dict[str, Any]:
    """cProfile of cold QR verifications: the costliest functions by own time."""
    es256 = world.fixtures[CoseAlg.ES256]
    n = settings.profile_calls
    texts = es256.texts.take(n)
    verifier = Verifier(Policy(trust=es256.trust, clock=world.clock, issuer_cache_size=0))
    profiler = cProfile.Profile()
    profiler.enable()
    for text in texts:
        verifier.verify_qr(text)
    profiler.disable()
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    rows = []
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in ranked:
        where = f"{Path(filename).name}:{line}({function})" if line else _builtin(function)
        rows.append(
            {
                "function": where,
                "calls_per_verify": calls / n,
                "own_us": own / n * 1e6,
                "cumulative_us": cumulative / n * 1e6,
                "share_pct": 100 * own / total,
            }
        )
    return {"calls": n, "total_us_per_verify": total / n * 1e6, "top": rows}


def _builtin(function: str) -> str:
    """``<method 'verify' of 'a.b.C' objects>`` -> ``<method 'verify' of 'C' objects>``."""
    parts = function.split("'")
    return "'".join(
        part.rsplit(".", 1)[-1] if index == 3 else part for index, part in enumerate(parts)
    )


# --- sizes ----------------------------------------------------------------------------


def _synthetic_card(base: dict[str, Any], beneficiaries: int) -> Card:
    """The insured of ``base`` plus ``beneficiaries - 1`` dependants cycled from it."""
    people = base["beneficiaries"]
    dependants = people[1:]
    chosen = [people[0]] + [dependants[i % len(dependants)] for i in range(beneficiaries - 1)]
    return Card.from_json({**base, "beneficiaries": chosen})


def _sizes(world: _World, settings: Settings, notes: list[str]) -> list[dict[str, Any]]:
    es256 = world.fixtures[CoseAlg.ES256]
    try:
        qrimage = importlib.import_module("vitale_cred.adapters.qrimage")
        qrimage.qr_version("VC1:00", "L")
    except (ImportError, VitaleCredError) as exc:
        notes.append(f"QR versions left out: segno unavailable ({exc}).")
        qrimage = None
    out = []
    for count in range(1, settings.max_beneficiaries + 1):
        card = _synthetic_card(world.card_json, count)
        bundle = es256.issuer.issue(card, world.proven, valid_days=365)
        full = [len(c) for c in bundle.credentials]
        texts = [present_qr(c, world.device, clock=world.clock) for c in bundle.credentials]
        compact = [
            len(
                decode_presentation_payload(cose.decode_sign1(decode_qr_text(t)).payload).credential
            )
            for t in texts
        ]
        chars = [len(t) for t in texts]
        largest = max(texts, key=len)
        versions = (
            {level: qrimage.qr_version(largest, level) for level in ("L", "M", "Q")}
            if qrimage is not None
            else None
        )
        out.append(
            {
                "beneficiaries": count,
                "bundle_bytes": len(bundle.encode()),
                "credential_bytes": _spread(full),
                "compact_credential_bytes": _spread(compact),
                "qr_chars": _spread(chars),
                "qr_version_of_largest": versions,
            }
        )
    return out


def _spread(values: Sequence[int]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def _status(world: _World, settings: Settings) -> list[dict[str, Any]]:
    """Status lists at 1 % revoked: sizes, build, compression and verification times."""
    es256 = world.fixtures[CoseAlg.ES256]
    out = []
    for entries in settings.status_entries:
        rng = random.Random(_STATUS_SEED)
        revoked = rng.sample(range(entries), entries // 100)
        for bits in (1, 2):
            start = time.perf_counter()
            lst = StatusList(bits, entries)
            for idx in revoked:
                lst.set(idx, StatusValue.INVALID)
            build_s = time.perf_counter() - start
            start = time.perf_counter()
            compressed = lst.compressed()
            compress_s = time.perf_counter() - start
            token = issue_status_list(
                es256.material.signer(),
                kid=es256.material.kid,
                uri=_STATUS_URI,
                list_id=1,
                status_list=lst,
                iat=world.now,
                exp=world.now + 86_400,
                ttl=3_600,
            )
            start = time.perf_counter()
            verified = verify_status_list(
                token,
                es256.trust,
                clock=FixedClock(world.now),
                expected_kid=es256.material.kid,
                expected_list=1,
            )
            verify_s = time.perf_counter() - start
            if verified.status(revoked[0]) != StatusValue.INVALID:
                raise RuntimeError("a revoked entry did not read back as INVALID")
            out.append(
                {
                    "entries": entries,
                    "bits": bits,
                    "revoked": len(revoked),
                    "raw_bytes": len(lst.to_bytes()),
                    "compressed_bytes": len(compressed),
                    "token_bytes": len(token),
                    "build_s": build_s,
                    "compress_s": compress_s,
                    "verify_s": verify_s,
                }
            )
    return out


# --- report ---------------------------------------------------------------------------


def _load() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, where the platform has them."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def _cpu_seconds() -> tuple[float, float] | None:
    """Busy CPU seconds of the whole machine and of this process with its children.

    Their difference over a run is the CPU other processes took meanwhile (Linux only).
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:9]]
        usage = importlib.import_module("resource")
    except (OSError, ValueError, ImportError):
        return None
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    own = sum(
        usage.getrusage(who).ru_utime + usage.getrusage(who).ru_stime
        for who in (usage.RUSAGE_SELF, usage.RUSAGE_CHILDREN)
    )
    return busy, own


def _interference(
    before: tuple[float, float] | None, wall: float, notes: list[str]
) -> dict[str, float] | None:
    """CPU time other processes used during the run, and a note when it was not small."""
    after = _cpu_seconds()
    if before is None or after is None:
        return None
    foreign = max(0.0, (after[0] - before[0]) - (after[1] - before[1]))
    share = foreign / (wall * (os.cpu_count() or 1))
    if share > 0.05:
        notes.append(
            f"Other processes used {foreign:.1f} CPU-seconds during the run ({share:.0%} of the "
            "machine): timings, the scaling rows above all, are pessimistic; re-run on an idle "
            "machine to compare."
        )
    return {"foreign_cpu_s": foreign, "foreign_share": share}


def _versions() -> dict[str, Any]:
    out: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
    }
    for dist in ("vitale-cred", "cryptography", "cbor2", "base45", "segno"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    try:
        backend = importlib.import_module("cryptography.hazmat.backends.openssl").backend
        out["openssl"] = backend.openssl_version_text()
    except (ImportError, AttributeError):
        out["openssl"] = None
    return out


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown report."""
    s = results["settings"]
    v = results["environment"]
    lines = [
        f"# vitale_cred benchmarks ({'quick' if s['quick'] else 'full'} run)",
        "",
        f"{results['date']}; Python {v['python']} on {v['platform']}, {v['cpu_count']} CPUs; "
        f"cryptography {v['cryptography']} ({v['openssl']}), cbor2 {v['cbor2']}.",
        "",
        f"Method: {results['method']}",
        "",
        _interference_line(v.get("interference")),
        "",
        "## Targets",
        "",
        "Measured: the median over rounds of each round's ratio (the row and its baseline"
        " timed in the same rotation); ratio of the two medians in parentheses.",
        "",
        "| target | measured | threshold | result |",
        "|---|---:|---:|---|",
    ]
    for t in results["targets"]:
        measured = "-" if t["value"] is None else f"{t['value']:.2f}x"
        if t.get("ratio_of_medians") is not None:
            measured += f" ({t['ratio_of_medians']:.2f}x)"
        if "value_vs_main_interpreter" in t:
            measured += f" ({t['value_vs_main_interpreter']:.2f}x vs the main interpreter)"
        verdict = {True: "pass", False: "FAIL", None: "not measured"}[t["pass"]]
        lines.append(f"| {t['what']} | {measured} | {t['op']} {t['threshold']}x | {verdict} |")
    lines += [
        "",
        "## Timings",
        "",
        "Ratio = median / (factor x baseline median), baseline from the same run.",
        "",
        "| row | what | median µs | ops/s | IQR µs | baseline | ratio |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for row in results["rows"]:
        base = row["baseline"] + (
            f" x{row['baseline_factor']}" if row["baseline_factor"] != 1 else ""
        )
        lines.append(
            f"| `{row['name']}` | {row['what']} | {_fmt(row['median_us'])} | "
            f"{row['ops']:,.0f} | {_fmt(row['p25_us'])}-{_fmt(row['p75_us'])} | "
            f"`{base}` | {row['ratio']:.2f} |"
        )
    sc = results.get("scaling")
    if sc:
        lines += [
            "",
            f"Scaling: {sc['presentations']} presentations in chunks of {sc['chunk']}, "
            f"{sc['rounds']} rounds, {sc['start_method']} pools; 2 workers vs 1: "
            f"**{sc['speedup_2_vs_1']:.2f}x** ({sc['note']}).",
        ]
    lines += [
        "",
        "## Latency of single calls",
        "",
        "| subject | calls | p50 µs | p90 µs | p99 µs | max µs | p99/p50 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for lat in results["latency"]:
        lines.append(
            f"| `{lat['name']}` | {lat['calls']} | {_fmt(lat['p50_us'])} | "
            f"{_fmt(lat['p90_us'])} | {_fmt(lat['p99_us'])} | {_fmt(lat['max_us'])} | "
            f"{lat['p99_over_p50']:.2f} |"
        )
    lines += [
        "",
        "## Sizes (synthetic cards: the family5 insured + k dependants)",
        "",
        "| beneficiaries | bundle B | credential B (min/med/max) | compact B | "
        "QR chars (min/med/max) | QR version of largest L/M/Q |",
        "|---:|---:|---|---|---|---|",
    ]
    for size in results["sizes"]:
        versions = size["qr_version_of_largest"]
        vtext = "-" if versions is None else "/".join(str(versions[k]) for k in "LMQ")
        lines.append(
            f"| {size['beneficiaries']} | {size['bundle_bytes']:,} | "
            f"{_triple(size['credential_bytes'])} | {_triple(size['compact_credential_bytes'])} | "
            f"{_triple(size['qr_chars'])} | {vtext} |"
        )
    lines += [
        "",
        "## Status lists (1 % revoked)",
        "",
        "| entries | bits | raw B | compressed B | token B | build s | compress s | verify s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for st in results["status"]:
        lines.append(
            f"| {st['entries']:,} | {st['bits']} | {st['raw_bytes']:,} | "
            f"{st['compressed_bytes']:,} | {st['token_bytes']:,} | {st['build_s']:.3f} | "
            f"{st['compress_s']:.3f} | {st['verify_s']:.3f} |"
        )
    profile = results.get("profile")
    if profile:
        lines += [
            "",
            f"## Hot path: cProfile of {profile['calls']} cold QR verifications",
            "",
            f"Profiled total {profile['total_us_per_verify']:.0f} µs per verify (profiler "
            "overhead inflates Python-level functions; shares are indicative).",
            "",
            "| function | calls/verify | own µs | cumulative µs | own share |",
            "|---|---:|---:|---:|---:|",
        ]
        for p in profile["top"]:
            lines.append(
                f"| `{p['function']}` | {p['calls_per_verify']:.1f} | {p['own_us']:.1f} | "
                f"{p['cumulative_us']:.1f} | {p['share_pct']:.1f} % |"
            )
    peer = results.get("peer_environment")
    if peer:
        lines += ["", "Peer interpreter: " + ", ".join(f"{k} {v}" for k, v in peer.items()) + "."]
    if results["notes"]:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    return "\n".join(lines) + "\n"


def _interference_line(interference: dict[str, float] | None) -> str:
    if interference is None:
        return "CPU time of other processes during the run: not measured on this platform."
    return (
        f"CPU time of other processes during the run: {interference['foreign_cpu_s']:.1f} s "
        f"({interference['foreign_share']:.1%} of the machine)."
    )


def _triple(spread: dict[str, float]) -> str:
    return f"{spread['min']:.0f} / {spread['median']:.0f} / {spread['max']:.0f}"


# --- entry points ---------------------------------------------------------------------


def run(settings: Settings, *, log: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Run the whole suite and return the results (JSON-ready)."""
    started = time.perf_counter()
    load_before = _load()
    cpu_before = _cpu_seconds()
    world = _world()
    notes = world.notes
    rows = _floor_rows(world) + _ours_rows(world) + _part_rows(world)
    rows += _nfc_rows(world, notes) + _peer_base45_rows(notes)
    log(f"timing {len(rows)} rows, {settings.rounds} interleaved rounds")
    timed = _interleave(
        {row.name: row.make for row in rows},
        settings.rounds,
        settings.batch_seconds,
        settings.warmup,
    )
    results_rows = [
        _result(row.name, row.group, row.what, timed[row.name], row.baseline, row.factor)
        for row in rows
    ]
    log("peers in their interpreter")
    peer_rows, peer_env = _peer_results(world, settings, notes)
    log("scaling with worker processes")
    scale_rows, scaling = _scaling(world, settings)
    results_rows += peer_rows + scale_rows
    _fill_ratios(results_rows)
    log("latency, sizes, status lists")
    latency = _latency(world, settings)
    sizes = _sizes(world, settings, notes)
    status = _status(world, settings)
    if 60_000_000 not in settings.status_entries:
        notes.append("The 60 M-entry status list runs in the full run only.")
    profile = None
    if settings.profile_calls:
        log("profile")
        profile = _profile(world, settings)
    else:
        notes.append("The hot-path profile runs in the full run only.")
    elapsed = time.perf_counter() - started
    interference = _interference(cpu_before, elapsed, notes)
    return {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "settings": {
            "quick": settings.quick,
            "rounds": settings.rounds,
            "batch_seconds": settings.batch_seconds,
            "warmup_batches": settings.warmup,
            "gc": "disabled during each timed batch",
            "timer": "time.perf_counter",
        },
        "method": (
            f"{settings.rounds} rounds; each round times every row once, in an order rotated "
            f"by one row per round; a batch is calibrated to about "
            f"{settings.batch_seconds * 1e3:g} ms of calls; median of the per-call times; "
            f"{settings.warmup} untimed warm-up batch(es) per row; gc disabled during each "
            "timed batch; verify rows use distinct presentations and a fresh Verifier per batch."
        ),
        "environment": {
            **_versions(),
            "load_average": [load_before, _load()],
            "interference": interference,
        },
        "peer_environment": peer_env,
        "rows": results_rows,
        "targets": _targets(results_rows, notes),
        "scaling": scaling,
        "latency": latency,
        "sizes": sizes,
        "status": status,
        "profile": profile,
        "notes": notes,
        "elapsed_s": elapsed,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks [--quick] [--json FILE] [--markdown FILE]``; prints the report."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run the performance suite."
    )
    parser.add_argument("--quick", action="store_true", help="smoke mode (a few seconds)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write the Markdown report")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    args = parser.parse_args(argv)
    for output in (args.json, args.markdown):
        # Refused before minutes of measuring, not after.
        if output is not None and output.is_dir():
            parser.error(f"{output} is a directory")
    settings = QUICK if args.quick else FULL
    if args.rounds:
        settings = dataclasses.replace(settings, rounds=max(1, args.rounds))
    results = run(settings, log=lambda message: print(f"[bench] {message}", file=sys.stderr))
    report = markdown(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report, encoding="utf-8")
    sys.stdout.write(report)
    return 0
