"""Interoperability with pycose 1.1.0, run out of process.

pycose 1.1.0 cannot decode with cbor2 6.x, so it lives in its own environment and
is driven through ``tests/interop_pycose/pycose_oracle.py`` (one JSON request on
stdin, one JSON answer on stdout). ``VITALE_PYCOSE_PYTHON`` names that
environment's Python, e.g.::

    python -m venv .venv-pycose
    .venv-pycose/bin/pip install 'cbor2==5.9.0' 'pycose==1.1.0'
    VITALE_PYCOSE_PYTHON=.venv-pycose/bin/python pytest tests/test_interop_pycose.py

Without the variable the module is skipped locally, but fails when ``CI`` is set,
so that CI cannot skip it silently.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vitale_cred.errors import CoseBadSignature
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import SoftwareSigner, VerifyingKey, decode_sign1, sign1
from vitale_cred.registry import CoseAlg, CoseHeader

pytestmark = [pytest.mark.interop, pytest.mark.pycose]

ORACLE = Path(__file__).parent / "interop_pycose" / "pycose_oracle.py"
PAYLOAD = _cbor.encode({1: "https://emetteur.example", 4: 4_102_444_800, 6: 1_700_000_000})
ALGS = [CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA]
_CRV = {CoseAlg.ES256: "P-256", CoseAlg.ES384: "P-384", CoseAlg.EDDSA: "Ed25519"}
_ALG_NAME = {CoseAlg.ES256: "ES256", CoseAlg.ES384: "ES384", CoseAlg.EDDSA: "EdDSA"}


@pytest.fixture(scope="module")
def pycose_python() -> str:
    python = os.environ.get("VITALE_PYCOSE_PYTHON")
    if not python:
        message = "VITALE_PYCOSE_PYTHON is not set (Python of a cbor2<6 + pycose==1.1.0 venv)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the pycose interop tests")
        pytest.skip(message)
    if not Path(python).exists():
        pytest.fail(f"VITALE_PYCOSE_PYTHON={python} does not exist")
    return python


def _oracle(python: str, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [python, str(ORACLE)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"oracle failed: {done.stdout} {done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _private_key(alg: CoseAlg) -> Any:
    if alg is CoseAlg.ES256:
        return ec.derive_private_key(0xC0FFEE, ec.SECP256R1())
    if alg is CoseAlg.ES384:
        return ec.derive_private_key(0xC0FFEE_C0FFEE, ec.SECP384R1())
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))


def _key_spec(private: Any, alg: CoseAlg, *, with_private: bool = False) -> dict[str, str]:
    if alg is CoseAlg.EDDSA:
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        spec = {"kty": "OKP", "crv": "Ed25519", "x": raw.hex()}
        if with_private:
            spec["d"] = private.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            ).hex()
        return spec
    size = (private.curve.key_size + 7) // 8
    numbers = private.public_key().public_numbers()
    spec = {
        "kty": "EC2",
        "crv": _CRV[alg],
        "x": numbers.x.to_bytes(size, "big").hex(),
        "y": numbers.y.to_bytes(size, "big").hex(),
    }
    if with_private:
        spec["d"] = private.private_numbers().private_value.to_bytes(size, "big").hex()
    return spec


def _pycose_sign(python: str, alg: CoseAlg, private: Any, kid: bytes) -> bytes:
    answer = _oracle(
        python,
        {
            "op": "sign",
            "alg": _ALG_NAME[alg],
            "key": _key_spec(private, alg, with_private=True),
            "payload_hex": PAYLOAD.hex(),
            "kid_hex": kid.hex(),
        },
    )
    return bytes.fromhex(answer["cose_hex"])


def _pycose_verify(python: str, data: bytes, private: Any, alg: CoseAlg) -> dict[str, Any]:
    return _oracle(python, {"op": "verify", "cose_hex": data.hex(), "key": _key_spec(private, alg)})


def test_oracle_runs_on_cbor2_below_6_with_pycose_1_1_0(pycose_python: str) -> None:
    done = subprocess.run(
        [
            pycose_python,
            "-c",
            "import importlib.metadata as m; print(m.version('cbor2'), m.version('pycose'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    cbor2_version, pycose_version = done.stdout.split()
    assert int(cbor2_version.split(".")[0]) < 6
    assert pycose_version == "1.1.0"


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_our_sign1_verifies_in_pycose(pycose_python: str, alg: CoseAlg) -> None:
    private = _private_key(alg)
    data = sign1(PAYLOAD, SoftwareSigner(private, alg), kid=b"vitale-1")
    assert _pycose_verify(pycose_python, data, private, alg) == {"valid": True, "error": None}


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_pycose_sign1_verifies_in_our_layer(pycose_python: str, alg: CoseAlg) -> None:
    private = _private_key(alg)
    data = _pycose_sign(pycose_python, alg, private, b"pycose-1")
    message = decode_sign1(data, deterministic=False)
    assert message.protected == {CoseHeader.ALG: alg, CoseHeader.KID: b"pycose-1"}
    assert message.payload == PAYLOAD
    message.verify(VerifyingKey(private.public_key(), alg), allowed_algs={alg})


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_pycose_and_our_deterministic_signatures_are_byte_identical(
    pycose_python: str, alg: CoseAlg
) -> None:
    # ECDSA on both sides is RFC 6979 (ours via OpenSSL, pycose via python-ecdsa),
    # Ed25519 is deterministic by definition: same headers, same bytes.
    private = _private_key(alg)
    ours = sign1(PAYLOAD, SoftwareSigner(private, alg), kid=b"same")
    assert _pycose_sign(pycose_python, alg, private, b"same") == ours


@pytest.mark.parametrize("alg", [CoseAlg.ES256, CoseAlg.EDDSA], ids=lambda a: a.name)
@pytest.mark.parametrize("maker", ["ours", "pycose"])
def test_tampered_sign1_is_refused_by_both_implementations(
    pycose_python: str, alg: CoseAlg, maker: str
) -> None:
    private = _private_key(alg)
    if maker == "ours":
        data = sign1(PAYLOAD, SoftwareSigner(private, alg), kid=b"k")
    else:
        data = _pycose_sign(pycose_python, alg, private, b"k")
    offset = data.index(PAYLOAD) + len(PAYLOAD) - 1  # last payload byte
    tampered = bytearray(data)
    tampered[offset] ^= 0x01
    answer = _pycose_verify(pycose_python, bytes(tampered), private, alg)
    assert answer["valid"] is False
    message = decode_sign1(bytes(tampered), deterministic=False)
    with pytest.raises(CoseBadSignature):
        message.verify(VerifyingKey(private.public_key(), alg))


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_issued_credentials_and_presentations_verify_in_pycose(
    pycose_python: str, alg: CoseAlg
) -> None:
    from vitale_cred.presentation import present

    from conftest import make_world

    world = make_world(alg)
    issuer_key = world.material.issuer_key
    for credential in world.bundle.credentials:
        assert _pycose_verify(pycose_python, credential, issuer_key, alg) == {
            "valid": True,
            "error": None,
        }
    token = present(world.bundle.credentials[1], world.device, clock=world.clock)
    device_private = world.device._key
    assert _pycose_verify(pycose_python, token, device_private, CoseAlg.ES256) == {
        "valid": True,
        "error": None,
    }
