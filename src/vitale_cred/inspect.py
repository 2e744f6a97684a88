"""Human-readable dumps of every object of the protocol (``vitale-cred inspect``).

Recognised inputs: QR text (``VC1:...``), a credential bundle, a credential, a
presentation, a status list token, a trust list, a signed statement (all CBOR,
raw or hex), and an APDU transcript (JSON ``[{"command": hex, "response": hex}]``
or text lines ``> hex`` / ``< hex``). Every object is decoded with the strict
profile; what would fail verification is flagged with its error code. Signatures
and trust are checked only when a trust store is given.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any

from . import _cbor, cose
from .apdu import Ins, StatusWord, parse_command, parse_response
from .credential import CredentialBundle, decode_claims
from .errors import VitaleCredError
from .presentation import decode_presentation_payload
from .qrtext import QR_PREFIX, decode_qr_text
from .registry import CoseHeader, CwtClaim, label_name
from .statement import STATEMENT_TYP
from .status import STATUS_LIST_TYP
from .trust import TrustStore
from .trustlist import TRUST_LIST_TYP
from .verify import Policy, Verifier

__all__ = ["diagnostic", "inspect_bytes"]

_HEX = re.compile(rb"^[0-9a-fA-F\s]+$")


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


def _when(t: int) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _flag(lines: list[str], indent: str, exc: VitaleCredError) -> None:
    lines.append(f"{indent}  ! would fail verification: [{exc.code}] {exc.message}")


def _headers(message: cose.Sign1, indent: str) -> list[str]:
    lines = []
    for where, headers in (("protected", message.protected), ("unprotected", message.unprotected)):
        for label, value in headers.items():
            if label == CoseHeader.X5CHAIN:
                count = 1 if isinstance(value, bytes) else len(value)
                shown = f"{count} certificate(s)"
            else:
                shown = diagnostic(value)
            lines.append(f"{indent}  {where:<11} {label_name(CoseHeader, label)}: {shown}")
    return lines


def _credential(data: bytes, indent: str, now: int | None) -> list[str]:
    message = cose.decode_sign1(data, deterministic=False)
    lines = [f"{indent}credential (COSE_Sign1 by the issuer, {len(data)} bytes)"]
    lines += _headers(message, indent)
    if CoseHeader.X5CHAIN not in message.unprotected:
        lines.append(f"{indent}  compact form: the verifier must know kid(4) beforehand")
    try:
        claims = decode_claims(message.payload)
    except VitaleCredError as exc:
        _flag(lines, indent, exc)
        raw = _cbor.decode(message.payload, deterministic=False)
        lines.append(f"{indent}  diagnostic: {diagnostic(raw)}")
        return lines
    card = claims.card
    ben = card.beneficiary
    lines += [
        f"{indent}  valid {_when(claims.iat)} .. {_when(claims.exp)}",
        f"{indent}  insured NIR {card.nir.formatted()}  organisme {card.organisme}  "
        f"serial {card.serial}  issued {card.issued}",
        f"{indent}  beneficiary #{card.index}: {ben.family_name} {' '.join(ben.given_names)}, "
        f"{ben.qualite.name.lower()}, born {ben.birth_date}, rank {ben.birth_rank}",
    ]
    for period in ben.amo:
        lines.append(f"{indent}    AMO {period.start} .. {period.end or 'open'}")
    for exo in ben.exonerations:
        lines.append(
            f"{indent}    {exo.code.name} {exo.period.start} .. {exo.period.end or 'open'}"
        )
    if ben.css:
        lines.append(f"{indent}    CSS {ben.css.start} .. {ben.css.end or 'open'}")
    if ben.amc:
        lines.append(f"{indent}    AMC {ben.amc.organisation} contract {ben.amc.contract}")
    lines.append(
        f"{indent}  device key {label_name(CwtClaim, CwtClaim.CNF)}: "
        f"{diagnostic(claims.device_key.to_map())}"
    )
    if claims.delegation:
        d = claims.delegation
        lines.append(f"{indent}  delegated by {d.delegator} to {d.delegate} {d.limits}".rstrip())
    if claims.status:
        lines.append(
            f"{indent}  status: entry {claims.status.idx} of list {claims.status.list_id} "
            "of this issuer key"
        )
    if now is not None and now > claims.exp:
        lines.append(f"{indent}  ! expired at the given instant (validity.expired)")
    lines.append(f"{indent}  diagnostic: {diagnostic(_cbor.decode(message.payload))}")
    return lines


def _status_list(message: cose.Sign1, data: bytes) -> list[str]:
    claims = _cbor.decode(message.payload, deterministic=False, max_size=len(data))
    lines = [f"status list token ({len(data)} bytes)", *_headers(message, "")]
    if isinstance(claims, dict):
        for label in (CwtClaim.SUB, CwtClaim.IAT, CwtClaim.EXP, CwtClaim.TTL):
            if label in claims:
                lines.append(f"  {label_name(CwtClaim, label)}: {diagnostic(claims[label])}")
        body = claims.get(CwtClaim.STATUS_LIST)
        if isinstance(body, dict):
            lst = body.get("lst")
            size = len(lst) if isinstance(lst, bytes) else 0
            lines.append(f"  bits {body.get('bits')!r}, {size} compressed bytes")
    return lines


def _trust_list(message: cose.Sign1, data: bytes) -> list[str]:
    content = _cbor.decode(message.payload, deterministic=False)
    lines = [f"trust list ({len(data)} bytes)", *_headers(message, "")]
    if isinstance(content, dict):
        lines.append(
            f"  seq {content.get(1)!r}  issued {content.get(2)!r}  next update {content.get(3)!r}"
        )
        for entry in content.get(4) or []:
            if isinstance(entry, dict):
                kid = entry.get(1)
                shown = kid.hex() if isinstance(kid, bytes) else repr(kid)
                what = "certificate" if 3 in entry else "COSE_Key"
                lines.append(f"  entry kid {shown} ({what}) algs {entry.get(4)} {entry.get(8, '')}")
    return lines


def _statement(message: cose.Sign1, data: bytes) -> list[str]:
    content = _cbor.decode(message.payload, deterministic=False)
    lines = [f"signed statement ({len(data)} bytes; shown in the app only)", *_headers(message, "")]
    lines.append(f"  diagnostic: {diagnostic(content)}")
    return lines


def _transcript(pairs: list[tuple[bytes, bytes]]) -> str:
    names = {int(i): i.name for i in Ins}
    sws = {int(s): s.name for s in StatusWord}
    lines = [f"APDU transcript: {len(pairs)} exchanges"]
    for number, (command, response) in enumerate(pairs, 1):
        try:
            cmd = parse_command(command)
            lines.append(
                f"  {number:>2} > CLA {cmd.cla:02X} INS {cmd.ins:02X} "
                f"({names.get(cmd.ins, '?')}) P1P2 {cmd.p1:02X}{cmd.p2:02X} "
                f"data {len(cmd.data)} Le {cmd.le}"
            )
        except VitaleCredError as exc:
            lines.append(f"  {number:>2} > malformed command: [{exc.code}] {exc.message}")
        try:
            resp = parse_response(response)
            family = sws.get(resp.sw) or sws.get(resp.sw & 0xFF00, "?")
            lines.append(f"     < {len(resp.data)} bytes SW {resp.sw:04X} ({family})")
        except VitaleCredError as exc:
            lines.append(f"     < malformed response: [{exc.code}] {exc.message}")
    return "\n".join(lines)


def _parse_transcript(data: bytes) -> list[tuple[bytes, bytes]] | None:
    text = data.strip()
    try:
        if text.startswith(b"["):
            items = json.loads(text)
            return [(bytes.fromhex(i["command"]), bytes.fromhex(i["response"])) for i in items]
        if text.startswith(b">"):
            pairs: list[tuple[bytes, bytes]] = []
            command = b""
            for line in text.decode("ascii").splitlines():
                if line.startswith(">"):
                    command = bytes.fromhex(line[1:].strip())
                elif line.startswith("<"):
                    pairs.append((command, bytes.fromhex(line[1:].strip())))
            return pairs
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    return None


def inspect_bytes(data: bytes, *, trust: TrustStore | None = None, now: int | None = None) -> str:
    """Describe any object of the protocol; raises a library error if it cannot be read."""
    pairs = _parse_transcript(data)
    if pairs is not None:
        return _transcript(pairs)
    text = data.strip()
    header: list[str] = []
    if text.startswith(QR_PREFIX.encode()):
        data = decode_qr_text(text.decode("ascii"))
        header = [f"QR text ({len(text)} characters) -> {len(data)} bytes"]
    elif text and _HEX.match(text) and len(text) % 2 == 0:
        data = bytes.fromhex(text.decode("ascii"))
    value = _cbor.decode(data, tags=frozenset({18}), deterministic=False, max_size=32 * 1024 * 1024)
    if isinstance(value, dict):
        bundle = CredentialBundle.decode(data)
        lines = [f"credential bundle: {len(bundle.credentials)} credentials"]
        for credential in bundle.credentials:
            lines += _credential(credential, "  ", now)
        return "\n".join(header + lines)
    message = cose.decode_sign1(data, deterministic=False, max_size=32 * 1024 * 1024)
    typ = message.protected.get(CoseHeader.TYP)
    if typ == STATUS_LIST_TYP:
        return "\n".join(header + _status_list(message, data))
    if typ == TRUST_LIST_TYP:
        return "\n".join(header + _trust_list(message, data))
    if typ == STATEMENT_TYP:
        return "\n".join(header + _statement(message, data))
    payload = _cbor.decode(message.payload, deterministic=False)
    if isinstance(payload, dict) and isinstance(payload.get(1), bytes):
        presentation = decode_presentation_payload(message.payload)
        lines = [
            f"presentation (COSE_Sign1 by the device key, {len(data)} bytes)",
            *_headers(message, ""),
            f"  issued {_when(presentation.iat)}  lifetime {presentation.ttl}s  "
            f"nonce {presentation.nonce.hex()}",
        ]
        if presentation.audience:
            lines.append(f"  audience {presentation.audience.hex()}")
        if presentation.transcript:
            lines.append(f"  NFC transcript hash {presentation.transcript.hex()}")
        lines += _credential(presentation.credential, "  ", now)
        if trust is not None and now is not None:
            lines += _verdict(trust, now, lambda v: v.verify_presentation(data))
        return "\n".join(header + lines)
    lines = _credential(data, "", now)
    if trust is not None and now is not None:
        lines += _verdict(trust, now, lambda v: v.verify_credential(data))
    return "\n".join(header + lines)


def _verdict(trust: TrustStore, now: int, check: Any) -> list[str]:
    from .clock import FixedClock  # noqa: PLC0415 - only for this optional check

    try:
        check(Verifier(Policy(trust=trust, clock=FixedClock(now))))
    except VitaleCredError as exc:
        return [f"verification: FAILS [{exc.code}] {exc.message}"]
    return ["verification: VALID"]
