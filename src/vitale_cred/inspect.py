"""Human-readable dumps of every object of the protocol (``vitale-cred inspect``)."""

from __future__ import annotations

import json
from typing import Any

from . import _cbor, cose
from .credential import CredentialBundle, decode_claims
from .errors import VitaleCredError
from .presentation import decode_presentation_payload
from .qrtext import QR_PREFIX, decode_qr_text
from .registry import CoseHeader, CwtClaim, label_name

__all__ = ["diagnostic", "inspect_bytes"]


def diagnostic(value: Any) -> str:
    """CBOR diagnostic notation (RFC 8949 section 8) of a decoded value."""
    if isinstance(value, _cbor.Tagged):
        return f"{value.tag}({diagnostic(value.value)})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(diagnostic(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{diagnostic(k)}: {diagnostic(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _headers(message: cose.Sign1) -> list[str]:
    lines = []
    for where, headers in (("protected", message.protected), ("unprotected", message.unprotected)):
        for label, value in headers.items():
            shown = f"{len(value)} bytes" if label == CoseHeader.X5CHAIN else diagnostic(value)
            lines.append(f"  {where:<11} {label_name(CoseHeader, label)}: {shown}")
    return lines


def _credential(data: bytes, indent: str = "") -> list[str]:
    message = cose.decode_sign1(data, deterministic=False)
    lines = [f"{indent}credential (COSE_Sign1, {len(data)} bytes)"]
    lines += [indent + line for line in _headers(message)]
    try:
        claims = decode_claims(message.payload)
    except VitaleCredError as exc:
        lines.append(f"{indent}  claims do not parse: [{exc.code}] {exc.message}")
        raw = _cbor.decode(message.payload, deterministic=False)
        lines.append(f"{indent}  diagnostic: {diagnostic(raw)}")
        return lines
    card = claims.card
    ben = card.beneficiary
    lines += [
        f"{indent}  iat {claims.iat}  exp {claims.exp}"
        + (f"  nbf {claims.nbf}" if claims.nbf else ""),
        f"{indent}  insured NIR {card.nir.formatted()}  organisme {card.organisme}  "
        f"serial {card.serial}  issued {card.issued}",
        f"{indent}  beneficiary #{card.index}: {ben.family_name} {' '.join(ben.given_names)}, "
        f"{ben.qualite.name.lower()}, born {ben.birth_date}, rank {ben.birth_rank}",
        f"{indent}  device key {label_name(CwtClaim, CwtClaim.CNF)}: "
        f"{diagnostic(claims.device_key.to_map())}",
    ]
    if claims.delegation:
        lines.append(f"{indent}  delegation: {claims.delegation}")
    if claims.status:
        lines.append(f"{indent}  status: index {claims.status.idx} in {claims.status.uri}")
    lines.append(f"{indent}  diagnostic: {diagnostic(_cbor.decode(message.payload))}")
    lines.append(f"{indent}  (signature not verified: use 'vitale-cred verify')")
    return lines


def inspect_bytes(data: bytes) -> str:
    """Describe a bundle, credential, presentation or QR text file."""
    text = data.strip()
    if text.startswith(QR_PREFIX.encode()):
        data = decode_qr_text(text.decode("ascii"))
        header = [f"QR text ({len(text)} characters) -> {len(data)} bytes"]
    else:
        header = []
    value = _cbor.decode(data, tags=frozenset({18}), deterministic=False)
    if isinstance(value, dict):
        bundle = CredentialBundle.decode(data)
        lines = [f"credential bundle: {len(bundle.credentials)} credentials"]
        for credential in bundle.credentials:
            lines += _credential(credential, "  ")
        return "\n".join(header + lines)
    message = cose.decode_sign1(data, deterministic=False)
    payload = _cbor.decode(message.payload, deterministic=False)
    if isinstance(payload, dict) and isinstance(payload.get(1), bytes):
        presentation = decode_presentation_payload(message.payload)
        lines = [
            f"presentation (COSE_Sign1 by the device key, {len(data)} bytes)",
            *_headers(message),
            f"  iat {presentation.iat}  ttl {presentation.ttl}s  nonce {presentation.nonce.hex()}",
        ]
        if presentation.audience:
            lines.append(f"  audience {presentation.audience.hex()}")
        if presentation.transcript:
            lines.append(f"  transcript {presentation.transcript.hex()}")
        lines += _credential(presentation.credential, "  ")
        return "\n".join(header + lines)
    return "\n".join(header + _credential(data))
