"""Human-readable dumps of every object of the protocol (``vitale-cred inspect``).

Recognised inputs: QR text (``VC1:...``), a credential bundle, a credential, a
presentation, a status list token, a trust list, a signed statement (all CBOR,
raw or hex), and an APDU transcript (JSON ``[{"command": hex, "response": hex}]``
or text lines ``> hex`` / ``< hex``). Every object is decoded with the strict
profile; what would fail verification is flagged with its error code. Signatures
and trust are checked only when a trust store is given.

The input comes from patients (a QR code, a file), so it is held to the verifier's
standard (spec/security.md section 8): whatever the bytes, only
:class:`~vitale_cred.errors.VitaleCredError` subclasses escape, and every size is
checked before the work it would cost:

* the whole input: at most :data:`MAX_INSPECT_BYTES`, else ``inspect.too_large``
  (:func:`inspect_file` reads at most one byte more than that);
* an APDU transcript: at most :data:`MAX_TRANSCRIPT_BYTES` before it is parsed and
  :data:`MAX_TRANSCRIPT_EXCHANGES` exchanges, else ``inspect.too_large``; broken
  JSON (nesting included), a wrong shape or bad hex: ``inspect.malformed``;
* a QR text: at most :data:`~vitale_cred.hazmat.qrtext.MAX_QR_TEXT_CHARS` before Base45,
  else ``qr.too_large``; a byte outside ASCII is ``base45.bad_character``;
* hex: an odd number of digits is ``inspect.malformed``; whitespace anywhere is
  ignored;
* CBOR: the strict decoder's caps, the largest being a status list token's
  (:data:`~vitale_cred.status.MAX_STATUS_TOKEN_BYTES`).

A time beyond the calendar (after year 9999) is shown as its number of seconds,
with a note, rather than as a date.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path
from typing import Any

from vitale_cred.credential import CredentialBundle, decode_claims
from vitale_cred.errors import (
    InspectInputError,
    InspectTooLarge,
    InvalidArgument,
    QrTooLarge,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.apdu import Ins, StatusWord, parse_command, parse_response
from vitale_cred.hazmat.qrtext import MAX_QR_TEXT_CHARS, QR_PREFIX, decode_qr_text
from vitale_cred.presentation import decode_presentation_payload
from vitale_cred.registry import CoseHeader, CwtClaim, label_name
from vitale_cred.statement import STATEMENT_TYP
from vitale_cred.status import MAX_STATUS_TOKEN_BYTES, STATUS_LIST_TYP, verify_status_list
from vitale_cred.trust import TrustStore
from vitale_cred.trustlist import TRUST_LIST_TYP, StalePolicy, verify_trust_list
from vitale_cred.verify import Policy, Verifier

__all__ = [
    "MAX_INSPECT_BYTES",
    "MAX_TRANSCRIPT_BYTES",
    "MAX_TRANSCRIPT_EXCHANGES",
    "diagnostic",
    "inspect_bytes",
    "inspect_file",
]

#: Largest input read: the largest object of the protocol (a status list token at
#: the verifier's cap) written as hex with one separator per byte.
MAX_INSPECT_BYTES = 3 * MAX_STATUS_TOKEN_BYTES
#: Largest APDU transcript text: a session exchanges a few kilobytes; this leaves
#: room for several extended-length APDUs (each at most 2 x 65 538 hex digits).
MAX_TRANSCRIPT_BYTES = 1024 * 1024
#: Most exchanges in one transcript (a session takes a few dozen).
MAX_TRANSCRIPT_EXCHANGES = 1024

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
    # The wire allows times up to 2^40 - 1 s, far past datetime's year 9999: such a
    # time is worth showing (it is what the token says), not worth a crash.
    try:
        return _dt.datetime.fromtimestamp(t, _dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return f"{t} (seconds since 1970; beyond the calendar)"


def _flag(lines: list[str], indent: str, exc: VitaleCredError) -> None:
    lines.append(f"{indent}  ! would fail verification: [{exc.code}] {exc.message}")


def _headers(message: cose.Sign1, indent: str) -> list[str]:
    lines = []
    for where, headers in (("protected", message.protected), ("unprotected", message.unprotected)):
        for label, value in headers.items():
            if label == CoseHeader.X5CHAIN and isinstance(value, bytes | list):
                # Lenient decoding lets any type through; only a chain has a count.
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
        entries = content.get(4)
        # Only a list is a list of entries; anything else was flagged by the verifier.
        for entry in entries if isinstance(entries, list) else []:
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


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InspectInputError(f"{what} is not hex: {exc}") from exc


def _json_transcript(text: bytes) -> list[tuple[bytes, bytes]]:
    try:
        items = json.loads(text)
    except RecursionError as exc:
        # The JSON decoder recurses once per level; a valid transcript has two.
        raise InspectInputError("APDU transcript JSON is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise InspectInputError(f"APDU transcript is not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise InspectInputError("APDU transcript JSON is not a list")
    if len(items) > MAX_TRANSCRIPT_EXCHANGES:
        raise InspectTooLarge(
            f"APDU transcript has {len(items)} exchanges, more than {MAX_TRANSCRIPT_EXCHANGES}"
        )
    pairs = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise InspectInputError(f"exchange {number} is not an object")
        command, response = item.get("command"), item.get("response")
        if not isinstance(command, str) or not isinstance(response, str):
            raise InspectInputError(f"exchange {number} needs command and response strings")
        pairs.append((_hex(command, f"command {number}"), _hex(response, f"response {number}")))
    return pairs


def _text_transcript(text: bytes) -> list[tuple[bytes, bytes]]:
    try:
        lines = text.decode("ascii").splitlines()
    except UnicodeDecodeError as exc:
        raise InspectInputError(f"APDU transcript is not ASCII: {exc.reason}") from exc
    pairs: list[tuple[bytes, bytes]] = []
    command = b""
    for number, line in enumerate(lines, 1):
        if line.startswith(">"):
            command = _hex(line[1:].strip(), f"line {number}")
        elif line.startswith("<"):
            if len(pairs) == MAX_TRANSCRIPT_EXCHANGES:
                raise InspectTooLarge(
                    f"APDU transcript has more than {MAX_TRANSCRIPT_EXCHANGES} exchanges"
                )
            pairs.append((command, _hex(line[1:].strip(), f"line {number}")))
    return pairs


def _parse_transcript(text: bytes) -> list[tuple[bytes, bytes]] | None:
    """The exchanges of an APDU transcript, or None if ``text`` is not one.

    No CBOR object of the protocol starts with ``[`` (0x5b) or ``>`` (0x3e), so an
    input that does and fails to parse is reported as a broken transcript.
    """
    if not text.startswith((b"[", b">")):
        return None
    # Size before parsing: the JSON decoder holds every item of the text at once.
    if len(text) > MAX_TRANSCRIPT_BYTES:
        raise InspectTooLarge(
            f"APDU transcript is {len(text)} bytes, more than {MAX_TRANSCRIPT_BYTES}"
        )
    return _json_transcript(text) if text.startswith(b"[") else _text_transcript(text)


def inspect_file(
    path: str | Path,
    *,
    trust: TrustStore | None = None,
    now: int | None = None,
    refusals: list[VitaleCredError] | None = None,
) -> str:
    """:func:`inspect_bytes` of a file, of which at most ``MAX_INSPECT_BYTES + 1`` bytes
    are read (a larger file is refused without being read whole)."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_INSPECT_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidArgument(f"cannot read {path}: {reason}") from exc
    if len(data) > MAX_INSPECT_BYTES:
        raise InspectTooLarge(f"{path} is larger than {MAX_INSPECT_BYTES} bytes")
    return inspect_bytes(data, trust=trust, now=now, refusals=refusals)


def inspect_bytes(
    data: bytes | bytearray | memoryview,
    *,
    trust: TrustStore | None = None,
    now: int | None = None,
    refusals: list[VitaleCredError] | None = None,
) -> str:
    """Describe any object of the protocol; raises a library error if it cannot be read.

    With ``trust`` and ``now``, every signed object found is also verified (each
    credential of a bundle, a presentation, a status list, a trust list against the
    roots of ``trust``), and each refusal is appended to ``refusals``. See the module
    docstring for the caps and the error codes.
    """
    found: list[VitaleCredError] = [] if refusals is None else refusals

    def verdict(check: Any) -> list[str]:
        if trust is None or now is None:  # every caller checks first; keeps types exact
            return []
        return _verdict(trust, now, check, found)

    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidArgument(f"inspect expects bytes, got {type(data).__name__}")
    if len(data) > MAX_INSPECT_BYTES:
        raise InspectTooLarge(f"input is {len(data)} bytes, more than {MAX_INSPECT_BYTES}")
    data = bytes(data)
    text = data.strip()
    pairs = _parse_transcript(text)
    if pairs is not None:
        return _transcript(pairs)
    header: list[str] = []
    if text.startswith(QR_PREFIX.encode()):
        # Size before Base45, and Latin-1 (which never fails) so that a byte outside
        # the alphabet is reported by the decoder as base45.bad_character.
        if len(text) > MAX_QR_TEXT_CHARS:
            raise QrTooLarge(f"QR text is {len(text)} characters, more than {MAX_QR_TEXT_CHARS}")
        data = decode_qr_text(text.decode("latin-1"))
        header = [f"QR text ({len(text)} characters) -> {len(data)} bytes"]
    elif text and _HEX.match(text):
        # No CBOR object of the protocol starts with a hex digit or whitespace byte,
        # so such input can only be hex.
        digits = b"".join(text.split())
        if len(digits) % 2:
            raise InspectInputError(f"hex text has an odd number of digits ({len(digits)})")
        data = bytes.fromhex(digits.decode("ascii"))
    value = _cbor.decode(
        data, tags=frozenset({18}), deterministic=False, max_size=MAX_STATUS_TOKEN_BYTES
    )
    if isinstance(value, dict):
        bundle = CredentialBundle.decode(data)
        lines = [f"credential bundle: {len(bundle.credentials)} credentials"]
        for credential in bundle.credentials:
            lines += _credential(credential, "  ", now)
            if trust is not None and now is not None:
                lines += [
                    "  " + line for line in verdict(lambda v, c=credential: v.verify_credential(c))
                ]
        return "\n".join(header + lines)
    message = cose.decode_sign1(data, deterministic=False, max_size=MAX_STATUS_TOKEN_BYTES)
    typ = message.protected.get(CoseHeader.TYP)
    if typ == STATUS_LIST_TYP:
        lines = _status_list(message, data)
        if trust is not None and now is not None:
            lines += verdict(
                lambda v: verify_status_list(data, v.policy.trust, clock=v.policy.clock)
            )
        return "\n".join(header + lines)
    if typ == TRUST_LIST_TYP:
        lines = _trust_list(message, data)
        if trust is not None and now is not None:
            authority = TrustStore.trust_list_authority(trust.roots) if trust.roots else trust
            lines += verdict(
                lambda v: verify_trust_list(
                    data, authority, clock=v.policy.clock, stale=StalePolicy.ACCEPT_STALE
                )
            )
        return "\n".join(header + lines)
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
            lines += verdict(lambda v: v.verify_presentation(data))
        return "\n".join(header + lines)
    lines = _credential(data, "", now)
    if trust is not None and now is not None:
        lines += verdict(lambda v: v.verify_credential(data))
    return "\n".join(header + lines)


def _verdict(trust: TrustStore, now: int, check: Any, refusals: list[VitaleCredError]) -> list[str]:
    from vitale_cred.clock import FixedClock  # noqa: PLC0415 - only for this optional check

    try:
        check(Verifier(Policy(trust=trust, clock=FixedClock(now))))
    except VitaleCredError as exc:
        refusals.append(exc)
        return [f"verification: FAILS [{exc.code}] {exc.message}"]
    return ["verification: VALID"]
