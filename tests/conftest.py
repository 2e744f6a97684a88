"""Shared fixtures: one issuer PKI, the family5 card, a device key, a fixed clock."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, settings

from vitale_cred.clock import FixedClock
from vitale_cred.credential import Issuer
from vitale_cred.pki import certificate_name
from vitale_cred.registry import CoseAlg

from _world import NOW, T0, World, make_world

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # Under CI the examples are derived from each test's name: a run is reproducible,
    # and exploring new inputs is the fuzzers' job (fuzz/).
    derandomize=bool(os.environ.get("CI")),
)
settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
_WORLDS: dict[CoseAlg, World] = {}


@pytest.fixture
def world() -> World:
    """A fresh clock over a cached ES256 world (key generation is the slow part)."""
    return _fresh(CoseAlg.ES256)


@pytest.fixture(params=[CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA], ids=lambda a: a.name)
def any_world(request: pytest.FixtureRequest) -> World:
    return _fresh(request.param)


def _fresh(alg: CoseAlg) -> World:
    if alg not in _WORLDS:
        _WORLDS[alg] = make_world(alg)
    base = _WORLDS[alg]
    clock = FixedClock(NOW)
    issuer = Issuer(
        base.material.signer(),
        kid=base.material.kid,
        clock=clock,
        x5chain=[base.material.issuer_certificate],
    )
    return World(base.material, base.card, base.device, issuer, base.bundle, clock, base.trust)


def padding_certificates(count: int) -> list[bytes]:
    """``count`` distinct readable self-signed certificates (DER) that no store trusts:
    what an attacker appends to an ``x5chain``."""
    key = ec.generate_private_key(ec.SECP256R1())
    out = []
    for serial in range(1, count + 1):
        name = certificate_name(f"Padding {serial}")
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(T0)
            .not_valid_after(T0 + dt.timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        out.append(cert.public_bytes(serialization.Encoding.DER))
    return out


_SCHEMAS: dict[str, Any] = {}


def one_error(err: str) -> str:
    """The single error line of ``err``; fails if there is none, several or a traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("vitale-cred: error [")]
    assert len(lines) == 1, err
    return lines[0]


def check_json_output(argv: Sequence[str], stdout: str) -> None:
    """Assert that a ``--json`` output is one object matching its schema in spec/json/.

    ``verify`` and ``nfc-read`` print a verdict; every other command a result.
    """
    import jsonschema

    name = "verdict" if argv and argv[0] in ("verify", "nfc-read") else "result"
    if name not in _SCHEMAS:
        path = ROOT / "spec" / "json" / f"{name}.schema.json"
        _SCHEMAS[name] = json.loads(path.read_text("utf-8"))
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"--json printed {len(lines)} lines: {stdout!r}"
    try:
        document = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise AssertionError(f"--json printed no JSON: {lines[0]!r}") from exc
    try:
        jsonschema.validate(document, _SCHEMAS[name])
    except jsonschema.ValidationError as exc:
        raise AssertionError(f"{name} schema: {exc.message} in {document}") from exc


@pytest.fixture(autouse=True)
def _reader_state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test keeps the command line's reader state (the replay store) to itself."""
    monkeypatch.setenv("VITALE_CRED_STATE_DIR", str(tmp_path_factory.mktemp("state")))
