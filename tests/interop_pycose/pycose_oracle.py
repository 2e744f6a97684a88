"""pycose oracle: one JSON request on stdin, one JSON answer on stdout.

Run it with the Python of a separate environment that holds ``pycose==1.1.0`` and
``cbor2<6`` (pycose 1.1.0 cannot decode with cbor2 6.x). It imports neither pytest
nor vitale_cred: it is the other implementation, driven as a black box.

Requests (all byte strings are lowercase hex):

* ``{"op": "verify", "cose_hex": ..., "key": {"kty", "crv", "x", "y"?}}``
  answers ``{"valid": bool, "error": str | null}``. ``valid`` is the result of
  ``Sign1Message.decode(...).verify_signature()``; an exception (decode error,
  unsupported key, ...) gives ``valid: false`` and its class and message in
  ``error``.
* ``{"op": "sign", "alg": "ES256" | "ES384" | "EdDSA", "key": {"kty", "crv", "x",
  "y"?, "d"}, "payload_hex": ..., "kid_hex": ...}`` answers ``{"cose_hex": ...}``:
  a tagged COSE_Sign1 with ``alg`` and ``kid`` in the protected header.

``kty`` is ``"EC2"`` or ``"OKP"``; ``crv`` is ``"P-256"``, ``"P-384"`` or
``"Ed25519"``. A malformed request exits with status 2 and an ``error`` answer.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pycose.algorithms import EdDSA, Es256, Es384
from pycose.headers import KID, Algorithm
from pycose.keys.curves import P256, P384, Ed25519
from pycose.keys.ec2 import EC2Key
from pycose.keys.okp import OKPKey
from pycose.messages.sign1message import Sign1Message

_CURVES = {"P-256": P256, "P-384": P384, "Ed25519": Ed25519}
_ALGS = {"ES256": Es256, "ES384": Es384, "EdDSA": EdDSA}


def _key(spec: dict[str, Any]) -> Any:
    curve = _CURVES[spec["crv"]]
    d = bytes.fromhex(spec["d"]) if spec.get("d") else b""
    x = bytes.fromhex(spec["x"])
    if spec["kty"] == "EC2":
        return EC2Key(crv=curve, x=x, y=bytes.fromhex(spec["y"]), d=d)
    if spec["kty"] == "OKP":
        return OKPKey(crv=curve, x=x, d=d)
    raise ValueError(f"unsupported kty {spec['kty']!r}")


def _verify(request: dict[str, Any]) -> dict[str, Any]:
    try:
        message = Sign1Message.decode(bytes.fromhex(request["cose_hex"]))
        message.key = _key(request["key"])
        valid = message.verify_signature()
    except Exception as exc:  # noqa: BLE001 - the oracle reports every failure as data
        return {"valid": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"valid": bool(valid), "error": None}


def _sign(request: dict[str, Any]) -> dict[str, Any]:
    message = Sign1Message(
        phdr={Algorithm: _ALGS[request["alg"]], KID: bytes.fromhex(request["kid_hex"])},
        uhdr={},
        payload=bytes.fromhex(request["payload_hex"]),
    )
    message.key = _key(request["key"])
    return {"cose_hex": message.encode(tag=True).hex()}


def main() -> int:
    try:
        request = json.loads(sys.stdin.read())
        op = request["op"]
        if op == "verify":
            answer = _verify(request)
        elif op == "sign":
            answer = _sign(request)
        else:
            raise ValueError(f"unknown op {op!r}")
    except Exception as exc:  # noqa: BLE001 - reported to the caller, exit status 2
        json.dump({"error": f"{type(exc).__name__}: {exc}"}, sys.stdout)
        return 2
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
